// Asynchronous file I/O for block devices: requests run off the VM thread and
// their completions come back through an eventfd that the device's PollSource
// watches. Two engines: io_uring (liburing, when the build defines
// VESSEL_HAVE_LIBURING and the kernel allows it) and a small worker pool of
// preadv/pwritev/fdatasync/fallocate threads for everywhere else.
//
// The backend writes guest memory only through the iovecs it was given, and
// only until the op completes; drain() waits for every op, so after it
// returns nothing touches guest memory any more.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace vessel {

struct BlockOp {
  enum class Kind : uint8_t {
    kRead,       // preadv(iov) at offset
    kWrite,      // pwritev(iov) at offset
    kFlush,      // fdatasync
    kPunchHole,  // fallocate(PUNCH_HOLE | KEEP_SIZE) of [offset, offset + length)
    kZeroRange,  // fallocate(ZERO_RANGE | KEEP_SIZE), keeping the blocks allocated; a
                 // hole punch where the file system has no ZERO_RANGE
  };
  Kind kind = Kind::kRead;
  uint64_t offset = 0;
  uint64_t length = 0;     // kPunchHole/kZeroRange only; reads and writes move the iov total
  std::vector<iovec> iov;  // kRead/kWrite: host buffers (guest memory), at most IOV_MAX
  uint64_t tag = 0;        // returned in the completion
};

struct BlockCompletion {
  uint64_t tag;
  // Bytes moved (all of them: a short transfer is continued or becomes an
  // error), 0 for flush/punch, or -errno.
  int64_t result;
};

class BlockBackend {
 public:
  enum class Kind : uint8_t { kAuto, kUring, kThreads };

  virtual ~BlockBackend() = default;
  virtual const char* name() const = 0;
  // Queues an op; never fails here (errors arrive as completions). The op may
  // wait in the backend until kick().
  virtual void submit(BlockOp op) = 0;
  // Starts everything submitted so far.
  virtual void kick() = 0;
  // Readable when completions may be waiting.
  virtual int event_fd() const = 0;
  // Appends finished ops to `out` without blocking.
  virtual void reap(std::vector<BlockCompletion>& out) = 0;
  // Blocks until every submitted op has finished; appends their completions.
  virtual void drain(std::vector<BlockCompletion>& out) = 0;
  // Ops submitted and not yet returned by reap()/drain().
  virtual size_t in_flight() const = 0;
};

// A backend for `fd` (which the caller keeps open for the backend's lifetime).
// kAuto picks io_uring when built in and usable, else threads; kUring
// returns nullptr when io_uring is unavailable. Throws Error if no eventfd.
std::unique_ptr<BlockBackend> make_block_backend(int fd, BlockBackend::Kind kind);

// Whether this build and host can run the io_uring backend.
bool block_uring_available();

}  // namespace vessel
