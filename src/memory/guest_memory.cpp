#include "memory/guest_memory.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <type_traits>

#include "base/error.hpp"
#include "memory/guest_ram.hpp"

namespace vessel {

namespace {

void check_range(uint64_t base, uint64_t size) {
  if (size == 0 || base + size < base || (size & (GuestMemory::kPageSize - 1)) != 0 ||
      (base & (GuestMemory::kPageSize - 1)) != 0) {
    fail("guest memory range {:#x}+{:#x} is empty, unaligned or wraps", base, size);
  }
}

}  // namespace

void GuestMemory::Unmap::operator()(void* p) const {
  if (p != nullptr) munmap(p, bytes);
}

template <typename T>
std::unique_ptr<T[], GuestMemory::Unmap> GuestMemory::zeroed_array(uint64_t count) {
  static_assert(std::is_trivial_v<T>);  // zero bytes are a valid zero value
  const size_t bytes = std::max<size_t>(count * sizeof(T), 1);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) fail("cannot allocate guest page flags: {}", std::strerror(errno));
  return std::unique_ptr<T[], Unmap>(static_cast<T*>(p), Unmap{bytes});
}

GuestMemory::GuestMemory(uint64_t base, uint64_t size) : base_(base), size_(size) {
  check_range(base, size);
  // RAM starts on a 2 MiB boundary of the host's address space, so that each
  // whole 2 MiB of it can be one of the host's huge pages (use_huge_pages;
  // Linux 6.1 does not align large anonymous mappings by itself). The slack
  // around is unmapped.
  constexpr uint64_t kAlign = uint64_t{2} << 20;
  void* p = size <= UINT64_MAX - kAlign ? mmap(nullptr, size + kAlign, PROT_READ | PROT_WRITE,
                                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
                                        : MAP_FAILED;
  if (p == MAP_FAILED) {
    fail("cannot reserve {} MiB of guest memory: {}", size >> 20, std::strerror(errno));
  }
  const auto start = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (start + kAlign - 1) & ~(kAlign - 1);
  if (aligned != start) munmap(p, aligned - start);
  if (const uintptr_t tail = start + kAlign - aligned; tail != 0) {
    munmap(reinterpret_cast<void*>(aligned + size), tail);
  }
  host_ = reinterpret_cast<uint8_t*>(aligned);
  flags_ = zeroed_array<uint8_t>(size >> kPageShift);
  code_gen_ = zeroed_array<uint32_t>(size >> kPageShift);
  dirty_.assign((pages() + 63) / 64, 0);
}

GuestMemory::GuestMemory(uint64_t base, uint64_t size, int fd) : base_(base), size_(size) {
  check_range(base, size);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) {
    fail("cannot map {} MiB of guest memory from its file: {}", size >> 20, std::strerror(errno));
  }
  host_ = static_cast<uint8_t*>(p);
  file_backed_ = true;
  flags_ = zeroed_array<uint8_t>(size >> kPageShift);
  code_gen_ = zeroed_array<uint32_t>(size >> kPageShift);
  dirty_.assign((pages() + 63) / 64, 0);
}

void GuestMemory::use_huge_pages(bool gives_back) {
  if (file_backed_) return;
  madvise(host_, size_, MADV_HUGEPAGE);  // advice: failure changes nothing
  // A second call (the Machine's, after a restore or migration made the
  // memory) keeps what the first one's regions left.
  if (gives_back && small_only_.empty()) small_only_.assign(((size_ - 1) >> kHugeShift) + 1, 0);
  huge_gives_back_ = huge_gives_back_ || gives_back;
}

void GuestMemory::leave_huge_pages(uint64_t gpa, uint64_t len) {
  if (!huge_gives_back_ || len == 0) return;
  const uint64_t offset = gpa - base_;
  std::lock_guard lock(small_only_mutex_);
  // One madvise per run of regions not yet left: it only changes the
  // mapping's flags (no TLB shootdown; the huge page itself is split by
  // the MADV_DONTNEED or remap that follows), and each region is left once.
  const uint64_t last = (offset + len - 1) >> kHugeShift;
  for (uint64_t region = offset >> kHugeShift; region <= last;) {
    if (small_only_[region] != 0) {
      ++region;
      continue;
    }
    const uint64_t first = region;
    while (region <= last && small_only_[region] == 0) {
      std::atomic_ref<uint8_t>(small_only_[region++]).store(1, std::memory_order_relaxed);
    }
    const uint64_t start = first << kHugeShift;
    const uint64_t end = std::min(region << kHugeShift, size_);
    madvise(host_ + start, end - start, MADV_NOHUGEPAGE);  // advice, as above
  }
}

GuestMemory::~GuestMemory() {
  if (host_ != nullptr) munmap(host_, size_);
}

bool GuestMemory::read(uint64_t gpa, std::span<uint8_t> out) const {
  const uint8_t* src = host_ptr(gpa, out.size());
  if (src == nullptr) return false;
  if (out.empty()) return true;
  guest_ram_copy(out.data(), src, out.size());
  return true;
}

bool GuestMemory::write(uint64_t gpa, std::span<const uint8_t> in) {
  uint8_t* dst = host_ptr(gpa, in.size());
  if (dst == nullptr) return false;
  if (in.empty()) return true;
  prepare_write(gpa, in.size());
  guest_ram_copy(dst, in.data(), in.size());
  return true;
}

void GuestMemory::notify_code_write(uint64_t gpa, uint64_t len) {
  if (len == 0 || !contains(gpa, len)) return;
  const uint64_t first = (gpa - base_) >> kPageShift;
  const uint64_t last = (gpa - base_ + len - 1) >> kPageShift;
  for (uint64_t page = first; page <= last; ++page) {
    if ((std::atomic_ref<uint8_t>(flags_[page]).load(std::memory_order_relaxed) &
         (kPageCode | kPageHostReadOnly)) != 0) {
      std::atomic_ref<uint32_t>(code_gen_[page]).fetch_add(1, std::memory_order_acq_rel);
      if (code_write_hook_) code_write_hook_(base_ + (page << kPageShift));
    }
  }
}

void GuestMemory::prepare_write(uint64_t gpa, uint64_t len) {
  if (len == 0 || !contains(gpa, len)) return;
  const uint64_t first = (gpa - base_) >> kPageShift;
  const uint64_t last = (gpa - base_ + len - 1) >> kPageShift;
  for (uint64_t page = first; page <= last; ++page) {
    const uint8_t flags = std::atomic_ref<uint8_t>(flags_[page]).load(std::memory_order_relaxed);
    if ((flags & kPageShared) != 0) unshare(page, /*copy=*/true);
    if (dirty_logging_) mark_dirty(page);
    if ((flags & (kPageCode | kPageHostReadOnly)) != 0) {
      std::atomic_ref<uint32_t>(code_gen_[page]).fetch_add(1, std::memory_order_acq_rel);
      if (code_write_hook_) code_write_hook_(base_ + (page << kPageShift));
    }
  }
}

void GuestMemory::unshare(uint64_t page, bool copy) {
  const uint64_t gpa = base_ + (page << kPageShift);
  std::lock_guard lock(unshare_mutex_);
  // Another hart may have unshared it since this one looked.
  if ((page_flags(gpa) & kPageShared) == 0) return;
  if (unshare_hook_) unshare_hook_(gpa, copy);
  if ((page_flags(gpa) & kPageShared) != 0) {
    // The hook did not replace the mapping (it only dropped its reference,
    // or there is no page store): the page becomes a fresh zero page.
    map_zero(page << kPageShift, kPageSize);
    clear_page_flags(gpa, kPageShared);
  }
}

void GuestMemory::map_zero(uint64_t offset, uint64_t len) {
  void* p = mmap(host_ + offset, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  // MAP_FIXED over our own reservation fails only when the host is out of
  // mappings or memory; guest memory would be in an unknown state.
  if (p == MAP_FAILED) fail("cannot remap guest memory: {}", std::strerror(errno));
}

bool GuestMemory::discard(uint64_t gpa, uint64_t len) {
  if (((gpa | len) & (kPageSize - 1)) != 0 || !contains(gpa, len)) return false;
  if (len == 0) return true;
  const uint64_t first = (gpa - base_) >> kPageShift;
  const uint64_t count = len >> kPageShift;
  bool any_shared = false;
  for (uint64_t page = first; page < first + count; ++page) {
    if ((page_flags(base_ + (page << kPageShift)) & kPageShared) != 0) {
      unshare(page, /*copy=*/false);
      any_shared = true;
    }
    if (dirty_logging_) mark_dirty(page);
  }
  notify_code_write(gpa, len);
  const uint64_t offset = gpa - base_;
  leave_huge_pages(gpa, len);
  if (file_backed_) {
    // MADV_DONTNEED on a private file mapping would bring back the file's
    // contents; a fresh anonymous mapping reads as zero.
    map_zero(offset, len);
  } else if (madvise(host_ + offset, len, MADV_DONTNEED) != 0) {
    map_zero(offset, len);
  }
  if (any_shared) write_protected();
  return true;
}

void GuestMemory::start_dirty_log() {
  std::fill(dirty_.begin(), dirty_.end(), 0);
  dirty_logging_ = true;
  write_protected();
}

void GuestMemory::stop_dirty_log() {
  dirty_logging_ = false;
}

std::vector<uint64_t> GuestMemory::take_dirty() {
  std::vector<uint64_t> out(dirty_.size(), 0);
  out.swap(dirty_);
  write_protected();
  return out;
}

void GuestMemory::map_shared_page(uint64_t gpa, int fd, uint64_t offset) {
  const uint64_t page = (gpa - base_) >> kPageShift;
  void* p = mmap(host_ + (page << kPageShift), kPageSize, PROT_READ, MAP_SHARED | MAP_FIXED, fd,
                 static_cast<off_t>(offset));
  if (p == MAP_FAILED) fail("cannot map a shared page: {}", std::strerror(errno));
  set_page_flags(gpa, kPageShared);
  write_protected();
}

void GuestMemory::map_private_page(uint64_t gpa, const uint8_t* content) {
  const uint64_t page = (gpa - base_) >> kPageShift;
  map_zero(page << kPageShift, kPageSize);
  std::memcpy(host_ + (page << kPageShift), content, kPageSize);
  clear_page_flags(gpa, kPageShared);
}

bool GuestMemory::is_zero_page(uint64_t gpa) const {
  const uint8_t* p = host_ + (gpa - base_);
  // Word compares: the common non-zero page fails in the first few words.
  for (uint64_t i = 0; i < kPageSize; i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    if (word != 0) return false;
  }
  return true;
}

void GuestMemory::release_zero_pages(uint64_t gpa, uint64_t count) {
  const uint64_t offset = gpa - base_;
  const uint64_t len = count << kPageShift;
  leave_huge_pages(gpa, len);
  if (file_backed_) {
    map_zero(offset, len);
  } else if (madvise(host_ + offset, len, MADV_DONTNEED) != 0) {
    map_zero(offset, len);
  }
}

void GuestMemory::backed_pages(uint64_t gpa, uint64_t count, std::vector<uint8_t>& out) const {
  out.assign(count, 1);
  if (file_backed_ || count == 0) return;
  if (mincore(host_ + (gpa - base_), count << kPageShift, out.data()) != 0) {
    out.assign(count, 1);  // cannot tell: look at every page
    return;
  }
  for (uint8_t& b : out) b &= 1;  // the other bits are reserved
}

void GuestMemory::write_protected() {
  if (batch_depth_ != 0) {
    batch_pending_ = true;
  } else if (write_protect_hook_) {
    write_protect_hook_();
  }
}

}  // namespace vessel
