// A snapshot's guest memory on disk: a file of exactly the RAM size holding
// RAM byte for byte, so restore can map it copy-on-write (GuestMemory's file
// constructor) and read only the pages the guest touches. All-zero pages are
// left as holes (but for holes of up to 16 pages between pages with data),
// so a mostly idle guest costs little disk.
#pragma once

#include <cstdint>
#include <string>

#include "base/safe_file.hpp"
#include "memory/guest_memory.hpp"

namespace vessel {

struct MemoryFileStats {
  uint64_t bytes_written = 0;  // bytes written: runs of non-zero pages, with the holes of up to
                               // 16 pages inside them; the rest are holes
  uint64_t data_pages = 0;     // non-zero pages
  uint64_t writes = 0;         // pwrite calls (one per run of up to 16 MiB, barring short writes)
  bool direct = false;         // written with O_DIRECT (past the page cache)
};

// True if the 4096 bytes at `page` are all zero.
bool is_zero_page(const uint8_t* page);

// Writes `memory` to `name` in `dir` as an AtomicFile (base/safe_file.hpp):
// created exclusively as `name`.tmp, mode 0600, made durable, then renamed
// over `name`, so a crash leaves either the old file or the new one, never
// half of one. The pages go with O_DIRECT where the file system takes it
// (straight from guest memory to the disk), else through the page cache;
// durable either way before the rename. Renaming also keeps a GuestMemory
// that maps the old file (a VM restored from it) seeing the old contents.
// The caller pauses the VM.
// Throws Error naming the path on any I/O failure. `commit_with`, written
// but not committed, is committed with it (one directory sync: a snapshot's
// state.bin, in `dir` too), and before it.
MemoryFileStats save_memory_file(const Directory& dir, const std::string& name,
                                 const GuestMemory& memory, AtomicFile* commit_with = nullptr);

// Opens a memory file for restore: read-only, a regular file of exactly
// `expected_size` bytes, or one Error line. Returns the fd; the caller passes
// it to GuestMemory(base, size, fd) and then closes it.
int open_memory_file(const std::string& path, uint64_t expected_size);

// Copies a memory file (from open_memory_file) into `memory`, which must be
// fresh anonymous memory of the file's size: only the file's data extents
// are read, and only their non-zero pages written, so the rest stays
// untouched zero pages. A replay runs on such memory rather than on a
// copy-on-write mapping of the file: a first touch of a page is then an
// anonymous fault (often a huge page), not a copy out of the page cache,
// as in the recording. Throws Error naming `path`.
void load_memory_file(int fd, const std::string& path, GuestMemory& memory);

}  // namespace vessel
