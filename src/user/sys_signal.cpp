// Signal system calls: dispositions, masks, the alternate stack, sigreturn,
// sigsuspend. Delivery itself is in signals.cpp.
#include <signal.h>

#include "user/sys_util.hpp"

namespace vessel::user {

namespace {

constexpr uint64_t kSigsetSize = 8;
constexpr uint64_t kUnblockable = (uint64_t{1} << (SIGKILL - 1)) | (uint64_t{1} << (SIGSTOP - 1));

int64_t sys_rt_sigaction(Thread& t, const SyscallArgs& a) {
  const int sig = static_cast<int>(a.a[0]);
  if (sig < 1 || sig > kNumSignals || a.a[3] != kSigsetSize) return -EINVAL;
  GuestSigaction& current = t.process().signals.actions[sig];
  GuestSigaction next{};
  if (a.a[1] != 0) {
    if (sig == SIGKILL || sig == SIGSTOP) return -EINVAL;
    if (!t.space().read_value(a.a[1], next)) return -EFAULT;
  }
  if (a.a[2] != 0 && !t.space().write_value(a.a[2], current)) return -EFAULT;
  if (a.a[1] != 0) {
    next.mask &= ~kUnblockable;
    current = next;
    apply_host_disposition(t, sig);
  }
  return 0;
}

int64_t sys_rt_sigprocmask(Thread& t, const SyscallArgs& a) {
  if (a.a[3] != kSigsetSize) return -EINVAL;
  const uint64_t old = t.blocked;
  uint64_t set = 0;
  if (a.a[1] != 0 && !t.space().read_value(a.a[1], set)) return -EFAULT;
  if (a.a[2] != 0 && !t.space().write_value(a.a[2], old)) return -EFAULT;
  if (a.a[1] == 0) return 0;
  switch (a.a[0]) {
    case SIG_BLOCK: set_guest_mask(t, old | set); break;
    case SIG_UNBLOCK: set_guest_mask(t, old & ~set); break;
    case SIG_SETMASK: set_guest_mask(t, set); break;
    default: return -EINVAL;
  }
  return 0;
}

int64_t sys_rt_sigpending(Thread& t, const SyscallArgs& a) {
  if (a.a[1] != kSigsetSize) return -EINVAL;
  sigset_t host;
  sigpending(&host);
  uint64_t set = t.process().signals.pending.load(std::memory_order_relaxed) |
                 t.pending.load(std::memory_order_relaxed);
  for (int sig = 1; sig <= kNumSignals; ++sig) {
    if (sigismember(&host, sig) == 1) set |= uint64_t{1} << (sig - 1);
  }
  return t.space().write_value(a.a[0], set) ? 0 : -EFAULT;
}

int64_t sys_rt_sigsuspend(Thread& t, const SyscallArgs& a) {
  if (a.a[1] != kSigsetSize) return -EINVAL;
  uint64_t mask = 0;
  if (!t.space().read_value(a.a[0], mask)) return -EFAULT;
  t.saved_mask = t.blocked;
  t.has_saved_mask = true;
  set_guest_mask(t, mask);
  sigset_t host;
  sigprocmask(SIG_SETMASK, nullptr, &host);
  // Returns once a signal's handler (ours, which marks it pending) ran.
  while ((t.process().signals.pending.load() | t.pending.load()) == 0) sigsuspend(&host);
  return -EINTR;  // the frame restores the old mask (has_saved_mask)
}

int64_t sys_rt_sigreturn(Thread& t, const SyscallArgs& a) {
  signal_return(t);
  return kNoResult;
}

int64_t sys_sigaltstack(Thread& t, const SyscallArgs& a) {
  struct {
    uint64_t sp;
    int32_t flags;
    int32_t pad;
    uint64_t size;
  } ss{};
  static_assert(sizeof(ss) == 24);
  if (a.a[1] != 0) {
    ss.sp = t.altstack.sp;
    ss.flags = t.altstack.flags;
    ss.size = t.altstack.size;
    if (!t.space().write_value(a.a[1], ss)) return -EFAULT;
  }
  if (a.a[0] != 0) {
    if (!t.space().read_value(a.a[0], ss)) return -EFAULT;
    constexpr int32_t kSsDisable = 2;
    if ((ss.flags & ~kSsDisable) != 0) return -EINVAL;
    if (ss.flags != kSsDisable && ss.size < 2048) return -ENOMEM;  // MINSIGSTKSZ
    t.altstack.sp = ss.sp;
    t.altstack.flags = ss.flags;
    t.altstack.size = ss.size;
  }
  return 0;
}

}  // namespace

void add_signal_syscalls(SyscallTable& t) {
  t.add(132, "sigaltstack", sys_sigaltstack, "pp");
  t.add(133, "rt_sigsuspend", sys_rt_sigsuspend, "pu");
  t.add(134, "rt_sigaction", sys_rt_sigaction, "dppu");
  t.add(135, "rt_sigprocmask", sys_rt_sigprocmask, "dppu");
  t.add(136, "rt_sigpending", sys_rt_sigpending, "pu");
  t.add(139, "rt_sigreturn", sys_rt_sigreturn, "");
}

}  // namespace vessel::user
