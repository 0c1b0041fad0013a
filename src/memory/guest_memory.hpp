// Guest-physical RAM: the only code that turns a guest-physical address into a
// host pointer. Every lookup is bounds-checked; `addr + len` overflowing is an
// error, never a wrap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

namespace vessel {

class GuestMemory {
 public:
  static constexpr uint64_t kPageSize = 4096;
  static constexpr unsigned kPageShift = 12;

  // Per-page flags, owned here so every writer of guest memory can see them.
  // kPageCode: the engine holds decoded instructions for the page; any write
  // must go through notify_code_write() so they are dropped.
  static constexpr uint8_t kPageCode = 1;
  // kPageWatch: the VMM wants to see every guest store to the page (HTIF's
  // tohost); the engine stops its run after such a store.
  static constexpr uint8_t kPageWatch = 2;

  // Reserves `size` bytes of RAM at guest-physical `base`. Host pages are
  // committed lazily, on first touch (MAP_NORESERVE), so a large guest costs
  // only what it uses. Throws Error if the host refuses the mapping.
  GuestMemory(uint64_t base, uint64_t size);
  ~GuestMemory();
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  uint64_t base() const { return base_; }
  uint64_t size() const { return size_; }
  uint64_t end() const { return base_ + size_; }
  uint64_t pages() const { return size_ >> kPageShift; }

  bool contains(uint64_t gpa, uint64_t len) const {
    if (gpa < base_) return false;
    const uint64_t offset = gpa - base_;
    return offset <= size_ && len <= size_ - offset;
  }

  // Host pointer for [gpa, gpa + len), or nullptr if any byte is outside RAM.
  // Writers through this pointer must check page_flags() themselves (the
  // engine's store path does); device code should use write().
  uint8_t* host_ptr(uint64_t gpa, uint64_t len) const {
    return contains(gpa, len) ? host_ + (gpa - base_) : nullptr;
  }

  // Checked copies; false if the range is not entirely RAM. write() tells the
  // engine about writes to pages holding decoded code.
  bool read(uint64_t gpa, std::span<uint8_t> out) const;
  bool write(uint64_t gpa, std::span<const uint8_t> in);

  // Flags of the RAM page holding `gpa` (which must be inside RAM).
  uint8_t& page_flags(uint64_t gpa) { return flags_[(gpa - base_) >> kPageShift]; }

  // Called for each page with kPageCode that a write() touches; the engine
  // installs it to invalidate its decoded-instruction cache.
  void set_code_write_hook(std::function<void(uint64_t page_gpa)> hook) {
    code_write_hook_ = std::move(hook);
  }
  void notify_code_write(uint64_t gpa, uint64_t len);

  uint8_t* host_base() const { return host_; }

 private:
  uint64_t base_;
  uint64_t size_;
  uint8_t* host_ = nullptr;
  std::unique_ptr<uint8_t[]> flags_;
  std::function<void(uint64_t)> code_write_hook_;
};

}  // namespace vessel
