#include "base/doorbell.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <ctime>

namespace vessel {

namespace {
// std::atomic<uint32_t> is a plain 32-bit word on Linux/x86-64, which is
// what the futex system call waits on.
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));

uint32_t* futex_word(std::atomic<uint32_t>& a) {
  return reinterpret_cast<uint32_t*>(&a);
}
}  // namespace

void Doorbell::wait(uint32_t ticket, uint64_t timeout_ns) {
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  // The ring that changed the count after our ticket either sees us in
  // sleepers_ (and wakes us) or happened before this load (and we skip).
  if (rings_.load(std::memory_order_seq_cst) == ticket) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
    // EINTR, EAGAIN (already rung) and ETIMEDOUT all mean: look again.
    syscall(SYS_futex, futex_word(rings_), FUTEX_WAIT_PRIVATE, ticket, &ts, nullptr, 0);
  }
  sleepers_.fetch_sub(1, std::memory_order_seq_cst);
}

void Doorbell::wake() {
  syscall(SYS_futex, futex_word(rings_), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

}  // namespace vessel
