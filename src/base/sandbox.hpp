// The sandbox, as Firecracker's: once a vessel has opened its files, sockets
// and devices, each of its threads keeps only the system calls it needs.
//
//  - seccomp (`--sandbox on`, the default of the command line): every thread
//    calls confine_thread() with its role once it starts its real work; the
//    filter (libseccomp) allows that role's calls and traps the rest, and a
//    trapped call ends vessel with one line naming it (status 159, 128 +
//    SIGSYS). no_new_privs comes with it. Filters stack: a thread that makes
//    threads after confining itself must allow what its children need to
//    start, and the children narrow further (a hart thread made by the VM
//    thread, block workers made by it on first use).
//  - `--jail DIR`: fresh mount, PID and IPC namespaces, entered before
//    anything is opened (enter_jail(), which forks: vessel runs on as PID 1
//    of its namespace, the parent waits and passes its status on), then a
//    chroot into DIR once the files named on the command line are open
//    (lock_down()). Paths opened later (snapshot directories, `ctl` requests
//    naming files) are resolved inside DIR.
//  - `--user NAME`: setgroups/setgid/setuid to NAME in lock_down(), after the
//    chroot, before any thread is made (so that every thread drops at once).
//
// The library is off until the command line configures it: unit tests that
// run a Machine must not confine the test runner's thread.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace vessel::sandbox {

// The kinds of thread vessel makes; each has its allow-list (sandbox.cpp).
enum class Role {
  kVm,       // the VM's own thread: the run loop, devices, slirp, io_uring,
             // mailbox work (snapshots), teardown; also `vessel host`'s main thread
  kHart,     // a hart's own host thread: made by the VM thread in Machine::run()
             // after its confine_thread(kVm) (never earlier: lock_down()'s --user
             // drop must come before any thread exists), and calling
             // confine_thread(kHart) as its first statement, before any guest
             // code runs
  kBlockIo,  // a virtio-blk worker (when io_uring is not available)
  kControl,  // the control socket's acceptor and its connections (migration sender)
  kReceive,  // `vessel receive`'s main thread from before the peer's first byte:
             // the VM role's calls and what building the VM from the stream
             // needs besides (io_uring_setup, the disks' and tap's ioctls).
             // It becomes the VM thread, whose confine_thread(kVm) stacks the
             // VM role's filter on top: from then on it has no call `vessel
             // run`'s VM thread lacks
  kWaiter,   // the parent left outside a --jail: waits for vessel and passes signals on
  kClient,   // `vessel ctl`, `verify` and `guest` once they have opened what they
             // need: they read, parse (replies, quotes) and print, nothing else
};
std::string_view role_name(Role role);

struct User {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct Settings {
  bool seccomp = false;
  std::optional<User> user;
  std::string jail;
};

// Looks NAME up in the password database (before any chroot); throws Error
// with one line if there is no such user.
User lookup_user(const std::string& name);
// Checks that DIR can be a jail (an existing directory, and vessel is root);
// throws Error with one line otherwise.
void check_jail(const std::string& dir);

// Whether this is an ASan/UBSan/TSan build, where the sandbox is off unless
// asked for (LeakSanitizer forks a ptrace tracer at exit; TSan's runtime
// makes calls of its own).
bool sanitizer_build();

// Once, from the command line, before any thread starts. Reads the test hook
// VESSEL_SANDBOX_SELFTEST=SYSCALL (the VM thread makes that call right after
// confining itself, and so do `vessel receive`'s as kReceive and the
// clients' as kClient) and VESSEL_SANDBOX_REPORT=1 (a trapped call is reported
// and fails with ENOSYS instead of ending vessel: for finding what a new
// code path needs).
void configure(const Settings& settings);
const Settings& settings();
bool seccomp_enabled();

// With --jail: new mount, PID and IPC namespaces. Forks; returns in the
// child (PID 1 of the new PID namespace). The parent never returns: it
// waits for the child and exits with its status. Call early, single-threaded.
void enter_jail();

// Everything named on the command line is open and no thread has started:
// chroot into the jail, then drop to the user. Idempotent.
void lock_down();

// Before lock_down(): the user keeps CAP_NET_BIND_SERVICE (and no other
// capability), for `vessel receive --user`, which binds its host port
// forwards only once the VM arrives (after the source released them, on one
// host) and may be told to forward a port below 1024.
void keep_net_bind_service();

// The calling thread keeps the system calls of `role` (nothing happens with
// the sandbox off). If the filter cannot be loaded: throws Error on the VM
// thread (and a receive or client one); on any other, says so in one line and
// ends vessel (status 1).
void confine_thread(Role role);

// A thread made by a confined thread runs under its maker's filter; this
// names its role in the line a forbidden call prints.
void inherit_role(Role role);

}  // namespace vessel::sandbox
