// File and directory system calls: the *at family, reads and writes, stat
// variants (riscv64's struct stat is converted), getdents64, ioctl for
// terminals, fcntl, dup, pipes.
#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "user/riscv_abi.hpp"
#include "user/sys_util.hpp"

namespace vessel::user {

namespace {

constexpr uint64_t kMaxIov = 1024;  // IOV_MAX

int64_t sys_openat(Thread& t, const SyscallArgs& a) {
  std::string path;
  if (const int64_t e = guest_path(t, a.a[1], path)) return e;
  return host_result(
      ::openat(a.fd(0), path.c_str(), static_cast<int>(a.a[2]), static_cast<mode_t>(a.a[3])));
}

int64_t sys_close(Thread& t, const SyscallArgs& a) {
  return host_result(::close(a.fd(0)));
}

int64_t sys_read(Thread& t, const SyscallArgs& a) {
  return into_guest(t, a.a[1], a.a[2], [&](uint8_t* buf) { return ::read(a.fd(0), buf, a.a[2]); });
}

int64_t sys_write(Thread& t, const SyscallArgs& a) {
  const uint8_t* buf = guest_buf(t, a.a[1], a.a[2], kProtRead);
  if (buf == nullptr) return -EFAULT;
  return host_result(::write(a.fd(0), buf, a.a[2]));
}

int64_t sys_pread64(Thread& t, const SyscallArgs& a) {
  return into_guest(t, a.a[1], a.a[2], [&](uint8_t* buf) {
    return ::pread(a.fd(0), buf, a.a[2], static_cast<off_t>(a.a[3]));
  });
}

int64_t sys_pwrite64(Thread& t, const SyscallArgs& a) {
  const uint8_t* buf = guest_buf(t, a.a[1], a.a[2], kProtRead);
  if (buf == nullptr) return -EFAULT;
  return host_result(::pwrite(a.fd(0), buf, a.a[2], static_cast<off_t>(a.a[3])));
}

// The guest's iovec array (the same layout on both) with every buffer
// checked; false on a bad pointer.
bool host_iov(Thread& t, uint64_t va, uint64_t count, uint32_t need, std::vector<iovec>& out) {
  std::vector<uint64_t> raw(count * 2);
  if (!t.space().read(va, raw.data(), raw.size() * 8)) return false;
  out.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint8_t* p = guest_buf(t, raw[2 * i], raw[2 * i + 1], need);
    if (p == nullptr) return false;
    out[i] = iovec{p, raw[2 * i + 1]};
  }
  return true;
}

int64_t sys_readv(Thread& t, const SyscallArgs& a) {
  if (a.a[2] > kMaxIov) return -EINVAL;
  std::vector<iovec> iov;
  if (!host_iov(t, a.a[1], a.a[2], kProtWrite, iov)) return -EFAULT;
  return host_result(::readv(a.fd(0), iov.data(), static_cast<int>(iov.size())));
}

int64_t sys_writev(Thread& t, const SyscallArgs& a) {
  if (a.a[2] > kMaxIov) return -EINVAL;
  std::vector<iovec> iov;
  if (!host_iov(t, a.a[1], a.a[2], kProtRead, iov)) return -EFAULT;
  return host_result(::writev(a.fd(0), iov.data(), static_cast<int>(iov.size())));
}

int64_t sys_lseek(Thread& t, const SyscallArgs& a) {
  return host_result(::lseek(a.fd(0), static_cast<off_t>(a.a[1]), static_cast<int>(a.a[2])));
}

int64_t put_stat(Thread& t, uint64_t va, const struct stat& st) {
  const GuestStat g = to_guest_stat(st);
  return t.space().write_value(va, g) ? 0 : -EFAULT;
}

int64_t sys_fstat(Thread& t, const SyscallArgs& a) {
  struct stat st {};
  if (::fstat(a.fd(0), &st) != 0) return -errno;
  return put_stat(t, a.a[1], st);
}

int64_t sys_newfstatat(Thread& t, const SyscallArgs& a) {
  std::string path;
  if (const int64_t e = guest_path(t, a.a[1], path)) return e;
  struct stat st {};
  if (::fstatat(a.fd(0), path.c_str(), &st, static_cast<int>(a.a[3])) != 0) return -errno;
  return put_stat(t, a.a[2], st);
}

int64_t sys_statx(Thread& t, const SyscallArgs& a) {
  std::string path;
  if (const int64_t e = guest_path(t, a.a[1], path)) return e;
  uint8_t buf[256];  // struct statx: the same on every architecture
  if (guest_buf(t, a.a[4], sizeof buf, kProtWrite) == nullptr) return -EFAULT;
  const long r = ::syscall(SYS_statx, a.fd(0), path.c_str(), static_cast<int>(a.a[2]),
                           static_cast<unsigned>(a.a[3]), buf);
  if (r < 0) return -errno;
  return t.space().write(a.a[4], buf, sizeof buf) ? 0 : -EFAULT;
}

int64_t sys_statfs(Thread& t, const SyscallArgs& a) {
  std::string path;
  if (const int64_t e = guest_path(t, a.a[0], path)) return e;
  struct statfs st {};  // 120 bytes of longs on x86-64 and riscv64 alike
  static_assert(sizeof(st) == 120);
  if (::statfs(path.c_str(), &st) != 0) return -errno;
  return t.space().write_value(a.a[1], st) ? 0 : -EFAULT;
}

int64_t sys_fstatfs(Thread& t, const SyscallArgs& a) {
  struct statfs st {};
  if (::fstatfs(a.fd(0), &st) != 0) return -errno;
  return t.space().write_value(a.a[1], st) ? 0 : -EFAULT;
}

int64_t sys_readlinkat(Thread& t, const SyscallArgs& a) {
  std::string raw;
  if (const int err = t.space().read_string(a.a[1], PATH_MAX, raw)) return -err;
  const int64_t size = a.i(3);
  if (size <= 0) return -EINVAL;
  uint8_t* buf = guest_buf(t, a.a[2], static_cast<uint64_t>(size), kProtWrite);
  if (buf == nullptr) return -EFAULT;
  if (raw == "/proc/self/exe" || raw == "/proc/" + std::to_string(getpid()) + "/exe") {
    // The guest program, not vessel.
    const std::string& exe = t.process().exe_path();
    const size_t n = std::min<size_t>(exe.size(), static_cast<size_t>(size));
    return t.space().write(a.a[2], exe.data(), n) ? static_cast<int64_t>(n) : -EFAULT;
  }
  const std::string path = t.process().host_path(raw);
  return host_result(
      ::readlinkat(a.fd(0), path.c_str(), reinterpret_cast<char*>(buf), static_cast<size_t>(size)));
}

int64_t sys_getdents64(Thread& t, const SyscallArgs& a) {
  // struct linux_dirent64 is the same on both: one bounce buffer.
  const uint64_t count = std::min<uint64_t>(a.a[2], uint64_t{1} << 20);
  if (guest_buf(t, a.a[1], count, kProtWrite) == nullptr) return -EFAULT;
  std::vector<uint8_t> buf(count);
  const long r = ::syscall(SYS_getdents64, a.fd(0), buf.data(), buf.size());
  if (r < 0) return -errno;
  if (!t.space().write(a.a[1], buf.data(), static_cast<uint64_t>(r))) return -EFAULT;
  return r;
}

int64_t sys_ioctl(Thread& t, const SyscallArgs& a) {
  // Terminal and a few fd requests whose numbers and structures are the same
  // on riscv64 (asm-generic) and x86-64; the rest is refused.
  const unsigned long request = a.a[1];
  // The kernel's struct termios (asm-generic/termbits.h: four flag words,
  // c_line, c_cc[19]): 36 bytes, not the 60 of glibc's user-space one.
  constexpr size_t kKernelTermios = 36;
  size_t out_size = 0, in_size = 0;
  switch (request) {
    case TCGETS: out_size = kKernelTermios; break;
    case TCSETS:
    case TCSETSW:
    case TCSETSF: in_size = kKernelTermios; break;
    case TIOCGWINSZ: out_size = sizeof(winsize); break;
    case TIOCSWINSZ: in_size = sizeof(winsize); break;
    case TIOCGPGRP:
    case TIOCGSID:
    case TIOCOUTQ:
    case TIOCGPTN:  // ptsname()
    case FIONREAD: out_size = sizeof(int); break;
    case TIOCSPGRP:
    case TIOCSPTLCK:  // unlockpt()
    case FIONBIO: in_size = sizeof(int); break;
    case FIOCLEX:
    case FIONCLEX:
    case TIOCNOTTY: return host_result(::ioctl(a.fd(0), request));
    case TCFLSH:  // the argument is a value, not a pointer
    case TCXONC:
    case TCSBRK:
    case TIOCSCTTY: return host_result(::ioctl(a.fd(0), request, static_cast<int>(a.a[2])));
    default: return -ENOTTY;
  }
  uint8_t buf[64] = {};
  if (in_size != 0 && !t.space().read(a.a[2], buf, in_size)) return -EFAULT;
  if (out_size != 0 && guest_buf(t, a.a[2], out_size, kProtWrite) == nullptr) return -EFAULT;
  const int r = ::ioctl(a.fd(0), request, buf);
  if (r < 0) return -errno;
  if (out_size != 0 && !t.space().write(a.a[2], buf, out_size)) return -EFAULT;
  return r;
}

int64_t sys_fcntl(Thread& t, const SyscallArgs& a) {
  const int cmd = static_cast<int>(a.a[1]);
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
    case F_GETFD:
    case F_SETFD:
    case F_GETFL:
    case F_SETFL:
    case F_GETPIPE_SZ:
    case F_SETPIPE_SZ:
    case F_GETOWN:
    case F_SETOWN: return host_result(::fcntl(a.fd(0), cmd, static_cast<long>(a.a[2])));
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW: {
      struct flock fl {};  // the same 32 bytes on both
      static_assert(sizeof(fl) == 32);
      if (!t.space().read_value(a.a[2], fl)) return -EFAULT;
      if (::fcntl(a.fd(0), cmd, &fl) != 0) return -errno;
      return t.space().write_value(a.a[2], fl) ? 0 : -EFAULT;
    }
    default: return -EINVAL;
  }
}

int64_t sys_dup(Thread& t, const SyscallArgs& a) {
  return host_result(::dup(a.fd(0)));
}

int64_t sys_dup3(Thread& t, const SyscallArgs& a) {
  return host_result(::dup3(a.fd(0), a.fd(1), static_cast<int>(a.a[2])));
}

int64_t sys_pipe2(Thread& t, const SyscallArgs& a) {
  if (guest_buf(t, a.a[0], 8, kProtWrite) == nullptr) return -EFAULT;
  int fds[2];
  if (::pipe2(fds, static_cast<int>(a.a[1])) != 0) return -errno;
  if (!t.space().write(a.a[0], fds, sizeof fds)) {
    ::close(fds[0]);
    ::close(fds[1]);
    return -EFAULT;
  }
  return 0;
}

int64_t sys_faccessat(Thread& t, const SyscallArgs& a) {
  std::string path;
  if (const int64_t e = guest_path(t, a.a[1], path)) return e;
  return host_result(::faccessat(a.fd(0), path.c_str(), static_cast<int>(a.a[2]), 0));
}

int64_t sys_faccessat2(Thread& t, const SyscallArgs& a) {
  std::string path;
  if (const int64_t e = guest_path(t, a.a[1], path)) return e;
  return host_result(::syscall(SYS_faccessat2, a.fd(0), path.c_str(), static_cast<int>(a.a[2]),
                               static_cast<int>(a.a[3])));
}

int64_t sys_getcwd(Thread& t, const SyscallArgs& a) {
  char buf[PATH_MAX];
  if (::getcwd(buf, sizeof buf) == nullptr) return -errno;
  const uint64_t n = std::strlen(buf) + 1;
  if (n > a.a[1]) return -ERANGE;
  return t.space().write(a.a[0], buf, n) ? static_cast<int64_t>(n) : -EFAULT;
}

int64_t sys_chdir(Thread& t, const SyscallArgs& a) {
  std::string path;
  if (const int64_t e = guest_path(t, a.a[0], path)) return e;
  return host_result(::chdir(path.c_str()));
}

int64_t sys_fchdir(Thread& t, const SyscallArgs& a) {
  return host_result(::fchdir(a.fd(0)));
}

int64_t sys_mkdirat(Thread& t, const SyscallArgs& a) {
  std::string path;
  if (const int64_t e = guest_path(t, a.a[1], path)) return e;
  return host_result(::mkdirat(a.fd(0), path.c_str(), static_cast<mode_t>(a.a[2])));
}

int64_t sys_unlinkat(Thread& t, const SyscallArgs& a) {
  std::string path;
  if (const int64_t e = guest_path(t, a.a[1], path)) return e;
  return host_result(::unlinkat(a.fd(0), path.c_str(), static_cast<int>(a.a[2])));
}

int64_t sys_symlinkat(Thread& t, const SyscallArgs& a) {
  std::string target, path;
  if (const int err = t.space().read_string(a.a[0], PATH_MAX, target)) return -err;
  if (const int64_t e = guest_path(t, a.a[2], path)) return e;
  return host_result(::symlinkat(target.c_str(), a.fd(1), path.c_str()));
}

int64_t sys_linkat(Thread& t, const SyscallArgs& a) {
  std::string from, to;
  if (const int64_t e = guest_path(t, a.a[1], from)) return e;
  if (const int64_t e = guest_path(t, a.a[3], to)) return e;
  return host_result(
      ::linkat(a.fd(0), from.c_str(), a.fd(2), to.c_str(), static_cast<int>(a.a[4])));
}

int64_t sys_renameat2(Thread& t, const SyscallArgs& a) {
  std::string from, to;
  if (const int64_t e = guest_path(t, a.a[1], from)) return e;
  if (const int64_t e = guest_path(t, a.a[3], to)) return e;
  return host_result(
      ::renameat2(a.fd(0), from.c_str(), a.fd(2), to.c_str(), static_cast<unsigned>(a.a[4])));
}

int64_t sys_renameat(Thread& t, const SyscallArgs& a) {
  SyscallArgs b = a;
  b.a[4] = 0;  // renameat has no flags argument
  return sys_renameat2(t, b);
}

int64_t sys_fchmodat(Thread& t, const SyscallArgs& a) {
  std::string path;
  if (const int64_t e = guest_path(t, a.a[1], path)) return e;
  return host_result(::fchmodat(a.fd(0), path.c_str(), static_cast<mode_t>(a.a[2]), 0));
}

int64_t sys_fchmod(Thread& t, const SyscallArgs& a) {
  return host_result(::fchmod(a.fd(0), static_cast<mode_t>(a.a[1])));
}

int64_t sys_fchownat(Thread& t, const SyscallArgs& a) {
  std::string path;
  if (const int64_t e = guest_path(t, a.a[1], path)) return e;
  return host_result(::fchownat(a.fd(0), path.c_str(), static_cast<uid_t>(a.a[2]),
                                static_cast<gid_t>(a.a[3]), static_cast<int>(a.a[4])));
}

int64_t sys_fchown(Thread& t, const SyscallArgs& a) {
  return host_result(::fchown(a.fd(0), static_cast<uid_t>(a.a[1]), static_cast<gid_t>(a.a[2])));
}

int64_t sys_ftruncate(Thread& t, const SyscallArgs& a) {
  return host_result(::ftruncate(a.fd(0), static_cast<off_t>(a.a[1])));
}

int64_t sys_truncate(Thread& t, const SyscallArgs& a) {
  std::string path;
  if (const int64_t e = guest_path(t, a.a[0], path)) return e;
  return host_result(::truncate(path.c_str(), static_cast<off_t>(a.a[1])));
}

int64_t sys_fsync(Thread& t, const SyscallArgs& a) {
  return host_result(::fsync(a.fd(0)));
}

int64_t sys_fdatasync(Thread& t, const SyscallArgs& a) {
  return host_result(::fdatasync(a.fd(0)));
}

int64_t sys_utimensat(Thread& t, const SyscallArgs& a) {
  std::string path;
  const char* p = nullptr;
  if (a.a[1] != 0) {
    if (const int64_t e = guest_path(t, a.a[1], path)) return e;
    p = path.c_str();
  }
  timespec times[2];
  if (a.a[2] != 0 && !t.space().read(a.a[2], times, sizeof times)) return -EFAULT;
  return host_result(::syscall(SYS_utimensat, a.fd(0), p, a.a[2] != 0 ? times : nullptr,
                               static_cast<int>(a.a[3])));
}

int64_t sys_umask(Thread& t, const SyscallArgs& a) {
  return ::umask(static_cast<mode_t>(a.a[0]));
}

int64_t sys_sync(Thread& t, const SyscallArgs& a) {
  ::sync();
  return 0;
}

int64_t sys_sendfile(Thread& t, const SyscallArgs& a) {
  off_t offset = 0;
  bool has_offset = false;
  if (!read_opt(t, a.a[2], offset, has_offset)) return -EFAULT;
  const ssize_t r = ::sendfile(a.fd(0), a.fd(1), has_offset ? &offset : nullptr, a.a[3]);
  if (r < 0) return -errno;
  if (has_offset && !t.space().write_value(a.a[2], offset)) return -EFAULT;
  return r;
}

}  // namespace

void add_file_syscalls(SyscallTable& t) {
  t.add(17, "getcwd", sys_getcwd, "pu");
  t.add(23, "dup", sys_dup, "f");
  t.add(24, "dup3", sys_dup3, "ffx");
  t.add(25, "fcntl", sys_fcntl, "fdx");
  t.add(29, "ioctl", sys_ioctl, "fxp");
  t.add(34, "mkdirat", sys_mkdirat, "fso");
  t.add(35, "unlinkat", sys_unlinkat, "fsx");
  t.add(36, "symlinkat", sys_symlinkat, "sfs");
  t.add(37, "linkat", sys_linkat, "fsfsx");
  t.add(38, "renameat", sys_renameat, "fsfs");
  t.add(43, "statfs", sys_statfs, "sp");
  t.add(44, "fstatfs", sys_fstatfs, "fp");
  t.add(45, "truncate", sys_truncate, "sd");
  t.add(46, "ftruncate", sys_ftruncate, "fd");
  t.add(48, "faccessat", sys_faccessat, "fso");
  t.add(49, "chdir", sys_chdir, "s");
  t.add(50, "fchdir", sys_fchdir, "f");
  t.add(52, "fchmod", sys_fchmod, "fo");
  t.add(53, "fchmodat", sys_fchmodat, "fso");
  t.add(54, "fchownat", sys_fchownat, "fsddx");
  t.add(55, "fchown", sys_fchown, "fdd");
  t.add(56, "openat", sys_openat, "fsxo");
  t.add(57, "close", sys_close, "f");
  t.add(59, "pipe2", sys_pipe2, "px");
  t.add(61, "getdents64", sys_getdents64, "fpu");
  t.add(62, "lseek", sys_lseek, "fdd");
  t.add(63, "read", sys_read, "fpu");
  t.add(64, "write", sys_write, "fpu");
  t.add(65, "readv", sys_readv, "fpu");
  t.add(66, "writev", sys_writev, "fpu");
  t.add(67, "pread64", sys_pread64, "fpud");
  t.add(68, "pwrite64", sys_pwrite64, "fpud");
  t.add(71, "sendfile", sys_sendfile, "ffpu");
  t.add(78, "readlinkat", sys_readlinkat, "fspu");
  t.add(79, "newfstatat", sys_newfstatat, "fspx");
  t.add(80, "fstat", sys_fstat, "fp");
  t.add(81, "sync", sys_sync, "");
  t.add(82, "fsync", sys_fsync, "f");
  t.add(83, "fdatasync", sys_fdatasync, "f");
  t.add(88, "utimensat", sys_utimensat, "fspx");
  t.add(166, "umask", sys_umask, "o");
  t.add(276, "renameat2", sys_renameat2, "fsfsx");
  t.add(291, "statx", sys_statx, "fsxxp");
  t.add(439, "faccessat2", sys_faccessat2, "fsox");
}

}  // namespace vessel::user
