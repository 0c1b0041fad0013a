// Process system calls: exit, clone as fork, execve (a RISC-V program runs
// through vessel again, anything else natively), wait4, kill, ids, futex.
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "user/elf.hpp"
#include "user/sys_util.hpp"

#include <fcntl.h>

namespace vessel::user {

namespace {

constexpr uint64_t kCloneVm = 0x100, kCloneVfork = 0x4000, kCloneThread = 0x10000,
                   kCloneParentSettid = 0x100000, kCloneChildSettid = 0x1000000,
                   kCloneChildCleartid = 0x200000, kCloneSettls = 0x80000;

int64_t sys_exit_group(Thread& t, const SyscallArgs& a) {
  t.process().exit(static_cast<int>(a.a[0]));
}

int64_t sys_exit(Thread& t, const SyscallArgs& a) {
  t.process().thread_exit(t, static_cast<int>(a.a[0]));
  return kNoResult;  // the thread's run loop ends after this call
}

// clone without CLONE_THREAD: a new process, made by forking vessel itself
// (the address space is copied on write with the rest of it). CLONE_VM
// without CLONE_THREAD (vfork, posix_spawn) is the same, with the child on
// the stack it was given: it only runs until its execve or _exit.
int64_t sys_clone(Thread& t, const SyscallArgs& a) {
  const uint64_t flags = a.a[0];
  const uint64_t stack = a.a[1], ptid = a.a[2], tls = a.a[3], ctid = a.a[4];
  if ((flags & kCloneThread) != 0) {
    if ((flags & kCloneVm) == 0) return -EINVAL;
    return t.spawn(flags, stack, ptid, tls, ctid);
  }
  // vfork: the parent waits until the child has exec'd or is gone. A pipe
  // whose write end only the child keeps (close-on-exec) tells: the
  // parent's read returns at the child's execve (of a host program or of
  // vessel again) or exit. The child sees one descriptor more until then.
  const bool vfork = (flags & (kCloneVm | kCloneVfork)) == (kCloneVm | kCloneVfork);
  int gate[2] = {-1, -1};
  if (vfork && pipe2(gate, O_CLOEXEC) != 0) gate[0] = gate[1] = -1;  // then as fork
  // fork() (glibc's own atfork handling keeps vessel's libc sound in the
  // child); the parent is told of the child's end by SIGCHLD whatever
  // exit signal the guest chose.
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    if (gate[0] >= 0) {
      close(gate[0]);
      close(gate[1]);
    }
    return -err;
  }
  if (pid == 0) {
    if (gate[0] >= 0) close(gate[0]);
    t.process().after_fork(t);
    const uint32_t tid = static_cast<uint32_t>(getpid());
    if ((flags & kCloneChildSettid) != 0) t.space().write_value(ctid, tid);
    if ((flags & kCloneChildCleartid) != 0) t.clear_child_tid = ctid;
    if (stack != 0) t.reg(2) = stack;
    if ((flags & kCloneSettls) != 0) t.reg(4) = tls;
    return 0;
  }
  if ((flags & kCloneParentSettid) != 0) t.space().write_value(ptid, static_cast<uint32_t>(pid));
  if (gate[0] >= 0) {
    close(gate[1]);
    char byte;
    while (read(gate[0], &byte, 1) < 0 && errno == EINTR) {
    }
    close(gate[0]);
  }
  return pid;
}

// A NULL-terminated array of guest string pointers.
int64_t read_string_array(Thread& t, uint64_t va, std::vector<std::string>& out) {
  constexpr uint64_t kMaxTotal = 2u << 20;  // as Linux's limit (a quarter of 8 MiB)
  uint64_t total = 0;
  if (va == 0) return 0;
  for (uint64_t i = 0;; ++i) {
    uint64_t p = 0;
    if (!t.space().read_value(va + 8 * i, p)) return -EFAULT;
    if (p == 0) return 0;
    std::string s;
    const int err = t.space().read_string(p, kMaxTotal, s);
    if (err != 0) return err == ENAMETOOLONG ? -E2BIG : -err;
    total += s.size() + 1 + 8;
    if (total > kMaxTotal) return -E2BIG;
    out.push_back(std::move(s));
  }
}

std::vector<char*> c_array(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// True if `path` starts like a RISC-V ELF file.
bool is_riscv_program(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  uint8_t head[64] = {};
  const ssize_t n = fd.valid() ? ::pread(fd.get(), head, sizeof head, 0) : -1;
  return n > 0 && looks_like_riscv_elf({head, static_cast<size_t>(n)});
}

// A "#!" script's interpreter and its optional argument (binfmt_script's
// rules: the first line, the first word, then the rest as one argument).
bool parse_shebang(const char* head, size_t n, std::string& interp, std::string& arg) {
  if (n < 2 || head[0] != '#' || head[1] != '!') return false;
  std::string line(head + 2, n - 2);
  const size_t eol = line.find('\n');
  if (eol == std::string::npos) return false;
  line.resize(eol);
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  size_t i = 0;
  while (i < line.size() && blank(line[i])) ++i;
  size_t j = i;
  while (j < line.size() && !blank(line[j])) ++j;
  interp = line.substr(i, j - i);
  while (j < line.size() && blank(line[j])) ++j;
  arg = line.substr(j);
  while (!arg.empty() && blank(arg.back())) arg.pop_back();
  return !interp.empty();
}

int64_t sys_execve(Thread& t, const SyscallArgs& a) {
  std::string raw;
  if (const int err = t.space().read_string(a.a[0], PATH_MAX, raw)) return -err;
  const std::string path = t.process().host_path(raw);
  std::vector<std::string> argv, envp;
  if (const int64_t e = read_string_array(t, a.a[1], argv)) return e;
  if (const int64_t e = read_string_array(t, a.a[2], envp)) return e;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return -errno;
  if (::access(path.c_str(), X_OK) != 0) return -errno;
  char head[256] = {};
  const ssize_t n = ::pread(fd.get(), head, sizeof head, 0);
  fd.reset();
  // What to run through vessel: the program, or a script's RISC-V
  // interpreter (the host kernel cannot start either).
  std::string program;
  std::vector<std::string> program_argv = argv;
  std::string interp, arg;
  if (n > 0 && looks_like_riscv_elf({reinterpret_cast<uint8_t*>(head), static_cast<size_t>(n)})) {
    program = path;
  } else if (n > 0 && parse_shebang(head, static_cast<size_t>(n), interp, arg) &&
             is_riscv_program(t.process().host_path(interp))) {
    program = t.process().host_path(interp);
    program_argv = {interp};
    if (!arg.empty()) program_argv.push_back(arg);
    program_argv.push_back(raw);
    for (size_t i = 1; i < argv.size(); ++i) program_argv.push_back(argv[i]);
  }
  // The guest's signal mask is what the next program starts with.
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig = 1; sig <= kNumSignals; ++sig) {
    if ((t.blocked >> (sig - 1)) & 1) sigaddset(&mask, sig);
  }
  sigset_t old;
  sigprocmask(SIG_SETMASK, &mask, &old);
  if (!program.empty()) {
    const ExecOptions& o = t.process().options();
    std::vector<std::string> args = {"vessel",  "exec",     "--sysroot",
                                     o.sysroot, "--engine", std::string(engine_name(o.engine))};
    if (o.strace) args.push_back("--strace");
    if (!program_argv.empty()) {
      args.push_back("--argv0");
      args.push_back(program_argv[0]);
    }
    args.push_back("--");
    args.push_back(program);
    for (size_t i = 1; i < program_argv.size(); ++i) args.push_back(program_argv[i]);
    std::vector<char*> cargs = c_array(args), cenv = c_array(envp);
    ::execve("/proc/self/exe", cargs.data(), cenv.data());
  } else {
    // A host program or a host script: the host kernel runs it.
    std::vector<char*> cargs = c_array(argv), cenv = c_array(envp);
    ::execve(path.c_str(), cargs.data(), cenv.data());
  }
  const int err = errno;
  sigprocmask(SIG_SETMASK, &old, nullptr);
  return -err;
}

int64_t sys_wait4(Thread& t, const SyscallArgs& a) {
  int status = 0;
  rusage usage{};  // the same layout on both
  if (a.a[1] != 0 && guest_buf(t, a.a[1], 4, kProtWrite) == nullptr) return -EFAULT;
  if (a.a[3] != 0 && guest_buf(t, a.a[3], sizeof usage, kProtWrite) == nullptr) return -EFAULT;
  const pid_t r = ::wait4(static_cast<pid_t>(a.a[0]), &status, static_cast<int>(a.a[2]),
                          a.a[3] != 0 ? &usage : nullptr);
  if (r < 0) return -errno;
  if (r > 0 && a.a[1] != 0) t.space().write_value(a.a[1], status);
  if (a.a[3] != 0) t.space().write_value(a.a[3], usage);
  return r;
}

int64_t sys_waitid(Thread& t, const SyscallArgs& a) {
  siginfo_t info{};  // 128 bytes, the same layout for SIGCHLD's fields
  if (a.a[2] != 0 && guest_buf(t, a.a[2], sizeof info, kProtWrite) == nullptr) return -EFAULT;
  rusage usage{};
  const long r = ::syscall(SYS_waitid, static_cast<int>(a.a[0]), static_cast<id_t>(a.a[1]), &info,
                           static_cast<int>(a.a[3]), a.a[4] != 0 ? &usage : nullptr);
  if (r < 0) return -errno;
  if (a.a[2] != 0) t.space().write_value(a.a[2], info);
  if (a.a[4] != 0 && !t.space().write_value(a.a[4], usage)) return -EFAULT;
  return r;
}

int64_t sys_kill(Thread& t, const SyscallArgs& a) {
  return host_result(::kill(static_cast<pid_t>(a.a[0]), static_cast<int>(a.a[1])));
}

int64_t sys_tkill(Thread& t, const SyscallArgs& a) {
  return host_result(::syscall(SYS_tkill, static_cast<pid_t>(a.a[0]), static_cast<int>(a.a[1])));
}

int64_t sys_tgkill(Thread& t, const SyscallArgs& a) {
  return host_result(::syscall(SYS_tgkill, static_cast<pid_t>(a.a[0]), static_cast<pid_t>(a.a[1]),
                               static_cast<int>(a.a[2])));
}

int64_t sys_getpid(Thread& t, const SyscallArgs& a) {
  return ::getpid();
}
int64_t sys_getppid(Thread& t, const SyscallArgs& a) {
  return ::getppid();
}
int64_t sys_gettid(Thread& t, const SyscallArgs& a) {
  return ::gettid();
}
int64_t sys_getuid(Thread& t, const SyscallArgs& a) {
  return ::getuid();
}
int64_t sys_geteuid(Thread& t, const SyscallArgs& a) {
  return ::geteuid();
}
int64_t sys_getgid(Thread& t, const SyscallArgs& a) {
  return ::getgid();
}
int64_t sys_getegid(Thread& t, const SyscallArgs& a) {
  return ::getegid();
}

int64_t sys_getresuid(Thread& t, const SyscallArgs& a) {
  uid_t r, e, s;
  getresuid(&r, &e, &s);
  if (!t.space().write_value(a.a[0], r) || !t.space().write_value(a.a[1], e) ||
      !t.space().write_value(a.a[2], s)) {
    return -EFAULT;
  }
  return 0;
}

int64_t sys_getresgid(Thread& t, const SyscallArgs& a) {
  gid_t r, e, s;
  getresgid(&r, &e, &s);
  if (!t.space().write_value(a.a[0], r) || !t.space().write_value(a.a[1], e) ||
      !t.space().write_value(a.a[2], s)) {
    return -EFAULT;
  }
  return 0;
}

int64_t sys_getgroups(Thread& t, const SyscallArgs& a) {
  const int size = static_cast<int>(a.a[0]);
  if (size < 0) return -EINVAL;
  // At most NGROUPS_MAX: the guest does not size vessel's allocation.
  const int room = std::min(size, 65536);
  std::vector<gid_t> groups(static_cast<size_t>(room));
  const int n = ::getgroups(room, groups.data());
  if (n < 0) return -errno;
  if (size != 0 &&
      !t.space().write(a.a[1], groups.data(), sizeof(gid_t) * static_cast<size_t>(n))) {
    return -EFAULT;
  }
  return n;
}

int64_t sys_setpgid(Thread& t, const SyscallArgs& a) {
  return host_result(::setpgid(static_cast<pid_t>(a.a[0]), static_cast<pid_t>(a.a[1])));
}
int64_t sys_getpgid(Thread& t, const SyscallArgs& a) {
  return host_result(::getpgid(static_cast<pid_t>(a.a[0])));
}
int64_t sys_getsid(Thread& t, const SyscallArgs& a) {
  return host_result(::getsid(static_cast<pid_t>(a.a[0])));
}
int64_t sys_setsid(Thread& t, const SyscallArgs& a) {
  return host_result(::setsid());
}

int64_t sys_set_tid_address(Thread& t, const SyscallArgs& a) {
  t.clear_child_tid = a.a[0];
  return ::gettid();
}

int64_t sys_futex(Thread& t, const SyscallArgs& a) {
  const int op = static_cast<int>(a.a[1]);
  const int cmd = op & FUTEX_CMD_MASK;
  uint8_t* uaddr = guest_buf(t, a.a[0], 4, kProtRead);
  if (uaddr == nullptr || (a.a[0] & 3) != 0) return -EFAULT;
  timespec timeout{};
  const timespec* timeout_ptr = nullptr;
  uint8_t* uaddr2 = nullptr;
  uint64_t val2 = a.a[3];
  switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
      if (a.a[3] != 0) {
        if (!t.space().read_value(a.a[3], timeout)) return -EFAULT;
        timeout_ptr = &timeout;
      }
      break;
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: break;
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE:
    case FUTEX_WAKE_OP:
      uaddr2 = guest_buf(t, a.a[4], 4, kProtRead | kProtWrite);
      if (uaddr2 == nullptr) return -EFAULT;
      break;
    default: return -ENOSYS;
  }
  // The host's futex on the host address: guest threads (and processes that
  // share the memory) wait and wake each other as on Linux.
  const long r = ::syscall(SYS_futex, uaddr, op, static_cast<uint32_t>(a.a[2]),
                           timeout_ptr != nullptr ? reinterpret_cast<uintptr_t>(timeout_ptr) : val2,
                           uaddr2, static_cast<uint32_t>(a.a[5]));
  return host_result(r);
}

int64_t sys_set_robust_list(Thread& t, const SyscallArgs& a) {
  // Not kept: the list matters only when a thread dies holding a robust
  // mutex (not handled yet).
  return a.a[1] == 24 ? 0 : -EINVAL;
}

int64_t sys_prlimit64(Thread& t, const SyscallArgs& a) {
  rlimit64 new_limit{}, old_limit{};  // two u64s on both
  bool has_new = false;
  if (!read_opt(t, a.a[2], new_limit, has_new)) return -EFAULT;
  if (a.a[3] != 0 && guest_buf(t, a.a[3], sizeof old_limit, kProtWrite) == nullptr) return -EFAULT;
  if (::prlimit64(static_cast<pid_t>(a.a[0]), static_cast<__rlimit_resource>(a.a[1]),
                  has_new ? &new_limit : nullptr, &old_limit) != 0) {
    return -errno;
  }
  if (a.a[3] != 0) t.space().write_value(a.a[3], old_limit);
  return 0;
}

int64_t sys_getrlimit(Thread& t, const SyscallArgs& a) {
  rlimit64 limit{};
  if (::prlimit64(0, static_cast<__rlimit_resource>(a.a[0]), nullptr, &limit) != 0) return -errno;
  return t.space().write_value(a.a[1], limit) ? 0 : -EFAULT;
}

int64_t sys_setrlimit(Thread& t, const SyscallArgs& a) {
  rlimit64 limit{};
  if (!t.space().read_value(a.a[1], limit)) return -EFAULT;
  return host_result(::prlimit64(0, static_cast<__rlimit_resource>(a.a[0]), &limit, nullptr));
}

int64_t sys_getrusage(Thread& t, const SyscallArgs& a) {
  rusage usage{};
  if (::getrusage(static_cast<int>(a.a[0]), &usage) != 0) return -errno;
  return t.space().write_value(a.a[1], usage) ? 0 : -EFAULT;
}

int64_t sys_sched_yield(Thread& t, const SyscallArgs& a) {
  return host_result(::sched_yield());
}

int64_t sys_sched_getaffinity(Thread& t, const SyscallArgs& a) {
  const uint64_t size = std::min<uint64_t>(a.a[1], 1024);
  std::vector<uint8_t> mask(size);
  const long r = ::syscall(SYS_sched_getaffinity, static_cast<pid_t>(a.a[0]), size, mask.data());
  if (r < 0) return -errno;
  return t.space().write(a.a[2], mask.data(), static_cast<uint64_t>(r)) ? r : -EFAULT;
}

}  // namespace

void add_process_syscalls(SyscallTable& t) {
  t.add(93, "exit", sys_exit, "d", true);
  t.add(94, "exit_group", sys_exit_group, "d", true);
  t.add(95, "waitid", sys_waitid, "ddpxp");
  t.add(96, "set_tid_address", sys_set_tid_address, "p");
  t.add(98, "futex", sys_futex, "pdupps");
  t.add(99, "set_robust_list", sys_set_robust_list, "pu");
  t.add(
      122, "sched_setaffinity", [](Thread&, const SyscallArgs&) -> int64_t { return 0; }, "dup");
  t.add(123, "sched_getaffinity", sys_sched_getaffinity, "dup");
  t.add(124, "sched_yield", sys_sched_yield, "");
  t.add(129, "kill", sys_kill, "dd");
  t.add(130, "tkill", sys_tkill, "dd");
  t.add(131, "tgkill", sys_tgkill, "ddd");
  t.add(148, "getresuid", sys_getresuid, "ppp");
  t.add(150, "getresgid", sys_getresgid, "ppp");
  t.add(154, "setpgid", sys_setpgid, "dd");
  t.add(155, "getpgid", sys_getpgid, "d");
  t.add(156, "getsid", sys_getsid, "d");
  t.add(157, "setsid", sys_setsid, "");
  t.add(158, "getgroups", sys_getgroups, "dp");
  t.add(163, "getrlimit", sys_getrlimit, "dp");
  t.add(164, "setrlimit", sys_setrlimit, "dp");
  t.add(165, "getrusage", sys_getrusage, "dp");
  t.add(172, "getpid", sys_getpid, "");
  t.add(173, "getppid", sys_getppid, "");
  t.add(174, "getuid", sys_getuid, "");
  t.add(175, "geteuid", sys_geteuid, "");
  t.add(176, "getgid", sys_getgid, "");
  t.add(177, "getegid", sys_getegid, "");
  t.add(178, "gettid", sys_gettid, "");
  t.add(220, "clone", sys_clone, "xpppp");
  t.add(221, "execve", sys_execve, "spp", true);
  t.add(260, "wait4", sys_wait4, "dpxp");
  t.add(261, "prlimit64", sys_prlimit64, "ddpp");
}

}  // namespace vessel::user
