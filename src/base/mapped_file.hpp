// A whole file mapped read-only into memory, for boot images (kernel, initrd,
// firmware) that are only copied into guest RAM and hashed: reading them
// into a buffer first cost a fault and a zeroed page per 4 KiB of buffer,
// about a twentieth of a translated boot on this host, and a mapping shares
// the page cache's pages instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

namespace vessel {

class MappedFile {
 public:
  // Maps `path`; throws Error with one line naming `what` if it cannot be
  // opened or mapped or is a directory. An empty file maps to no bytes.
  // The caller copies from it before anyone could shorten the file: a page
  // cut off by a truncation elsewhere would fault on access (SIGBUS).
  static MappedFile open(const std::string& path, const char* what);

  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace vessel
