#include "memory/guest_memory.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "base/error.hpp"

namespace vessel {

GuestMemory::GuestMemory(uint64_t base, uint64_t size) : base_(base), size_(size) {
  if (size == 0 || base + size < base || (size & (kPageSize - 1)) != 0 ||
      (base & (kPageSize - 1)) != 0) {
    fail("guest memory range {:#x}+{:#x} is empty, unaligned or wraps", base, size);
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) {
    fail("cannot reserve {} MiB of guest memory: {}", size >> 20, std::strerror(errno));
  }
  host_ = static_cast<uint8_t*>(p);
  flags_ = std::make_unique<uint8_t[]>(size >> kPageShift);
}

GuestMemory::~GuestMemory() {
  if (host_ != nullptr) munmap(host_, size_);
}

bool GuestMemory::read(uint64_t gpa, std::span<uint8_t> out) const {
  const uint8_t* src = host_ptr(gpa, out.size());
  if (src == nullptr) return false;
  if (out.empty()) return true;
  std::memcpy(out.data(), src, out.size());
  return true;
}

bool GuestMemory::write(uint64_t gpa, std::span<const uint8_t> in) {
  uint8_t* dst = host_ptr(gpa, in.size());
  if (dst == nullptr) return false;
  if (in.empty()) return true;
  notify_code_write(gpa, in.size());
  std::memcpy(dst, in.data(), in.size());
  return true;
}

void GuestMemory::notify_code_write(uint64_t gpa, uint64_t len) {
  if (len == 0 || !code_write_hook_ || !contains(gpa, len)) return;
  const uint64_t first = (gpa - base_) >> kPageShift;
  const uint64_t last = (gpa - base_ + len - 1) >> kPageShift;
  for (uint64_t page = first; page <= last; ++page) {
    if ((flags_[page] & kPageCode) != 0) code_write_hook_(base_ + (page << kPageShift));
  }
}

}  // namespace vessel
