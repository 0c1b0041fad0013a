#include "devices/virtio/blk_backend.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "base/error.hpp"
#include "base/sandbox.hpp"

#if defined(VESSEL_HAVE_LIBURING)
#include <liburing.h>
#endif

namespace vessel {

namespace {

constexpr int kPunchMode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
constexpr int kZeroMode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

class EventFd {
 public:
  EventFd() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) fail("cannot create an eventfd for disk I/O: {}", std::strerror(errno));
  }
  ~EventFd() { close(fd_); }
  EventFd(const EventFd&) = delete;
  EventFd& operator=(const EventFd&) = delete;
  int fd() const { return fd_; }
  void signal() const {
    const uint64_t one = 1;
    while (write(fd_, &one, sizeof one) < 0 && errno == EINTR) {
    }
  }
  void clear() const {
    uint64_t value;
    while (read(fd_, &value, sizeof value) < 0 && errno == EINTR) {
    }
  }

 private:
  int fd_;
};

uint64_t iov_total(const std::vector<iovec>& iov) {
  uint64_t total = 0;
  for (const iovec& v : iov) total += v.iov_len;
  return total;
}

// Drops the first `n` bytes from iov[first...] after a partial transfer.
void advance(std::vector<iovec>& iov, size_t& first, uint64_t n) {
  while (n > 0 && first < iov.size()) {
    if (n >= iov[first].iov_len) {
      n -= iov[first].iov_len;
      ++first;
    } else {
      iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + n;
      iov[first].iov_len -= n;
      n = 0;
    }
  }
}

int iov_count(const std::vector<iovec>& iov, size_t first) {
  return static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
}

bool offset_ok(uint64_t offset, uint64_t len) {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<off_t>::max());
  return offset <= kMax && len <= kMax - offset;
}

// Runs one op to the end on the calling thread.
int64_t run_sync(int fd, BlockOp& op) {
  switch (op.kind) {
    case BlockOp::Kind::kRead:
    case BlockOp::Kind::kWrite: {
      const uint64_t total = iov_total(op.iov);
      if (!offset_ok(op.offset, total)) return -EINVAL;
      const bool is_read = op.kind == BlockOp::Kind::kRead;
      uint64_t done = 0;
      size_t first = 0;
      while (done < total) {
        const off_t at = static_cast<off_t>(op.offset + done);
        const ssize_t n = is_read
                              ? preadv(fd, op.iov.data() + first, iov_count(op.iov, first), at)
                              : pwritev(fd, op.iov.data() + first, iov_count(op.iov, first), at);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) return -errno;
        if (n == 0) return -EIO;  // the image shrank under us
        done += static_cast<uint64_t>(n);
        advance(op.iov, first, static_cast<uint64_t>(n));
      }
      return static_cast<int64_t>(done);
    }
    case BlockOp::Kind::kFlush:
      while (fdatasync(fd) != 0) {
        if (errno != EINTR) return -errno;
      }
      return 0;
    case BlockOp::Kind::kPunchHole:
    case BlockOp::Kind::kZeroRange:
      if (!offset_ok(op.offset, op.length)) return -EINVAL;
      while (fallocate(fd, op.kind == BlockOp::Kind::kZeroRange ? kZeroMode : kPunchMode,
                       static_cast<off_t>(op.offset), static_cast<off_t>(op.length)) != 0) {
        if (errno == EOPNOTSUPP && op.kind == BlockOp::Kind::kZeroRange) {
          op.kind = BlockOp::Kind::kPunchHole;  // tmpfs, for one
        } else if (errno != EINTR) {
          return -errno;
        }
      }
      return 0;
  }
  return -EINVAL;
}

// ---- worker pool ----

class ThreadBackend final : public BlockBackend {
 public:
  // The workers start with the first request, on the VM thread: after the
  // sandbox has locked the process down (a --user drop reaches every thread
  // that exists, and a confined thread may not change its user).
  ThreadBackend(int fd, unsigned threads) : fd_(fd), threads_(threads) {}
  ~ThreadBackend() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  const char* name() const override { return "threads"; }
  void submit(BlockOp op) override {
    while (workers_.size() < threads_) {
      workers_.emplace_back([this] {
        sandbox::confine_thread(sandbox::Role::kBlockIo);
        work();
      });
    }
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(op));
    }
    ++in_flight_;
    work_cv_.notify_one();
  }
  void kick() override {}
  int event_fd() const override { return event_.fd(); }
  void reap(std::vector<BlockCompletion>& out) override {
    event_.clear();
    std::lock_guard lock(mutex_);
    take_done(out);
  }
  void drain(std::vector<BlockCompletion>& out) override {
    std::unique_lock lock(mutex_);
    idle_cv_.wait(lock, [this] { return queue_.empty() && running_ == 0; });
    take_done(out);
    event_.clear();
  }
  size_t in_flight() const override { return in_flight_; }

 private:
  void take_done(std::vector<BlockCompletion>& out) {
    in_flight_ -= done_.size();
    out.insert(out.end(), done_.begin(), done_.end());
    done_.clear();
  }

  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      BlockOp op = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
      lock.unlock();
      const int64_t result = run_sync(fd_, op);
      lock.lock();
      done_.push_back({op.tag, result});
      --running_;
      event_.signal();
      idle_cv_.notify_all();
    }
  }

  int fd_;
  EventFd event_;
  std::mutex mutex_;
  std::condition_variable work_cv_, idle_cv_;
  std::deque<BlockOp> queue_;          // guarded by mutex_
  std::vector<BlockCompletion> done_;  // guarded by mutex_
  unsigned running_ = 0;               // guarded by mutex_
  bool stop_ = false;                  // guarded by mutex_
  size_t in_flight_ = 0;               // VM thread only
  unsigned threads_;
  std::vector<std::thread> workers_;  // VM thread only
};

// ---- io_uring ----

#if defined(VESSEL_HAVE_LIBURING)

class UringBackend final : public BlockBackend {
 public:
  static constexpr unsigned kEntries = 128;

  // The kernel runs a ring's requests outside the seccomp filter of the
  // thread that submits them (base/sandbox.hpp), so the ring is restricted
  // to the operations this backend submits, with no SQE flags and no later
  // registrations: it can read and write descriptors the VM thread already
  // has, never open a file or a socket. It starts disabled until then.
  static std::unique_ptr<UringBackend> create(int fd) {
    auto backend = std::unique_ptr<UringBackend>(new UringBackend(fd));
    io_uring_params params{};
    params.flags = IORING_SETUP_R_DISABLED;
    if (io_uring_queue_init_params(kEntries, &backend->ring_, &params) != 0) return nullptr;
    backend->ring_ok_ = true;
    if (io_uring_register_eventfd(&backend->ring_, backend->event_.fd()) != 0) return nullptr;
    std::vector<io_uring_restriction> allowed;
    for (uint8_t op :
         {IORING_OP_NOP, IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC, IORING_OP_FALLOCATE}) {
      io_uring_restriction r{};
      r.opcode = IORING_RESTRICTION_SQE_OP;
      r.sqe_op = op;
      allowed.push_back(r);
    }
    io_uring_restriction no_flags{};
    no_flags.opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
    no_flags.sqe_flags = 0;
    allowed.push_back(no_flags);
    // Through the system call: Debian's liburing 2.3 declares
    // io_uring_register_restrictions and io_uring_enable_rings but does not
    // export them.
    const int ring_fd = backend->ring_.ring_fd;
    if (::syscall(__NR_io_uring_register, ring_fd, IORING_REGISTER_RESTRICTIONS, allowed.data(),
                  allowed.size()) != 0 ||
        ::syscall(__NR_io_uring_register, ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) != 0) {
      return nullptr;
    }
    return backend;
  }
  ~UringBackend() override {
    if (!ring_ok_) return;
    std::vector<BlockCompletion> dropped;
    drain(dropped);
    io_uring_queue_exit(&ring_);
  }

  const char* name() const override { return "io_uring"; }
  void submit(BlockOp op) override {
    auto pending = std::make_unique<Pending>();
    pending->total = op.kind == BlockOp::Kind::kRead || op.kind == BlockOp::Kind::kWrite
                         ? iov_total(op.iov)
                         : op.length;
    pending->op = std::move(op);
    pending->id = next_id_++;
    waiting_.push_back(pending.get());
    ops_.emplace(pending->id, std::move(pending));
    ++in_flight_;
  }
  void kick() override {
    if (failed_ != 0) {
      if (!ops_.empty()) event_.signal();  // reap() fails them
      return;
    }
    unsigned queued = 0;
    while (!waiting_.empty() && on_ring_ < kEntries) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) break;
      prep(sqe, *waiting_.front());
      waiting_.pop_front();
      ++on_ring_;
      ++queued;
    }
    if (queued > 0) {
      int err;
      while ((err = io_uring_submit(&ring_)) == -EINTR) {
      }
      if (err < 0) {
        // The kernel took none of them (a sandbox that refuses the call, a
        // ring gone bad): nothing would ever complete, so every request
        // fails now and later ones at once, instead of waiting for ever.
        failed_ = err;
        event_.signal();
      }
    }
  }
  int event_fd() const override { return event_.fd(); }
  void reap(std::vector<BlockCompletion>& out) override {
    event_.clear();
    if (failed_ != 0) {
      fail_all(out, failed_);
      return;
    }
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
      handle(cqe, out);
      io_uring_cqe_seen(&ring_, cqe);
    }
    kick();  // ops continued after a short transfer
  }
  void drain(std::vector<BlockCompletion>& out) override {
    while (in_flight_ > 0) {
      kick();
      if (failed_ != 0) {
        fail_all(out, failed_);
        break;
      }
      io_uring_cqe* cqe = nullptr;
      const int err = io_uring_wait_cqe(&ring_, &cqe);
      if (err == -EINTR) continue;
      if (err < 0) {
        // The ring itself failed: nothing more will complete, and nothing
        // the kernel still holds can be trusted; fail what is left.
        failed_ = err;
        fail_all(out, err);
        break;
      }
      handle(cqe, out);
      io_uring_cqe_seen(&ring_, cqe);
    }
    event_.clear();
  }
  size_t in_flight() const override { return in_flight_; }

 private:
  struct Pending {
    BlockOp op;
    uint64_t id = 0;
    uint64_t total = 0;
    uint64_t done = 0;
    size_t first = 0;  // first iovec not fully moved
  };

  explicit UringBackend(int fd) : fd_(fd) {}

  void prep(io_uring_sqe* sqe, Pending& p) {
    BlockOp& op = p.op;
    switch (op.kind) {
      case BlockOp::Kind::kRead:
      case BlockOp::Kind::kWrite:
        if (!offset_ok(op.offset, p.total)) {
          io_uring_prep_nop(sqe);  // completes with 0; handle() turns it into -EINVAL
          break;
        }
        if (op.kind == BlockOp::Kind::kRead) {
          io_uring_prep_readv(sqe, fd_, op.iov.data() + p.first, iov_count(op.iov, p.first),
                              op.offset + p.done);
        } else {
          io_uring_prep_writev(sqe, fd_, op.iov.data() + p.first, iov_count(op.iov, p.first),
                               op.offset + p.done);
        }
        break;
      case BlockOp::Kind::kFlush: io_uring_prep_fsync(sqe, fd_, IORING_FSYNC_DATASYNC); break;
      case BlockOp::Kind::kPunchHole:
      case BlockOp::Kind::kZeroRange:
        if (!offset_ok(op.offset, op.length)) {
          io_uring_prep_nop(sqe);
          break;
        }
        io_uring_prep_fallocate(sqe, fd_,
                                op.kind == BlockOp::Kind::kZeroRange ? kZeroMode : kPunchMode,
                                static_cast<off_t>(op.offset), static_cast<off_t>(op.length));
        break;
    }
    io_uring_sqe_set_data64(sqe, p.id);
  }

  // Once the ring failed: every request left fails with `err`; the ring is
  // never submitted to again (entries on it may name buffers now given back).
  void fail_all(std::vector<BlockCompletion>& out, int err) {
    for (auto& [id, p] : ops_) out.push_back({p->op.tag, err});
    ops_.clear();
    waiting_.clear();
    in_flight_ = 0;
  }

  void handle(const io_uring_cqe* cqe, std::vector<BlockCompletion>& out) {
    --on_ring_;
    auto it = ops_.find(io_uring_cqe_get_data64(cqe));
    if (it == ops_.end()) return;
    Pending& p = *it->second;
    const int res = cqe->res;
    int64_t result = res;
    if (res == -EINTR || res == -EAGAIN) {
      waiting_.push_front(&p);  // try again
      return;
    }
    switch (p.op.kind) {
      case BlockOp::Kind::kRead:
      case BlockOp::Kind::kWrite:
        if (!offset_ok(p.op.offset, p.total)) {
          result = -EINVAL;
        } else if (res < 0) {
          result = res;
        } else if (res == 0 && p.done < p.total) {
          result = -EIO;  // the image shrank under us
        } else {
          p.done += static_cast<uint64_t>(res);
          advance(p.op.iov, p.first, static_cast<uint64_t>(res));
          if (p.done < p.total) {
            waiting_.push_front(&p);  // short transfer: continue where it stopped
            return;
          }
          result = static_cast<int64_t>(p.done);
        }
        break;
      case BlockOp::Kind::kZeroRange:
        if (res == -EOPNOTSUPP) {
          p.op.kind = BlockOp::Kind::kPunchHole;  // tmpfs, for one
          waiting_.push_front(&p);
          return;
        }
        [[fallthrough]];
      case BlockOp::Kind::kPunchHole:
        if (!offset_ok(p.op.offset, p.op.length)) result = -EINVAL;
        break;
      case BlockOp::Kind::kFlush: break;
    }
    out.push_back({p.op.tag, result});
    ops_.erase(it);
    --in_flight_;
  }

  int fd_;
  EventFd event_;
  io_uring ring_{};
  bool ring_ok_ = false;
  int failed_ = 0;  // the error that broke the ring (0: none)
  std::unordered_map<uint64_t, std::unique_ptr<Pending>> ops_;
  std::deque<Pending*> waiting_;  // submitted, not yet on the ring
  unsigned on_ring_ = 0;
  uint64_t next_id_ = 1;
  size_t in_flight_ = 0;
};

#endif  // VESSEL_HAVE_LIBURING

}  // namespace

bool block_uring_available() {
#if defined(VESSEL_HAVE_LIBURING)
  static const bool available = [] {
    io_uring ring{};
    if (io_uring_queue_init(2, &ring, 0) != 0) return false;
    io_uring_queue_exit(&ring);
    return true;
  }();
  return available;
#else
  return false;
#endif
}

std::unique_ptr<BlockBackend> make_block_backend(int fd, BlockBackend::Kind kind) {
#if defined(VESSEL_HAVE_LIBURING)
  if (kind != BlockBackend::Kind::kThreads && block_uring_available()) {
    if (auto backend = UringBackend::create(fd)) return backend;
  }
#endif
  if (kind == BlockBackend::Kind::kUring) return nullptr;
  return std::make_unique<ThreadBackend>(fd, 2);
}

}  // namespace vessel
