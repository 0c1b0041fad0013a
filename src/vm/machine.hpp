// One VM on the virt board: guest memory, harts, devices, and the loops that
// run them.
//
// Two schedulers (README, "Harts on host threads"):
// - round-robin (machine_run.cpp): every hart on the calling thread, in slices
//   of a few thousand instructions, devices serviced between slices; exact
//   and reproducible, so it is what --deterministic, --lockstep and a single
//   hart use;
// - a host thread per hart (hart_threads.cpp), the default with several
//   harts: the calling thread runs the device event loop and the mailbox,
//   devices are used under one lock (Bus::device_lock), harts sleep on
//   their pins' doorbell in WFI, and work that needs every hart still (a
//   snapshot, a migration round, page sharing) stops them all first.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/event_loop.hpp"
#include "base/state.hpp"
#include "devices/bus.hpp"
#include "devices/irq.hpp"
#include "devices/net/net_backend.hpp"
#include "devices/pvpanic.hpp"
#include "devices/sifive_test.hpp"
#include "devices/uart16550.hpp"
#include "devices/virtio/console.hpp"
#include "devices/virtio/mmio_transport.hpp"
#include "engine/riscv/code_cache.hpp"
#include "engine/riscv/hart.hpp"
#include "engine/riscv/smp_sync.hpp"
#include "memory/guest_memory.hpp"
#include "platform/clint.hpp"
#include "platform/guest_clock.hpp"
#include "platform/plic.hpp"
#include "vm/console.hpp"
#include "vm/launch_digest.hpp"
#include "vm/machine_config.hpp"
#include "vm/mailbox.hpp"

namespace vessel {

class SbiFirmware;
class Journal;

// Shared by the two schedulers (machine_run.cpp, hart_threads.cpp).
inline constexpr uint64_t kSliceInstructions = 16384;
// The last of SIGINT, SIGTERM, SIGHUP received (0: none); every VM stops.
extern std::atomic<int> g_signal;
// The code cache of the hart this thread is running now, if any: a store to
// a code page drops the page from the writer's own cache at once (its other
// caches, and the other harts', notice the page's new generation; see
// engine/riscv/code_cache.hpp).
extern thread_local rv::CodeCache* t_running_code;
class PageStore;
class PageScanner;
class DebugHooks;
namespace virtio {
class Balloon;
class VirtioBlk;
}  // namespace virtio

struct RunResult {
  int status = 0;
  uint64_t instructions = 0;
  double seconds = 0;
  Engine engine = Engine::kInterp;
  EngineStats engine_stats;
  std::vector<uint64_t> hart_instret;  // each hart's minstret at the end
};

class Machine {
 public:
  // With a `journal` (vm/journal.hpp, which must outlive the machine), the
  // run is recorded or replayed: every input from outside goes through it.
  explicit Machine(const MachineConfig& config, Journal* journal = nullptr);
  // The restore path (snapshot or migration): `memory` already holds, or
  // will hold, the guest's RAM; call load_state() before run().
  Machine(const MachineConfig& config, std::unique_ptr<GuestMemory> memory,
          Journal* journal = nullptr);
  ~Machine();

  // Chooses the engine and its cache size (before run(); restore and receive
  // use it, since the configuration they bring does not say).
  void set_engine(Engine engine, uint64_t jit_cache_bytes, uint32_t jit_warmup = 0);

  // The process-wide page store that page sharing uses (before run()).
  void set_page_store(PageStore* store) { page_store_ = store; }

  // Loads the guest as configured (throws Error on bad input), or continues
  // a restored one, then runs it until it powers off, fails, panics or hits
  // a limit.
  RunResult run();
  // Reads and loads the guest as configured (throws Error on bad input);
  // run() does it if it has not been done. Called early by the command line
  // so that every file it names is read before the sandbox locks the process
  // down (base/sandbox.hpp). Does nothing the second time, or for a
  // restored VM.
  void load();

  // Work from other threads (the control socket, migration) runs here, on
  // the VM thread between time slices: see mailbox.hpp.
  Mailbox& mailbox() { return mailbox_; }

  // ---- on the VM thread only (inside a mailbox task) ----
  // Waits until no device has host I/O in flight into guest memory.
  void quiesce();
  // Live migration on one host: the devices' locks go to the destination.
  void release_host_locks();
  void retake_host_locks();
  bool io_busy() const;
  // The whole VM except guest memory and the configuration, as sections of
  // the state format (call quiesce() first).
  std::vector<state::Section> save_state() const;
  // Replaces the VM's state by a saved one (instead of booting). Throws
  // state::StateError if the sections do not fit this machine.
  void load_state(const std::vector<state::Section>& sections);
  // The same, for a hash of the state while requests may be in flight (a
  // busy device is hashed as "busy"; machine_journal.cpp).
  std::vector<state::Section> state_for_digest() const;
  // ---- record/replay (machine_journal.cpp) ----
  // Console input to whichever device the console is on; returns how many
  // bytes it took.
  size_t deliver_console_input(std::span<const uint8_t> bytes);
  // A hash of everything the guest wrote to its console (flushed first),
  // and how many bytes that was.
  uint64_t console_output_digest(uint64_t& bytes);
  void restart_console_digest() { console_->restart_output_digest(); }
  // Instructions retired by every hart (the round-robin scheduler's count).
  uint64_t instructions() const { return retired_; }
  // `vessel ctl record start` on a running VM: from here on guest time comes
  // from the instruction count (without a jump) and slices end exactly, as
  // with --deterministic; the configuration says so, so the snapshot the
  // recording starts from restores that way. A VM that runs a host thread
  // per hart (in a mailbox task, so every hart is parked) ends them first:
  // the round-robin scheduler takes over until end_deterministic().
  void begin_deterministic();
  // `record stop`: back to host time (still without a jump), as it was.
  void end_deterministic();
  // A paused VM runs no guest instruction and its guest time stands still.
  void pause();
  void resume();
  bool paused() const { return paused_; }
  // Statistics for `vessel ctl stats`.
  nlohmann::json stats() const;
  // The engine's figures, summed over the harts.
  EngineStats engine_stats() const;

  // For the engines' lockstep check (vm/lockstep.hpp), before run(): the
  // budget of every hart's next slice, and a call after each round of
  // slices (all harts stopped, on the VM thread).
  struct SliceHooks {
    std::function<uint64_t()> budget;
    std::function<void()> after_round;
  };
  void set_slice_hooks(SliceHooks hooks) { slice_hooks_ = std::move(hooks); }
  // A debugger (the gdb stub) that runs the harts from now on: before run(),
  // and it means the round-robin scheduler (all-stop, like --deterministic).
  void set_debugger(DebugHooks* debugger) { debugger_ = debugger; }
  bool debugged() const { return debugger_ != nullptr; }
  // Guest time continues from `ticks` (a debugger held the VM meanwhile).
  void set_guest_time(uint64_t ticks) { clock_.set_now(ticks); }
  virtio::Balloon* balloon() const { return balloon_; }
  PageScanner* page_scanner() const { return scanner_.get(); }
  const MachineConfig& config() const { return config_; }
  // The launch digest of a measured boot (config.measure_launch), once the
  // guest is loaded; empty otherwise, and for a restored VM.
  const std::optional<Sha256Digest>& launch_digest() const { return launch_digest_; }
  // Ends the run with `status`, saying `why` on the log (ctl quit, migrated).
  void stop_with(int status, const std::string& why);

  // For tests: the parts, after construction.
  GuestMemory& memory() { return *memory_; }
  rv::Hart& hart(unsigned i) { return *harts_[i]; }
  unsigned num_harts() const { return static_cast<unsigned>(harts_.size()); }
  Clint& clint() { return *clint_; }
  Plic& plic() { return *plic_; }

  // Ends the run with `status` (the finisher, SBI system reset, HTIF).
  void finish(int status);

  // ---- reverse debugging of a replay (vm/replay_history.hpp) ----
  // Between rounds: true if save_state() holds the whole machine (no device
  // request in flight, nothing a snapshot drops).
  bool state_complete() const;
  // Puts a state save_state() gave back in place (guest memory must be
  // restored first) and clears an end the debugger held.
  void rewind_state(const std::vector<state::Section>& sections);
  Console::Mark console_mark() { return console_->mark(); }
  void console_rewind(const Console::Mark& m) { console_->rewind(m); }
  Journal* journal() const { return journal_; }
  // Starts / stops a hart (SBI HSM; with the device lock held).
  void start_hart(unsigned hart, uint64_t pc, uint64_t opaque);
  void stop_hart(unsigned hart);
  bool hart_running(unsigned hart) const { return running_[hart].load(std::memory_order_acquire); }
  // The lock devices are used under (see devices/bus.hpp).
  std::unique_lock<std::mutex> device_lock() { return bus_.device_lock(); }
  rv::SmpSync& smp() { return smp_; }
  // True if this machine runs each hart on a host thread of its own.
  bool hart_threads() const;
  void console_put(uint8_t byte) { console_->put(byte); }
  int console_get();
  HartIrqPins& pins(unsigned hart) { return *pins_[hart]; }
  uint64_t guest_time() const { return clock_.now(); }

 private:
  void build();
  // save_state(); with `busy_ok`, a device with requests in flight is
  // saved as "busy" instead of refused.
  std::vector<state::Section> save_parts(bool busy_ok) const;
  void boot_bare_metal(std::span<const uint8_t> image);
  void boot_linux();
  // Measured launch: computes the digest over what was loaded and writes it
  // into `dtb` (before `dtb` goes to guest memory).
  void measure_launch(std::span<const uint8_t> firmware, std::span<const uint8_t> kernel,
                      std::span<const uint8_t> initrd, std::vector<uint8_t>& dtb);
  std::vector<uint8_t> device_tree(std::optional<uint64_t> initrd_start,
                                   std::optional<uint64_t> initrd_end);
  void add_virtio(std::unique_ptr<virtio::VirtioDevice> device, PollSource* events);
  void add_virtio_devices();
  // Devices whose host side goes through the journal when there is one
  // (machine_journal.cpp).
  std::unique_ptr<virtio::VirtioBlk> make_disk(unsigned index, const DiskConfig& disk);
  std::unique_ptr<net::NetBackend> make_net_backend(unsigned index, const std::string& spec);
  // A signal, --timeout or Ctrl-a x: ends the run now and returns true; while
  // recording, the run ends at the scheduler's next stop instead (where the
  // replay ends too) and this returns false.
  bool host_stop(int status);
  bool replaying() const;
  // virtio-rng's source of randomness: the host's, or the journal.
  std::function<size_t(std::span<uint8_t>)> rng_source();
  // After a round of slices: the journal's stop (inputs, checks).
  void journal_boundary();
  void service_htif();
  void service_devices(int64_t wait_ms);
  // The CLINT's and the SBI timer's interrupt pins from guest time now.
  void update_timer_pins();
  void service_console();
  void wait_for_interrupt();
  uint64_t next_wakeup_ticks() const;
  // The next of hart `i`'s own timer deadlines still to come (UINT64_MAX:
  // none), with the device lock held.
  uint64_t next_wakeup_ticks(unsigned i) const;
  bool exiting() const { return exit_requested_.load(std::memory_order_acquire); }
  bool run_round_robin(uint64_t start_ns, uint64_t timeout_ns);
  // Signals, --timeout and --max-instructions; true if the run must end.
  bool check_limits(uint64_t now_ns, uint64_t start_ns, uint64_t timeout_ns);

  // ---- a host thread per hart (hart_threads.cpp) ----
  // The two schedulers return false when the run ends, true when the other
  // one is to take over: a mailbox task ended the hart threads
  // (end_hart_threads()), or hart_threads() became true again.
  bool run_threaded(uint64_t start_ns, uint64_t timeout_ns);
  // VM thread, with the world stopped or at the end of the run: the hart
  // threads leave and are joined; their instructions count in retired_.
  void end_hart_threads();
  void hart_thread(unsigned i);
  void idle_hart(unsigned i);
  void after_slice();
  void park_hart();
  // VM thread: every hart stops running guest code / goes on.
  void stop_world();
  void resume_world();
  void flush_write_translations_everywhere();

  MachineConfig config_;
  Journal* journal_ = nullptr;
  uint64_t retired_ = 0;  // all harts; the deterministic clock reads it
  GuestClock clock_;
  std::unique_ptr<GuestMemory> memory_;
  Bus bus_;
  std::vector<std::unique_ptr<rv::CodeCache>> code_;  // one per hart
  std::vector<std::unique_ptr<HartIrqPins>> pins_;
  std::vector<std::unique_ptr<rv::Hart>> harts_;
  rv::SmpSync smp_;
  std::unique_ptr<std::atomic<bool>[]> running_;  // started (SBI HSM), per hart
  std::unique_ptr<Clint> clint_;
  std::unique_ptr<Plic> plic_;
  std::unique_ptr<Uart16550> uart_;
  std::unique_ptr<SifiveTest> finisher_;
  std::unique_ptr<Pvpanic> pvpanic_;
  std::unique_ptr<SbiFirmware> sbi_;
  std::unique_ptr<Console> console_;
  EventLoop events_;
  Mailbox mailbox_;
  bool restored_ = false;
  bool loaded_ = false;
  bool paused_ = false;
  bool switched_deterministic_ = false;  // by begin_deterministic()
  uint64_t paused_at_ticks_ = 0;
  uint64_t started_ns_ = 0;
  PageStore* page_store_ = nullptr;
  std::unique_ptr<PageScanner> scanner_;
  virtio::Balloon* balloon_ = nullptr;  // owned by its VirtioMmio
  RateLimit htif_log_limit_;
  // Network backends outlive the virtio-net devices that send through them.
  std::vector<std::unique_ptr<net::NetBackend>> net_backends_;
  std::vector<std::unique_ptr<virtio::VirtioMmio>> virtio_;
  virtio::Console* virtio_console_ = nullptr;  // owned by its VirtioMmio

  SliceHooks slice_hooks_;
  DebugHooks* debugger_ = nullptr;
  std::optional<uint64_t> tohost_;
  std::optional<uint64_t> fromhost_;
  std::optional<int> exit_status_;  // under exit_mutex_
  std::mutex exit_mutex_;
  std::atomic<bool> exit_requested_{false};
  WakeEvent wake_;  // the VM thread's loop, from hart threads

  // A host thread per hart.
  std::vector<std::thread> hart_threads_;
  std::atomic<bool> threads_running_{false};
  std::atomic<bool> world_stopped_{false};
  std::atomic<bool> stop_world_{false};      // harts park at their next slice
  std::unique_lock<std::mutex> world_lock_;  // the device lock, while the world stands still
  std::atomic<bool> threads_exit_{false};
  std::mutex park_mutex_;
  std::condition_variable park_cv_;
  std::atomic<uint64_t> threaded_retired_{0};
  std::optional<Sha256Digest> launch_digest_;
};

}  // namespace vessel
