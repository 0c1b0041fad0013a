#include "user/syscalls.hpp"

namespace vessel::user {

const SyscallTable& syscall_table() {
  static const SyscallTable table = [] {
    SyscallTable t;
    add_file_syscalls(t);
    add_memory_syscalls(t);
    add_process_syscalls(t);
    add_signal_syscalls(t);
    add_misc_syscalls(t);
    add_net_syscalls(t);
    return t;
  }();
  return table;
}

}  // namespace vessel::user
