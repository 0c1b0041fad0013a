#include "user/process.hpp"

#include <linux/futex.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string_view>

#include "base/error.hpp"
#include "engine/riscv/csr_numbers.hpp"
#include "user/host_faults.hpp"
#include "user/loader.hpp"
#include "user/strace.hpp"
#include "user/syscalls.hpp"

extern char** environ;

namespace vessel::user {

namespace {

// Instructions per run() slice: only pending signals are looked at between
// slices, so this bounds how late a signal arrives while guest code loops.
constexpr uint64_t kSlice = uint64_t{1} << 22;

// The code cache of the guest thread running on this host thread: the
// address space's code-write hook drops pages from it (as Machine does).
thread_local rv::CodeCache* t_code = nullptr;

// Linux's si_code values for faults (include/uapi/asm-generic/siginfo.h).
constexpr int kSegvMaperr = 1, kSegvAccerr = 2, kIllIllopc = 1, kBusAdraln = 1, kBusAdrerr = 2,
              kTrapBrkpt = 1;

// Calls Linux never restarts after a handler, whatever SA_RESTART says
// (signal(7), "Interruption of system calls"): waits with timeouts, and
// sigsuspend.
bool restartable(uint64_t number) {
  switch (number) {
    case 22:   // epoll_pwait
    case 72:   // pselect6
    case 73:   // ppoll
    case 101:  // nanosleep
    case 115:  // clock_nanosleep
    case 133:  // rt_sigsuspend
      return false;
    default: return true;
  }
}

// Direct user memory for the translator unless VESSEL_EXEC_DIRECT=0 (the
// software TLB then, as the system VM uses: for comparison and as a way
// out should a host refuse the protections).
bool direct_memory_wanted() {
  const char* v = std::getenv("VESSEL_EXEC_DIRECT");
  return v == nullptr || std::string_view(v) != "0";
}

}  // namespace

Thread::Thread(Process& process)
    : process_(process),
      code_(process.space().memory(), /*owner_hook=*/false),
      hart_(0, process.space().memory(), process.bus(), code_, process.clock(), pins_) {
  code_.set_jit_capacity(0);
  hart_.set_engine(process.options().engine);
  if (process.space().mirrors_protections()) {
    code_.set_direct_memory(process.space().memory().host_base(), AddressSpace::kLimit);
  }
}

AddressSpace& Thread::space() {
  return process_.space();
}

Thread::~Thread() {
  if (host_thread_.joinable()) host_thread_.join();
}

void Thread::run() {
  t_code = &code_;
  set_fault_code_cache(&code_);
  signals_on_this_thread(*this);
  uint64_t generation = space().generation();
  while (!exiting_) {
    StopReason stop = StopReason::kBudget;
    struct Run {
      rv::Hart& hart;
      StopReason& stop;
    } run{hart_, stop};
    HostFault fault;
    if (!run_guarded(
            [](void* r) { static_cast<Run*>(r)->hart.run(kSlice, static_cast<Run*>(r)->stop); },
            &run, fault)) {
      host_fault(fault);
      continue;
    }
    rv::Hart::UserTrap trap;
    if (hart_.take_user_trap(trap)) handle_trap(trap);
    if (code_.over_limit()) {
      // Decoded pages past the cache's bound: start afresh (Machine does the
      // same at its safe points).
      code_.trim();
      hart_.flush_translations();
    }
    if (space().generation() != generation) {
      // A mapping shrank or lost access: cached translations must go.
      generation = space().generation();
      hart_.flush_translations();
    }
    if ((process_.signals.pending.load(std::memory_order_relaxed) |
         pending.load(std::memory_order_relaxed)) != 0) {
      deliver_pending_signal(*this);
    }
  }
}

void Thread::handle_trap(const rv::Hart::UserTrap& trap) {
  namespace cause = rv::cause;
  switch (trap.cause) {
    case cause::kEcallU: syscall(); return;
    case cause::kIllegal: deliver_fault(*this, SIGILL, kIllIllopc, hart_.pc); return;
    case cause::kBreakpoint: deliver_fault(*this, SIGTRAP, kTrapBrkpt, hart_.pc); return;
    case cause::kInsnPageFault:
    case cause::kLoadPageFault:
    case cause::kStorePageFault:
      if (allowed_by_mapping(trap)) {
        // Only a page past the end of its file faults so. If the file
        // reaches it now (it grew), the access runs again.
        if (!space().settle_file_page(trap.tval)) {
          deliver_fault(*this, SIGBUS, kBusAdrerr, trap.tval);
        }
        return;
      }
      [[fallthrough]];
    case cause::kInsnAccess:
    case cause::kLoadAccess:
    case cause::kStoreAccess:
      deliver_fault(*this, SIGSEGV, space().prot_at(trap.tval) < 0 ? kSegvMaperr : kSegvAccerr,
                    trap.tval);
      return;
    default: deliver_fault(*this, SIGBUS, kBusAdraln, trap.tval); return;
  }
}

bool Thread::allowed_by_mapping(const rv::Hart::UserTrap& trap) {
  // A page past the end of its file faults whatever the access (it has no
  // page-table entry); Linux checks the mapping's protection first, so an
  // access the protection forbids is still SIGSEGV.
  const int prot = space().prot_at(trap.tval);
  if (prot < 0) return false;
  switch (trap.cause) {
    case rv::cause::kInsnPageFault: return (prot & kProtExec) != 0;
    case rv::cause::kLoadPageFault: return (prot & (kProtRead | kProtWrite)) != 0;
    default: return (prot & kProtWrite) != 0;
  }
}

void Thread::host_fault(const HostFault& fault) {
  // The engine's C++ (the interpreter, a translated access's slow path,
  // an atomic) faulted on a guest page that went from under it: another
  // process truncated the file behind it, or another guest thread took
  // away access after the engine's check. The guest's fault then, as
  // Linux gives it for an access at that instant, at the pc the hart last
  // recorded: exact in the interpreter at a page's first instruction, else
  // an earlier instruction of the same run of code (a handler that
  // siglongjmps out, as SIGBUS handlers do, is unaffected; one that
  // returns runs those instructions again).
  hart_.flush_translations();
  if (fault.sig == SIGBUS) {
    space().settle_file_page(fault.va);  // past the end from now on, until the file grows
    deliver_fault(*this, SIGBUS, kBusAdrerr, fault.va);
    return;
  }
  deliver_fault(*this, SIGSEGV, space().prot_at(fault.va) < 0 ? kSegvMaperr : kSegvAccerr,
                fault.va);
}

void Thread::syscall() {
  const uint64_t number = hart_.x[17];
  SyscallArgs args;
  for (unsigned i = 0; i < 6; ++i) args.a[i] = hart_.x[10 + i];
  hart_.pc += 4;  // rt_sigreturn and execve set their own pc
  const SyscallInfo* info = number < kMaxSyscall ? &syscall_table().entries[number] : nullptr;
  const bool strace = process_.options().strace;
  StraceLine line;
  if (strace) line = strace_begin(*this, number, info, args);
  const uint64_t generation_before = space().generation();
  int64_t result = -ENOSYS;
  if (info != nullptr && info->fn != nullptr) {
    if (strace && info->noreturn) strace_end(line, kNoResult);
    result = info->fn(*this, args);
  }
  if (strace) strace_end(line, result);
  if (space().generation() != generation_before) process_.kick_other_threads(*this);
  if (result == kNoResult) return;
  if (result == -EINTR && restartable(number) && restart_after_signal(*this)) {
    // A caught signal interrupted the host call and the guest's handler asks
    // for restarts (SA_RESTART): the ecall runs again once the handler
    // returns, with its first argument as it was (Linux does the same).
    hart_.pc -= 4;
    return;
  }
  hart_.x[10] = static_cast<uint64_t>(result);
}

Process::Process(const ExecOptions& options)
    : options_(options),
      space_(std::make_unique<AddressSpace>()),
      clock_(GuestClock::Mode::kHost, &retired_) {
  char resolved[PATH_MAX];
  if (realpath(options_.program.c_str(), resolved) == nullptr) {
    fail("{}: {}", options_.program, errno_text(errno));
  }
  exe_path_ = resolved;
  // Host faults on guest pages become the guest's (host_faults.hpp).
  install_host_fault_handler();
  if (options_.engine == Engine::kJit && direct_memory_wanted()) {
    // The translator addresses guest memory directly.
    space_->mirror_protections();
  }

  ExecImage image;
  image.path = options_.program;
  image.execfn = options_.program;
  image.sysroot = options_.sysroot;
  image.argv.push_back(options_.argv0.empty() ? options_.program : options_.argv0);
  image.argv.insert(image.argv.end(), options_.args.begin(), options_.args.end());
  for (char** e = environ; *e != nullptr; ++e) image.envp.emplace_back(*e);
  const Loaded loaded = load_program(*space_, image);
  brk_start = brk = loaded.brk;

  main_ = std::make_unique<Thread>(*this);
  // The writing thread's cache drops the page (code_cache.hpp); set once,
  // before any guest thread runs.
  AddressSpace* space = space_.get();
  space_->memory().set_code_write_hook([space](uint64_t page) {
    if (t_code != nullptr) t_code->invalidate(page);
    // Writable on the host again, until code is decoded from it again.
    if (space->mirrors_protections()) space->code_written(page);
  });
  if (space_->mirrors_protections()) {
    space_->memory().set_code_mark_hook([space](uint64_t page) { space->code_marked(page); });
  }
  set_fault_address_space(space);
  main_->hart().enter_user(loaded.entry, space_->satp());
  main_->reg(2) = loaded.sp;  // sp; a0 (the rtld_fini pointer) is 0
  sigset_t mask;
  sigprocmask(SIG_BLOCK, nullptr, &mask);
  for (int sig = 1; sig <= kNumSignals; ++sig) {
    if (sig <= 64 && sigismember(&mask, sig) == 1) main_->blocked |= uint64_t{1} << (sig - 1);
  }
}

Process::~Process() {
  set_fault_address_space(nullptr);
}

std::string Process::host_path(const std::string& guest_path) const {
  if (guest_path == "/proc/self/exe") return exe_path_;
  return sysroot_path(options_.sysroot, guest_path);
}

void Process::run() {
  main_->run();
  // The main thread exited (exit(2)) while others run: the last thread's
  // exit ends the process.
  for (;;) pause();
}

void Process::exit(int status) {
  if (options_.strace) strace_exit(status);
  _exit(status & 0xff);
}

void Process::thread_exit(Thread& t, int status) {
  if (t.clear_child_tid != 0) {
    // CLONE_CHILD_CLEARTID: pthread_join waits for this word to become 0
    // (a shared futex, as the kernel wakes it).
    if (t.space().write_value(t.clear_child_tid, uint32_t{0})) {
      uint8_t* word = t.space().host(t.clear_child_tid, 4, kProtWrite);
      if (word != nullptr) ::syscall(SYS_futex, word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
    }
  }
  if (live_threads_.fetch_sub(1) == 1) exit(status);
  t.finish();
}

void Process::add_thread(std::unique_ptr<Thread> t) {
  const std::lock_guard guard(threads_mutex_);
  // Ended threads go now (their host threads have finished or are about to).
  std::erase_if(threads_, [](const std::unique_ptr<Thread>& old) { return old->done_.load(); });
  threads_.push_back(std::move(t));
}

void Process::after_fork(Thread& survivor) {
  const std::lock_guard guard(threads_mutex_);
  // The other threads' host threads do not exist in the child: their
  // objects are left as they are (never joined, never freed).
  for (auto& t : threads_) {
    if (t.get() != &survivor) (void)t.release();
  }
  std::erase_if(threads_, [](const std::unique_ptr<Thread>& t) { return t == nullptr; });
  live_threads_.store(1);
}

void Process::kick_other_threads(Thread& self) {
  const std::lock_guard guard(threads_mutex_);
  if (main_.get() != &self) main_->hart().request_stop();
  for (auto& t : threads_) {
    if (t.get() != &self && !t->done_.load()) t->hart().request_stop();
  }
}

int64_t Thread::spawn(uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t tls, uint64_t ctid) {
  constexpr uint64_t kCloneSettls = 0x80000, kCloneParentSettid = 0x100000,
                     kCloneChildCleartid = 0x200000, kCloneChildSettid = 0x1000000;
  auto child = std::make_unique<Thread>(process_);
  Thread* c = child.get();
  c->hart_.enter_user(hart_.pc, space().satp());  // pc is past the ecall already
  for (unsigned r = 1; r < 32; ++r) c->hart_.x[r] = hart_.x[r];
  c->hart_.fp = hart_.fp;
  c->hart_.x[10] = 0;  // clone returns 0 in the child
  if (stack != 0) c->hart_.x[2] = stack;
  if ((flags & kCloneSettls) != 0) c->hart_.x[4] = tls;
  c->blocked = blocked;
  c->altstack = GuestStack{};
  if ((flags & kCloneChildCleartid) != 0) c->clear_child_tid = ctid;
  process_.live_threads_.fetch_add(1);
  std::atomic<int64_t> tid{0};
  try {
    c->host_thread_ = std::thread([c, &tid, flags, ptid, ctid] {
      const pid_t me = gettid();
      // Both tid words are written before the new thread runs guest code,
      // as the kernel does.
      if ((flags & kCloneParentSettid) != 0)
        c->space().write_value(ptid, static_cast<uint32_t>(me));
      if ((flags & kCloneChildSettid) != 0) c->space().write_value(ctid, static_cast<uint32_t>(me));
      tid.store(me);
      tid.notify_one();
      c->run();
      c->done_.store(true);
    });
  } catch (const std::system_error&) {
    process_.live_threads_.fetch_sub(1);
    return -EAGAIN;
  }
  tid.wait(0);
  const int64_t result = tid.load();
  process_.add_thread(std::move(child));
  return result;
}

void Process::die_by_signal(int sig) {
  // The guest's death by `sig` is this process's: the parent (a shell) sees
  // the same. No core file: it would be vessel's, with the whole reservation.
  if (options_.strace) strace_killed(sig);
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  sigaction(sig, &sa, nullptr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  raise(sig);
  _exit(128 + sig);  // a signal whose default is to be ignored
}

}  // namespace vessel::user
