#include "engine/riscv/jit/code_buffer.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/error.hpp"

namespace vessel::rv::jit {

CodeBuffer::CodeBuffer(size_t capacity) {
  capacity_ = (capacity + 4095) & ~size_t{4095};
  // Writable and executable at once: blocks are patched in place when they
  // are chained. (W^X with a second, writable view of the same memfd is the
  // hardening step for later; see the translator issue's note.)
  void* p = mmap(nullptr, capacity_, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    throw Error(fmt::format("cannot map {} bytes for translated code: {}", capacity_,
                            std::strerror(errno)));
  }
  base_ = static_cast<uint8_t*>(p);
}

CodeBuffer::~CodeBuffer() {
  if (base_ != nullptr) munmap(base_, capacity_);
}

void CodeBuffer::commit(size_t bytes) {
  // 16-byte alignment for block entries: a jump target on a fresh fetch line.
  used_ = std::min(capacity_, (used_ + bytes + 15) & ~size_t{15});
}

void CodeBuffer::reset(size_t keep) {
  // Gives the host the pages back; they read as zero until code is written.
  const size_t from = (keep + 4095) & ~size_t{4095};
  if (from < capacity_) madvise(base_ + from, capacity_ - from, MADV_DONTNEED);
  used_ = keep;
}

}  // namespace vessel::rv::jit
