// --strace: every system call the guest makes, printed as strace prints it
// (`openat(AT_FDCWD, "/etc/passwd", 0) = 3`, `read(3, 0x..., 4096) = -1
// EBADF (Bad file descriptor)`), on stderr.
#pragma once

#include <cstdint>
#include <string>

#include "user/syscalls.hpp"

namespace vessel::user {

class Thread;

struct StraceLine {
  std::string text;  // "name(args"
  bool printed = false;
  bool hex_result = false;  // an address (mmap, brk): printed in hex
};

// Formats the call's name and arguments (strings read from guest memory now,
// before the call changes anything).
StraceLine strace_begin(Thread& t, uint64_t number, const SyscallInfo* info,
                        const SyscallArgs& args);
// Prints the line with its result (kNoResult: " = ?", for calls that do not
// return). A line is printed once.
void strace_end(StraceLine& line, int64_t result);

// A signal delivered to the guest, and the process's end, as strace shows
// them: `--- SIGSEGV {si_signo=SIGSEGV, si_code=1, si_addr=0x10} ---`,
// `+++ exited with 0 +++`, `+++ killed by SIGSEGV +++`.
void strace_signal(int sig, int code, uint64_t addr);
void strace_exit(int status);
void strace_killed(int sig);

// The line as text, for tests.
std::string strace_result(int64_t result);

}  // namespace vessel::user
