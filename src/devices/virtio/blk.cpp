#include "devices/virtio/blk.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "base/error.hpp"
#include "base/preopen.hpp"

namespace vessel::virtio {

namespace {

std::string default_serial(const struct stat& st) {
  // FNV-1a over the device and inode numbers: stable for one image file.
  uint64_t hash = 0xcbf29ce484222325ull;
  for (uint64_t v : {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)}) {
    for (int i = 0; i < 8; ++i) {
      hash ^= (v >> (8 * i)) & 0xff;
      hash *= 0x100000001b3ull;
    }
  }
  return fmt::format("vessel-{:012x}", hash & 0xffffffffffffull);
}

uint64_t iov_bytes(const std::vector<iovec>& iov) {
  uint64_t n = 0;
  for (const iovec& v : iov) n += v.iov_len;
  return n;
}

}  // namespace

bool VirtioBlk::set_image_lock(short type) {
  if (fd_ < 0) return true;  // no file (a replay)
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  return fcntl(fd_, F_OFD_SETLK, &lock) == 0 || (errno != EAGAIN && errno != EACCES);
}

void VirtioBlk::release_host_locks() {
  set_image_lock(F_UNLCK);
}

void VirtioBlk::retake_host_locks() {
  if (!set_image_lock(read_only_ ? F_RDLCK : F_WRLCK)) {
    spdlog::error("disk image {}: cannot take its lock back; another process has it", path_);
  }
}

UniqueFd VirtioBlk::open_image(const std::string& path, bool read_only) {
  // O_NONBLOCK so that a FIFO named as a disk is refused, not waited on;
  // taken off again below (io_uring would honour it on a block device).
  UniqueFd fd(
      open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) {
    const int err = errno;
    const bool hint = !read_only && (err == EACCES || err == EROFS || err == EPERM);
    fail("cannot open disk image {}{}: {}{}", path, read_only ? "" : " read-write",
         std::strerror(err), hint ? " (attach it read-only?)" : "");
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) fail("cannot stat disk image {}: {}", path, std::strerror(errno));
  // A character device (a terminal, /dev/zero), a FIFO or a socket has no
  // size and no stable contents: not a disk.
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    fail("disk image {} is not a regular file or block device", path);
  }
  const int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    fail("disk image {}: {}", path, std::strerror(errno));
  }
  return fd;
}

VirtioBlk::VirtioBlk(std::string path, bool read_only, BlockBackend::Kind backend)
    : path_(std::move(path)), read_only_(read_only) {
  UniqueFd kept = preopen::take(preopen::disk_key(path_, read_only));
  fd_ = kept.valid() ? kept.release() : open_image(path_, read_only).release();
  try {
    struct stat st {};
    if (fstat(fd_, &st) != 0) fail("cannot stat disk image {}: {}", path_, std::strerror(errno));
    // An OFD lock keeps two VMs (or two disks of one VM) from writing the
    // same image. File systems without lock support are let through.
    if (!set_image_lock(read_only ? F_RDLCK : F_WRLCK)) {
      fail("disk image {} is in use by another process", path_);
    }
    off_t size = 0;
    if (S_ISBLK(st.st_mode)) {
      // A block device's size is the kernel's word, not its inode's.
      uint64_t bytes = 0;
      if (ioctl(fd_, BLKGETSIZE64, &bytes) != 0) {
        fail("cannot size block device {}: {}", path_, std::strerror(errno));
      }
      size = static_cast<off_t>(bytes);
    } else {
      size = lseek(fd_, 0, SEEK_END);
      if (size < 0) fail("cannot size disk image {}: {}", path_, std::strerror(errno));
    }
    capacity_ = static_cast<uint64_t>(size) / kBlkSectorSize;
    if (size % kBlkSectorSize != 0) {
      spdlog::warn("disk image {}: size {} is not a multiple of 512; the last {} bytes are ignored",
                   path_, size, size % kBlkSectorSize);
    }
    // Discard and write-zeroes need hole punching (ZERO_RANGE falls back to
    // it). Probe past the end of the file, where a punch changes nothing, to
    // see whether the file system has it. Not on a block device: its
    // punches are alignment-bound and the probe would say nothing.
    if (!read_only && S_ISREG(st.st_mode)) {
      discard_ = fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, size, 4096) == 0;
    }
    serial_ = default_serial(st);
    backend_ = make_block_backend(fd_, backend);
    if (!backend_) fail("disk image {}: io_uring is not available", path_);
  } catch (...) {
    close(fd_);
    throw;
  }
}

VirtioBlk::VirtioBlk(std::string path, uint64_t capacity_sectors, bool read_only, bool discard,
                     std::unique_ptr<BlockBackend> backend)
    : path_(std::move(path)),
      read_only_(read_only),
      capacity_(capacity_sectors),
      discard_(discard && !read_only),
      backend_(std::move(backend)) {}

VirtioBlk::~VirtioBlk() {
  // No op may outlive the device (or keep writing guest memory).
  completions_.clear();
  backend_->drain(completions_);
  backend_.reset();
  if (fd_ >= 0) close(fd_);
}

void VirtioBlk::set_serial(std::string serial) {
  if (serial.size() > kBlkIdBytes) serial.resize(kBlkIdBytes);
  for (char& c : serial) {
    if (c < 0x20 || c > 0x7e) c = '_';
  }
  serial_ = std::move(serial);
}

uint64_t VirtioBlk::device_features() const {
  uint64_t f = kBlkFSegMax | kBlkFBlkSize | kBlkFFlush;
  if (read_only_) f |= kBlkFRo;
  if (discard_) f |= kBlkFDiscard | kBlkFWriteZeroes;
  return f;
}

void VirtioBlk::read_config(uint64_t offset, std::span<uint8_t> out) {
  BlkConfig c{};
  c.capacity = capacity_;
  c.seg_max = kQueueSize - 2;  // a chain also holds the header and status
  c.blk_size = kBlkSectorSize;
  if (discard_) {
    c.max_discard_sectors = kMaxDiscardSectors;
    c.max_discard_seg = kMaxDiscardSegments;
    c.discard_sector_alignment = kDiscardAlignment;
    c.max_write_zeroes_sectors = kMaxDiscardSectors;
    c.max_write_zeroes_seg = kMaxDiscardSegments;
    c.write_zeroes_may_unmap = 1;
  }
  // SAFETY: BlkConfig is plain little-endian data (the host is x86-64).
  const auto* bytes = reinterpret_cast<const uint8_t*>(&c);
  std::fill(out.begin(), out.end(), 0);
  if (offset >= sizeof c) return;
  const size_t n = std::min<uint64_t>(out.size(), sizeof c - offset);
  std::memcpy(out.data(), bytes + offset, n);
}

void VirtioBlk::activate(uint64_t features) {
  features_ = features;
  active_ = true;
}

void VirtioBlk::reset() {
  // Wait for the host side of every request (none can be cancelled once
  // pwritev has started), then forget them: after reset nothing writes
  // guest memory or the used ring.
  completions_.clear();
  backend_->drain(completions_);
  completions_.clear();
  requests_.clear();
  active_ = false;
  features_ = 0;
}

void VirtioBlk::queue_notify(unsigned queue) {
  if (queue == 0 && active_) process_queue();
}

void VirtioBlk::process_queue() {
  Virtqueue& q = host_->queue(0);
  bool pushed = false;
  while (q.ready() && requests_.size() < kMaxInFlight) {
    std::optional<DescriptorChain> chain = q.pop();
    if (!chain) break;
    pushed |= start(std::move(*chain));
  }
  backend_->kick();
  if (pushed) host_->notify_used(0);
}

bool VirtioBlk::start(DescriptorChain chain) {
  auto owned = std::make_unique<Request>();
  Request& r = *owned;
  r.chain = std::move(chain);
  GuestMemory& memory = host_->memory();

  // The status byte is the last byte of the device-writable part.
  for (auto it = r.chain.writable.rbegin(); it != r.chain.writable.rend(); ++it) {
    if (it->len > 0) {
      r.has_status = true;
      r.status_gpa = it->gpa + it->len - 1;
      break;
    }
  }
  auto finish_now = [&](uint8_t status) {
    r.status = status;
    complete(r);
    return true;
  };
  if (!r.has_status) {
    warn("request without a status byte");
    return finish_now(kBlkSIoErr);  // nothing to write: used length 0
  }
  ChainReader reader(memory, r.chain);
  BlkReqHeader header{};
  if (!reader.read_obj(header)) {
    warn("request header shorter than 16 bytes");
    return finish_now(kBlkSIoErr);
  }
  r.type = header.type;
  const uint64_t data_out = reader.remaining();           // device-readable data
  const uint64_t data_in = r.chain.writable_bytes() - 1;  // device-writable, before status
  auto in_range = [this](uint64_t sector, uint64_t sectors) {
    return sector <= capacity_ && sectors <= capacity_ - sector;
  };
  // A transfer must be whole sectors, on the disk, and its used length must
  // fit the used ring's 32 bits.
  auto transfer_ok = [&](uint64_t bytes) {
    if (bytes % kBlkSectorSize != 0) {
      warn("transfer length not a multiple of 512");
      return false;
    }
    if (bytes >= UINT32_MAX || !in_range(header.sector, bytes / kBlkSectorSize)) {
      warn("transfer outside the disk");
      return false;
    }
    return true;
  };

  const uint64_t tag = next_tag_;
  switch (header.type) {
    case kBlkTIn: {
      if (!transfer_ok(data_in)) return finish_now(kBlkSIoErr);
      if (data_in == 0) return finish_now(kBlkSOk);
      if (data_in > max_read_) {
        warn("read larger than a recording takes");
        return finish_now(kBlkSIoErr);
      }
      ChainWriter writer(memory, r.chain);
      BlockOp op{BlockOp::Kind::kRead, header.sector * kBlkSectorSize, 0,
                 writer.take_iovecs(data_in), tag};
      if (iov_bytes(op.iov) != data_in) return finish_now(kBlkSIoErr);  // cannot happen
      r.used_len_ok = static_cast<uint32_t>(data_in + 1);
      submit_op(tag, std::move(owned), std::move(op));
      return false;
    }
    case kBlkTOut: {
      // 5.2.6.2: a write to a VIRTIO_BLK_F_RO device fails with IOERR.
      if (read_only_) return finish_now(kBlkSIoErr);
      if (!transfer_ok(data_out)) return finish_now(kBlkSIoErr);
      if (data_out == 0) return finish_now(kBlkSOk);
      BlockOp op{BlockOp::Kind::kWrite, header.sector * kBlkSectorSize, 0,
                 reader.take_iovecs(data_out), tag};
      if (iov_bytes(op.iov) != data_out) return finish_now(kBlkSIoErr);  // cannot happen
      submit_op(tag, std::move(owned), std::move(op));
      return false;
    }
    case kBlkTFlush:
      submit_op(tag, std::move(owned), BlockOp{BlockOp::Kind::kFlush, 0, 0, {}, tag});
      return false;
    case kBlkTGetId: {
      std::array<uint8_t, kBlkIdBytes> id{};
      std::memcpy(id.data(), serial_.data(), std::min(serial_.size(), id.size()));
      ChainWriter writer(memory, r.chain);
      const size_t n =
          writer.write({id.data(), static_cast<size_t>(std::min<uint64_t>(data_in, kBlkIdBytes))});
      r.used_len_ok = static_cast<uint32_t>(n + 1);
      return finish_now(kBlkSOk);
    }
    case kBlkTDiscard:
    case kBlkTWriteZeroes: {
      if (!discard_) return finish_now(kBlkSUnsupp);
      const bool zeroes = header.type == kBlkTWriteZeroes;
      if (data_out == 0 || data_out % sizeof(BlkDiscardSegment) != 0 ||
          data_out / sizeof(BlkDiscardSegment) > kMaxDiscardSegments) {
        warn("bad discard/write-zeroes segment list");
        return finish_now(kBlkSIoErr);
      }
      std::vector<BlkDiscardSegment> segments(data_out / sizeof(BlkDiscardSegment));
      uint8_t status = kBlkSOk;
      for (BlkDiscardSegment& s : segments) {
        reader.read_obj(s);
        // 5.2.6.2: unknown flags, or unmap on a discard, are UNSUPP.
        if ((s.flags & ~kBlkDiscardUnmap) != 0 || (!zeroes && s.flags != 0)) {
          status = kBlkSUnsupp;
        } else if (status == kBlkSOk &&
                   (s.num_sectors > kMaxDiscardSectors || !in_range(s.sector, s.num_sectors))) {
          warn("discard/write-zeroes segment outside the disk");
          status = kBlkSIoErr;
        }
      }
      if (status != kBlkSOk) return finish_now(status);
      std::vector<BlockOp> ops;
      for (const BlkDiscardSegment& s : segments) {
        if (s.num_sectors == 0) continue;
        // Discard, and write-zeroes that may unmap: punch a hole (reads
        // return zeroes). Write-zeroes without unmap keeps the blocks.
        const auto kind = zeroes && (s.flags & kBlkDiscardUnmap) == 0 ? BlockOp::Kind::kZeroRange
                                                                      : BlockOp::Kind::kPunchHole;
        ops.push_back(BlockOp{
            kind, s.sector * kBlkSectorSize, uint64_t{s.num_sectors} * kBlkSectorSize, {}, tag});
      }
      if (ops.empty()) return finish_now(kBlkSOk);
      for (BlockOp& op : ops) submit_op(tag, std::move(owned), std::move(op));
      return false;
    }
    default: return finish_now(kBlkSUnsupp);
  }
}

void VirtioBlk::submit_op(uint64_t tag, std::unique_ptr<Request> owned, BlockOp op) {
  if (owned) {
    ++next_tag_;
    requests_.emplace(tag, std::move(owned));
  }
  ++requests_.at(tag)->ops_left;
  backend_->submit(std::move(op));
}

void VirtioBlk::complete(Request& r) {
  Virtqueue& q = host_->queue(0);
  if (!r.has_status) {
    q.push(r.chain, 0);
    return;
  }
  host_->memory().write(r.status_gpa, {&r.status, 1});
  q.push(r.chain, r.status == kBlkSOk ? r.used_len_ok : 1);
}

void VirtioBlk::prepare(PollSet& set) {
  poll_index_ = backend_->in_flight() > 0 ? set.add(backend_->event_fd(), POLLIN) : -1;
}

void VirtioBlk::dispatch(const PollSet& set) {
  if (poll_index_ < 0 || (set.revents(poll_index_) & POLLIN) == 0) return;
  poll_index_ = -1;
  reap_completions();
}

void VirtioBlk::reap_completions() {
  completions_.clear();
  backend_->reap(completions_);
  finish_completions(completions_);
}

void VirtioBlk::finish_completions(const std::vector<BlockCompletion>& done) {
  if (done.empty()) return;
  GuestMemory& memory = host_->memory();
  bool pushed = false;
  for (const BlockCompletion& c : done) {
    auto it = requests_.find(c.tag);
    if (it == requests_.end()) continue;
    Request& r = *it->second;
    if (c.result < 0) {
      // A discard is only advice: a file system that cannot punch holes
      // (any more) has done all that was asked.
      const bool advisory = r.type == kBlkTDiscard && (c.result == -EOPNOTSUPP);
      if (!advisory) {
        if (log_limit_.allow()) {
          spdlog::warn("virtio-blk {}: request type {} failed: {}", path_, r.type,
                       std::strerror(static_cast<int>(-c.result)));
        }
        r.status = kBlkSIoErr;
      }
    }
    if (--r.ops_left > 0) continue;
    if (r.type == kBlkTIn) {
      // The backend filled these pages behind the engine's back, maybe after
      // a dirty-log round took them or the engine decoded code from them:
      // mark them again.
      for (const Segment& s : r.chain.writable) memory.prepare_write(s.gpa, s.len);
    }
    complete(r);
    requests_.erase(it);
    pushed = true;
  }
  if (pushed) host_->notify_used(0);
  // Requests may have waited for a free slot.
  if (active_) process_queue();
}

void VirtioBlk::quiesce() {
  // Completing requests frees slots, and process_queue() then starts what
  // waited in the ring; the guest is stopped, so that ends after at most a
  // queue's worth of chains.
  while (!requests_.empty()) {
    completions_.clear();
    backend_->drain(completions_);
    if (completions_.empty()) {
      // Every op was submitted and drained, yet a request had none left to
      // finish: cannot happen, but must not spin.
      spdlog::error("virtio-blk {}: {} requests without backend ops", path_, requests_.size());
      requests_.clear();
      break;
    }
    finish_completions(completions_);
  }
}

void VirtioBlk::save_state(state::Writer& w) const {
  w.u64(capacity_);
  w.boolean(read_only_);
  w.str(serial_);
}

void VirtioBlk::load_state(state::Reader& r) {
  const uint64_t capacity = r.u64();
  const bool read_only = r.boolean();
  std::string serial = r.str(kBlkIdBytes);
  if (capacity != capacity_) {
    state::state_fail("disk image {} has {} sectors, the saved disk had {}", path_, capacity_,
                      capacity);
  }
  if (read_only != read_only_) {
    state::state_fail("disk image {} is attached {}, the saved disk was {}", path_,
                      read_only_ ? "read-only" : "read-write",
                      read_only ? "read-only" : "read-write");
  }
  // The guest may have recorded the serial (/dev/disk/by-id): keep it.
  set_serial(std::move(serial));
}

void VirtioBlk::warn(const char* what) {
  if (log_limit_.allow()) spdlog::warn("virtio-blk {}: {}", path_, what);
}

}  // namespace vessel::virtio
