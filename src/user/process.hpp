// A RISC-V Linux process run as a host process (`vessel exec`): its address
// space, the program break, signal dispositions; and its thread, a hart in
// U-mode whose traps come back here (Hart::enter_user): an ECALL is a system
// call (syscalls.hpp), a fault becomes a signal for the guest.
//
// The guest shares the host process's file descriptors one for one: the
// guest's fd 3 is vessel's fd 3, and vessel keeps none of its own open while
// the guest runs, so fork, exec and pipes need no translation.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "devices/bus.hpp"
#include "devices/irq.hpp"
#include "engine/riscv/code_cache.hpp"
#include "engine/riscv/hart.hpp"
#include "engine/vcpu.hpp"
#include "platform/guest_clock.hpp"
#include "user/address_space.hpp"
#include "user/host_faults.hpp"
#include "user/signals.hpp"

namespace vessel::user {

struct ExecOptions {
  std::string sysroot = "/usr/riscv64-linux-gnu";
  bool strace = false;
  Engine engine = Engine::kJit;
  std::string program;            // the path as given
  std::string argv0;              // argv[0] for the guest (empty: `program`)
  std::vector<std::string> args;  // argv[1...]
};

class Process;

// One guest thread: a hart (with its own code cache, as each hart of a VM
// has) on the host thread that runs it. Guest tid = host tid.
class Thread {
 public:
  explicit Thread(Process& process);
  ~Thread();
  Process& process() { return process_; }
  rv::Hart& hart() { return hart_; }
  AddressSpace& space();

  // Guest registers by ABI name.
  uint64_t& reg(unsigned n) { return hart_.x[n]; }

  // Runs the guest until this thread exits (exit(2)); the process's end
  // (exit_group, a fatal signal) never returns.
  void run();
  // The thread's exit(2): after this system call, run() returns.
  void finish() { exiting_ = true; }

  // A new guest thread (clone with CLONE_THREAD) copying this one's
  // registers, started on a host thread of its own. Returns its tid or
  // -errno.
  int64_t spawn(uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t tls, uint64_t ctid);

  // Per-thread signal state.
  uint64_t blocked = 0;              // the signal mask, bit (sig - 1)
  std::atomic<uint64_t> pending{0};  // caught signals sent to this thread (tgkill)
  GuestStack altstack;
  uint64_t clear_child_tid = 0;  // set_tid_address
  // rt_sigsuspend's mask to restore when the handler returns.
  uint64_t saved_mask = 0;
  bool has_saved_mask = false;

 private:
  void handle_trap(const rv::Hart::UserTrap& trap);
  // A page fault the mapping's protection allows: the page lies past the
  // end of its file (address_space.hpp).
  bool allowed_by_mapping(const rv::Hart::UserTrap& trap);
  // A host fault on a guest page under the engine's C++ (run_guarded).
  void host_fault(const HostFault& fault);
  void syscall();

  Process& process_;
  rv::CodeCache code_;
  HartIrqPins pins_;
  rv::Hart hart_;
  bool exiting_ = false;
  std::thread host_thread_;  // empty for the main thread
  std::atomic<bool> done_{false};
  friend class Process;
};

class Process {
 public:
  // Loads the program; throws Error (one line) if it cannot.
  explicit Process(const ExecOptions& options);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Runs the main thread; when it exits while others run, waits for the
  // last (whose exit ends the process).
  [[noreturn]] void run();

  const ExecOptions& options() const { return options_; }
  AddressSpace& space() { return *space_; }
  Bus& bus() { return bus_; }
  const GuestClock& clock() const { return clock_; }

  // The host path for a path the guest names: the sysroot first for
  // absolute paths (as qemu-user's -L), /proc/self/exe is the program.
  std::string host_path(const std::string& guest_path) const;
  const std::string& exe_path() const { return exe_path_; }

  // The program break: [brk_start, brk) is mapped.
  uint64_t brk_start = 0;
  uint64_t brk = 0;

  Signals signals;

  // Ends the process as the guest asked: exit status or a signal's death.
  [[noreturn]] void exit(int status);
  // A thread's exit(2): the last one ends the process with `status`.
  void thread_exit(Thread& t, int status);
  // Registers a new thread; frees threads that have ended.
  void add_thread(std::unique_ptr<Thread> t);
  // After fork: the calling thread is the only one left.
  void after_fork(Thread& survivor);
  // Ends the other threads' slices early (a mapping changed: they must drop
  // cached translations).
  void kick_other_threads(Thread& self);
  [[noreturn]] void die_by_signal(int sig);

 private:
  ExecOptions options_;
  std::string exe_path_;
  std::unique_ptr<AddressSpace> space_;
  Bus bus_;  // empty: every guest address is RAM
  uint64_t retired_ = 0;
  GuestClock clock_;
  std::unique_ptr<Thread> main_;
  std::mutex threads_mutex_;
  std::vector<std::unique_ptr<Thread>> threads_;  // besides main_
  std::atomic<int> live_threads_{1};
  friend class Thread;  // spawn() counts the threads it starts
};

// `vessel exec ...` and `vessel binfmt ...` (argv after the subcommand).
int exec_main(int argc, char** argv);
int binfmt_main(int argc, char** argv);
// vessel started by binfmt_misc under its link name (vessel binfmt install).
bool is_binfmt_interpreter(const char* argv0);
int binfmt_interpreter_main(int argc, char** argv);

}  // namespace vessel::user
