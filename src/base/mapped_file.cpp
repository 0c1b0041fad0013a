#include "base/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace vessel {

MappedFile MappedFile::open(const std::string& path, const char* what) {
  // O_NONBLOCK: a FIFO named by mistake is refused below instead of
  // waiting for a writer in open().
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) fail("cannot open {} '{}': {}", what, path, std::strerror(errno));
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) fail("cannot read {} '{}': {}", what, path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail("{} '{}' is a directory", what, path);
  if (!S_ISREG(st.st_mode)) fail("{} '{}' is not a regular file", what, path);
  MappedFile file;
  if (st.st_size == 0) return file;
  void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (p == MAP_FAILED) fail("cannot read {} '{}': {}", what, path, std::strerror(errno));
  file.data_ = static_cast<const uint8_t*>(p);
  file.size_ = static_cast<size_t>(st.st_size);
  return file;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) munmap(const_cast<uint8_t*>(data_), size_);
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) munmap(const_cast<uint8_t*>(data_), size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

}  // namespace vessel
