#include "base/sandbox.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <vector>

#include "base/error.hpp"

namespace vessel::sandbox {

// ---- the allow-lists ----
//
// Found by running, not by guessing: `strace -f` over the integration suite
// (every device, snapshot/restore, migration with TLS, page sharing, vessel
// host, measured launch), then each role's filter on with
// VESSEL_SANDBOX_REPORT=1 until nothing was reported. What each is for:
//
// clang-format off
// | role      | system calls (besides those of every role)          | what for                      |
// |-----------|-----------------------------------------------------|-------------------------------|
// | every one | exit exit_group rt_sigreturn rt_sigprocmask          | end a thread or vessel,       |
// |           | restart_syscall                                     | return from signal handlers   |
// |           | futex write clock_gettime clock_nanosleep nanosleep | locks, the log (stderr),      |
// |           | gettid getpid sched_yield                           | eventfd wake-ups, time        |
// |           | brk mmap munmap mremap madvise mprotect (not exec)  | malloc, thread stacks,        |
// |           | mincore                                             | page sharing's scan           |
// |           | tgkill (own process only)                           | abort() names itself          |
// | VM        | read readv pread64 preadv writev pwrite64 pwritev   | devices, console, disks,      |
// |           | close poll ppoll lseek fstat newfstatat statx fcntl | snapshots                     |
// |           | flock                                               |                               |
// |           | openat mkdir mkdirat renameat renameat2 unlinkat    | snapshot directories          |
// |           | getdents64 fsync fdatasync ftruncate fallocate      |                               |
// |           | fchmod                                              |                               |
// |           | unlink rmdir                                        | --lockstep's temporary log    |
// |           | io_uring_enter io_uring_register                    | virtio-blk                    |
// |           | socket (inet only) connect bind listen accept       | libslirp's NAT sockets,       |
// |           | accept4 sendto sendmsg recvfrom recvmsg shutdown    | hostfwd                       |
// |           | setsockopt getsockopt getsockname getpeername       |                               |
// |           | ioctl (TCGETS TCSETS* FIONBIO FIONREAD TIOCGWINSZ)  | the raw terminal, slirp       |
// |           | getrandom eventfd2                                  | virtio-rng                    |
// |           | clone (CLONE_THREAD only) set_robust_list rseq,     | hart threads, block workers   |
// |           | rt_sigaction (glibc's two real-time signals only)   |                               |
// |           | seccomp, prctl (PR_SET_NO_NEW_PRIVS only)           | the children narrow the list  |
// |           | mmap/mprotect with PROT_EXEC                        | the translator's code cache   |
// | hart      | read readv writev pread64 pwrite64 preadv pwritev   | devices' MMIO handlers, under |
// |           | close poll ppoll fcntl io_uring_enter getrandom     | the device lock: disk I/O     |
// |           | fdatasync                                           | submitted, virtio-rng         |
// |           | socket (inet only) connect sendto sendmsg recvfrom  | packets the guest sends       |
// |           | recvmsg shutdown setsockopt getsockopt getsockname  | (libslirp, tap)               |
// |           | getpeername                                         |                               |
// |           | fallocate (punching holes only)                     | a guest store unsharing the   |
// |           |                                                     | last user of a page-store slot|
// |           | mmap/mprotect with PROT_EXEC                        | the translator's code cache   |
// | block I/O | pread64 preadv pwrite64 pwritev fdatasync fallocate | the disk operations           |
// | control   | read recvfrom recvmsg sendto sendmsg poll ppoll     | JSON lines on connections     |
// |           | close accept4                                       |                               |
// |           | socket (inet only) connect setsockopt getsockopt    | a migration's TCP connection  |
// |           | getsockname getpeername shutdown fcntl getrandom    | and GnuTLS                    |
// |           | pread64                                             | ctl stats: /proc/self files   |
// |           |                                                     | opened before the lock-down   |
// |           | clone (CLONE_THREAD only) set_robust_list rseq,     | a thread per connection       |
// |           | rt_sigaction (glibc's two real-time signals only)   |                               |
// |           | seccomp, prctl (PR_SET_NO_NEW_PRIVS only)           | the children narrow the list  |
// | receive   | the VM role's, and                                  | `vessel receive` before its   |
// |           | io_uring_setup                                      | VM exists: virtio-blk's ring, |
// |           | ioctl (BLKGETSIZE64 TUNSETIFF) rt_sigaction         | a block device's size, a tap, |
// |           |                                                     | the run loop's signals        |
// |           |                                                     | (files opened beforehand:     |
// |           |                                                     | base/preopen.hpp); then the   |
// |           |                                                     | VM role's filter on top       |
// | waiter    | wait4 kill                                          | the parent outside a --jail   |
// | client    | read recvfrom recvmsg sendto sendmsg poll close     | ctl's socket, stdio (glibc    |
// |           | fstat newfstatat lseek, ioctl (TCGETS)              | asks whether stdout is a tty) |
// |           | getrandom                                           | OpenSSL (verify)              |
// clang-format on
//
// openat fails with EACCES in the roles that open nothing (glibc's malloc
// tries /proc/sys/vm/overcommit_memory once, from any thread, and copes).
// clone3 fails with ENOSYS everywhere (its flags sit behind a pointer a
// filter cannot read), so glibc falls back to clone(2), whose flags it can:
// threads yes, processes no. Only the VM and hart roles may map memory
// executable.

namespace {

using Names = std::initializer_list<const char*>;

constexpr Names kCommon = {
    "exit",
    "exit_group",
    "rt_sigreturn",
    "rt_sigprocmask",
    "restart_syscall",
    "futex",
    "write",
    "clock_gettime",
    "clock_nanosleep",
    "nanosleep",
    "gettid",
    "getpid",
    "sched_yield",
    "brk",
    "munmap",
    "mremap",
    "madvise",
    "mincore",
};

// Threads made by a confined thread start under its filter until they
// confine themselves.
constexpr Names kMakesThreads = {"set_robust_list", "rseq"};

constexpr Names kVm = {
    "read",        "readv",       "pread64",        "preadv",
    "writev",      "pwrite64",    "pwritev",        "close",
    "poll",        "ppoll",       "lseek",          "fstat",
    "newfstatat",  "statx",       "fcntl",          "flock",
    "openat",      "mkdir",       "mkdirat",        "renameat",
    "renameat2",   "unlinkat",    "unlink",         "rmdir",
    "getdents64",  "fsync",       "fdatasync",      "ftruncate",
    "fallocate",   "fchmod",      "io_uring_enter", "io_uring_register",
    "connect",     "bind",        "listen",         "accept",
    "accept4",     "sendto",      "sendmsg",        "recvfrom",
    "recvmsg",     "shutdown",    "setsockopt",     "getsockopt",
    "getsockname", "getpeername", "getrandom",      "eventfd2",
};

// A hart's thread runs guest code and, under the device lock, the devices'
// MMIO handlers: a queue notify submits disk I/O (io_uring, or an eventfd
// write to a worker), sends packets (libslirp: new guest TCP connections
// open sockets; tap: writev), fills virtio-rng buffers (getrandom), gives
// balloon pages back (madvise, in kCommon); the console flush is a write.
// It opens no file and makes no thread.
constexpr Names kHart = {
    "read",       "readv",      "writev",      "pread64",     "pwrite64",  "preadv",
    "pwritev",    "close",      "poll",        "ppoll",       "fcntl",     "io_uring_enter",
    "connect",    "sendto",     "sendmsg",     "recvfrom",    "recvmsg",   "shutdown",
    "setsockopt", "getsockopt", "getsockname", "getpeername", "getrandom", "fdatasync",
};

constexpr Names kBlockIo = {"pread64", "preadv", "pwrite64", "pwritev", "fdatasync", "fallocate"};

constexpr Names kControl = {
    "read",        "recvfrom",    "recvmsg",  "sendto",  "sendmsg",    "poll",
    "ppoll",       "close",       "accept4",  "connect", "setsockopt", "getsockopt",
    "getsockname", "getpeername", "shutdown", "fcntl",   "getrandom",  "pread64",
};

constexpr Names kWaiter = {"wait4", "kill"};

constexpr Names kClient = {"read",  "recvfrom", "recvmsg",    "sendto", "sendmsg",  "poll",
                           "close", "fstat",    "newfstatat", "lseek",  "getrandom"};

Settings g_settings;
// keep_net_bind_service(): lock_down() keeps that one capability for --user.
bool g_keep_bind_service = false;
int g_selftest_nr = -1;
bool g_report_only = false;
int g_report_fd = -1;
int g_jail_fd = -1;
bool g_locked_down = false;

// ---- the SIGSYS handler ----

// Names of the calls by number, resolved once before the first filter
// (seccomp_syscall_resolve_num_arch allocates, which a signal handler may
// not).
constexpr int kNamedCalls = 512;
struct CallName {
  char text[32];
};
std::array<CallName, kNamedCalls> g_call_names{};
thread_local const char* t_role_name = "main";

void append(char*& p, const char* end, const char* text) {
  while (*text != '\0' && p < end) *p++ = *text++;
}

void append_number(char*& p, const char* end, long value) {
  char digits[24];
  int n = 0;
  unsigned long v = value < 0 ? 0ul - static_cast<unsigned long>(value) : value;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < 23);
  if (value < 0 && p < end) *p++ = '-';
  while (n > 0 && p < end) *p++ = digits[--n];
}

// Async-signal-safe: a write(2) of one line, then _exit.
void on_sigsys(int, siginfo_t* info, void* context) {
  const int nr = info->si_syscall;
  char line[160];
  char* p = line;
  const char* end = line + sizeof(line) - 1;
  append(p, end, "vessel: sandbox: the ");
  append(p, end, t_role_name);
  append(p, end, " thread made a forbidden system call: ");
  if (nr >= 0 && nr < kNamedCalls && g_call_names[nr].text[0] != '\0') {
    append(p, end, g_call_names[nr].text);
  } else {
    append(p, end, "#");
    append_number(p, end, nr);
  }
  if (g_report_only) {
    append(p, end, " (failed with ENOSYS: VESSEL_SANDBOX_REPORT)");
    // Which file, for calls that open one by name.
    const auto* uc = static_cast<const ucontext_t*>(context);
    if (nr == SYS_openat) {
      append(p, end, " ");
      append(p, end, reinterpret_cast<const char*>(uc->uc_mcontext.gregs[REG_RSI]));
    }
  }
  *p++ = '\n';
  (void)!::write(STDERR_FILENO, line, static_cast<size_t>(p - line));
  if (g_report_fd >= 0) (void)!::write(g_report_fd, line, static_cast<size_t>(p - line));
  if (g_report_only) {
    auto* uc = static_cast<ucontext_t*>(context);
    uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
    return;
  }
  _exit(128 + SIGSYS);
}

void install_sigsys_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int nr = 0; nr < kNamedCalls; ++nr) {
      char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
      if (name == nullptr) continue;
      std::strncpy(g_call_names[nr].text, name, sizeof(g_call_names[nr].text) - 1);
      std::free(name);
    }
    struct sigaction sa {};
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, nullptr) != 0) {
      fail("sandbox: cannot handle SIGSYS: {}", errno_text(errno));
    }
  });
}

// ---- building a filter ----

class Filter {
 public:
  Filter() : ctx_(seccomp_init(SCMP_ACT_TRAP)) {
    if (ctx_ == nullptr) fail("sandbox: cannot make a seccomp filter");
  }
  ~Filter() { seccomp_release(ctx_); }
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;

  void allow(Names names) {
    for (const char* name : names) allow(name);
  }
  void allow(const char* name) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return;  // not a call of this architecture
    check(seccomp_rule_add(ctx_, SCMP_ACT_ALLOW, nr, 0), name);
  }
  template <typename... Cmp>
  void allow_if(const char* name, Cmp... cmp) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return;
    check(seccomp_rule_add(ctx_, SCMP_ACT_ALLOW, nr, sizeof...(cmp), cmp...), name);
  }
  void fail_with(const char* name, int err) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return;
    check(seccomp_rule_add(ctx_, SCMP_ACT_ERRNO(err), nr, 0), name);
  }
  void load() {
    // no_new_privs, which an unprivileged filter needs and every thread gets.
    check(seccomp_attr_set(ctx_, SCMP_FLTATR_CTL_NNP, 1), "no_new_privs");
    check(seccomp_load(ctx_), "seccomp_load");
  }

 private:
  static void check(int rc, const char* what) {
    if (rc < 0) fail("sandbox: seccomp: {}: {}", what, errno_text(-rc));
  }
  scmp_filter_ctx ctx_;
};

void allow_memory(Filter& f, bool executable) {
  if (executable) {
    f.allow({"mmap", "mprotect"});
    return;
  }
  f.allow_if("mmap", SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  f.allow_if("mprotect", SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
}

void allow_thread_creation(Filter& f) {
  f.allow(kMakesThreads);
  // glibc's first pthread_create in a process installs the handlers of its
  // own two real-time signals (cancellation, setxid); no other handler.
  for (scmp_datum_t sig : {__SIGRTMIN, __SIGRTMIN + 1}) {  // 32, 33: below SIGRTMIN
    f.allow_if("rt_sigaction", SCMP_A0(SCMP_CMP_EQ, sig));
  }
  f.allow_if("clone", SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
  f.fail_with("clone3", ENOSYS);
  // So that the children can narrow the list: a filter only ever takes
  // calls away.
  f.allow_if("prctl", SCMP_A0(SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS));
  f.allow("seccomp");
}

void allow_inet_sockets(Filter& f) {
  for (scmp_datum_t domain : {AF_INET, AF_INET6})
    f.allow_if("socket", SCMP_A0(SCMP_CMP_EQ, domain));
}

void allow_terminal_ioctls(Filter& f) {
  for (unsigned long request : {TCGETS, TCSETS, TCSETSW, TCSETSF, FIONBIO, FIONREAD, TIOCGWINSZ}) {
    f.allow_if("ioctl", SCMP_A1(SCMP_CMP_EQ, request));
  }
}

// glibc's malloc opens /proc/sys/vm/overcommit_memory once per process, from
// whichever thread first gives memory of a thread arena back, and copes if
// it cannot; roles that open nothing get EACCES instead of a trap.
void refuse_opening(Filter& f) {
  f.fail_with("openat", EACCES);
}

void build(Filter& f, Role role) {
  f.allow(kCommon);
  f.allow_if("tgkill", SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(::getpid())));
  switch (role) {
    case Role::kVm:
      f.allow(kVm);
      allow_memory(f, /*executable=*/true);
      allow_thread_creation(f);
      allow_inet_sockets(f);
      allow_terminal_ioctls(f);
      break;
    case Role::kReceive:
      f.allow(kVm);
      f.allow("io_uring_setup");
      // Machine::run() installs its signal handlers before it confines the
      // thread as the VM's (whose list has only glibc's own two).
      f.allow("rt_sigaction");
      for (unsigned long request : {BLKGETSIZE64, TUNSETIFF}) {
        f.allow_if("ioctl", SCMP_A1(SCMP_CMP_EQ, request));
      }
      allow_memory(f, /*executable=*/true);
      allow_thread_creation(f);
      allow_inet_sockets(f);
      allow_terminal_ioctls(f);
      break;
    case Role::kHart:
      f.allow(kHart);
      // PageStore::release punches out a slot nobody maps any more; a guest
      // store that unshares a page's last user does so on its hart.
      f.allow_if("fallocate", SCMP_A1(SCMP_CMP_EQ, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE));
      refuse_opening(f);
      allow_memory(f, /*executable=*/true);
      allow_inet_sockets(f);
      break;
    case Role::kBlockIo:
      f.allow(kBlockIo);
      refuse_opening(f);
      allow_memory(f, /*executable=*/false);
      break;
    case Role::kControl:
      f.allow(kControl);
      refuse_opening(f);
      allow_memory(f, /*executable=*/false);
      allow_thread_creation(f);
      allow_inet_sockets(f);
      break;
    case Role::kClient:
      f.allow(kClient);
      f.allow_if("ioctl", SCMP_A1(SCMP_CMP_EQ, TCGETS));
      refuse_opening(f);
      allow_memory(f, /*executable=*/false);
      break;
    case Role::kWaiter:
      f.allow(kWaiter);
      refuse_opening(f);
      allow_memory(f, /*executable=*/false);
      break;
  }
}

// ---- --jail ----

[[noreturn]] void wait_for_jailed_child(pid_t child);

pid_t g_child = -1;

void forward_signal(int sig) {
  if (g_child > 0) ::kill(g_child, sig);
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kVm: return "VM";
    case Role::kHart: return "hart";
    case Role::kBlockIo: return "block I/O";
    case Role::kControl: return "control socket";
    case Role::kReceive: return "receive";
    case Role::kClient: return "client";
    case Role::kWaiter: return "jail's parent";
  }
  return "unknown";
}

User lookup_user(const std::string& name) {
  if (name.empty()) fail("--user needs a user name");
  std::vector<char> buffer(16384);
  passwd pw{};
  passwd* found = nullptr;
  const int rc = ::getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &found);
  if (found == nullptr) {
    if (rc != 0) fail("--user {}: cannot look the user up: {}", name, errno_text(rc));
    fail("--user {}: no such user", name);
  }
  if (::geteuid() != 0) fail("--user {}: only root can change to another user", name);
  return User{name, pw.pw_uid, pw.pw_gid};
}

void check_jail(const std::string& dir) {
  if (dir.empty()) fail("--jail needs a directory");
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) fail("--jail {}: {}", dir, errno_text(errno));
  if (!S_ISDIR(st.st_mode)) fail("--jail {}: not a directory", dir);
  if (::geteuid() != 0) fail("--jail {}: only root can make a jail (namespaces, chroot)", dir);
}

void configure(const Settings& settings) {
  g_settings = settings;
  if (const char* name = std::getenv("VESSEL_SANDBOX_SELFTEST"); name != nullptr && *name) {
    g_selftest_nr = seccomp_syscall_resolve_name(name);
    if (g_selftest_nr == __NR_SCMP_ERROR) fail("VESSEL_SANDBOX_SELFTEST={}: no such call", name);
  }
  if (const char* report = std::getenv("VESSEL_SANDBOX_REPORT"); report != nullptr) {
    g_report_only = std::strcmp(report, "1") == 0 || report[0] == '/';
    // A file that collects the reports of many runs (the integration suite).
    if (report[0] == '/')
      g_report_fd = ::open(report, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  }
}

const Settings& settings() {
  return g_settings;
}

bool seccomp_enabled() {
  return g_settings.seccomp;
}

namespace {

[[noreturn]] void wait_for_jailed_child(pid_t child) {
  g_child = child;
  struct sigaction sa {};
  sa.sa_handler = forward_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  if (g_settings.seccomp) confine_thread(Role::kWaiter);
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(child, &status, 0);
    if (r == child) break;
    if (r < 0 && errno != EINTR) _exit(1);
  }
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) _exit(128 + WTERMSIG(status));
  _exit(1);
}

}  // namespace

void enter_jail() {
  if (g_settings.jail.empty()) return;
  const std::string& dir = g_settings.jail;
  g_jail_fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (g_jail_fd < 0) fail("--jail {}: {}", dir, errno_text(errno));
  if (::unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC) != 0) {
    fail("--jail {}: cannot make namespaces: {}", dir, errno_text(errno));
  }
  // Nothing vessel mounts or unmounts from now on reaches the host's view.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    fail("--jail {}: cannot make the mounts private: {}", dir, errno_text(errno));
  }
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child < 0) fail("--jail {}: cannot fork: {}", dir, errno_text(errno));
  if (child > 0) wait_for_jailed_child(child);
  // PID 1 of the new namespace: if the parent goes, so does vessel.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The kernel drops signals a namespace's PID 1 does not handle, even from
  // outside: until the VM's run loop handles them, they end vessel.
  struct sigaction sa {};
  sa.sa_handler = [](int sig) { _exit(128 + sig); };
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

void lock_down() {
  if (g_locked_down) return;
  g_locked_down = true;
  if (g_jail_fd >= 0) {
    if (::fchdir(g_jail_fd) != 0 || ::chroot(".") != 0 || ::chdir("/") != 0) {
      fail("--jail {}: cannot chroot: {}", g_settings.jail, errno_text(errno));
    }
    ::close(g_jail_fd);
    g_jail_fd = -1;
  }
  if (g_settings.user) {
    const User& u = *g_settings.user;
    // Capabilities survive setuid only with KEEPCAPS; all but one go below.
    if (g_keep_bind_service && u.uid != 0 && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
      fail("--user {}: cannot keep CAP_NET_BIND_SERVICE: {}", u.name, errno_text(errno));
    }
    if (::setgroups(0, nullptr) != 0 || ::setgid(u.gid) != 0 || ::setuid(u.uid) != 0) {
      fail("--user {}: cannot change to it: {}", u.name, errno_text(errno));
    }
    if (g_keep_bind_service && u.uid != 0) {
      __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
      __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
      data[0].effective = data[0].permitted = 1u << CAP_NET_BIND_SERVICE;
      if (::syscall(SYS_capset, &header, data) != 0 || ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
        fail("--user {}: cannot keep CAP_NET_BIND_SERVICE: {}", u.name, errno_text(errno));
      }
    }
    // There is no way back.
    if (u.uid != 0 && ::setuid(0) == 0) fail("--user {}: could change back to root", u.name);
  }
}

void keep_net_bind_service() {
  g_keep_bind_service = true;
}

bool sanitizer_build() {
  // ThreadSanitizer's runtime makes calls of its own from every thread (its
  // reports, its shadow memory) that no role lists, as ASan's does.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer) || \
    __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

void inherit_role(Role role) {
  t_role_name = role_name(role).data();
}

void confine_thread(Role role) {
  if (g_settings.seccomp) {
    try {
      install_sigsys_handler();
      Filter filter;
      build(filter, role);
      t_role_name = role_name(role).data();
      filter.load();
    } catch (const Error& e) {
      if (role == Role::kVm || role == Role::kReceive || role == Role::kClient) throw;
      std::fprintf(stderr, "vessel: %s\n", e.what());
      _exit(1);
    }
  }
  // The test hook, with the sandbox on or off: only the filter stops it.
  if ((role == Role::kVm || role == Role::kReceive || role == Role::kClient) &&
      g_selftest_nr >= 0) {
    ::syscall(g_selftest_nr, 0, 0, 0, 0, 0, 0);
  }
}

}  // namespace vessel::sandbox
