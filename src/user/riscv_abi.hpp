// Structures whose riscv64 Linux layout differs from the x86-64 host's, and
// their conversions. (Most of the ABI is the same on both: errno values,
// signal numbers, open/mmap flags, termios, struct rusage, statx, dirent64.)
#pragma once

#include <sys/epoll.h>
#include <sys/stat.h>

#include <cstdint>

namespace vessel::user {

// struct stat of include/uapi/asm-generic/stat.h (riscv64: 128 bytes;
// x86-64's own has st_nlink before st_mode and 64-bit link counts).
struct GuestStat {
  uint64_t st_dev;
  uint64_t st_ino;
  uint32_t st_mode;
  uint32_t st_nlink;
  uint32_t st_uid;
  uint32_t st_gid;
  uint64_t st_rdev;
  uint64_t pad1;
  int64_t st_size;
  int32_t st_blksize;
  int32_t pad2;
  int64_t st_blocks;
  int64_t st_atime_sec;
  uint64_t st_atime_nsec;
  int64_t st_mtime_sec;
  uint64_t st_mtime_nsec;
  int64_t st_ctime_sec;
  uint64_t st_ctime_nsec;
  uint32_t unused4;
  uint32_t unused5;
};
static_assert(sizeof(GuestStat) == 128);

inline GuestStat to_guest_stat(const struct stat& s) {
  GuestStat g{};
  g.st_dev = s.st_dev;
  g.st_ino = s.st_ino;
  g.st_mode = s.st_mode;
  // A link count past 2^32 saturates (the generic layout's field is 32 bits).
  g.st_nlink = s.st_nlink > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(s.st_nlink);
  g.st_uid = s.st_uid;
  g.st_gid = s.st_gid;
  g.st_rdev = s.st_rdev;
  g.st_size = s.st_size;
  g.st_blksize = static_cast<int32_t>(s.st_blksize);
  g.st_blocks = s.st_blocks;
  g.st_atime_sec = s.st_atim.tv_sec;
  g.st_atime_nsec = static_cast<uint64_t>(s.st_atim.tv_nsec);
  g.st_mtime_sec = s.st_mtim.tv_sec;
  g.st_mtime_nsec = static_cast<uint64_t>(s.st_mtim.tv_nsec);
  g.st_ctime_sec = s.st_ctim.tv_sec;
  g.st_ctime_nsec = static_cast<uint64_t>(s.st_ctim.tv_nsec);
  return g;
}

// struct epoll_event: packed (12 bytes) on x86-64, naturally aligned
// (16 bytes) everywhere else, riscv64 included.
struct GuestEpollEvent {
  uint32_t events;
  uint32_t pad;
  uint64_t data;
};
static_assert(sizeof(GuestEpollEvent) == 16);

}  // namespace vessel::user
