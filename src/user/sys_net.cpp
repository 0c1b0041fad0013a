// Sockets, poll, select and epoll. Socket addresses, msghdr, pollfd and
// fd_set have the same layout on riscv64 and x86-64; epoll_event does not
// (riscv_abi.hpp).
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "user/riscv_abi.hpp"
#include "user/sys_util.hpp"

namespace vessel::user {

namespace {

constexpr uint64_t kMaxAddr = 128;  // sizeof(struct sockaddr_storage)

int64_t sys_socket(Thread& t, const SyscallArgs& a) {
  return host_result(
      ::socket(static_cast<int>(a.a[0]), static_cast<int>(a.a[1]), static_cast<int>(a.a[2])));
}

int64_t sys_socketpair(Thread& t, const SyscallArgs& a) {
  if (guest_buf(t, a.a[3], 8, kProtWrite) == nullptr) return -EFAULT;
  int fds[2];
  if (::socketpair(static_cast<int>(a.a[0]), static_cast<int>(a.a[1]), static_cast<int>(a.a[2]),
                   fds) != 0) {
    return -errno;
  }
  t.space().write(a.a[3], fds, sizeof fds);
  return 0;
}

// An address the guest passes in.
int64_t sys_addr_in(Thread& t, const SyscallArgs& a, int (*call)(int, const sockaddr*, socklen_t)) {
  const uint64_t len = a.a[2];
  if (len > kMaxAddr) return -EINVAL;
  const uint8_t* addr = guest_buf(t, a.a[1], len, kProtRead);
  if (addr == nullptr) return -EFAULT;
  return host_result(
      call(a.fd(0), reinterpret_cast<const sockaddr*>(addr), static_cast<socklen_t>(len)));
}

int64_t sys_bind(Thread& t, const SyscallArgs& a) {
  return sys_addr_in(t, a, ::bind);
}

int64_t sys_connect(Thread& t, const SyscallArgs& a) {
  return sys_addr_in(t, a, ::connect);
}

int64_t sys_listen(Thread& t, const SyscallArgs& a) {
  return host_result(::listen(a.fd(0), static_cast<int>(a.a[1])));
}

// An address the call returns: (addr, socklen_t* len) in the guest.
template <typename Call>
int64_t addr_out(Thread& t, uint64_t addr_va, uint64_t len_va, Call call) {
  uint8_t addr[kMaxAddr] = {};
  socklen_t len = 0;
  if (addr_va != 0) {
    if (!t.space().read_value(len_va, len)) return -EFAULT;
    if (static_cast<int>(len) < 0) return -EINVAL;
  }
  socklen_t host_len = sizeof addr;
  const int64_t r = call(addr_va != 0 ? reinterpret_cast<sockaddr*>(addr) : nullptr,
                         addr_va != 0 ? &host_len : nullptr);
  if (r < 0) return r;
  if (addr_va != 0) {
    const socklen_t copy = std::min(len, host_len);
    if (!t.space().write(addr_va, addr, copy) || !t.space().write_value(len_va, host_len)) {
      return -EFAULT;
    }
  }
  return r;
}

int64_t sys_accept4(Thread& t, const SyscallArgs& a) {
  return addr_out(t, a.a[1], a.a[2], [&](sockaddr* addr, socklen_t* len) {
    return host_result(::accept4(a.fd(0), addr, len, static_cast<int>(a.a[3])));
  });
}

int64_t sys_accept(Thread& t, const SyscallArgs& a) {
  return addr_out(t, a.a[1], a.a[2], [&](sockaddr* addr, socklen_t* len) {
    return host_result(::accept(a.fd(0), addr, len));
  });
}

int64_t sys_getsockname(Thread& t, const SyscallArgs& a) {
  return addr_out(t, a.a[1], a.a[2], [&](sockaddr* addr, socklen_t* len) {
    return host_result(::getsockname(a.fd(0), addr, len));
  });
}

int64_t sys_getpeername(Thread& t, const SyscallArgs& a) {
  return addr_out(t, a.a[1], a.a[2], [&](sockaddr* addr, socklen_t* len) {
    return host_result(::getpeername(a.fd(0), addr, len));
  });
}

int64_t sys_sendto(Thread& t, const SyscallArgs& a) {
  const uint8_t* buf = guest_buf(t, a.a[1], a.a[2], kProtRead);
  if (buf == nullptr) return -EFAULT;
  const uint64_t alen = a.a[5];
  if (alen > kMaxAddr) return -EINVAL;
  const uint8_t* addr = a.a[4] != 0 ? guest_buf(t, a.a[4], alen, kProtRead) : nullptr;
  if (a.a[4] != 0 && addr == nullptr) return -EFAULT;
  return host_result(::sendto(a.fd(0), buf, a.a[2], static_cast<int>(a.a[3]),
                              reinterpret_cast<const sockaddr*>(addr),
                              static_cast<socklen_t>(alen)));
}

int64_t sys_recvfrom(Thread& t, const SyscallArgs& a) {
  uint8_t* buf = guest_buf(t, a.a[1], a.a[2], kProtWrite);
  if (buf == nullptr) return -EFAULT;
  return addr_out(t, a.a[4], a.a[5], [&](sockaddr* addr, socklen_t* len) {
    return host_result(::recvfrom(a.fd(0), buf, a.a[2], static_cast<int>(a.a[3]), addr, len));
  });
}

int64_t sys_setsockopt(Thread& t, const SyscallArgs& a) {
  const uint64_t len = a.a[4];
  if (len > 4096) return -EINVAL;
  const uint8_t* val = guest_buf(t, a.a[3], len, kProtRead);
  if (val == nullptr) return -EFAULT;
  return host_result(::setsockopt(a.fd(0), static_cast<int>(a.a[1]), static_cast<int>(a.a[2]), val,
                                  static_cast<socklen_t>(len)));
}

int64_t sys_getsockopt(Thread& t, const SyscallArgs& a) {
  socklen_t len = 0;
  if (!t.space().read_value(a.a[4], len)) return -EFAULT;
  if (len > 4096) len = 4096;
  uint8_t* val = guest_buf(t, a.a[3], len, kProtWrite);
  if (val == nullptr) return -EFAULT;
  if (::getsockopt(a.fd(0), static_cast<int>(a.a[1]), static_cast<int>(a.a[2]), val, &len) != 0) {
    return -errno;
  }
  return t.space().write_value(a.a[4], len) ? 0 : -EFAULT;
}

int64_t sys_shutdown(Thread& t, const SyscallArgs& a) {
  return host_result(::shutdown(a.fd(0), static_cast<int>(a.a[1])));
}

// The guest's msghdr with every pointer in it checked and made a host one.
bool host_msghdr(Thread& t, uint64_t va, bool receive, msghdr& out, std::vector<iovec>& iov) {
  struct {
    uint64_t name, namelen, iov, iovlen, control, controllen, flags;
  } m{};
  static_assert(sizeof(m) == 56 && sizeof(msghdr) == 56);
  if (!t.space().read(va, &m, sizeof m)) return false;
  const uint32_t need = receive ? kProtWrite : kProtRead;
  if (m.iovlen > 1024 || (m.namelen & 0xffffffff) > kMaxAddr) return false;
  std::vector<uint64_t> raw(m.iovlen * 2);
  if (!t.space().read(m.iov, raw.data(), raw.size() * 8)) return false;
  iov.resize(m.iovlen);
  for (uint64_t i = 0; i < m.iovlen; ++i) {
    uint8_t* p = guest_buf(t, raw[2 * i], raw[2 * i + 1], need);
    if (p == nullptr) return false;
    iov[i] = iovec{p, raw[2 * i + 1]};
  }
  out = msghdr{};
  const uint32_t namelen = static_cast<uint32_t>(m.namelen);
  if (m.name != 0) {
    out.msg_name = guest_buf(t, m.name, namelen, need);
    if (out.msg_name == nullptr) return false;
    out.msg_namelen = namelen;
  }
  out.msg_iov = iov.data();
  out.msg_iovlen = iov.size();
  if (m.control != 0 && m.controllen != 0) {
    if (m.controllen > 65536) return false;
    out.msg_control = guest_buf(t, m.control, m.controllen, need);
    if (out.msg_control == nullptr) return false;
    out.msg_controllen = m.controllen;
  }
  out.msg_flags = static_cast<int>(m.flags);
  return true;
}

int64_t sys_sendmsg(Thread& t, const SyscallArgs& a) {
  msghdr m{};
  std::vector<iovec> iov;
  if (!host_msghdr(t, a.a[1], false, m, iov)) return -EFAULT;
  return host_result(::sendmsg(a.fd(0), &m, static_cast<int>(a.a[2])));
}

int64_t sys_recvmsg(Thread& t, const SyscallArgs& a) {
  msghdr m{};
  std::vector<iovec> iov;
  if (!host_msghdr(t, a.a[1], true, m, iov)) return -EFAULT;
  const ssize_t r = ::recvmsg(a.fd(0), &m, static_cast<int>(a.a[2]));
  if (r < 0) return -errno;
  // The lengths and flags the call updated (namelen, controllen, flags).
  const uint64_t namelen = m.msg_namelen, controllen = m.msg_controllen;
  const int32_t flags = m.msg_flags;
  if (!t.space().write_value(a.a[1] + 8, static_cast<uint32_t>(namelen)) ||
      !t.space().write_value(a.a[1] + 40, controllen) ||
      !t.space().write_value(a.a[1] + 48, flags)) {
    return -EFAULT;
  }
  return r;
}

int64_t sys_ppoll(Thread& t, const SyscallArgs& a) {
  const uint64_t n = a.a[1];
  if (n > 65536) return -EINVAL;
  uint8_t* fds = guest_buf(t, a.a[0], n * sizeof(pollfd), kProtRead | kProtWrite);
  if (fds == nullptr) return -EFAULT;
  timespec timeout{};
  if (a.a[2] != 0 && !t.space().read_value(a.a[2], timeout)) return -EFAULT;
  // The temporary signal mask (a.a[3]) is not applied: signals the guest
  // catches interrupt the wait either way.
  return host_result(
      ::ppoll(reinterpret_cast<pollfd*>(fds), n, a.a[2] != 0 ? &timeout : nullptr, nullptr));
}

int64_t sys_pselect6(Thread& t, const SyscallArgs& a) {
  const int n = static_cast<int>(a.a[0]);
  if (n < 0 || n > FD_SETSIZE) return -EINVAL;
  const uint64_t bytes = (static_cast<uint64_t>(n) + 63) / 64 * 8;
  fd_set* sets[3] = {};
  for (unsigned i = 0; i < 3; ++i) {
    if (a.a[1 + i] == 0) continue;
    sets[i] = reinterpret_cast<fd_set*>(guest_buf(t, a.a[1 + i], bytes, kProtRead | kProtWrite));
    if (sets[i] == nullptr) return -EFAULT;
  }
  timespec timeout{};
  if (a.a[4] != 0 && !t.space().read_value(a.a[4], timeout)) return -EFAULT;
  const long r = ::syscall(SYS_pselect6, n, sets[0], sets[1], sets[2],
                           a.a[4] != 0 ? &timeout : nullptr, nullptr);
  if (r < 0) return -errno;
  if (a.a[4] != 0) t.space().write_value(a.a[4], timeout);
  return r;
}

int64_t sys_epoll_create1(Thread& t, const SyscallArgs& a) {
  return host_result(::epoll_create1(static_cast<int>(a.a[0])));
}

int64_t sys_epoll_ctl(Thread& t, const SyscallArgs& a) {
  GuestEpollEvent g{};
  if (a.a[3] != 0 && !t.space().read_value(a.a[3], g)) return -EFAULT;
  epoll_event e{};
  e.events = g.events;
  e.data.u64 = g.data;
  return host_result(
      ::epoll_ctl(a.fd(0), static_cast<int>(a.a[1]), a.fd(2), a.a[3] != 0 ? &e : nullptr));
}

int64_t sys_epoll_pwait(Thread& t, const SyscallArgs& a) {
  const int max = static_cast<int>(a.a[2]);
  if (max <= 0 || max > 65536) return -EINVAL;
  if (guest_buf(t, a.a[1], sizeof(GuestEpollEvent) * static_cast<uint64_t>(max), kProtWrite) ==
      nullptr) {
    return -EFAULT;
  }
  std::vector<epoll_event> events(static_cast<size_t>(max));
  const int n = ::epoll_wait(a.fd(0), events.data(), max, static_cast<int>(a.a[3]));
  if (n < 0) return -errno;
  std::vector<GuestEpollEvent> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out[i] = GuestEpollEvent{events[i].events, 0, events[i].data.u64};
  if (!t.space().write(a.a[1], out.data(), out.size() * sizeof(GuestEpollEvent))) return -EFAULT;
  return n;
}

int64_t sys_eventfd2(Thread& t, const SyscallArgs& a) {
  return host_result(::eventfd(static_cast<unsigned>(a.a[0]), static_cast<int>(a.a[1])));
}

}  // namespace

void add_net_syscalls(SyscallTable& t) {
  t.add(19, "eventfd2", sys_eventfd2, "ux");
  t.add(20, "epoll_create1", sys_epoll_create1, "x");
  t.add(21, "epoll_ctl", sys_epoll_ctl, "fdfp");
  t.add(22, "epoll_pwait", sys_epoll_pwait, "fpddpu");
  t.add(72, "pselect6", sys_pselect6, "dppppp");
  t.add(73, "ppoll", sys_ppoll, "pupp");
  t.add(198, "socket", sys_socket, "ddd");
  t.add(199, "socketpair", sys_socketpair, "dddp");
  t.add(200, "bind", sys_bind, "fpu");
  t.add(201, "listen", sys_listen, "fd");
  t.add(202, "accept", sys_accept, "fpp");
  t.add(203, "connect", sys_connect, "fpu");
  t.add(204, "getsockname", sys_getsockname, "fpp");
  t.add(205, "getpeername", sys_getpeername, "fpp");
  t.add(206, "sendto", sys_sendto, "fpuxpu");
  t.add(207, "recvfrom", sys_recvfrom, "fpuxpp");
  t.add(208, "setsockopt", sys_setsockopt, "fddpu");
  t.add(209, "getsockopt", sys_getsockopt, "fddpp");
  t.add(210, "shutdown", sys_shutdown, "fd");
  t.add(211, "sendmsg", sys_sendmsg, "fpx");
  t.add(212, "recvmsg", sys_recvmsg, "fpx");
  t.add(242, "accept4", sys_accept4, "fppx");
}

}  // namespace vessel::user
