// Host SIGSEGV and SIGBUS under `vessel exec` with the translator's direct
// user memory (engine/riscv/jit/block_cache.hpp): translated code addresses
// guest memory as host memory whose protections mirror the guest's
// (address_space.hpp), so a guest access that must fault faults on the host
// first. The handler here finds the faulting instruction among the fault
// sites of the code cache of the guest thread on this host thread and
// resumes at that access's slow path, which raises the precise guest fault
// (or writes a page holding code through GuestMemory::prepare_write).
//
// A write fault elsewhere (the interpreter, a system call copying into
// guest memory, a write pointer cached before another thread decoded code
// from the page) at a page vessel write-protected for its code is undone
// there: AddressSpace::host_write_fault drops the page's code, makes it
// writable and the write runs again.
//
// A SIGBUS at a guest address (a page of a file mapping the file no longer
// reaches) clears the page's page-table entry first, so the slow path of a
// translated access, which walks the tables, raises a guest page fault
// that the process turns into the guest's SIGBUS; at a guest address
// under run_guarded (below) the fault goes back there.
//
// Any other host fault is vessel's own: the handler restores the default
// action and the instruction faults again, ending the process as without
// the handler. SIGSEGV/SIGBUS sent by another process (kill, tgkill) are the
// guest's and go to its disposition (signals.hpp).
#pragma once

#include <csignal>
#include <cstddef>
#include <cstdint>

namespace vessel::rv {
class CodeCache;
}

namespace vessel::user {

class AddressSpace;

// Installs the handler for the process (idempotent).
void install_host_fault_handler();
// Puts back the handlers it replaced (tests).
void uninstall_host_fault_handler();
bool host_fault_handler_installed();
// The code cache whose translated code runs on this host thread (nullptr:
// none).
void set_fault_code_cache(const rv::CodeCache* code);
// The address space whose code pages the handler may make writable again
// (nullptr: none); set before guest code runs.
void set_fault_address_space(AddressSpace* space);

// A host fault (SIGSEGV, SIGBUS) at a guest address outside translated
// code: vessel's own access to guest memory from C++ (a system call's copy,
// the interpreter, a translated access's slow path) found the page gone
// under it: a file mapping truncated by another process (SIGBUS), or
// protections another guest thread changed after the check (SIGSEGV).
struct HostFault {
  int sig = 0;
  uint64_t va = 0;  // the guest address
};
// Runs fn(arg); a host fault at a guest address while it runs ends it
// there (siglongjmp back here, with the thread's signal mask as it was)
// and gives false with `fault` set. So fn must hold no lock and own no
// resource it would leak. Nested calls: the innermost catches.
bool run_guarded(void (*fn)(void*), void* arg, HostFault& fault);
// memcpy under run_guarded: false (`fault` set) if it faulted part way.
bool copy_guarded(void* dst, const void* src, size_t len, HostFault& fault);

// signals.cpp: a SIGSEGV/SIGBUS sent to the process, as the guest's
// disposition says (async-signal-safe).
void guest_signal_from_host(int sig, siginfo_t* info);

}  // namespace vessel::user
