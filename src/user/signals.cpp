#include "user/signals.hpp"

#include <signal.h>

#include <cstring>
#include <mutex>

#include "user/host_faults.hpp"
#include "user/process.hpp"
#include "user/strace.hpp"

namespace vessel::user {

namespace {

// Linux sa_flags bits (the same on riscv64 and x86-64).
constexpr uint64_t kSaNodefer = 0x40000000, kSaResethand = 0x80000000, kSaOnstack = 0x08000000,
                   kSaRestart = 0x10000000;
constexpr uint64_t kSigDfl = 0, kSigIgn = 1;
constexpr int kSsOnstack = 1, kSsDisable = 2;

// The riscv64 signal frame (arch/riscv/kernel/signal.c: struct rt_sigframe
// = siginfo then ucontext; uapi/asm/ucontext.h, sigcontext.h, ptrace.h).
constexpr uint64_t kInfoSize = 128;
constexpr uint64_t kUcFlags = 0, kUcLink = 8, kUcStack = 16, kUcSigmask = 40;
constexpr uint64_t kUcMcontext = 176;             // after the 1024-bit sigset area, 16-aligned
constexpr uint64_t kMcRegs = kUcMcontext;         // pc, then x1..x31
constexpr uint64_t kMcFp = kUcMcontext + 32 * 8;  // f0..f31, then fcsr
constexpr uint64_t kMcFcsr = kMcFp + 32 * 8;
constexpr uint64_t kUcSize = kMcFp + 528;  // union __riscv_fp_state's size
constexpr uint64_t kFrameSize = kInfoSize + kUcSize;

// The hart of the guest thread on this host thread, which must stop when a
// host signal arrives here (initial-exec TLS: safe to read in a handler).
thread_local rv::Hart* t_hart = nullptr;
thread_local Thread* t_thread = nullptr;

Signals* g_signals = nullptr;

// Async-signal-safe: an atomic or, and an atomic store in the hart.
void host_catcher(int sig, siginfo_t* info, void*) {
  const uint64_t bit = uint64_t{1} << (sig - 1);
  if (g_signals != nullptr) {
    std::memcpy(g_signals->info[sig], info, sizeof g_signals->info[sig]);
    if (info->si_code == SI_TKILL && t_thread != nullptr) {
      t_thread->pending.fetch_or(bit, std::memory_order_relaxed);  // tgkill: for this thread
    } else {
      g_signals->pending.fetch_or(bit, std::memory_order_relaxed);
    }
  }
  if (rv::Hart* h = t_hart) h->request_stop();
}

}  // namespace

void guest_signal_from_host(int sig, siginfo_t* info) {
  const uint64_t handler = g_signals != nullptr ? g_signals->actions[sig].handler : kSigDfl;
  if (handler == kSigIgn) return;
  if (handler == kSigDfl) {
    // Ends the process once the handler returns (the signal is blocked
    // until then).
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    sigaction(sig, &sa, nullptr);
    raise(sig);
    return;
  }
  host_catcher(sig, info, nullptr);
}

namespace {

// What SIG_DFL does with `sig`: true if it ends the process.
bool default_kills(int sig) {
  switch (sig) {
    case SIGCHLD:
    case SIGCONT:
    case SIGURG:
    case SIGWINCH: return false;
    default: return true;
  }
}

// The trampoline handlers return to: `li a7, 139; ecall` (rt_sigreturn), in
// a page of its own, as the vDSO's __vdso_rt_sigreturn.
uint64_t trampoline(Thread& t) {
  Signals& s = t.process().signals;
  const std::lock_guard guard(t.space().mutex());
  if (s.trampoline != 0) return s.trampoline;
  const uint64_t at = t.space().find_free(AddressSpace::kPageSize, 0);
  if (at == 0) return 0;
  t.space().map_anonymous(at, AddressSpace::kPageSize, kProtRead | kProtWrite);
  const uint32_t code[2] = {0x08b00893, 0x00000073};
  t.space().poke(at, code, sizeof code);
  t.space().protect(at, AddressSpace::kPageSize, kProtRead | kProtExec);
  s.trampoline = at;
  return at;
}

void set_host_mask(uint64_t blocked) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig = 1; sig <= kNumSignals; ++sig) {
    if (((blocked >> (sig - 1)) & 1) != 0 && sig != SIGSEGV && sig != SIGBUS && sig != SIGILL &&
        sig != SIGFPE) {
      sigaddset(&set, sig);
    }
  }
  sigprocmask(SIG_SETMASK, &set, nullptr);
}

// Builds the frame and points the hart at the handler. False if the frame
// cannot be written (the guest's stack is bad): the caller kills the process.
bool setup_frame(Thread& t, int sig, const uint8_t info[kInfoSize], uint64_t old_mask) {
  Signals& s = t.process().signals;
  const GuestSigaction act = s.actions[sig];
  rv::Hart& h = t.hart();
  uint64_t sp = h.x[2];
  const bool on_alt = t.altstack.flags != kSsDisable && sp - t.altstack.sp <= t.altstack.size;
  if ((act.flags & kSaOnstack) != 0 && t.altstack.flags != kSsDisable && !on_alt) {
    sp = t.altstack.sp + t.altstack.size;
  }
  const uint64_t frame = (sp - kFrameSize) & ~uint64_t{15};
  const uint64_t ret = trampoline(t);
  if (ret == 0) return false;
  if (t.process().options().strace) {
    int32_t code;
    uint64_t addr;
    std::memcpy(&code, info + 8, 4);
    std::memcpy(&addr, info + 16, 8);
    strace_signal(sig, code, addr);
  }
  uint8_t buf[kFrameSize] = {};
  std::memcpy(buf, info, kInfoSize);
  uint8_t* uc = buf + kInfoSize;
  auto put64 = [&](uint64_t off, uint64_t v) { std::memcpy(uc + off, &v, 8); };
  put64(kUcFlags, 0);
  put64(kUcLink, 0);
  put64(kUcStack, t.altstack.sp);
  const int32_t ss_flags = t.altstack.flags == kSsDisable ? kSsDisable : (on_alt ? kSsOnstack : 0);
  std::memcpy(uc + kUcStack + 8, &ss_flags, 4);
  put64(kUcStack + 16, t.altstack.size);
  put64(kUcSigmask, old_mask);
  put64(kMcRegs, h.pc);
  for (unsigned r = 1; r < 32; ++r) put64(kMcRegs + 8 * r, h.x[r]);
  for (unsigned r = 0; r < 32; ++r) put64(kMcFp + 8 * r, h.fp.f[r]);
  const uint32_t fcsr = (h.fp.frm << 5) | h.fp.fflags;
  std::memcpy(uc + kMcFcsr, &fcsr, 4);
  if (!t.space().write(frame, buf, kFrameSize)) return false;

  h.x[1] = ret;
  h.x[2] = frame;
  h.x[10] = static_cast<uint64_t>(sig);
  h.x[11] = frame;
  h.x[12] = frame + kInfoSize;
  h.pc = act.handler;
  t.blocked |= act.mask;
  if ((act.flags & kSaNodefer) == 0) t.blocked |= uint64_t{1} << (sig - 1);
  if ((act.flags & kSaResethand) != 0) {
    s.actions[sig] = GuestSigaction{};
    apply_host_disposition(t, sig);
  }
  set_host_mask(t.blocked);
  return true;
}

}  // namespace

void apply_host_disposition(Thread& t, int sig) {
  if (sig == SIGKILL || sig == SIGSTOP) return;
  g_signals = &t.process().signals;
  // The host fault handler owns these and asks the guest's disposition
  // itself (host_faults.hpp).
  if ((sig == SIGSEGV || sig == SIGBUS) && host_fault_handler_installed()) return;
  const GuestSigaction& act = t.process().signals.actions[sig];
  struct sigaction sa {};
  sigfillset(&sa.sa_mask);
  if (act.handler == kSigIgn) {
    sa.sa_handler = SIG_IGN;
  } else if (act.handler == kSigDfl) {
    sa.sa_handler = SIG_DFL;
  } else {
    // No SA_RESTART: a host call the signal interrupts returns EINTR, and the
    // guest's own SA_RESTART decides (restart_after_signal).
    sa.sa_sigaction = host_catcher;
    sa.sa_flags = SA_SIGINFO;
  }
  sigaction(sig, &sa, nullptr);
}

bool restart_after_signal(Thread& t) {
  const Signals& s = t.process().signals;
  const uint64_t ready =
      (s.pending.load(std::memory_order_relaxed) | t.pending.load(std::memory_order_relaxed)) &
      ~t.blocked;
  if (ready == 0) return false;
  const int sig = __builtin_ctzll(ready) + 1;
  return (s.actions[sig].flags & kSaRestart) != 0;
}

bool deliver_pending_signal(Thread& t) {
  Signals& s = t.process().signals;
  const uint64_t mine = t.pending.load(std::memory_order_relaxed) & ~t.blocked;
  const uint64_t ready = mine | (s.pending.load(std::memory_order_relaxed) & ~t.blocked);
  if (ready == 0) return false;
  const int sig = __builtin_ctzll(ready) + 1;
  const uint64_t bit = uint64_t{1} << (sig - 1);
  if ((mine & bit) != 0) {
    t.pending.fetch_and(~bit, std::memory_order_relaxed);
  } else if ((s.pending.fetch_and(~bit, std::memory_order_relaxed) & bit) == 0) {
    return false;  // another thread took it
  }
  const GuestSigaction& act = s.actions[sig];
  if (act.handler == kSigIgn) return false;
  if (act.handler == kSigDfl) {
    if (default_kills(sig)) t.process().die_by_signal(sig);
    return false;
  }
  uint8_t info[kInfoSize];
  std::memcpy(info, s.info[sig], kInfoSize);  // as the host's catcher saw it
  const int32_t signo = sig;
  std::memcpy(info, &signo, 4);
  const uint64_t old_mask = t.has_saved_mask ? t.saved_mask : t.blocked;
  t.has_saved_mask = false;
  if (!setup_frame(t, sig, info, old_mask)) t.process().die_by_signal(SIGSEGV);
  return true;
}

void deliver_fault(Thread& t, int sig, int code, uint64_t addr) {
  const GuestSigaction& act = t.process().signals.actions[sig];
  const bool blocked = ((t.blocked >> (sig - 1)) & 1) != 0;
  if (act.handler == kSigDfl || act.handler == kSigIgn || blocked) {
    if (t.process().options().strace) strace_signal(sig, code, addr);
    t.process().die_by_signal(sig);  // a fault cannot be ignored
  }
  uint8_t info[kInfoSize] = {};
  const int32_t signo = sig, c = code;
  std::memcpy(info, &signo, 4);
  std::memcpy(info + 8, &c, 4);
  std::memcpy(info + 16, &addr, 8);  // si_addr
  if (!setup_frame(t, sig, info, t.blocked)) t.process().die_by_signal(SIGSEGV);
}

void signal_return(Thread& t) {
  rv::Hart& h = t.hart();
  const uint64_t frame = h.x[2];
  uint8_t uc[kUcSize];
  if (!t.space().read(frame + kInfoSize, uc, kUcSize)) t.process().die_by_signal(SIGSEGV);
  auto get64 = [&](uint64_t off) {
    uint64_t v;
    std::memcpy(&v, uc + off, 8);
    return v;
  };
  h.pc = get64(kMcRegs);
  for (unsigned r = 1; r < 32; ++r) h.x[r] = get64(kMcRegs + 8 * r);
  for (unsigned r = 0; r < 32; ++r) h.fp.f[r] = get64(kMcFp + 8 * r);
  uint32_t fcsr;
  std::memcpy(&fcsr, uc + kMcFcsr, 4);
  h.fp.fflags = fcsr & 0x1f;
  h.fp.frm = (fcsr >> 5) & 7;
  t.blocked =
      get64(kUcSigmask) & ~((uint64_t{1} << (SIGKILL - 1)) | (uint64_t{1} << (SIGSTOP - 1)));
  set_host_mask(t.blocked);
}

void signals_on_this_thread(Thread& t) {
  t_hart = &t.hart();
  t_thread = &t;
}

void set_guest_mask(Thread& t, uint64_t blocked) {
  t.blocked = blocked & ~((uint64_t{1} << (SIGKILL - 1)) | (uint64_t{1} << (SIGSTOP - 1)));
  set_host_mask(t.blocked);
}

}  // namespace vessel::user
