// The executable memory that translated code lives in: one mapping of a fixed
// capacity, filled front to back, emptied all at once when full (the simplest
// bounded cache, and QEMU's policy too: a full flush costs one retranslation
// of the hot code, which is cheap next to tracking per-block lifetimes).
#pragma once

#include <cstddef>
#include <cstdint>

namespace vessel::rv::jit {

class CodeBuffer {
 public:
  // Reserves `capacity` bytes (rounded up to pages). The host commits pages
  // only as code is written. Throws Error if the mapping is refused.
  explicit CodeBuffer(size_t capacity);
  ~CodeBuffer();
  CodeBuffer(const CodeBuffer&) = delete;
  CodeBuffer& operator=(const CodeBuffer&) = delete;

  uint8_t* begin() const { return base_; }
  // Where the next code goes, and how much room is left.
  uint8_t* cursor() const { return base_ + used_; }
  size_t room() const { return capacity_ - used_; }
  size_t used() const { return used_; }
  size_t capacity() const { return capacity_; }

  // Marks `bytes` at the cursor as taken (code was written there).
  void commit(size_t bytes);
  // Everything after the first `keep` bytes is free again.
  void reset(size_t keep);

 private:
  uint8_t* base_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
};

}  // namespace vessel::rv::jit
