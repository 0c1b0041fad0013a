// Signals for a guest process: the guest's dispositions, host signals caught
// on its behalf, and delivery on the guest's stack with the riscv64 Linux
// signal frame (arch/riscv/include/uapi/asm/ucontext.h, sigcontext.h;
// arch/riscv/kernel/signal.c).
#pragma once

#include <atomic>
#include <cstdint>

namespace vessel::user {

class Thread;

inline constexpr int kNumSignals = 64;

struct GuestSigaction {  // the kernel's struct sigaction on riscv64 (no sa_restorer)
  uint64_t handler = 0;  // SIG_DFL 0, SIG_IGN 1, or a guest address
  uint64_t flags = 0;
  uint64_t mask = 0;
};

struct GuestStack {  // stack_t
  uint64_t sp = 0;
  int32_t flags = 2;  // SS_DISABLE
  uint64_t size = 0;
};

struct Signals {
  GuestSigaction actions[kNumSignals + 1];
  // Host signals caught for the guest and not yet delivered, bit (sig - 1),
  // sent to the process (thread-directed ones wait in Thread::pending).
  std::atomic<uint64_t> pending{0};
  // The siginfo each signal last came with (the same 128-byte layout on
  // riscv64 and x86-64), for SA_SIGINFO handlers.
  uint8_t info[kNumSignals + 1][128] = {};
  // The page holding the guest's rt_sigreturn trampoline (0: not made yet).
  uint64_t trampoline = 0;
};

// Sets the host's disposition for `sig` to follow the guest's new action:
// ignored, default, or caught into Signals::pending.
void apply_host_disposition(Thread& t, int sig);
// Delivers one pending, unblocked signal if there is one (the thread's next
// instruction is then the handler's first). Returns false if none.
bool deliver_pending_signal(Thread& t);
// A fault in guest code (a trap the hart reports): delivers `sig` at once,
// or ends the process if the guest neither catches it nor may.
void deliver_fault(Thread& t, int sig, int code, uint64_t addr);
// After a host call ended with EINTR: true if the signal about to be
// delivered asks for the call to be restarted (SA_RESTART).
bool restart_after_signal(Thread& t);
// Host signals caught on the calling host thread stop `t`'s hart.
void signals_on_this_thread(Thread& t);
// Sets the thread's signal mask (SIGKILL and SIGSTOP stay unblocked) and
// the host's to match.
void set_guest_mask(Thread& t, uint64_t blocked);
// rt_sigreturn: restores the registers and mask from the frame at sp.
void signal_return(Thread& t);

}  // namespace vessel::user
