#include "vm/memory_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "base/sandbox.hpp"
#include "base/unique_fd.hpp"

namespace vessel {

namespace {

constexpr uint64_t kPage = GuestMemory::kPageSize;

// Direct I/O (O_DIRECT) takes the data from guest memory straight to the
// disk: no copy into the page cache, which in this workplace's nested VM
// cost more than the disk itself (80 MiB: 0.7-1.8 s buffered, 0.1-0.2 s
// direct, under load). Guest memory, the offsets and the lengths are all
// page-aligned, as O_DIRECT wants. A file system that refuses it (EINVAL,
// at fcntl or at the first write) gets ordinary writes.
bool try_direct_io(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_DIRECT) == 0;
}

void stop_direct_io(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) (void)::fcntl(fd, F_SETFL, flags & ~O_DIRECT);
}

// At most this much per write, so that direct I/O pins a bounded part of
// guest memory at a time.
constexpr uint64_t kMaxWrite = 16 << 20;

void pwrite_all(int fd, const uint8_t* data, uint64_t len, uint64_t offset, const std::string& path,
                MemoryFileStats& stats) {
  while (len > 0) {
    const ssize_t n = ::pwrite(fd, data, std::min(len, kMaxWrite), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL && stats.direct) {
        stop_direct_io(fd);
        stats.direct = false;
        continue;
      }
      fail("cannot write memory file {}: {}", path, errno_text(errno));
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

MemoryFileStats save_memory_file(const Directory& dir, const std::string& name,
                                 const GuestMemory& memory, AtomicFile* commit_with) {
  // 0600 (AtomicFile): guest memory holds whatever secrets the guest has.
  AtomicFile file(dir, name);
  const std::string& tmp = file.temp_path();
  MemoryFileStats stats;
  // The file's size first: every page not written below stays a hole.
  if (::ftruncate(file.fd(), static_cast<off_t>(memory.size())) != 0) {
    fail("cannot size memory file {} to {} bytes: {}", tmp, memory.size(), errno_text(errno));
  }
  stats.direct = try_direct_io(file.fd());
  // Reading guest memory through host_base is safe: the whole range is
  // mapped and readable (untouched pages read as zero).
  const uint8_t* ram = memory.host_base();
  const uint64_t pages = memory.pages();
  // A write covers a run of data pages and the holes inside it of up to
  // kMaxHolePages: each write is a round trip to the disk with O_DIRECT
  // (0.1-0.3 ms here), more than 64 KiB of zeros cost. A default guest's RAM
  // has ~80 runs of data; merged over such holes, ~9, for 0.8 MiB of zeros.
  constexpr uint64_t kMaxHolePages = 16;
  uint64_t run_start = 0;
  uint64_t run_end = 0;  // one past the run's last data page; 0: no run
  auto write_run = [&] {
    pwrite_all(file.fd(), ram + run_start * kPage, (run_end - run_start) * kPage, run_start * kPage,
               tmp, stats);
  };
  for (uint64_t page = 0; page < pages; ++page) {
    if (is_zero_page(ram + page * kPage)) continue;
    ++stats.data_pages;
    if (run_end != 0 && page - run_end > kMaxHolePages) {
      write_run();
      run_end = 0;
    }
    if (run_end == 0) run_start = page;
    run_end = page + 1;
  }
  if (run_end != 0) write_run();
  // Replacing an older memory file frees its blocks, which for a fragmented
  // sparse file took about a minute on a file system mounted with `discard`.
  // Holding it open across the rename defers that to the last close, done
  // off this (the VM's) thread. Never through a symlink; O_NONBLOCK: a FIFO
  // must not stall the open.
  UniqueFd old(::openat(dir.fd(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (commit_with != nullptr) {
    AtomicFile::commit_together({commit_with, &file});
  } else {
    file.commit();
  }
  if (old.valid()) {
    std::thread([fd = old.release()] {
      sandbox::inherit_role(sandbox::Role::kVm);  // made by the VM thread, under its filter
      ::close(fd);
    }).detach();
  }
  return stats;
}

int open_memory_file(const std::string& path, uint64_t expected_size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) fail("cannot open memory file {}: {}", path, std::strerror(errno));
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

void load_memory_file(int fd, const std::string& path, GuestMemory& memory) {
  const uint64_t size = memory.size();
  std::vector<uint8_t> buffer(uint64_t{1} << 20);
  uint64_t pos = 0;
  while (pos < size) {
    const off_t data = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole is left
      fail("cannot read memory file {}: {}", path, std::strerror(errno));
    }
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0 || static_cast<uint64_t>(hole) > size) hole = static_cast<off_t>(size);
    for (uint64_t at = static_cast<uint64_t>(data); at < static_cast<uint64_t>(hole);) {
      const size_t want =
          static_cast<size_t>(std::min<uint64_t>(buffer.size(), static_cast<uint64_t>(hole) - at));
      const ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(at));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        fail("cannot read memory file {}: {}", path, n < 0 ? std::strerror(errno) : "short file");
      // Extents start and end on page boundaries (the file is written by pages).
      for (size_t off = 0; off + GuestMemory::kPageSize <= static_cast<size_t>(n);
           off += GuestMemory::kPageSize) {
        if (is_zero_page(buffer.data() + off)) continue;
        std::memcpy(memory.host_base() + at + off, buffer.data() + off, GuestMemory::kPageSize);
      }
      at += static_cast<uint64_t>(n) & ~(GuestMemory::kPageSize - 1);
      if ((static_cast<uint64_t>(n) & (GuestMemory::kPageSize - 1)) != 0) {
        fail("cannot read memory file {}: a read ended inside a page", path);
      }
    }
    pos = static_cast<uint64_t>(hole);
  }
}

}  // namespace vessel
