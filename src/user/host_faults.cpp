#include "user/host_faults.hpp"

#include <setjmp.h>
#include <ucontext.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "engine/riscv/code_cache.hpp"
#include "engine/riscv/jit/block_cache.hpp"
#include "user/address_space.hpp"

namespace vessel::user {

namespace {

// Initial-exec TLS: safe to read in a handler. Only this thread changes it,
// and a fault at a fault site happens while this thread runs translated
// code, so the cache and its site table do not change under the handler.
thread_local const rv::CodeCache* t_fault_code = nullptr;

// run_guarded's recovery point on this thread (nullptr: none) and what
// the fault was.
thread_local sigjmp_buf* t_recovery = nullptr;
thread_local HostFault t_fault;

std::atomic<bool> g_installed{false};
std::atomic<AddressSpace*> g_space{nullptr};

// A host write (x86-64 page-fault error code bit 1) to a page of the
// reservation that the address space write-protected for its code.
bool code_page_write(int sig, const siginfo_t* info, const ucontext_t* uc) {
  if (sig != SIGSEGV || info->si_code != SEGV_ACCERR) return false;
  if ((uc->uc_mcontext.gregs[REG_ERR] & 2) == 0) return false;
  AddressSpace* space = g_space.load(std::memory_order_acquire);
  if (space == nullptr) return false;
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  const auto base = reinterpret_cast<uintptr_t>(space->memory().host_base());
  return addr >= base && space->host_write_fault(addr - base);
}
struct sigaction g_old_segv, g_old_bus;  // restored by uninstall

void on_host_fault(int sig, siginfo_t* info, void* context) {
  if (info->si_code <= 0) {  // SI_USER, SI_TKILL, SI_QUEUE: sent, not a fault
    guest_signal_from_host(sig, info);
    return;
  }
  auto* uc = static_cast<ucontext_t*>(context);
  const auto rip = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
  // The guest address of the fault, if it lies in the user range.
  AddressSpace* space = g_space.load(std::memory_order_acquire);
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  uint64_t va = AddressSpace::kLimit;
  if (space != nullptr) {
    const auto base = reinterpret_cast<uintptr_t>(space->memory().host_base());
    if (addr >= base && addr - base < AddressSpace::kLimit) va = addr - base;
  }
  if (sig == SIGBUS && va < AddressSpace::kLimit) space->host_bus_fault(va);
  if (const rv::CodeCache* code = t_fault_code) {
    if (const rv::jit::BlockCache* jit = code->jit_if_used()) {
      if (const uint8_t* resume = jit->fault_resume(rip)) {
        uc->uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(reinterpret_cast<uintptr_t>(resume));
        return;
      }
    }
  }
  if (code_page_write(sig, info, uc)) return;  // the write runs again
  if (va < AddressSpace::kLimit && t_recovery != nullptr) {
    t_fault = HostFault{sig, va};
    // The mask the thread had (the handler's blocks every signal), as
    // returning would have restored it.
    sigprocmask(SIG_SETMASK, &uc->uc_sigmask, nullptr);
    siglongjmp(*t_recovery, 1);
  }
  // Vessel's own fault: the default action when the instruction runs again.
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  sigaction(sig, &sa, nullptr);
}

}  // namespace

bool run_guarded(void (*fn)(void*), void* arg, HostFault& fault) {
  sigjmp_buf here;
  sigjmp_buf* const outer = t_recovery;
  if (sigsetjmp(here, 0) != 0) {
    t_recovery = outer;
    fault = t_fault;
    return false;
  }
  t_recovery = &here;
  // Neither store may move past fn's accesses (nor be dropped as dead).
  std::atomic_signal_fence(std::memory_order_seq_cst);
  fn(arg);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t_recovery = outer;
  return true;
}

bool copy_guarded(void* dst, const void* src, size_t len, HostFault& fault) {
  struct Copy {
    void* dst;
    const void* src;
    size_t len;
  } copy{dst, src, len};
  return run_guarded(
      [](void* c) {
        const auto* p = static_cast<Copy*>(c);
        std::memcpy(p->dst, p->src, p->len);
      },
      &copy, fault);
}

void install_host_fault_handler() {
  if (g_installed.exchange(true)) return;
  struct sigaction sa {};
  sa.sa_sigaction = on_host_fault;
  sa.sa_flags = SA_SIGINFO;
  sigfillset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &g_old_segv);
  sigaction(SIGBUS, &sa, &g_old_bus);
}

void uninstall_host_fault_handler() {
  if (!g_installed.exchange(false)) return;
  sigaction(SIGSEGV, &g_old_segv, nullptr);
  sigaction(SIGBUS, &g_old_bus, nullptr);
}

bool host_fault_handler_installed() {
  return g_installed.load(std::memory_order_relaxed);
}

void set_fault_address_space(AddressSpace* space) {
  g_space.store(space, std::memory_order_release);
}

void set_fault_code_cache(const rv::CodeCache* code) {
  t_fault_code = code;
}

}  // namespace vessel::user
