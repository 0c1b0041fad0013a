// virtio-blk: a disk image file presented as a virtio block device (virtio 1.2
// spec 5.2 "Block Device"), one request queue.
//
// Requests are parsed and checked on the VM thread; reads, writes, flushes
// and discards run on a BlockBackend (io_uring or worker threads) straight
// between the file and guest memory. Completions come back through the
// backend's eventfd: the device is a PollSource, and its dispatch() writes
// status bytes, pushes used entries and interrupts the driver, on the VM
// thread. A write is acknowledged only after pwritev finished; a flush only
// after fdatasync.
//
// The machine: constructs it, attaches it to a virtio transport, and adds it
// to the VM's EventLoop (remove it before destroying it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/event_loop.hpp"
#include "base/log.hpp"
#include "base/unique_fd.hpp"
#include "devices/virtio/blk_backend.hpp"
#include "devices/virtio/virtio_device.hpp"
#include "devices/virtio/virtqueue.hpp"

namespace vessel::virtio {

// 5.2.3 Feature bits
inline constexpr uint64_t kBlkFSizeMax = 1ull << 1;
inline constexpr uint64_t kBlkFSegMax = 1ull << 2;
inline constexpr uint64_t kBlkFRo = 1ull << 5;
inline constexpr uint64_t kBlkFBlkSize = 1ull << 6;
inline constexpr uint64_t kBlkFFlush = 1ull << 9;
inline constexpr uint64_t kBlkFDiscard = 1ull << 13;
inline constexpr uint64_t kBlkFWriteZeroes = 1ull << 14;

// 5.2.6 Device Operation: request types and status values
inline constexpr uint32_t kBlkTIn = 0, kBlkTOut = 1, kBlkTFlush = 4, kBlkTGetId = 8;
inline constexpr uint32_t kBlkTDiscard = 11, kBlkTWriteZeroes = 13;
inline constexpr uint8_t kBlkSOk = 0, kBlkSIoErr = 1, kBlkSUnsupp = 2;
inline constexpr uint32_t kBlkSectorSize = 512;
inline constexpr size_t kBlkIdBytes = 20;  // VIRTIO_BLK_T_GET_ID: NUL-padded ASCII

// 5.2.6 Device Operation: struct virtio_blk_req, the device-readable header
// (data and the trailing status byte follow in the chain).
struct BlkReqHeader {
  uint32_t type;  // le32
  uint32_t reserved;
  uint64_t sector;  // le64
};
static_assert(sizeof(BlkReqHeader) == 16);

// 5.2.6 Device Operation: struct virtio_blk_discard_write_zeroes
struct BlkDiscardSegment {
  uint64_t sector;  // le64
  uint32_t num_sectors;
  uint32_t flags;  // bit 0: unmap
};
static_assert(sizeof(BlkDiscardSegment) == 16);
inline constexpr uint32_t kBlkDiscardUnmap = 1;

// 5.2.4 Device configuration layout: struct virtio_blk_config, up to the
// zoned characteristics (which stay zero: not a zoned device).
struct BlkConfig {
  uint64_t capacity;  // 512-byte sectors
  uint32_t size_max;
  uint32_t seg_max;
  uint16_t geometry_cylinders;
  uint8_t geometry_heads;
  uint8_t geometry_sectors;
  uint32_t blk_size;
  uint8_t physical_block_exp;
  uint8_t alignment_offset;
  uint16_t min_io_size;
  uint32_t opt_io_size;
  uint8_t writeback;
  uint8_t unused0;
  uint16_t num_queues;
  uint32_t max_discard_sectors;
  uint32_t max_discard_seg;
  uint32_t discard_sector_alignment;
  uint32_t max_write_zeroes_sectors;
  uint32_t max_write_zeroes_seg;
  uint8_t write_zeroes_may_unmap;
  uint8_t unused1[3];
  uint32_t max_secure_erase_sectors;
  uint32_t max_secure_erase_seg;
  uint32_t secure_erase_sector_alignment;
  uint8_t zoned[24];
};
static_assert(sizeof(BlkConfig) == 96);

class VirtioBlk final : public VirtioDevice, public PollSource {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr uint32_t kMaxDiscardSectors = 1u << 22;  // 2 GiB per segment
  static constexpr uint32_t kMaxDiscardSegments = 16;
  static constexpr uint32_t kDiscardAlignment = 8;  // sectors (4 KiB)
  static constexpr size_t kMaxInFlight = 256;       // requests; more wait in the ring

  // Opens `path` (O_RDONLY when `read_only`, else O_RDWR) and takes an OFD
  // lock on it (shared for read-only, exclusive otherwise). A size that is
  // not a multiple of 512 is rounded down, with a warning; the tail is never
  // touched. Throws Error with one line when the image is missing, not
  // readable/writable, not a file or block device, or locked by another user.
  // A descriptor kept for `path` (base/preopen.hpp: `vessel receive`) is
  // used instead of opening it.
  VirtioBlk(std::string path, bool read_only,
            BlockBackend::Kind backend = BlockBackend::Kind::kAuto);
  // A disk without a file (a replay: vm/journal.hpp): the guest sees
  // `capacity_sectors`, `read_only` and `discard`; `backend` completes the
  // requests. `path` only names it in messages.
  VirtioBlk(std::string path, uint64_t capacity_sectors, bool read_only, bool discard,
            std::unique_ptr<BlockBackend> backend);
  ~VirtioBlk() override;

  // Opens a disk image as the constructor does, with the same one-line
  // errors: a regular file or a block device, nothing else.
  static UniqueFd open_image(const std::string& path, bool read_only);
  VirtioBlk(const VirtioBlk&) = delete;
  VirtioBlk& operator=(const VirtioBlk&) = delete;

  // ---- VirtioDevice ----
  uint32_t device_id() const override { return kIdBlock; }
  uint64_t device_features() const override;
  unsigned num_queues() const override { return 1; }
  uint16_t queue_max_size(unsigned /*queue*/) const override { return kQueueSize; }
  void read_config(uint64_t offset, std::span<uint8_t> out) override;
  void activate(uint64_t features) override;
  void reset() override;
  void queue_notify(unsigned queue) override;
  // Busy while any request is running on the backend or not yet reaped.
  bool busy() const override { return !requests_.empty(); }
  void release_host_locks() override;
  void retake_host_locks() override;
  // Waits for the backend and completes every request; requests that were
  // waiting in the ring for a free slot are started and completed too.
  void quiesce() override;
  // The disk's identity (capacity, read-only) and the serial the guest saw;
  // load_state refuses a disk of another size or mode.
  static constexpr uint32_t kStateVersion = 1;
  uint32_t state_version() const override { return kStateVersion; }
  void save_state(state::Writer& w) const override;
  void load_state(state::Reader& r) override;

  // ---- PollSource (the backend's completion eventfd) ----
  void prepare(PollSet& set) override;
  void dispatch(const PollSet& set) override;

  // The string VIRTIO_BLK_T_GET_ID returns (at most 20 bytes, ASCII): by
  // default "vessel-" and 12 hex digits derived from the image's device and
  // inode numbers, stable across runs.
  void set_serial(std::string serial);
  const std::string& serial() const { return serial_; }

  // Record/replay: the backend wrapped (before the guest runs), reads larger
  // than `bytes` failed with IOERR, completions reaped outside the event loop.
  void wrap_backend(
      const std::function<std::unique_ptr<BlockBackend>(std::unique_ptr<BlockBackend>)>& wrap) {
    backend_ = wrap(std::move(backend_));
  }
  void set_max_read(uint64_t bytes) { max_read_ = bytes; }
  void reap_completions();

  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }
  uint64_t capacity_sectors() const { return capacity_; }
  bool discard_supported() const { return discard_; }
  const char* backend_name() const { return backend_->name(); }
  size_t in_flight() const { return requests_.size(); }

 private:
  struct Request {
    DescriptorChain chain;
    uint32_t type = 0;
    bool has_status = false;
    uint64_t status_gpa = 0;
    uint32_t used_len_ok = 1;  // used length on success (status + data written)
    unsigned ops_left = 0;
    uint8_t status = kBlkSOk;
  };

  void process_queue();
  // Parses and starts one request; true when it completed at once (pushed).
  bool start(DescriptorChain chain);
  // Starts `op` for request `tag`; the first op of a request hands it over.
  void submit_op(uint64_t tag, std::unique_ptr<Request> owned, BlockOp op);
  void complete(Request& req);
  void finish_completions(const std::vector<BlockCompletion>& done);
  void warn(const char* what);

  std::string path_;
  bool read_only_;
  // Takes (F_RDLCK/F_WRLCK) or drops (F_UNLCK) the image's OFD lock; false
  // if another process holds a conflicting one. File systems without lock
  // support count as success.
  bool set_image_lock(short type);
  int fd_ = -1;
  uint64_t capacity_ = 0;  // sectors
  bool discard_ = false;
  std::string serial_;
  std::unique_ptr<BlockBackend> backend_;

  bool active_ = false;
  uint64_t features_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Request>> requests_;
  uint64_t next_tag_ = 1;
  uint64_t max_read_ = UINT64_MAX;
  int poll_index_ = -1;
  std::vector<BlockCompletion> completions_;  // scratch
  RateLimit log_limit_;
};

}  // namespace vessel::virtio
