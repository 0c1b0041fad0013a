#include "vm/memory_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "base/error.hpp"

namespace vessel {

namespace {

constexpr uint64_t kPage = GuestMemory::kPageSize;

// Closes the fd on every path out, including a thrown Error.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

void pwrite_all(int fd, const uint8_t* data, uint64_t len, uint64_t offset, const std::string& path,
                MemoryFileStats& stats) {
  while (len > 0) {
    const ssize_t n = ::pwrite(fd, data, len, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write memory file {}: {}", path, std::strerror(errno));
    }
    ++stats.writes;
    stats.bytes_written += static_cast<uint64_t>(n);
    data += n;
    len -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

}  // namespace

bool is_zero_page(const uint8_t* page) {
  // OR together 64 bytes at a time (the compiler keeps it in vector
  // registers) and stop at the first non-zero block: a page with data
  // usually fails in its first block.
  for (uint64_t block = 0; block < kPage; block += 64) {
    uint64_t acc = 0;
    for (uint64_t i = 0; i < 64; i += 8) {
      uint64_t word;
      std::memcpy(&word, page + block + i, 8);
      acc |= word;
    }
    if (acc != 0) return false;
  }
  return true;
}

MemoryFileStats save_memory_file(const std::string& path, const GuestMemory& memory) {
  const std::string tmp = path + ".tmp";
  // 0600: guest memory holds whatever secrets the guest has.
  FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) fail("cannot create memory file {}: {}", tmp, std::strerror(errno));
  MemoryFileStats stats;
  try {
    // The file's size first: every page not written below stays a hole.
    if (::ftruncate(fd.get(), static_cast<off_t>(memory.size())) != 0) {
      fail("cannot size memory file {} to {} bytes: {}", tmp, memory.size(), std::strerror(errno));
    }
    // Reading guest memory through host_base is safe: the whole range is
    // mapped and readable (untouched pages read as zero).
    const uint8_t* ram = memory.host_base();
    const uint64_t pages = memory.pages();
    uint64_t run_start = 0;
    uint64_t run_pages = 0;
    for (uint64_t page = 0; page < pages; ++page) {
      if (!is_zero_page(ram + page * kPage)) {
        if (run_pages == 0) run_start = page;
        ++run_pages;
        ++stats.data_pages;
        continue;
      }
      if (run_pages != 0) {
        pwrite_all(fd.get(), ram + run_start * kPage, run_pages * kPage, run_start * kPage, tmp,
                   stats);
        run_pages = 0;
      }
    }
    if (run_pages != 0) {
      pwrite_all(fd.get(), ram + run_start * kPage, run_pages * kPage, run_start * kPage, tmp,
                 stats);
    }
    if (::fdatasync(fd.get()) != 0) {
      fail("cannot flush memory file {}: {}", tmp, std::strerror(errno));
    }
    if (::close(fd.release()) != 0) {
      fail("cannot write memory file {}: {}", tmp, std::strerror(errno));
    }
    // Replacing an older memory file frees its blocks, which for a
    // fragmented sparse file took about a minute on a file system mounted
    // with `discard`. Holding it open across the rename defers that to the
    // last close, done off this (the VM's) thread.
    const int old_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      if (old_fd >= 0) ::close(old_fd);
      fail("cannot rename memory file {} to {}: {}", tmp, path, std::strerror(err));
    }
    if (old_fd >= 0) std::thread([old_fd] { ::close(old_fd); }).detach();
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  // The rename is durable only once the directory is flushed. The file is
  // complete under its name either way, so a failure here is not an error.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  FileDescriptor dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
  return stats;
}

int open_memory_file(const std::string& path, uint64_t expected_size) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) fail("cannot open memory file {}: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    fail("cannot stat memory file {}: {}", path, std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) fail("memory file {} is not a regular file", path);
  if (static_cast<uint64_t>(st.st_size) != expected_size) {
    fail("memory file {} has {} bytes, the snapshot says {}", path, st.st_size, expected_size);
  }
  return fd.release();
}

}  // namespace vessel
