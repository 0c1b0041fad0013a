// virtio-blk over a real temporary image file, driven through a split
// virtqueue in guest memory the way a driver does it (header readable, data,
// status writable), with completions arriving through the event loop. Every
// test runs against both I/O backends (io_uring when available, threads).
#include "devices/virtio/blk.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/event_loop.hpp"
#include "devices/virtio/virtqueue.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::virtio {
namespace {

constexpr uint64_t kBase = 0x80000000, kRam = 1 << 20;
constexpr uint64_t kDesc = kBase, kAvail = kBase + 0x1000, kUsed = kBase + 0x2000;
constexpr uint64_t kHdr = kBase + 0x4000, kStatus = kBase + 0x4100, kData = kBase + 0x10000;
constexpr uint16_t kSize = 16;
constexpr uint64_t kSectors = 64;

class FakeHost : public VirtioHost {
 public:
  explicit FakeHost(GuestMemory& m) : mem(m), q(m, VirtioBlk::kQueueSize) {}
  GuestMemory& memory() override { return mem; }
  Virtqueue& queue(unsigned /*index*/) override { return q; }
  void notify_used(unsigned /*queue*/) override { ++notifies; }
  void config_changed() override {}
  void device_error(const char* what) override { errors.emplace_back(what); }

  GuestMemory& mem;
  Virtqueue q;
  int notifies = 0;
  std::vector<std::string> errors;
};

struct Buf {
  uint64_t gpa;
  uint32_t len;
  bool write;
};

struct Result {
  uint8_t status;
  uint32_t used_len;
};

uint8_t pattern(uint64_t offset) {
  return static_cast<uint8_t>((offset * 7 + (offset >> 9)) ^ 0x5a);
}

class VirtioBlkTest : public ::testing::TestWithParam<BlockBackend::Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == BlockBackend::Kind::kUring && !block_uring_available()) {
      GTEST_SKIP() << "io_uring not available in this build or on this host";
    }
    path_ = ::testing::TempDir() + "vessel_blk_XXXXXX";
    const int fd = mkstemp(path_.data());
    ASSERT_GE(fd, 0);
    std::vector<uint8_t> image(kSectors * 512 + tail_bytes_);
    for (size_t i = 0; i < image.size(); ++i) image[i] = pattern(i);
    ASSERT_EQ(write(fd, image.data(), image.size()), static_cast<ssize_t>(image.size()));
    close(fd);
  }
  void TearDown() override {
    if (dev_) loop_.remove(dev_.get());
    dev_.reset();
    if (!path_.empty()) unlink(path_.c_str());
  }

  void start(bool read_only = false) {
    dev_ = std::make_unique<VirtioBlk>(path_, read_only, GetParam());
    dev_->attach(host_);
    enable_queue();
    dev_->activate(kFVersion1 | dev_->device_features());
    loop_.add(dev_.get());
  }
  void enable_queue() {
    host_.q.set_size(kSize);
    host_.q.set_desc_addr(kDesc);
    host_.q.set_avail_addr(kAvail);
    host_.q.set_used_addr(kUsed);
    ASSERT_TRUE(host_.q.enable());
    avail_idx_ = used_seen_ = next_desc_ = 0;
    w16(kAvail, 0);
    w16(kAvail + 2, 0);
    w16(kUsed + 2, 0);
  }

  void w16(uint64_t gpa, uint16_t v) { ASSERT_TRUE(mem_.write(gpa, {(const uint8_t*)&v, 2})); }
  uint16_t r16(uint64_t gpa) {
    uint16_t v = 0;
    EXPECT_TRUE(mem_.read(gpa, {(uint8_t*)&v, 2}));
    return v;
  }
  uint32_t r32(uint64_t gpa) {
    uint32_t v = 0;
    EXPECT_TRUE(mem_.read(gpa, {(uint8_t*)&v, 4}));
    return v;
  }
  void put(uint64_t gpa, const void* p, size_t n) {
    ASSERT_TRUE(mem_.write(gpa, {static_cast<const uint8_t*>(p), n}));
  }
  std::vector<uint8_t> get(uint64_t gpa, size_t n) {
    std::vector<uint8_t> v(n);
    EXPECT_TRUE(mem_.read(gpa, v));
    return v;
  }
  void header(uint32_t type, uint64_t sector, uint64_t gpa = kHdr) {
    BlkReqHeader h{type, 0, sector};
    put(gpa, &h, sizeof h);
  }

  // Publishes a chain (descriptors in order) without notifying.
  uint16_t post(const std::vector<Buf>& bufs) {
    const uint16_t head = next_desc_;
    for (size_t i = 0; i < bufs.size(); ++i) {
      const uint16_t idx = next_desc_;
      next_desc_ = (next_desc_ + 1) % kSize;
      const bool last = i + 1 == bufs.size();
      Descriptor d{bufs[i].gpa, bufs[i].len,
                   static_cast<uint16_t>((bufs[i].write ? kDescWrite : 0) | (last ? 0 : kDescNext)),
                   last ? uint16_t{0} : next_desc_};
      put(kDesc + 16 * idx, &d, sizeof d);
    }
    w16(kAvail + 4 + 2 * (avail_idx_ % kSize), head);
    ++avail_idx_;
    w16(kAvail + 2, avail_idx_);
    return head;
  }

  // Pumps the event loop until `count` more used entries appeared.
  bool pump(unsigned count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (static_cast<uint16_t>(r16(kUsed + 2) - used_seen_) < count) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      loop_.run_once(100);
    }
    return true;
  }
  // Takes the next used element.
  std::pair<uint32_t, uint32_t> next_used() {
    const uint64_t slot = kUsed + 4 + 8 * (used_seen_ % kSize);
    ++used_seen_;
    return {r32(slot), r32(slot + 4)};
  }

  // Runs one chain to completion; returns the status byte at `status_gpa`.
  Result run(const std::vector<Buf>& bufs, uint64_t status_gpa = kStatus) {
    uint8_t sentinel = 0xee;
    put(status_gpa, &sentinel, 1);
    const uint16_t head = post(bufs);
    dev_->queue_notify(0);
    EXPECT_TRUE(pump(1)) << "request never completed";
    auto [id, len] = next_used();
    EXPECT_EQ(id, head);
    return {get(status_gpa, 1)[0], len};
  }
  Result rw(uint32_t type, uint64_t sector, uint64_t data_gpa, uint32_t len) {
    header(type, sector);
    const bool write = type == kBlkTIn || type == kBlkTGetId;
    return run({{kHdr, 16, false}, {data_gpa, len, write}, {kStatus, 1, true}});
  }

  std::vector<uint8_t> file_bytes() {
    std::vector<uint8_t> v;
    const int fd = open(path_.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    uint8_t buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) v.insert(v.end(), buf, buf + n);
    close(fd);
    return v;
  }
  void expect_file_pristine() {
    const std::vector<uint8_t> f = file_bytes();
    ASSERT_EQ(f.size(), kSectors * 512 + tail_bytes_);
    for (size_t i = 0; i < f.size(); ++i) ASSERT_EQ(f[i], pattern(i)) << "byte " << i;
  }

  size_t tail_bytes_ = 0;
  std::string path_;
  GuestMemory mem_{kBase, kRam};
  FakeHost host_{mem_};
  EventLoop loop_;
  std::unique_ptr<VirtioBlk> dev_;
  uint16_t avail_idx_ = 0, used_seen_ = 0, next_desc_ = 0;
};

TEST_P(VirtioBlkTest, FeaturesAndConfig) {
  start();
  const uint64_t f = dev_->device_features();
  EXPECT_NE(f & kBlkFSegMax, 0u);
  EXPECT_NE(f & kBlkFFlush, 0u);
  EXPECT_NE(f & kBlkFBlkSize, 0u);
  EXPECT_EQ(f & kBlkFRo, 0u);
  EXPECT_EQ(dev_->device_id(), kIdBlock);
  EXPECT_EQ(dev_->num_queues(), 1u);

  BlkConfig c{};
  dev_->read_config(0, {reinterpret_cast<uint8_t*>(&c), sizeof c});
  EXPECT_EQ(c.capacity, kSectors);
  EXPECT_EQ(c.seg_max, VirtioBlk::kQueueSize - 2u);
  EXPECT_EQ(c.blk_size, 512u);
  if (dev_->discard_supported()) {
    EXPECT_NE(f & kBlkFDiscard, 0u);
    EXPECT_NE(f & kBlkFWriteZeroes, 0u);
    EXPECT_EQ(c.max_discard_seg, VirtioBlk::kMaxDiscardSegments);
    EXPECT_EQ(c.write_zeroes_may_unmap, 1);
  }
  // Partial and past-the-end reads.
  uint8_t b[8];
  std::memset(b, 0xff, sizeof b);
  dev_->read_config(0, {b, 4});
  EXPECT_EQ(b[0], kSectors);
  EXPECT_EQ(b[4], 0xff);
  std::memset(b, 0xff, sizeof b);
  dev_->read_config(sizeof(BlkConfig) - 2, {b, 8});
  for (uint8_t x : b) EXPECT_EQ(x, 0);
  dev_->read_config(~0ull, {b, 8});
  for (uint8_t x : b) EXPECT_EQ(x, 0);
}

TEST_P(VirtioBlkTest, ReadIntoScatteredBuffers) {
  start();
  header(kBlkTIn, 3);
  const Result r =
      run({{kHdr, 16, false}, {kData, 700, true}, {kData + 0x8000, 324, true}, {kStatus, 1, true}});
  EXPECT_EQ(r.status, kBlkSOk);
  EXPECT_EQ(r.used_len, 1025u);
  std::vector<uint8_t> got = get(kData, 700);
  const std::vector<uint8_t> rest = get(kData + 0x8000, 324);
  got.insert(got.end(), rest.begin(), rest.end());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], pattern(3 * 512 + i)) << i;
  EXPECT_GT(host_.notifies, 0);
  EXPECT_EQ(dev_->in_flight(), 0u);
}

TEST_P(VirtioBlkTest, ReadWithStatusInsideTheLastDataBuffer) {
  // Linux may merge the data and status buffers: the status is the last
  // writable byte whatever the descriptor layout.
  start();
  header(kBlkTIn, 0);
  const Result r = run({{kHdr, 16, false}, {kData, 513, true}}, kData + 512);
  EXPECT_EQ(r.status, kBlkSOk);
  EXPECT_EQ(r.used_len, 513u);
  EXPECT_EQ(get(kData, 1)[0], pattern(0));
  EXPECT_EQ(get(kData + 511, 1)[0], pattern(511));
}

TEST_P(VirtioBlkTest, WriteReachesTheFile) {
  start();
  std::vector<uint8_t> data(3 * 512);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 13 + 1);
  put(kData, data.data(), 1000);
  put(kData + 0x8000, data.data() + 1000, data.size() - 1000);
  header(kBlkTOut, 5);
  const Result r = run({{kHdr, 16, false},
                        {kData, 1000, false},
                        {kData + 0x8000, static_cast<uint32_t>(data.size() - 1000), false},
                        {kStatus, 1, true}});
  EXPECT_EQ(r.status, kBlkSOk);
  EXPECT_EQ(r.used_len, 1u);
  const std::vector<uint8_t> f = file_bytes();
  ASSERT_EQ(f.size(), kSectors * 512);
  for (size_t i = 0; i < f.size(); ++i) {
    const bool in = i >= 5 * 512 && i < 8 * 512;
    ASSERT_EQ(f[i], in ? data[i - 5 * 512] : pattern(i)) << i;
  }
  // And reads see it.
  EXPECT_EQ(rw(kBlkTIn, 5, kData + 0x20000, 512).status, kBlkSOk);
  EXPECT_EQ(get(kData + 0x20000, 512), std::vector<uint8_t>(data.begin(), data.begin() + 512));
}

TEST_P(VirtioBlkTest, Flush) {
  start();
  header(kBlkTFlush, 0);
  const Result r = run({{kHdr, 16, false}, {kStatus, 1, true}});
  EXPECT_EQ(r.status, kBlkSOk);
  EXPECT_EQ(r.used_len, 1u);
}

TEST_P(VirtioBlkTest, GetId) {
  start();
  const std::string serial = dev_->serial();
  EXPECT_EQ(serial.rfind("vessel-", 0), 0u);
  EXPECT_LE(serial.size(), kBlkIdBytes);
  Result r = rw(kBlkTGetId, 0, kData, 20);
  EXPECT_EQ(r.status, kBlkSOk);
  EXPECT_EQ(r.used_len, 21u);
  std::vector<uint8_t> id = get(kData, 20);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(id.data()), serial.size()), serial);
  for (size_t i = serial.size(); i < 20; ++i) EXPECT_EQ(id[i], 0);

  dev_->set_serial("disk-with-a-very-long-name\x01");
  r = rw(kBlkTGetId, 0, kData, 20);
  EXPECT_EQ(r.status, kBlkSOk);
  id = get(kData, 20);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(id.data()), 20), "disk-with-a-very-lon");
  // A short buffer gets a prefix.
  std::memset(id.data(), 0xaa, id.size());
  put(kData, id.data(), id.size());
  r = rw(kBlkTGetId, 0, kData, 4);
  EXPECT_EQ(r.status, kBlkSOk);
  EXPECT_EQ(r.used_len, 5u);
  EXPECT_EQ(get(kData, 5), (std::vector<uint8_t>{'d', 'i', 's', 'k', 0xaa}));
}

TEST_P(VirtioBlkTest, DiscardAndWriteZeroes) {
  start();
  if (!dev_->discard_supported()) GTEST_SKIP() << "file system cannot punch holes";
  // WRITE_ZEROES of sectors 2..3 and 10, DISCARD of 20..27: two segments,
  // then one; unmap allowed on write-zeroes only.
  BlkDiscardSegment seg[2] = {{2, 2, 0}, {10, 1, kBlkDiscardUnmap}};
  put(kData, seg, sizeof seg);
  header(kBlkTWriteZeroes, 0);
  Result r = run({{kHdr, 16, false}, {kData, sizeof seg, false}, {kStatus, 1, true}});
  EXPECT_EQ(r.status, kBlkSOk);
  std::vector<uint8_t> f = file_bytes();
  ASSERT_EQ(f.size(), kSectors * 512);
  for (size_t i = 0; i < f.size(); ++i) {
    const uint64_t s = i / 512;
    const bool zero = s == 2 || s == 3 || s == 10;
    ASSERT_EQ(f[i], zero ? 0 : pattern(i)) << i;
  }

  BlkDiscardSegment d{20, 8, 0};
  put(kData, &d, sizeof d);
  header(kBlkTDiscard, 0);
  r = run({{kHdr, 16, false}, {kData, sizeof d, false}, {kStatus, 1, true}});
  EXPECT_EQ(r.status, kBlkSOk);
  EXPECT_EQ(file_bytes().size(), kSectors * 512);  // KEEP_SIZE

  // 5.2.6.2: unmap on a discard, or any unknown flag, is UNSUPP.
  d = {20, 8, kBlkDiscardUnmap};
  put(kData, &d, sizeof d);
  r = run({{kHdr, 16, false}, {kData, sizeof d, false}, {kStatus, 1, true}});
  EXPECT_EQ(r.status, kBlkSUnsupp);
  d = {20, 8, 2};
  put(kData, &d, sizeof d);
  header(kBlkTWriteZeroes, 0);
  r = run({{kHdr, 16, false}, {kData, sizeof d, false}, {kStatus, 1, true}});
  EXPECT_EQ(r.status, kBlkSUnsupp);

  // Out of range, too long, a ragged or empty segment list: IOERR, and the
  // file keeps its size.
  for (BlkDiscardSegment bad :
       {BlkDiscardSegment{kSectors - 1, 2, 0}, BlkDiscardSegment{~0ull, 1, 0},
        BlkDiscardSegment{0, VirtioBlk::kMaxDiscardSectors + 1, 0}}) {
    put(kData, &bad, sizeof bad);
    r = run({{kHdr, 16, false}, {kData, sizeof bad, false}, {kStatus, 1, true}});
    EXPECT_EQ(r.status, kBlkSIoErr);
  }
  r = run({{kHdr, 16, false}, {kData, 15, false}, {kStatus, 1, true}});
  EXPECT_EQ(r.status, kBlkSIoErr);
  r = run({{kHdr, 16, false}, {kStatus, 1, true}});
  EXPECT_EQ(r.status, kBlkSIoErr);
  std::vector<BlkDiscardSegment> many(VirtioBlk::kMaxDiscardSegments + 1, {0, 1, 0});
  put(kData, many.data(), many.size() * sizeof many[0]);
  r = run({{kHdr, 16, false},
           {kData, static_cast<uint32_t>(many.size() * sizeof many[0]), false},
           {kStatus, 1, true}});
  EXPECT_EQ(r.status, kBlkSIoErr);
  EXPECT_EQ(file_bytes().size(), kSectors * 512);
}

TEST_P(VirtioBlkTest, ReadOnlyDiskRefusesWrites) {
  start(/*read_only=*/true);
  const uint64_t f = dev_->device_features();
  EXPECT_NE(f & kBlkFRo, 0u);
  EXPECT_EQ(f & (kBlkFDiscard | kBlkFWriteZeroes), 0u);
  std::vector<uint8_t> junk(512, 0x11);
  put(kData, junk.data(), junk.size());
  EXPECT_EQ(rw(kBlkTOut, 0, kData, 512).status, kBlkSIoErr);
  BlkDiscardSegment d{0, 1, 0};
  put(kData, &d, sizeof d);
  EXPECT_EQ(rw(kBlkTWriteZeroes, 0, kData, sizeof d).status, kBlkSUnsupp);
  EXPECT_EQ(rw(kBlkTDiscard, 0, kData, sizeof d).status, kBlkSUnsupp);
  EXPECT_EQ(rw(kBlkTIn, 1, kData, 512).status, kBlkSOk);
  EXPECT_EQ(get(kData, 1)[0], pattern(512));
  header(kBlkTFlush, 0);
  EXPECT_EQ(run({{kHdr, 16, false}, {kStatus, 1, true}}).status, kBlkSOk);
  expect_file_pristine();
}

TEST_P(VirtioBlkTest, OutOfRangeAndRaggedTransfersFail) {
  start();
  const std::vector<uint8_t> junk(1024, 0x77);
  put(kData, junk.data(), junk.size());
  // Past the end, straddling the end, sector * 512 overflowing, ragged length.
  EXPECT_EQ(rw(kBlkTIn, kSectors, kData, 512).status, kBlkSIoErr);
  EXPECT_EQ(rw(kBlkTIn, kSectors - 1, kData, 1024).status, kBlkSIoErr);
  EXPECT_EQ(rw(kBlkTOut, kSectors - 1, kData, 1024).status, kBlkSIoErr);
  EXPECT_EQ(rw(kBlkTOut, kSectors, kData, 512).status, kBlkSIoErr);
  EXPECT_EQ(rw(kBlkTOut, 1ull << 55, kData, 512).status, kBlkSIoErr);
  EXPECT_EQ(rw(kBlkTOut, ~0ull, kData, 512).status, kBlkSIoErr);
  EXPECT_EQ(rw(kBlkTIn, ~0ull - 1, kData, 1024).status, kBlkSIoErr);
  EXPECT_EQ(rw(kBlkTOut, 0, kData, 100).status, kBlkSIoErr);
  EXPECT_EQ(rw(kBlkTIn, 0, kData, 513).status, kBlkSIoErr);
  // The last sector itself is fine.
  EXPECT_EQ(rw(kBlkTIn, kSectors - 1, kData, 512).status, kBlkSOk);
  // Unknown and unsupported types: UNSUPP.
  for (uint32_t type : {2u, 3u, 5u, 10u, 14u, 15u, 16u, 0x80000000u, 0x80000001u}) {
    EXPECT_EQ(rw(type, 0, kData, 512).status, kBlkSUnsupp) << type;
  }
  expect_file_pristine();
}

TEST_P(VirtioBlkTest, MissingStatusByteFailsOnlyThatRequest) {
  start();
  header(kBlkTOut, 0);
  // Everything readable: nowhere to put a status.
  const uint16_t head = post({{kHdr, 16, false}, {kData, 512, false}});
  dev_->queue_notify(0);
  ASSERT_TRUE(pump(1));
  const auto [id, len] = next_used();
  EXPECT_EQ(id, head);
  EXPECT_EQ(len, 0u);
  expect_file_pristine();
  // A read needs 512 data bytes plus the status: 512 writable bytes in all
  // leave 511 for data, a ragged length.
  header(kBlkTIn, 0);
  EXPECT_EQ(run({{kHdr, 16, false}, {kData, 512, true}}, kData + 511).status, kBlkSIoErr);
  // The device keeps serving.
  EXPECT_EQ(rw(kBlkTIn, 2, kData, 512).status, kBlkSOk);
  EXPECT_EQ(get(kData, 1)[0], pattern(1024));
  EXPECT_TRUE(host_.errors.empty());
}

TEST_P(VirtioBlkTest, ShortHeaderFails) {
  start();
  header(kBlkTOut, 0);
  EXPECT_EQ(run({{kHdr, 8, false}, {kStatus, 1, true}}).status, kBlkSIoErr);
  EXPECT_EQ(run({{kStatus, 1, true}}).status, kBlkSIoErr);
  // A header split over two descriptors is fine.
  header(kBlkTIn, 4);
  EXPECT_EQ(
      run({{kHdr, 5, false}, {kHdr + 5, 11, false}, {kData, 512, true}, {kStatus, 1, true}}).status,
      kBlkSOk);
  EXPECT_EQ(get(kData, 1)[0], pattern(4 * 512));
  expect_file_pristine();
}

TEST_P(VirtioBlkTest, ManyRequestsInFlight) {
  start();
  // Five 3-descriptor chains nearly fill the 16-entry ring: writes and reads
  // of distinct sectors, all in flight together.
  for (unsigned i = 0; i < 5; ++i) {
    std::vector<uint8_t> d(512, static_cast<uint8_t>(0xc0 + i));
    put(kData + 0x1000 * i, d.data(), d.size());
  }
  for (unsigned i = 0; i < 5; ++i) {
    header(i % 2 == 0 ? kBlkTOut : kBlkTIn, 30 + i, kHdr + 16 * i);
  }
  for (unsigned i = 0; i < 5; ++i) {
    post({{kHdr + 16 * i, 16, false},
          {kData + 0x1000 * i, 512, i % 2 != 0},
          {kStatus + i, 1, true}});
  }
  dev_->queue_notify(0);
  ASSERT_TRUE(pump(5));
  for (unsigned i = 0; i < 5; ++i) {
    next_used();
    EXPECT_EQ(get(kStatus + i, 1)[0], kBlkSOk) << i;
  }
  const std::vector<uint8_t> f = file_bytes();
  for (unsigned i = 0; i < 5; i += 2) EXPECT_EQ(f[(30 + i) * 512 + 100], 0xc0 + i);
  for (unsigned i = 1; i < 5; i += 2)
    EXPECT_EQ(get(kData + 0x1000 * i, 1)[0], pattern((30 + i) * 512));
}

TEST_P(VirtioBlkTest, ResetWaitsForInFlightRequestsAndDropsThem) {
  start();
  for (unsigned i = 0; i < 5; ++i) {
    header(kBlkTIn, i, kHdr + 16 * i);
    post({{kHdr + 16 * i, 16, false}, {kData + 0x1000 * i, 4096, true}, {kStatus + i, 1, true}});
  }
  std::vector<uint8_t> marker(5, 0xee);
  put(kStatus, marker.data(), marker.size());
  dev_->queue_notify(0);
  dev_->reset();
  EXPECT_EQ(dev_->in_flight(), 0u);
  // Whatever the backend finished, nothing reaches the rings after reset.
  for (int i = 0; i < 5; ++i) loop_.run_once(10);
  EXPECT_EQ(r16(kUsed + 2), 0);
  EXPECT_EQ(get(kStatus, 5), marker);

  // The driver sets the device up again; it serves as new.
  host_.q.reset();
  enable_queue();
  dev_->activate(kFVersion1 | dev_->device_features());
  EXPECT_EQ(rw(kBlkTIn, 7, kData, 512).status, kBlkSOk);
  EXPECT_EQ(get(kData, 1)[0], pattern(7 * 512));
}

TEST_P(VirtioBlkTest, NotifyBeforeActivateIsIgnored) {
  start();
  dev_->reset();
  header(kBlkTIn, 0);
  post({{kHdr, 16, false}, {kData, 512, true}, {kStatus, 1, true}});
  dev_->queue_notify(0);
  for (int i = 0; i < 3; ++i) loop_.run_once(10);
  EXPECT_EQ(r16(kUsed + 2), 0);
}

TEST_P(VirtioBlkTest, ImageShrunkUnderTheDeviceFailsReads) {
  start();
  ASSERT_EQ(truncate(path_.c_str(), 512), 0);
  EXPECT_EQ(rw(kBlkTIn, 10, kData, 512).status, kBlkSIoErr);
  EXPECT_EQ(rw(kBlkTIn, 0, kData, 512).status, kBlkSOk);
}

class VirtioBlkRaggedTest : public VirtioBlkTest {
 protected:
  VirtioBlkRaggedTest() { tail_bytes_ = 100; }
};

TEST_P(VirtioBlkRaggedTest, SizeIsRoundedDownAndTheTailNeverTouched) {
  start();
  EXPECT_EQ(dev_->capacity_sectors(), kSectors);
  std::vector<uint8_t> junk(1024, 0x33);
  put(kData, junk.data(), junk.size());
  EXPECT_EQ(rw(kBlkTOut, kSectors - 1, kData, 1024).status, kBlkSIoErr);
  if (dev_->discard_supported()) {
    BlkDiscardSegment d{kSectors - 1, 2, 0};
    put(kData + 0x4000, &d, sizeof d);
    EXPECT_EQ(rw(kBlkTWriteZeroes, 0, kData + 0x4000, sizeof d).status, kBlkSIoErr);
  }
  expect_file_pristine();
  EXPECT_EQ(rw(kBlkTOut, kSectors - 1, kData, 512).status, kBlkSOk);
  const std::vector<uint8_t> f = file_bytes();
  ASSERT_EQ(f.size(), kSectors * 512 + 100);
  EXPECT_EQ(f[kSectors * 512 - 1], 0x33);
  for (size_t i = kSectors * 512; i < f.size(); ++i) ASSERT_EQ(f[i], pattern(i));
}

TEST_P(VirtioBlkTest, OpenErrorsAreOneLine) {
  auto message = [&](const std::string& path, bool ro) {
    try {
      VirtioBlk blk(path, ro, GetParam());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  std::string m = message("/nonexistent/disk.img", true);
  EXPECT_NE(m.find("/nonexistent/disk.img"), std::string::npos) << m;
  EXPECT_NE(m.find("No such file"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);
  m = message(::testing::TempDir(), true);
  EXPECT_NE(m.find("not a regular file"), std::string::npos) << m;
  // Two writers of one image: the second is refused; readers share.
  {
    VirtioBlk first(path_, false, GetParam());
    m = message(path_, false);
    EXPECT_NE(m.find("in use"), std::string::npos) << m;
    m = message(path_, true);
    EXPECT_NE(m.find("in use"), std::string::npos) << m;
  }
  {
    VirtioBlk first(path_, true, GetParam());
    EXPECT_EQ(message(path_, true), "");
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, VirtioBlkTest,
                         ::testing::Values(BlockBackend::Kind::kUring,
                                           BlockBackend::Kind::kThreads),
                         [](const auto& info) {
                           return info.param == BlockBackend::Kind::kUring ? "uring" : "threads";
                         });
INSTANTIATE_TEST_SUITE_P(Backends, VirtioBlkRaggedTest,
                         ::testing::Values(BlockBackend::Kind::kUring,
                                           BlockBackend::Kind::kThreads),
                         [](const auto& info) {
                           return info.param == BlockBackend::Kind::kUring ? "uring" : "threads";
                         });

// ---- the backends on their own ----

class BlockBackendTest : public ::testing::TestWithParam<BlockBackend::Kind> {};

TEST_P(BlockBackendTest, LongIovecListsAndShortTransfersComplete) {
  if (GetParam() == BlockBackend::Kind::kUring && !block_uring_available()) GTEST_SKIP();
  std::string path = ::testing::TempDir() + "vessel_blkbe_XXXXXX";
  const int fd = mkstemp(path.data());
  ASSERT_GE(fd, 0);
  unlink(path.c_str());
  auto backend = make_block_backend(fd, GetParam());
  ASSERT_TRUE(backend);
  // 3000 iovecs (more than IOV_MAX) of 3 bytes each.
  std::vector<uint8_t> src(9000), dst(9000, 0);
  std::iota(src.begin(), src.end(), 0);
  BlockOp w{BlockOp::Kind::kWrite, 1000, 0, {}, 7};
  for (size_t i = 0; i < src.size(); i += 3) w.iov.push_back({&src[i], 3});
  backend->submit(std::move(w));
  backend->kick();
  std::vector<BlockCompletion> done;
  backend->drain(done);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].tag, 7u);
  EXPECT_EQ(done[0].result, 9000);
  EXPECT_EQ(backend->in_flight(), 0u);

  BlockOp r{BlockOp::Kind::kRead, 1000, 0, {}, 8};
  for (size_t i = 0; i < dst.size(); i += 4500) r.iov.push_back({&dst[i], 4500});
  backend->submit(std::move(r));
  BlockOp past_eof{BlockOp::Kind::kRead, 20000, 0, {{&dst[0], 1}}, 9};
  backend->submit(std::move(past_eof));
  backend->submit(BlockOp{BlockOp::Kind::kFlush, 0, 0, {}, 10});
  backend->kick();
  done.clear();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (done.size() < 3 && std::chrono::steady_clock::now() < deadline) {
    pollfd p{backend->event_fd(), POLLIN, 0};
    poll(&p, 1, 100);
    backend->reap(done);
  }
  ASSERT_EQ(done.size(), 3u);
  for (const BlockCompletion& c : done) {
    const int64_t expected = c.tag == 8 ? 9000 : (c.tag == 9 ? -EIO : 0);
    EXPECT_EQ(c.result, expected) << "tag " << c.tag;
  }
  EXPECT_EQ(dst, src);
  close(fd);
}

TEST_P(BlockBackendTest, ZeroRangeFallsBackToPunchingWhereUnsupported) {
  if (GetParam() == BlockBackend::Kind::kUring && !block_uring_available()) GTEST_SKIP();
  // A memfd lives on shmem, which punches holes but has no ZERO_RANGE.
  const int fd = memfd_create("vessel_blk", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> bytes(8192, 0xab);
  ASSERT_EQ(pwrite(fd, bytes.data(), bytes.size(), 0), 8192);
  auto backend = make_block_backend(fd, GetParam());
  backend->submit(BlockOp{BlockOp::Kind::kZeroRange, 1024, 2048, {}, 1});
  backend->submit(BlockOp{BlockOp::Kind::kPunchHole, 4096, 512, {}, 2});
  backend->kick();
  std::vector<BlockCompletion> done;
  backend->drain(done);
  ASSERT_EQ(done.size(), 2u);
  for (const BlockCompletion& c : done) EXPECT_EQ(c.result, 0) << "tag " << c.tag;
  ASSERT_EQ(pread(fd, bytes.data(), bytes.size(), 0), 8192);
  for (size_t i = 0; i < bytes.size(); ++i) {
    const bool zero = (i >= 1024 && i < 3072) || (i >= 4096 && i < 4608);
    ASSERT_EQ(bytes[i], zero ? 0 : 0xab) << i;
  }
  close(fd);
}

INSTANTIATE_TEST_SUITE_P(Backends, BlockBackendTest,
                         ::testing::Values(BlockBackend::Kind::kUring,
                                           BlockBackend::Kind::kThreads),
                         [](const auto& info) {
                           return info.param == BlockBackend::Kind::kUring ? "uring" : "threads";
                         });

}  // namespace
}  // namespace vessel::virtio
