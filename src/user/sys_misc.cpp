// The rest: uname (riscv64), time, randomness, sysinfo, prctl, and the
// RISC-V specific calls.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "user/sys_util.hpp"

namespace vessel::user {

namespace {

int64_t sys_uname(Thread& t, const SyscallArgs& a) {
  utsname u{};  // six 65-byte fields on both
  if (::uname(&u) != 0) return -errno;
  std::memset(u.machine, 0, sizeof u.machine);
  std::strcpy(u.machine, "riscv64");
  return t.space().write_value(a.a[0], u) ? 0 : -EFAULT;
}

int64_t sys_getrandom(Thread& t, const SyscallArgs& a) {
  uint8_t* buf = guest_buf(t, a.a[0], a.a[1], kProtWrite);
  if (buf == nullptr) return -EFAULT;
  return host_result(::getrandom(buf, a.a[1], static_cast<unsigned>(a.a[2])));
}

int64_t sys_clock_gettime(Thread& t, const SyscallArgs& a) {
  timespec ts{};
  if (::clock_gettime(static_cast<clockid_t>(a.a[0]), &ts) != 0) return -errno;
  return t.space().write_value(a.a[1], ts) ? 0 : -EFAULT;
}

int64_t sys_clock_getres(Thread& t, const SyscallArgs& a) {
  timespec ts{};
  if (::clock_getres(static_cast<clockid_t>(a.a[0]), &ts) != 0) return -errno;
  if (a.a[1] != 0 && !t.space().write_value(a.a[1], ts)) return -EFAULT;
  return 0;
}

int64_t sys_gettimeofday(Thread& t, const SyscallArgs& a) {
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  if (a.a[0] != 0 && !t.space().write_value(a.a[0], tv)) return -EFAULT;
  if (a.a[1] != 0) {
    const uint64_t tz = 0;  // struct timezone: two ints, always zero
    if (!t.space().write_value(a.a[1], tz)) return -EFAULT;
  }
  return 0;
}

int64_t sys_nanosleep(Thread& t, const SyscallArgs& a) {
  timespec req{}, rem{};
  if (!t.space().read_value(a.a[0], req)) return -EFAULT;
  if (::nanosleep(&req, &rem) == 0) return 0;
  const int err = errno;
  if (err == EINTR && a.a[1] != 0 && !t.space().write_value(a.a[1], rem)) return -EFAULT;
  return -err;
}

int64_t sys_clock_nanosleep(Thread& t, const SyscallArgs& a) {
  timespec req{}, rem{};
  if (!t.space().read_value(a.a[2], req)) return -EFAULT;
  const int err =
      ::clock_nanosleep(static_cast<clockid_t>(a.a[0]), static_cast<int>(a.a[1]), &req, &rem);
  if (err == EINTR && a.a[3] != 0 && (a.a[1] & TIMER_ABSTIME) == 0 &&
      !t.space().write_value(a.a[3], rem)) {
    return -EFAULT;
  }
  return -err;
}

int64_t sys_times(Thread& t, const SyscallArgs& a) {
  tms buf{};
  const clock_t r = ::times(&buf);
  if (a.a[0] != 0 && !t.space().write_value(a.a[0], buf)) return -EFAULT;
  return r;
}

int64_t sys_sysinfo(Thread& t, const SyscallArgs& a) {
  struct sysinfo info {};  // the same 112 bytes on both
  if (::sysinfo(&info) != 0) return -errno;
  return t.space().write_value(a.a[0], info) ? 0 : -EFAULT;
}

int64_t sys_prctl(Thread& t, const SyscallArgs& a) {
  const int option = static_cast<int>(a.a[0]);
  switch (option) {
    case PR_SET_NAME: {
      char name[16] = {};
      std::string s;
      const int err = t.space().read_string(a.a[1], 4096, s);
      if (err != 0) return -err;
      std::strncpy(name, s.c_str(), sizeof name - 1);
      return host_result(::prctl(PR_SET_NAME, name));
    }
    case PR_GET_NAME: {
      char name[16] = {};
      ::prctl(PR_GET_NAME, name);
      return t.space().write(a.a[1], name, sizeof name) ? 0 : -EFAULT;
    }
    case PR_SET_PDEATHSIG:
    case PR_SET_DUMPABLE:
    case PR_GET_DUMPABLE:
    case PR_SET_CHILD_SUBREAPER:
    case PR_SET_NO_NEW_PRIVS:
    case PR_GET_NO_NEW_PRIVS: return host_result(::prctl(option, a.a[1], a.a[2], a.a[3], a.a[4]));
    default: return -EINVAL;
  }
}

int64_t sys_flush_icache(Thread& t, const SyscallArgs& a) {
  // Stores to code reach the hart's code cache already (the code-write
  // hook), which is what this call promises.
  return 0;
}

int64_t sys_setitimer(Thread& t, const SyscallArgs& a) {
  itimerval next{}, old{};  // the same layout on both
  if (!t.space().read_value(a.a[1], next)) return -EFAULT;
  if (::setitimer(static_cast<__itimer_which>(a.a[0]), &next, &old) != 0) return -errno;
  if (a.a[2] != 0 && !t.space().write_value(a.a[2], old)) return -EFAULT;
  return 0;
}

int64_t sys_getitimer(Thread& t, const SyscallArgs& a) {
  itimerval value{};
  if (::getitimer(static_cast<__itimer_which>(a.a[0]), &value) != 0) return -errno;
  return t.space().write_value(a.a[1], value) ? 0 : -EFAULT;
}

int64_t sys_fadvise64(Thread& t, const SyscallArgs& a) {
  return -::posix_fadvise(a.fd(0), static_cast<off_t>(a.a[1]), static_cast<off_t>(a.a[2]),
                          static_cast<int>(a.a[3]));
}

int64_t sys_fallocate(Thread& t, const SyscallArgs& a) {
  return host_result(::fallocate(a.fd(0), static_cast<int>(a.a[1]), static_cast<off_t>(a.a[2]),
                                 static_cast<off_t>(a.a[3])));
}

int64_t sys_flock(Thread& t, const SyscallArgs& a) {
  return host_result(::flock(a.fd(0), static_cast<int>(a.a[1])));
}

int64_t sys_memfd_create(Thread& t, const SyscallArgs& a) {
  std::string name;
  if (const int err = t.space().read_string(a.a[0], 250, name)) return -err;
  return host_result(::memfd_create(name.c_str(), static_cast<unsigned>(a.a[1])));
}

int64_t sys_close_range(Thread& t, const SyscallArgs& a) {
  return host_result(::syscall(SYS_close_range, static_cast<unsigned>(a.a[0]),
                               static_cast<unsigned>(a.a[1]), static_cast<unsigned>(a.a[2])));
}

int64_t sys_getpriority(Thread& t, const SyscallArgs& a) {
  errno = 0;
  const int r = ::getpriority(static_cast<__priority_which>(a.a[0]), static_cast<id_t>(a.a[1]));
  if (r == -1 && errno != 0) return -errno;
  return 20 - r;  // the raw call's encoding (nice -20..19 as 40..1)
}

int64_t sys_setpriority(Thread& t, const SyscallArgs& a) {
  return host_result(::setpriority(static_cast<__priority_which>(a.a[0]), static_cast<id_t>(a.a[1]),
                                   static_cast<int>(a.a[2])));
}

int64_t sys_enosys(Thread& t, const SyscallArgs& a) {
  return -ENOSYS;
}

}  // namespace

void add_misc_syscalls(SyscallTable& t) {
  t.add(101, "nanosleep", sys_nanosleep, "pp");
  t.add(113, "clock_gettime", sys_clock_gettime, "dp");
  t.add(114, "clock_getres", sys_clock_getres, "dp");
  t.add(115, "clock_nanosleep", sys_clock_nanosleep, "dxpp");
  t.add(32, "flock", sys_flock, "fd");
  t.add(47, "fallocate", sys_fallocate, "fddd");
  t.add(102, "getitimer", sys_getitimer, "dp");
  t.add(103, "setitimer", sys_setitimer, "dpp");
  t.add(140, "setpriority", sys_setpriority, "ddd");
  t.add(141, "getpriority", sys_getpriority, "dd");
  t.add(153, "times", sys_times, "p");
  t.add(223, "fadvise64", sys_fadvise64, "fddd");
  t.add(279, "memfd_create", sys_memfd_create, "sx");
  t.add(436, "close_range", sys_close_range, "uux");
  t.add(160, "uname", sys_uname, "p");
  t.add(167, "prctl", sys_prctl, "dxxxx");
  t.add(169, "gettimeofday", sys_gettimeofday, "pp");
  t.add(179, "sysinfo", sys_sysinfo, "p");
  t.add(258, "riscv_hwprobe", sys_enosys, "pupux");
  t.add(259, "riscv_flush_icache", sys_flush_icache, "ppx");
  t.add(278, "getrandom", sys_getrandom, "pux");
  // rseq: glibc registers an area if it can and goes on without one.
  t.add(293, "rseq", sys_enosys, "puxx");
  t.add(435, "clone3", sys_enosys, "pu");  // glibc falls back to clone
}

}  // namespace vessel::user
