#include "user/address_space.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "base/error.hpp"
#include "user/host_faults.hpp"

namespace vessel::user {

namespace {

// The page tables' fixed places in guest-physical RAM above the user range
// and its guard page: the root, then one level-1 table per GiB, then one
// level-0 table per 2 MiB. Fixed places need no allocator; untouched tables
// cost nothing (lazily committed host pages).
constexpr uint64_t kGuardEnd = AddressSpace::kLimit + AddressSpace::kPageSize;
constexpr uint64_t kPtBase = kGuardEnd;
constexpr uint64_t kGigs = AddressSpace::kLimit >> 30;
constexpr uint64_t kTwoMegs = AddressSpace::kLimit >> 21;
constexpr uint64_t kRoot = kPtBase;
constexpr uint64_t l1_table(uint64_t va) {
  return kPtBase + 4096 * (1 + (va >> 30));
}
constexpr uint64_t l0_table(uint64_t va) {
  return kPtBase + 4096 * (1 + kGigs + (va >> 21));
}
constexpr uint64_t kRamSize = kPtBase + 4096 * (1 + kGigs + kTwoMegs);

constexpr uint64_t kPteV = 1, kPteR = 2, kPteW = 4, kPteX = 8, kPteU = 16, kPteA = 64, kPteD = 128;

uint64_t table_pte(uint64_t table) {
  return ((table >> 12) << 10) | kPteV;
}

uint64_t leaf_pte(uint64_t va, uint32_t prot) {
  uint64_t bits = 0;
  // Write implies read, as Linux maps PROT_WRITE on RISC-V (W without R is
  // a reserved encoding).
  if ((prot & (kProtRead | kProtWrite)) != 0) bits |= kPteR;
  if ((prot & kProtWrite) != 0) bits |= kPteW;
  if ((prot & kProtExec) != 0) bits |= kPteX;
  if (bits == 0) return 0;  // PROT_NONE: mapped, but every access faults
  // A and D preset: the hart never has to update a PTE.
  return ((va >> 12) << 10) | bits | kPteV | kPteU | kPteA | kPteD;
}

void host_map_zero(uint8_t* host, uint64_t len) {
  // MAP_FIXED over the reservation: fresh zero pages, and whatever file was
  // mapped there is gone.
  if (mmap(host, len, PROT_READ | PROT_WRITE,
           MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) == MAP_FAILED) {
    fail("cannot map guest memory: {}", errno_text(errno));
  }
}

}  // namespace

AddressSpace::AddressSpace() : memory_(std::make_unique<GuestMemory>(0, kRamSize)) {
  static_assert(kLimit <= (uint64_t{1} << 38), "Sv39 user addresses");
}

uint64_t AddressSpace::satp() const {
  return (uint64_t{8} << 60) | (kRoot >> 12);
}

uint64_t* AddressSpace::pte_slot(uint64_t table, uint64_t index) {
  // SAFETY: tables lie inside RAM by construction (kRamSize covers the last
  // level-0 table), 8-aligned.
  return reinterpret_cast<uint64_t*>(memory_->host_base() + table + index * 8);
}

void AddressSpace::set_ptes(uint64_t va, uint64_t len, uint32_t prot) {
  const uint64_t end = va + len;
  for (uint64_t a = va; a < end; a += kPageSize) {
    if (a == va || (a & ((uint64_t{1} << 21) - 1)) == 0) {
      // Entering a 2 MiB range: its table chain (idempotent).
      std::atomic_ref<uint64_t>(*pte_slot(kRoot, a >> 30)).store(table_pte(l1_table(a)));
      std::atomic_ref<uint64_t>(*pte_slot(l1_table(a), (a >> 21) & 511))
          .store(table_pte(l0_table(a)));
    }
    const bool eof = !past_eof_.empty() && past_eof(a);
    std::atomic_ref<uint64_t>(*pte_slot(l0_table(a), (a >> 12) & 511))
        .store(eof ? 0 : leaf_pte(a, prot), std::memory_order_release);
  }
}

void AddressSpace::mirror_protections() {
  const std::lock_guard guard(mutex_);
  mirror_ = true;
  host_protect(kLimit, kGuardEnd, PROT_NONE);
  mirror(0, kLimit);
}

void AddressSpace::host_protect(uint64_t va, uint64_t end, int prot) {
  if (va >= end) return;
  // Fails only when the host runs out of mappings (vm.max_map_count): the
  // guest's protections could then not be kept.
  if (mprotect(memory_->host_base() + va, end - va, prot) != 0) {
    fail("cannot set host protections of guest memory: {}", errno_text(errno));
  }
}

AddressSpace::ProtLock::ProtLock(std::atomic<bool>& lock) : lock_(lock) {
  // Held for a few mprotect calls at most: yield rather than spin (the
  // holder may be a thread this core preempted).
  while (lock_.exchange(true, std::memory_order_acquire)) sched_yield();
}

void AddressSpace::mirror(uint64_t va, uint64_t len) {
  if (!mirror_ || len == 0) return;
  const ProtLock lock(prot_lock_);
  const uint64_t end = va + len;
  const auto is_code = [this](uint64_t page) {
    return (memory_->page_flags(page) & GuestMemory::kPageCode) != 0;
  };
  uint64_t at = va;
  auto it = regions_.upper_bound(va);
  if (it != regions_.begin()) --it;
  while (at < end) {
    while (it != regions_.end() && it->second.end <= at) ++it;
    if (it == regions_.end() || it->first >= end) {
      host_protect(at, end, PROT_NONE);
      unmark_host_read_only(at, end);
      return;
    }
    if (it->first > at) {
      host_protect(at, it->first, PROT_NONE);
      unmark_host_read_only(at, it->first);
      at = it->first;
    }
    const Region& r = it->second;
    const uint64_t stop = std::min(r.end, end);
    if ((r.prot & kProtWrite) != 0 && !r.host_read_only) {
      // Writable but for pages holding code: runs of pages alike.
      uint64_t run = at;
      bool run_code = is_code(at);
      for (uint64_t p = at + kPageSize;; p += kPageSize) {
        const bool code = p < stop && is_code(p);
        if (p >= stop || code != run_code) {
          host_protect(run, std::min(p, stop), run_code ? PROT_READ : PROT_READ | PROT_WRITE);
          if (p >= stop) break;
          run = p;
          run_code = code;
        }
      }
      mark_host_read_only(at, stop);
    } else {
      host_protect(at, stop, (r.prot & (kProtRead | kProtExec)) != 0 ? PROT_READ : PROT_NONE);
      unmark_host_read_only(at, stop);
    }
    at = stop;
    ++it;
  }
}

void AddressSpace::mark_host_read_only(uint64_t va, uint64_t end) {
  // kPageHostReadOnly on exactly the pages of a writable region that are
  // read-only for their code: a write to them reaches code_written()
  // whatever happens to kPageCode meanwhile.
  for (uint64_t p = va; p < end; p += kPageSize) {
    const uint8_t flags = memory_->page_flags(p);
    if ((flags & GuestMemory::kPageCode) != 0) {
      if ((memory_->set_page_flags(p, GuestMemory::kPageHostReadOnly) &
           GuestMemory::kPageHostReadOnly) == 0) {
        ++host_read_only_pages_;
      }
    } else if ((flags & GuestMemory::kPageHostReadOnly) != 0) {
      unmark_host_read_only(p, p + kPageSize);
    }
  }
}

void AddressSpace::unmark_host_read_only(uint64_t va, uint64_t end) {
  // Nothing to do (the common case: a large unmapped range) costs nothing;
  // else each page's flags once.
  for (uint64_t p = va; p < end && host_read_only_pages_ != 0; p += kPageSize) {
    if ((memory_->clear_page_flags(p, GuestMemory::kPageHostReadOnly) &
         GuestMemory::kPageHostReadOnly) != 0) {
      --host_read_only_pages_;
    }
  }
}

void AddressSpace::code_marked(uint64_t page) {
  if (!mirror_ || page >= kLimit) return;
  const std::lock_guard guard(mutex_);
  // Under the lock, from the flag as it is now: a write that cleared it on
  // another thread meanwhile leaves the page as that write wants it.
  mirror(page, kPageSize);
}

void AddressSpace::code_written(uint64_t page) {
  if (page >= kLimit) return;
  const std::lock_guard guard(mutex_);
  memory_->clear_page_flags(page, GuestMemory::kPageCode);
  // Writable again, and then without kPageHostReadOnly (mirror).
  mirror(page, kPageSize);
}

bool AddressSpace::host_write_fault(uint64_t va) {
  if (!mirror_ || va >= kLimit) return false;
  const uint64_t page = page_down(va);
  const ProtLock lock(prot_lock_);
  if ((memory_->page_flags(page) & GuestMemory::kPageHostReadOnly) == 0) return false;
  // kPageHostReadOnly stays (the host_read_only_pages_ count is the
  // mutex's): a later mirror() of the page, now without kPageCode, clears
  // it; until then it only sends writes to the slow path, which is right.
  memory_->clear_page_flags(page, GuestMemory::kPageCode);
  memory_->bump_code_generation(page);
  return mprotect(memory_->host_base() + page, kPageSize, PROT_READ | PROT_WRITE) == 0;
}

void AddressSpace::host_bus_fault(uint64_t va) {
  if (va >= kLimit) return;
  // The table chain exists: a page the host mapped from a file was mapped
  // by the guest (set_ptes made its chain, which is never taken down).
  if (std::atomic_ref<uint64_t>(*pte_slot(kRoot, va >> 30)).load() == 0 ||
      std::atomic_ref<uint64_t>(*pte_slot(l1_table(va), (va >> 21) & 511)).load() == 0) {
    return;
  }
  std::atomic_ref<uint64_t>(*pte_slot(l0_table(va), (va >> 12) & 511))
      .store(0, std::memory_order_release);
  // Other harts may hold the page in their TLBs.
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

bool AddressSpace::settle_file_page(uint64_t va) {
  const std::lock_guard guard(mutex_);
  const uint64_t page = page_down(va);
  const int prot = prot_at(page);
  if (prot < 0) return false;
  if (host_page_backed(page)) {
    drop_past_eof(page, page + kPageSize);
    set_ptes(page, kPageSize, static_cast<uint32_t>(prot));
    return true;
  }
  if (!past_eof(page)) {
    // The file shrank under the mapping (a host SIGBUS found it).
    past_eof_[page] = page + kPageSize;
    set_ptes(page, kPageSize, static_cast<uint32_t>(prot));
  }
  return false;
}

void AddressSpace::forget_code(uint64_t va, uint64_t len) {
  memory_->notify_code_write(va, len);
}

void AddressSpace::carve(uint64_t va, uint64_t end) {
  auto it = regions_.upper_bound(va);
  if (it != regions_.begin()) --it;
  while (it != regions_.end() && it->first < end) {
    const uint64_t start = it->first;
    const Region r = it->second;
    if (r.end <= va) {
      ++it;
      continue;
    }
    it = regions_.erase(it);
    if (start < va) regions_[start] = Region{va, r.prot, r.host_read_only};
    if (r.end > end) {
      regions_[end] = Region{r.end, r.prot, r.host_read_only};
      break;
    }
  }
}

void AddressSpace::insert(uint64_t va, uint64_t end, uint32_t prot, bool host_read_only) {
  carve(va, end);
  // Merged with neighbours alike, as Linux merges VMAs: mremap moves only
  // what lies in one mapping.
  auto next = regions_.find(end);
  if (next != regions_.end() && next->second.prot == prot &&
      next->second.host_read_only == host_read_only) {
    end = next->second.end;
    regions_.erase(next);
  }
  auto it = regions_.lower_bound(va);
  if (it != regions_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end == va && prev->second.prot == prot &&
        prev->second.host_read_only == host_read_only) {
      prev->second.end = end;
      return;
    }
  }
  regions_[va] = Region{end, prot, host_read_only};
}

void AddressSpace::map_anonymous(uint64_t va, uint64_t len, uint32_t prot) {
  const std::lock_guard guard(mutex_);
  forget_code(va, len);
  if (!is_free(va, len)) {
    host_map_zero(memory_->host_base() + va, len);
    ++generation_;
  }
  // Never-mapped pages of the reservation are zero already.
  drop_past_eof(va, va + len);
  insert(va, va + len, prot, false);
  set_ptes(va, len, prot);
  mirror(va, len);
}

int AddressSpace::map_file(uint64_t va, uint64_t len, uint32_t prot, bool shared, int fd,
                           uint64_t offset) {
  const std::lock_guard guard(mutex_);
  // Host protection: read-write, so the loader and the system-call layer can
  // fill pages, except a shared mapping of a read-only file, which the host
  // refuses to map writable (and which the guest may then never write).
  bool read_only = false;
  int host_prot = PROT_READ | PROT_WRITE;
  if (shared) {
    const int mode = fcntl(fd, F_GETFL);
    if (mode < 0) return EBADF;
    if ((mode & O_ACCMODE) == O_RDONLY) {
      if ((prot & kProtWrite) != 0) return EACCES;
      read_only = true;
      host_prot = PROT_READ;
    }
  }
  void* p = mmap(memory_->host_base() + va, len, host_prot,
                 MAP_FIXED | (shared ? MAP_SHARED : MAP_PRIVATE), fd, static_cast<off_t>(offset));
  if (p == MAP_FAILED) return undo_failed_map(va, len, errno);
  drop_past_eof(va, va + len);
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    // Pages from the one after the file's last byte on (should the file
    // grow later, refresh_past_eof() makes them ordinary pages).
    const uint64_t file_pages_end = page_up(static_cast<uint64_t>(st.st_size));
    const uint64_t in_file = file_pages_end > offset ? file_pages_end - offset : 0;
    if (in_file < len) past_eof_[va + in_file] = va + len;
  }
  record_map(va, len, prot, read_only);
  return 0;
}

int AddressSpace::undo_failed_map(uint64_t va, uint64_t len, int err) {
  // MAP_FIXED may have unmapped the old pages already: leave zero ones.
  host_map_zero(memory_->host_base() + va, len);
  unmap(va, len);
  mirror(va, len);
  return err;
}

void AddressSpace::record_map(uint64_t va, uint64_t len, uint32_t prot, bool host_read_only) {
  // (map_file has put its own past-EOF pages in past_eof_ already.)
  forget_code(va, len);
  ++generation_;
  insert(va, va + len, prot, host_read_only);
  set_ptes(va, len, prot);
  mirror(va, len);
}

int AddressSpace::map_shared_anonymous(uint64_t va, uint64_t len, uint32_t prot) {
  const std::lock_guard guard(mutex_);
  if (mmap(memory_->host_base() + va, len, PROT_READ | PROT_WRITE,
           MAP_FIXED | MAP_SHARED | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) {
    return undo_failed_map(va, len, errno);
  }
  drop_past_eof(va, va + len);
  record_map(va, len, prot, false);
  return 0;
}

int AddressSpace::move(uint64_t from, uint64_t len, uint64_t to) {
  const std::lock_guard guard(mutex_);
  auto it = regions_.upper_bound(from);
  if (it == regions_.begin()) return EFAULT;
  --it;
  if (it->second.end < from + len) return EFAULT;  // not one mapping
  const Region r = it->second;
  // The host moves the pages (and any file behind them) within the
  // reservation; the hole it leaves becomes zero pages again.
  void* p = mremap(memory_->host_base() + from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
                   memory_->host_base() + to);
  if (p == MAP_FAILED) return errno;
  host_map_zero(memory_->host_base() + from, len);
  forget_code(from, len);
  forget_code(to, len);
  move_past_eof(from, len, to);
  carve(from, from + len);
  set_ptes(from, len, 0);
  insert(to, to + len, r.prot, r.host_read_only);
  set_ptes(to, len, r.prot);
  mirror(from, len);
  mirror(to, len);
  ++generation_;
  return 0;
}

void AddressSpace::unmap(uint64_t va, uint64_t len) {
  const std::lock_guard guard(mutex_);
  if (is_free(va, len)) return;
  forget_code(va, len);
  carve(va, va + len);
  drop_past_eof(va, va + len);
  set_ptes(va, len, 0);
  host_map_zero(memory_->host_base() + va, len);  // gives the memory back
  mirror(va, len);
  ++generation_;
}

int AddressSpace::protect(uint64_t va, uint64_t len, uint32_t prot) {
  const std::lock_guard guard(mutex_);
  const uint64_t end = va + len;
  // All of it must be mapped (Linux: ENOMEM), checked before changing any.
  uint64_t at = va;
  auto it = regions_.upper_bound(va);
  if (it != regions_.begin()) --it;
  for (; at < end; ++it) {
    if (it == regions_.end() || it->first > at || it->second.end <= at) return ENOMEM;
    if (it->second.host_read_only && (prot & kProtWrite) != 0) return EACCES;
    at = it->second.end;
  }
  // Split at both ends, then set the new protection on every piece.
  it = regions_.upper_bound(va);
  --it;
  std::vector<std::pair<uint64_t, Region>> pieces;
  for (auto p = it; p != regions_.end() && p->first < end; ++p) pieces.emplace_back(*p);
  for (auto& [start, r] : pieces) {
    const uint64_t lo = std::max(start, va), hi = std::min(r.end, end);
    insert(lo, hi, prot, r.host_read_only);
  }
  set_ptes(va, len, prot);
  mirror(va, len);
  ++generation_;
  return 0;
}

bool AddressSpace::is_free(uint64_t va, uint64_t len) const {
  const std::lock_guard guard(mutex_);
  auto it = regions_.lower_bound(va);
  if (it != regions_.end() && it->first < va + len) return false;
  if (it != regions_.begin() && std::prev(it)->second.end > va) return false;
  return true;
}

uint64_t AddressSpace::find_free(uint64_t len, uint64_t hint) const {
  const std::lock_guard guard(mutex_);
  if (len == 0 || len > kLimit) return 0;
  hint = page_up(hint);
  if (hint != 0 && valid_range(hint, len) && is_free(hint, len)) return hint;
  // Top-down from mmap_top_, as Linux places mappings.
  uint64_t end = mmap_top_;
  auto it = regions_.lower_bound(end);
  for (;;) {
    uint64_t start = kMinAddr;
    if (it != regions_.begin()) {
      const auto prev = std::prev(it);
      if (prev->second.end > end) {  // straddles `end`: look below it
        end = prev->first;
        it = prev;
        continue;
      }
      start = std::max(prev->second.end, kMinAddr);
    }
    if (end > start && end - start >= len) return end - len;
    if (it == regions_.begin()) return 0;
    --it;
    end = it->first;
  }
}

int AddressSpace::prot_at(uint64_t va) const {
  const std::lock_guard guard(mutex_);
  auto it = regions_.upper_bound(va);
  if (it == regions_.begin()) return -1;
  --it;
  return it->second.end > va ? static_cast<int>(it->second.prot) : -1;
}

bool AddressSpace::past_eof(uint64_t va) const {
  const std::lock_guard guard(mutex_);
  return overlaps_past_eof(page_down(va), page_down(va) + kPageSize);
}

bool AddressSpace::overlaps_past_eof(uint64_t va, uint64_t end) const {
  if (past_eof_.empty()) return false;
  auto it = past_eof_.lower_bound(va);
  if (it != past_eof_.end() && it->first < end) return true;
  return it != past_eof_.begin() && std::prev(it)->second > va;
}

bool AddressSpace::host_page_backed(uint64_t page) const {
  uint8_t byte = 0;
  iovec local{&byte, 1};
  iovec remote{memory_->host_base() + page, 1};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1;
}

bool AddressSpace::refresh_past_eof(uint64_t va, uint64_t end) {
  const std::lock_guard guard(mutex_);
  if (!overlaps_past_eof(va, end)) return false;
  // A file grows from its end: in each run past the end, the pages it
  // reaches now come first.
  std::vector<std::pair<uint64_t, uint64_t>> backed;
  for (const auto& [start, stop] : past_eof_) {
    const uint64_t lo = std::max(start, page_down(va)), hi = std::min(stop, page_up(end));
    uint64_t p = lo;
    while (p < hi && host_page_backed(p)) p += kPageSize;
    if (p > lo) backed.emplace_back(lo, p);
  }
  for (const auto& [lo, hi] : backed) {
    drop_past_eof(lo, hi);
    // Region by region (a run may span mappings with other protections).
    for (uint64_t p = lo; p < hi; p += kPageSize) {
      const int prot = prot_at(p);
      if (prot >= 0) set_ptes(p, kPageSize, static_cast<uint32_t>(prot));
    }
  }
  return !backed.empty();
}

void AddressSpace::drop_past_eof(uint64_t va, uint64_t end) {
  if (past_eof_.empty()) return;
  auto it = past_eof_.lower_bound(va);
  if (it != past_eof_.begin() && std::prev(it)->second > va) --it;
  while (it != past_eof_.end() && it->first < end) {
    const uint64_t start = it->first, stop = it->second;
    it = past_eof_.erase(it);
    if (start < va) past_eof_[start] = va;
    if (stop > end) {
      past_eof_[end] = stop;
      break;
    }
  }
}

void AddressSpace::move_past_eof(uint64_t from, uint64_t len, uint64_t to) {
  drop_past_eof(to, to + len);
  if (!overlaps_past_eof(from, from + len)) return;
  std::vector<std::pair<uint64_t, uint64_t>> moved;
  for (const auto& [start, stop] : past_eof_) {
    const uint64_t lo = std::max(start, from), hi = std::min(stop, from + len);
    if (lo < hi) moved.emplace_back(lo - from + to, hi - from + to);
  }
  drop_past_eof(from, from + len);
  for (const auto& [start, stop] : moved) past_eof_[start] = stop;
}

uint8_t* AddressSpace::host(uint64_t va, uint64_t len, uint32_t need) {
  const std::lock_guard guard(mutex_);
  if (va >= kLimit || len > kLimit - va) return nullptr;
  if (len == 0) return memory_->host_base() + va;
  const uint64_t end = va + len;
  // Linux's copy to or from a page past EOF fails (EFAULT); the host's
  // access would be a SIGBUS in vessel. Unless the file has grown.
  if (overlaps_past_eof(va, end) && (!refresh_past_eof(va, end) || overlaps_past_eof(va, end))) {
    return nullptr;
  }
  auto it = regions_.upper_bound(va);
  if (it == regions_.begin()) return nullptr;
  --it;
  for (uint64_t at = va; at < end; ++it) {
    if (it == regions_.end() || it->first > at || it->second.end <= at) return nullptr;
    uint32_t have = it->second.prot;
    if ((have & kProtWrite) != 0) have |= kProtRead;
    if ((have & need) != need) return nullptr;
    at = it->second.end;
  }
  if ((need & kProtWrite) != 0) memory_->prepare_write(va, len);
  return memory_->host_base() + va;
}

bool AddressSpace::read(uint64_t va, void* out, uint64_t len) {
  const uint8_t* src = host(va, len, kProtRead);
  return src != nullptr && copy(out, src, len);
}

bool AddressSpace::write(uint64_t va, const void* in, uint64_t len) {
  uint8_t* dst = host(va, len, kProtWrite);
  return dst != nullptr && copy(dst, in, len);
}

bool AddressSpace::copy(void* dst, const void* src, uint64_t len) {
  // Checked, but the page may go under the copy: another process truncates
  // the file behind it, another guest thread takes away access (mprotect).
  // Then EFAULT, as Linux's copy gives.
  HostFault fault;
  if (len == 0 || copy_guarded(dst, src, len, fault)) return true;
  if (fault.sig == SIGBUS) settle_file_page(fault.va);
  return false;
}

int AddressSpace::read_string(uint64_t va, uint64_t max, std::string& out) {
  out.clear();
  // Page by page: a string may end just before an unmapped page.
  while (true) {
    const uint64_t chunk = kPageSize - (va & (kPageSize - 1));
    const uint8_t* host_bytes = host(va, chunk, kProtRead);
    uint8_t p[kPageSize];
    if (host_bytes == nullptr || !copy(p, host_bytes, chunk)) return EFAULT;
    const void* nul = std::memchr(p, 0, chunk);
    const uint64_t n = nul != nullptr ? static_cast<const uint8_t*>(nul) - p : chunk;
    if (out.size() + n >= max) return ENAMETOOLONG;
    out.append(reinterpret_cast<const char*>(p), n);
    if (nul != nullptr) return 0;
    va += chunk;
  }
}

void AddressSpace::poke(uint64_t va, const void* in, uint64_t len) {
  if (len == 0) return;
  if (va >= kLimit || len > kLimit - va) fail("guest address {:#x} out of range", va);
  const std::lock_guard guard(mutex_);
  memory_->prepare_write(va, len);
  const uint64_t first = page_down(va), end = page_up(va + len);
  // Whatever the guest's protection: writable on the host for the copy.
  if (mirror_) host_protect(first, end, PROT_READ | PROT_WRITE);
  std::memcpy(memory_->host_base() + va, in, len);
  mirror(first, end - first);
}

}  // namespace vessel::user
