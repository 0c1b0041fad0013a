// The address space of a RISC-V Linux process run on the host (`vessel exec`).
//
// Why this shape: guest virtual addresses are identical to guest-physical
// ones, and guest-physical RAM is one host reservation (GuestMemory), so a
// guest address is an offset into it and every host pointer the engine makes
// stays inside it. The guest's view of protections lives in real Sv39 page
// tables (identity-mapped leaves with the U bit), kept in RAM above the user
// range where no guest address reaches them: the hart runs in U-mode over
// them exactly as under a kernel, so a load from an unmapped page or a store
// to a read-only one is a page fault in either engine, and the region map
// here answers the system-call layer's "may the guest pass this pointer"
// (EFAULT) without touching host memory.
//
// With mirror_protections() (the translator's direct user memory, see
// engine/riscv/jit/block_cache.hpp) the host pages of the user range carry
// the guest's protections too: PROT_NONE where nothing is mapped or the
// guest may not read, read-only where it may not write (or where the page
// holds code the engine has decoded, so that a store to it reaches
// GuestMemory::prepare_write, as qemu-user does), read-write else. Pages
// the guest may only execute are host-readable: the engine decodes them
// through host pointers. Above the user range a guard page catches an
// access that starts below the limit and runs past it.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "memory/guest_memory.hpp"

namespace vessel::user {

// PROT_* bits (the riscv64 and x86-64 values are the same).
inline constexpr uint32_t kProtRead = 1, kProtWrite = 2, kProtExec = 4;

class AddressSpace {
 public:
  static constexpr uint64_t kPageSize = 4096;
  // User addresses lie in [kMinAddr, kLimit): 64 GiB, within Sv39's 256 GiB.
  static constexpr uint64_t kLimit = uint64_t{64} << 30;
  static constexpr uint64_t kMinAddr = 0x10000;  // as the host's vm.mmap_min_addr

  AddressSpace();
  AddressSpace(const AddressSpace&) = delete;
  AddressSpace& operator=(const AddressSpace&) = delete;

  GuestMemory& memory() { return *memory_; }
  // Turns on host protections that mirror the guest's (see above), for the
  // whole user range from now on; before anything is mapped.
  void mirror_protections();
  bool mirrors_protections() const { return mirror_; }
  // GuestMemory's code hooks: the page holding `page` gained decoded code /
  // was written while it had some (its code is gone; the page may lose
  // its kPageCode flag here). Each sets the host protection again.
  void code_marked(uint64_t page);
  void code_written(uint64_t page);
  // The host fault handler's (host_faults.hpp): a host write faulted at
  // `va` outside translated code (the interpreter, a system call copying
  // into guest memory, a write pointer cached before another thread
  // decoded code from the page). If vessel write-protected the page for
  // its code (kPageHostReadOnly), the page's code is dropped (its
  // generation moves on, so every cache drops it when it next enters the
  // page) and the page made writable, and the write may run again: true.
  // False for any other fault. Async-signal-safe: no mutex, no allocation;
  // only atomics, mprotect, and the protection lock below.
  bool host_write_fault(uint64_t va);
  // The host fault handler's: a host SIGBUS at `va` (the file behind the
  // page no longer reaches it). Clears the page's page-table entry, so a
  // walk of the tables faults there; settle_file_page() decides what the
  // page is. Async-signal-safe: atomics only.
  void host_bus_fault(uint64_t va);
  // A guest access to the page holding `va` faulted though its mapping
  // allows it: the page is past the end of its file, or was until the file
  // grew. True if the page has something behind it now (its entry is set
  // again: the access may run again); false if it is past the end (it
  // stays so until the file grows: the guest's SIGBUS).
  bool settle_file_page(uint64_t va);
  // The satp value that selects these page tables (Sv39, ASID 0).
  uint64_t satp() const;

  static uint64_t page_up(uint64_t v) { return (v + kPageSize - 1) & ~(kPageSize - 1); }
  static uint64_t page_down(uint64_t v) { return v & ~(kPageSize - 1); }
  // [va, va + len) is page-aligned, non-empty and inside the user range.
  static bool valid_range(uint64_t va, uint64_t len) {
    return (va & (kPageSize - 1)) == 0 && (len & (kPageSize - 1)) == 0 && len != 0 &&
           va >= kMinAddr && va < kLimit && len <= kLimit - va;
  }

  // Each takes a valid_range(). What was mapped there before is replaced.
  // Fresh zero pages.
  void map_anonymous(uint64_t va, uint64_t len, uint32_t prot);
  // The file's pages from `offset` (page-aligned): private copy-on-write or
  // shared. Returns 0 or a positive errno (the host's mmap refused).
  int map_file(uint64_t va, uint64_t len, uint32_t prot, bool shared, int fd, uint64_t offset);
  // Zero pages shared with the processes this one forks (MAP_SHARED |
  // MAP_ANONYMOUS).
  int map_shared_anonymous(uint64_t va, uint64_t len, uint32_t prot);
  // mremap: moves the pages of [from, from + len) (one mapping's) to `to`,
  // a free range; the old range becomes unmapped. Returns 0 or an errno.
  int move(uint64_t from, uint64_t len, uint64_t to);
  void unmap(uint64_t va, uint64_t len);
  // Returns 0, ENOMEM if part of the range is unmapped (nothing changes
  // then) or EACCES for write access to a read-only shared file mapping.
  int protect(uint64_t va, uint64_t len, uint32_t prot);

  // True if no page of the range is mapped.
  bool is_free(uint64_t va, uint64_t len) const;
  // A free range of `len` bytes: at `hint` if that is free, otherwise the
  // highest gap below mmap_top(); 0 if there is none.
  uint64_t find_free(uint64_t len, uint64_t hint) const;
  uint64_t mmap_top() const { return mmap_top_; }
  void set_mmap_top(uint64_t top) { mmap_top_ = top; }
  // Protection of the page holding `va`, or -1 if it is unmapped.
  int prot_at(uint64_t va) const;
  // True if the page holding `va` belongs to a file mapping but lies past
  // the end of the file (see above).
  bool past_eof(uint64_t va) const;
  // Pages of [va, end) taken to lie past the end of their file that the
  // file reaches now (it grew: Linux then maps them) become ordinary
  // pages again, each run of them from its first page up to the first
  // that is still past the end. True if any did.
  bool refresh_past_eof(uint64_t va, uint64_t end);

  // The host bytes behind [va, va + len) if every page is mapped with all of
  // `need` (kProtRead, kProtWrite); nullptr otherwise (the caller's EFAULT).
  // A writable range is prepared for writing (decoded code dropped).
  uint8_t* host(uint64_t va, uint64_t len, uint32_t need);
  // Checked copies: false (EFAULT) unless the guest may read / write all of it.
  bool read(uint64_t va, void* out, uint64_t len);
  bool write(uint64_t va, const void* in, uint64_t len);
  template <typename T>
  bool read_value(uint64_t va, T& out) {
    return read(va, &out, sizeof(T));
  }
  template <typename T>
  bool write_value(uint64_t va, const T& in) {
    return write(va, &in, sizeof(T));
  }
  // A NUL-terminated string of fewer than `max` bytes. Returns 0, EFAULT or
  // ENAMETOOLONG.
  int read_string(uint64_t va, uint64_t max, std::string& out);
  // For the loader: writes whatever the guest's protection (the pages must
  // be mapped).
  void poke(uint64_t va, const void* in, uint64_t len);

  // Bumped whenever a mapping shrinks or loses access, after which every
  // hart must drop its cached translations.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Guest threads share the address space: every method takes this lock
  // (recursive: they call each other); a caller holds it across a compound
  // change (find_free, then map) so no other thread slips in between.
  std::recursive_mutex& mutex() const { return mutex_; }

 private:
  struct Region {
    uint64_t end;
    uint32_t prot;
    bool host_read_only;  // a shared mapping of a file opened read-only
  };
  // Removes [va, end) from regions_, splitting regions that straddle it.
  void carve(uint64_t va, uint64_t end);
  void insert(uint64_t va, uint64_t end, uint32_t prot, bool host_read_only);
  void set_ptes(uint64_t va, uint64_t len, uint32_t prot);
  // past_eof_: forgets [va, end), or moves what lies in [from, from + len)
  // to `to`.
  void drop_past_eof(uint64_t va, uint64_t end);
  void move_past_eof(uint64_t from, uint64_t len, uint64_t to);
  bool overlaps_past_eof(uint64_t va, uint64_t end) const;
  // True if the host page behind `page` has something behind it now: the
  // kernel's copy from it succeeds (where an access would be a SIGBUS, a
  // copy fails with EFAULT).
  bool host_page_backed(uint64_t page) const;
  // memcpy to or from guest memory that gives false (EFAULT) should the
  // host fault on a guest page under it (host_faults.hpp).
  bool copy(void* dst, const void* src, uint64_t len);
  // Drops decoded instructions of pages whose contents change under them.
  void forget_code(uint64_t va, uint64_t len);
  // After a host mmap at [va, va + len): a failed one leaves zero pages and
  // no region and returns `err`; a good one becomes region `prot`.
  int undo_failed_map(uint64_t va, uint64_t len, int err);
  void record_map(uint64_t va, uint64_t len, uint32_t prot, bool host_read_only);
  uint64_t* pte_slot(uint64_t table, uint64_t index);
  // mirror_: sets the host protection of [va, va + len) from the regions
  // and the pages' code flags.
  void mirror(uint64_t va, uint64_t len);
  void host_protect(uint64_t va, uint64_t end, int prot);
  // prot_lock_, a spin lock: held by mirror() while it decides and sets
  // host protections, and by host_write_fault(), so the handler never
  // sees a page write-protected for code without its kPageHostReadOnly
  // flag (set after the mprotect) or undoes a protection half-made. It
  // cannot deadlock in the handler: a thread holding it never writes
  // guest memory (only page flags and mprotect), so it never faults into
  // the handler while holding it.
  class ProtLock {
   public:
    explicit ProtLock(std::atomic<bool>& lock);
    ~ProtLock() { lock_.store(false, std::memory_order_release); }
    ProtLock(const ProtLock&) = delete;
    ProtLock& operator=(const ProtLock&) = delete;

   private:
    std::atomic<bool>& lock_;
  };
  void mark_host_read_only(uint64_t va, uint64_t end);
  void unmark_host_read_only(uint64_t va, uint64_t end);

  std::unique_ptr<GuestMemory> memory_;
  std::map<uint64_t, Region> regions_;  // by start; disjoint, page-aligned
  // Page ranges past the end of their file: start -> end (disjoint,
  // inside regions_).
  std::map<uint64_t, uint64_t> past_eof_;
  uint64_t mmap_top_ = kLimit;
  bool mirror_ = false;
  std::atomic<bool> prot_lock_{false};
  uint64_t host_read_only_pages_ = 0;  // with kPageHostReadOnly (under mutex_)
  std::atomic<uint64_t> generation_{0};
  mutable std::recursive_mutex mutex_;
};

}  // namespace vessel::user
