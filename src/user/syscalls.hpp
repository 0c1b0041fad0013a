// The Linux system-call interface of a riscv64 process, translated to the
// host's. One table by number (the generic numbering riscv64 uses,
// include/uapi/asm-generic/unistd.h); the handlers live in files by area
// (sys_file.cpp, sys_memory.cpp, sys_process.cpp, sys_signal.cpp,
// sys_misc.cpp, sys_net.cpp), each registering its own.
//
// A handler gets the six argument registers and returns the value for a0:
// the result, or -errno. Every guest pointer goes through the
// AddressSpace's checks (EFAULT), never straight to the host.
#pragma once

#include <cerrno>
#include <cstdint>

namespace vessel::user {

class Thread;

struct SyscallArgs {
  uint64_t a[6] = {};
  int64_t i(unsigned n) const { return static_cast<int64_t>(a[n]); }
  int fd(unsigned n) const { return static_cast<int>(a[n]); }
};

// A handler's result that leaves a0 alone (rt_sigreturn, a successful execve).
inline constexpr int64_t kNoResult = INT64_MIN;

using SyscallFn = int64_t (*)(Thread&, const SyscallArgs&);

struct SyscallInfo {
  const char* name = nullptr;
  SyscallFn fn = nullptr;
  // For --strace, one letter per argument: d signed decimal, u unsigned,
  // x hex, o octal, p pointer, s string (read from guest memory), f an fd
  // or AT_FDCWD.
  const char* args = "";
  bool noreturn = false;  // printed before it runs (exit, execve)
};

inline constexpr unsigned kMaxSyscall = 512;
struct SyscallTable {
  SyscallInfo entries[kMaxSyscall];
  void add(unsigned number, const char* name, SyscallFn fn, const char* args,
           bool noreturn = false) {
    entries[number] = SyscallInfo{name, fn, args, noreturn};
  }
};

void add_file_syscalls(SyscallTable& t);
void add_memory_syscalls(SyscallTable& t);
void add_process_syscalls(SyscallTable& t);
void add_signal_syscalls(SyscallTable& t);
void add_misc_syscalls(SyscallTable& t);
void add_net_syscalls(SyscallTable& t);

const SyscallTable& syscall_table();

// A host call's result as the guest sees it: the value, or -errno.
inline int64_t host_result(int64_t r) {
  return r < 0 ? -static_cast<int64_t>(errno) : r;
}

// Whether the syscall number is known to the table (for tests).
inline const char* syscall_name(unsigned number) {
  return number < kMaxSyscall ? syscall_table().entries[number].name : nullptr;
}

}  // namespace vessel::user
