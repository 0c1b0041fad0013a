// Save and restore of virtio devices behind the virtio-mmio transport: a
// driver programs the registers and completes requests, the state is saved,
// a brand-new transport and device load it over the same guest memory, and
// the driver carries on as if nothing happened. Malformed blobs are refused
// with a StateError.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/event_loop.hpp"
#include "base/state.hpp"
#include "devices/virtio/blk.hpp"
#include "devices/virtio/console.hpp"
#include "devices/virtio/mmio_transport.hpp"
#include "devices/virtio/net.hpp"
#include "devices/virtio/rng.hpp"
#include "devices/virtio/virtqueue.hpp"
#include "virtio_test_driver.hpp"

namespace vessel::virtio {
namespace {

using namespace mmio;

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kData = kRam + 0x40000;

// Where the transport's fields end and the first queue begins in a saved
// blob: device id, queue count (u32 each), driver features (u64), six u32
// registers, activated (u8). The queue starts with max size, then size.
constexpr size_t kFirstQueue = 4 + 4 + 8 + 6 * 4 + 1;
constexpr size_t kQueueSizeField = kFirstQueue + 2;
constexpr size_t kIsrField = 4 + 4 + 8 + 4 * 4;

using test::Buf;
using test::LevelSink;
using test::save;
using Driver = test::MmioDriver;

// Queue q's rings at kRam + 0x10000 + 0x4000 * q.
constexpr uint64_t kRings = kRam + 0x10000;

void load(VirtioMmio& m, const std::vector<uint8_t>& blob) {
  test::load(m, blob, "virtio0");
}

bool all_zero(const std::vector<uint8_t>& v) {
  return std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0; });
}

// ---- virtio-rng ----

class VirtioStateRng : public ::testing::Test {
 protected:
  std::unique_ptr<VirtioMmio> make(LevelSink& sink) {
    auto m = std::make_unique<VirtioMmio>(mem, IrqLine(&sink, 5), std::make_unique<Rng>());
    driver.bind(*m);
    return m;
  }
  std::vector<uint8_t> bytes(uint64_t gpa, size_t n) {
    std::vector<uint8_t> v(n);
    EXPECT_TRUE(mem.read(gpa, v));
    return v;
  }
  // A device that served three requests and has its interrupt pending.
  std::vector<uint8_t> served_three() {
    LevelSink sink;
    auto m = make(sink);
    driver.probe(kFEventIdx);
    for (unsigned i = 0; i < 3; ++i) driver.post(0, {{kData + 0x100 * i, 16, true}});
    driver.notify(0);
    EXPECT_EQ(driver.used_idx(0), 3);
    EXPECT_TRUE(sink.level);
    return save(*m);
  }

  GuestMemory mem{kRam, kRamSize};
  Driver driver{16, kRings};
};

TEST_F(VirtioStateRng, RestoredDeviceCarriesOn) {
  LevelSink sink;
  auto m = make(sink);
  driver.probe(kFEventIdx);
  for (unsigned i = 0; i < 3; ++i) driver.post(0, {{kData + 0x100 * i, 16, true}});
  driver.notify(0);
  ASSERT_EQ(driver.used_idx(0), 3);
  for (unsigned i = 0; i < 3; ++i) EXPECT_EQ(driver.next_used(0), std::make_pair(i, 16u));
  driver.set_used_event(0, 100);  // no interrupt for a while
  const uint32_t status = driver.rd(kStatus);
  const std::vector<uint8_t> blob = save(*m);
  m.reset();

  LevelSink sink2;
  auto restored = make(sink2);
  load(*restored, blob);
  // Registers as the driver left them, and the pending interrupt re-driven.
  EXPECT_EQ(driver.rd(kStatus), status);
  EXPECT_EQ(driver.rd(kInterruptStatus), kIntUsedBuffer);
  EXPECT_TRUE(sink2.level);
  driver.wr(kQueueSel, 0);
  EXPECT_EQ(driver.rd(kQueueReady), 1u);
  EXPECT_EQ(driver.rd(kQueueNum), 16u);
  EXPECT_EQ(driver.rd(kQueueDescLow), static_cast<uint32_t>(driver.desc_ring(0)));
  EXPECT_EQ(driver.rd(kQueueDeviceLow), static_cast<uint32_t>(driver.used_ring(0)));
  EXPECT_TRUE(restored->active());
  EXPECT_EQ(restored->driver_features(), kFVersion1 | kFEventIdx);
  driver.wr(kInterruptAck, kIntUsedBuffer);
  EXPECT_FALSE(sink2.level);

  // The EVENT_IDX bookkeeping came along: the first completion stays quiet
  // (used_event is far ahead), later ones interrupt as the driver asks.
  for (unsigned round = 0; round < 3; ++round) {
    if (round > 0) driver.set_used_event(0, driver.used_idx(0));
    const uint64_t buf = kData + 0x10000 + 0x1000 * round;
    const uint16_t head = driver.post(0, {{buf, 32, true}});
    driver.notify(0);
    ASSERT_EQ(driver.unseen(0), 1) << "round " << round;
    EXPECT_EQ(driver.next_used(0), std::make_pair(uint32_t{head}, 32u));
    EXPECT_FALSE(all_zero(bytes(buf, 32)));
    EXPECT_EQ(sink2.level, round > 0) << "round " << round;
    driver.wr(kInterruptAck, kIntUsedBuffer);
  }
  EXPECT_EQ(driver.used_idx(0), 6);
  EXPECT_EQ(driver.rd(kStatus) & kStatusNeedsReset, 0u);
}

TEST_F(VirtioStateRng, HalfProbedDeviceIsFinishedByTheDriver) {
  LevelSink sink;
  auto m = make(sink);
  driver.probe(0, /*driver_ok=*/false);
  driver.post(0, {{kData, 8, true}});
  const std::vector<uint8_t> blob = save(*m);
  m.reset();

  LevelSink sink2;
  auto restored = make(sink2);
  load(*restored, blob);
  EXPECT_FALSE(restored->active());
  EXPECT_FALSE(sink2.level);
  driver.wr(kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  EXPECT_TRUE(restored->active());
  EXPECT_EQ(driver.used_idx(0), 1);  // the buffer posted before DRIVER_OK is served now
  EXPECT_EQ(driver.next_used(0).second, 8u);
}

TEST_F(VirtioStateRng, EveryTruncationIsRefused) {
  const std::vector<uint8_t> blob = served_three();
  for (size_t n = 0; n < blob.size(); ++n) {
    LevelSink sink;
    auto m = make(sink);
    const std::vector<uint8_t> part(blob.begin(), blob.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_THROW(load(*m, part), state::StateError) << "length " << n;
  }
}

TEST_F(VirtioStateRng, RandomBytesAreRefused) {
  std::mt19937 rng(1234);
  const std::vector<uint8_t> good = served_three();
  for (int i = 0; i < 500; ++i) {
    std::vector<uint8_t> blob(rng() % 200);
    for (uint8_t& b : blob) b = static_cast<uint8_t>(rng());
    if (i % 2 == 1 && blob.size() >= 4) blob[0] = kIdRng, blob[1] = blob[2] = blob[3] = 0;
    LevelSink sink;
    auto m = make(sink);
    EXPECT_THROW(load(*m, blob), state::StateError) << "iteration " << i;
  }
}

TEST_F(VirtioStateRng, FlippedBytesNeverCrash) {
  // A corrupted but well-framed blob may load (its values are ones a driver
  // could have set) or be refused; either way the device keeps serving.
  std::mt19937 rng(99);
  const std::vector<uint8_t> good = served_three();
  int refused = 0;
  for (int i = 0; i < 500; ++i) {
    std::vector<uint8_t> blob = good;
    for (int k = 0; k < 3; ++k)
      blob[rng() % blob.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    LevelSink sink;
    auto m = make(sink);
    try {
      load(*m, blob);
    } catch (const state::StateError&) {
      ++refused;
      continue;
    }
    driver.post(0, {{kData, 16, true}});
    driver.notify(0);
  }
  EXPECT_GT(refused, 0);
}

TEST_F(VirtioStateRng, QueueSizeNotAPowerOfTwoIsRefused) {
  std::vector<uint8_t> blob = served_three();
  ASSERT_EQ(blob[kQueueSizeField], 16);  // the layout this test pokes
  blob[kQueueSizeField] = 12;
  LevelSink sink;
  auto m = make(sink);
  try {
    load(*m, blob);
    FAIL() << "loaded a ready queue of 12 entries";
  } catch (const state::StateError& e) {
    EXPECT_NE(std::string(e.what()).find("invalid layout"), std::string::npos) << e.what();
  }
}

TEST_F(VirtioStateRng, QueueLargerThanTheDeviceAllowsIsRefused) {
  std::vector<uint8_t> blob = served_three();
  blob[kQueueSizeField] = 0;
  blob[kQueueSizeField + 1] = 1;  // 256 > Rng::kQueueSize
  LevelSink sink;
  auto m = make(sink);
  EXPECT_THROW(load(*m, blob), state::StateError);
}

TEST_F(VirtioStateRng, RingOutsideRamIsRefused) {
  std::vector<uint8_t> blob = served_three();
  const uint64_t outside = kRam + kRamSize - 8;  // the used ring would run off the end
  std::memcpy(&blob[kQueueSizeField + 2 + 16], &outside, 8);
  LevelSink sink;
  auto m = make(sink);
  EXPECT_THROW(load(*m, blob), state::StateError);
}

TEST_F(VirtioStateRng, ImpossibleRegistersAreRefused) {
  const std::vector<uint8_t> good = served_three();
  {
    std::vector<uint8_t> blob = good;
    blob[kIsrField] = 0x10;  // no such interrupt status bit
    LevelSink sink;
    auto m = make(sink);
    EXPECT_THROW(load(*m, blob), state::StateError);
  }
  {
    std::vector<uint8_t> blob = good;
    blob[kFirstQueue - 1] = 0;  // DRIVER_OK in status, yet never activated
    LevelSink sink;
    auto m = make(sink);
    EXPECT_THROW(load(*m, blob), state::StateError);
  }
  {
    std::vector<uint8_t> blob = good;
    blob[8] |= 1;  // a driver feature (bit 0) the device never offered
    LevelSink sink;
    auto m = make(sink);
    EXPECT_THROW(load(*m, blob), state::StateError);
  }
}

TEST_F(VirtioStateRng, AnotherDevicesStateIsRefused) {
  const std::vector<uint8_t> blob = served_three();
  auto console =
      std::make_unique<VirtioMmio>(mem, IrqLine(), std::make_unique<Console>(Console::Output{}));
  try {
    load(*console, blob);
    FAIL() << "console loaded an rng's state";
  } catch (const state::StateError& e) {
    EXPECT_NE(std::string(e.what()).find("device ID 4"), std::string::npos) << e.what();
  }
}

TEST(VirtioStateQueue, RoundTripKeepsPositions) {
  GuestMemory mem(kRam, kRamSize);
  Virtqueue q(mem, 64);
  q.set_size(32);
  q.set_desc_addr(kRam);
  q.set_avail_addr(kRam + 0x1000);
  q.set_used_addr(kRam + 0x2000);
  q.set_event_idx(true);
  ASSERT_TRUE(q.enable());
  // Two chains published and consumed.
  for (uint16_t i = 0; i < 2; ++i) {
    Descriptor d{kData, 8, kDescWrite, 0};
    ASSERT_TRUE(mem.write(kRam + 16 * i, {reinterpret_cast<uint8_t*>(&d), sizeof d}));
    ASSERT_TRUE(mem.write(kRam + 0x1004 + 2 * i, {reinterpret_cast<uint8_t*>(&i), 2}));
  }
  const uint16_t idx = 2;
  ASSERT_TRUE(mem.write(kRam + 0x1002, {reinterpret_cast<const uint8_t*>(&idx), 2}));
  for (int i = 0; i < 2; ++i) {
    auto chain = q.pop();
    ASSERT_TRUE(chain);
    q.push(*chain, 4);
  }
  state::Writer w;
  q.save_state(w);

  Virtqueue copy(mem, 64);
  state::Reader r(w.data(), "queue");
  copy.load_state(r);
  r.expect_end();
  EXPECT_TRUE(copy.ready());
  EXPECT_EQ(copy.size(), 32);
  EXPECT_EQ(copy.last_avail(), 2);
  EXPECT_EQ(copy.used_idx(), 2);
  EXPECT_FALSE(copy.pop());  // nothing new published

  Virtqueue smaller(mem, 16);
  state::Reader r2(w.data(), "queue");
  EXPECT_THROW(smaller.load_state(r2), state::StateError);
}

// ---- virtio-blk ----

constexpr uint64_t kSectors = 64;

uint8_t pattern(uint64_t offset) {
  return static_cast<uint8_t>((offset * 13 + (offset >> 9)) ^ 0xa5);
}

class VirtioStateBlk : public ::testing::TestWithParam<BlockBackend::Kind> {
 protected:
  static constexpr uint64_t kHdr = kRam + 0x30000, kStatusByte = kRam + 0x30100;

  void SetUp() override {
    if (GetParam() == BlockBackend::Kind::kUring && !block_uring_available()) {
      GTEST_SKIP() << "io_uring not available in this build or on this host";
    }
    path_ = image(kSectors);
  }
  void TearDown() override {
    drop();
    for (const std::string& p : images_) unlink(p.c_str());
  }

  std::string image(uint64_t sectors) {
    std::string path = ::testing::TempDir() + "vessel_blkstate_XXXXXX";
    const int fd = mkstemp(path.data());
    EXPECT_GE(fd, 0);
    std::vector<uint8_t> bytes(sectors * 512);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = pattern(i);
    EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    close(fd);
    images_.push_back(path);
    return path;
  }

  // The image is locked while a device has it open: one device at a time.
  void make(const std::string& path, bool read_only = false) {
    drop();
    mmio_ = std::make_unique<VirtioMmio>(mem_, IrqLine(&sink_, 1),
                                         std::make_unique<VirtioBlk>(path, read_only, GetParam()));
    driver_.bind(*mmio_);
    loop_.add(&blk());
  }
  void drop() {
    if (!mmio_) return;
    loop_.remove(&blk());
    mmio_.reset();
  }
  VirtioBlk& blk() { return static_cast<VirtioBlk&>(mmio_->device()); }

  uint16_t post_read(uint64_t sector, uint64_t gpa, uint32_t len, uint64_t hdr = kHdr,
                     uint64_t status = kStatusByte) {
    BlkReqHeader h{kBlkTIn, 0, sector};
    EXPECT_TRUE(mem_.write(hdr, {reinterpret_cast<const uint8_t*>(&h), sizeof h}));
    driver_.put<uint8_t>(status, 0xee);
    return driver_.post(0, {{hdr, 16, false}, {gpa, len, true}, {status, 1, true}});
  }
  uint16_t post_write(uint64_t sector, uint64_t gpa, uint32_t len) {
    BlkReqHeader h{kBlkTOut, 0, sector};
    EXPECT_TRUE(mem_.write(kHdr, {reinterpret_cast<const uint8_t*>(&h), sizeof h}));
    driver_.put<uint8_t>(kStatusByte, 0xee);
    return driver_.post(0, {{kHdr, 16, false}, {gpa, len, false}, {kStatusByte, 1, true}});
  }
  bool pump(uint16_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (driver_.unseen(0) < count) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      loop_.run_once(100);
    }
    return true;
  }
  void expect_read(uint64_t sector, uint64_t gpa, uint32_t len) {
    std::vector<uint8_t> got(len);
    ASSERT_TRUE(mem_.read(gpa, got));
    for (uint32_t i = 0; i < len; ++i) {
      ASSERT_EQ(got[i], pattern(sector * 512 + i)) << "byte " << i;
    }
  }

  GuestMemory mem_{kRam, kRamSize};
  LevelSink sink_;
  EventLoop loop_;
  Driver driver_{16, kRings};
  std::unique_ptr<VirtioMmio> mmio_;
  std::string path_;
  std::vector<std::string> images_;
};

TEST_P(VirtioStateBlk, RestoredDiskCarriesOn) {
  make(path_);
  driver_.probe(kFEventIdx | kBlkFFlush);
  uint16_t head = post_read(3, kData, 1024);
  driver_.notify(0);
  ASSERT_TRUE(pump(1));
  EXPECT_EQ(driver_.next_used(0), std::make_pair(uint32_t{head}, 1025u));
  expect_read(3, kData, 1024);
  // A write the restored device must be able to read back.
  std::vector<uint8_t> data(512, 0x77);
  ASSERT_TRUE(mem_.write(kData + 0x1000, data));
  post_write(10, kData + 0x1000, 512);
  driver_.notify(0);
  ASSERT_TRUE(pump(1));
  driver_.next_used(0);
  EXPECT_EQ(driver_.get<uint8_t>(kStatusByte), kBlkSOk);

  mmio_->quiesce();
  const std::vector<uint8_t> blob = save(*mmio_);
  make(path_);  // a new device on the same image and memory
  sink_.level = false;
  load(*mmio_, blob);
  EXPECT_TRUE(mmio_->active());
  EXPECT_TRUE(sink_.level);  // the last completion's interrupt was not acknowledged

  // The ring goes on from where it was, across its wrap point.
  for (unsigned i = 0; i < 10; ++i) {
    const uint64_t sector = i % 2 == 0 ? 10 : 20 + i;
    head = post_read(sector, kData + 0x2000, 512);
    driver_.notify(0);
    ASSERT_TRUE(pump(1)) << "request " << i;
    EXPECT_EQ(driver_.next_used(0), std::make_pair(uint32_t{head}, 513u));
    EXPECT_EQ(driver_.get<uint8_t>(kStatusByte), kBlkSOk);
    if (sector == 10) {
      std::vector<uint8_t> got(512);
      ASSERT_TRUE(mem_.read(kData + 0x2000, got));
      EXPECT_EQ(got, data);
    } else {
      expect_read(sector, kData + 0x2000, 512);
    }
  }
  EXPECT_EQ(driver_.used_idx(0), 12);
}

TEST_P(VirtioStateBlk, QuiesceFinishesRequestsInFlight) {
  make(path_);
  driver_.probe(0);
  const uint16_t a = post_read(0, kData, 4096);
  const uint16_t b = post_read(16, kData + 0x2000, 2048, kHdr + 0x40, kStatusByte + 1);
  driver_.notify(0);
  // Completions arrive through the event loop, which has not run.
  ASSERT_TRUE(mmio_->busy());
  EXPECT_THROW(save(*mmio_), Error);
  mmio_->quiesce();
  EXPECT_FALSE(mmio_->busy());
  ASSERT_EQ(driver_.unseen(0), 2);
  std::vector<std::pair<uint32_t, uint32_t>> used{driver_.next_used(0), driver_.next_used(0)};
  std::sort(used.begin(), used.end());
  EXPECT_EQ(used[0], std::make_pair(uint32_t{a}, 4097u));
  EXPECT_EQ(used[1], std::make_pair(uint32_t{b}, 2049u));
  EXPECT_EQ(driver_.get<uint8_t>(kStatusByte), kBlkSOk);
  EXPECT_EQ(driver_.get<uint8_t>(kStatusByte + 1), kBlkSOk);
  expect_read(0, kData, 4096);
  expect_read(16, kData + 0x2000, 2048);

  const std::vector<uint8_t> blob = save(*mmio_);
  make(path_);
  load(*mmio_, blob);
  const uint16_t c = post_read(5, kData, 512);
  driver_.notify(0);
  ASSERT_TRUE(pump(1));
  EXPECT_EQ(driver_.next_used(0), std::make_pair(uint32_t{c}, 513u));
  expect_read(5, kData, 512);
}

TEST_P(VirtioStateBlk, ReadIntoDirtyLoggedMemoryMarksThePages) {
  make(path_);
  driver_.probe(0);
  mem_.start_dirty_log();
  mem_.take_dirty();
  post_read(0, kData + 0x5000, 4096);
  driver_.notify(0);
  // A dirty-log round between the start of the read and its completion must
  // not lose the page the read fills.
  mem_.take_dirty();
  mmio_->quiesce();
  const std::vector<uint64_t> dirty = mem_.take_dirty();
  const uint64_t page = (kData + 0x5000 - kRam) / GuestMemory::kPageSize;
  ASSERT_GT(dirty.size(), page / 64);
  EXPECT_NE(dirty[page / 64] & (uint64_t{1} << (page % 64)), 0u);
  mem_.stop_dirty_log();
}

TEST_P(VirtioStateBlk, DiskOfAnotherSizeIsRefused) {
  make(path_);
  driver_.probe(0);
  const std::vector<uint8_t> blob = save(*mmio_);
  make(image(kSectors / 2));
  try {
    load(*mmio_, blob);
    FAIL() << "a 32-sector disk loaded a 64-sector disk's state";
  } catch (const state::StateError& e) {
    EXPECT_NE(std::string(e.what()).find("32 sectors, the saved disk had 64"), std::string::npos)
        << e.what();
  }
}

TEST_P(VirtioStateBlk, DiskInAnotherModeIsRefused) {
  make(path_);
  driver_.probe(0);
  const std::vector<uint8_t> blob = save(*mmio_);
  make(path_, /*read_only=*/true);
  // The read-only disk offers VIRTIO_BLK_F_RO, which the driver never saw;
  // either check may speak first, but the blob is refused.
  EXPECT_THROW(load(*mmio_, blob), state::StateError);
}

TEST_P(VirtioStateBlk, SerialSurvives) {
  make(path_);
  blk().set_serial("guest-saw-this");
  driver_.probe(0);
  const std::vector<uint8_t> blob = save(*mmio_);
  make(path_);
  load(*mmio_, blob);
  EXPECT_EQ(blk().serial(), "guest-saw-this");
}

TEST_P(VirtioStateBlk, RngStateIsRefused) {
  auto rng = std::make_unique<VirtioMmio>(mem_, IrqLine(), std::make_unique<Rng>());
  driver_.bind(*rng);
  driver_.probe(0);
  const std::vector<uint8_t> blob = save(*rng);
  make(path_);
  EXPECT_THROW(load(*mmio_, blob), state::StateError);
}

INSTANTIATE_TEST_SUITE_P(Backends, VirtioStateBlk,
                         ::testing::Values(BlockBackend::Kind::kUring,
                                           BlockBackend::Kind::kThreads),
                         [](const auto& info) {
                           return info.param == BlockBackend::Kind::kUring ? "uring" : "threads";
                         });

// ---- virtio-net: receive buffers held across a save ----

class FakeNet : public net::NetBackend {
 public:
  void send(std::span<const uint8_t>) override {}
  void prepare(PollSet&) override {}
  void dispatch(const PollSet&) override {}
  void inject(std::span<const uint8_t> frame) { deliver(frame); }
};

TEST(VirtioStateNet, HeldReceiveBuffersSurvive) {
  GuestMemory mem(kRam, kRamSize);
  Driver driver(16, kRings);
  FakeNet backend;
  const net::MacAddress mac = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc};
  std::vector<uint8_t> blob;
  uint16_t first = 0;
  {
    VirtioMmio m(mem, IrqLine(), std::make_unique<VirtioNet>(backend, mac));
    driver.bind(m);
    driver.probe(kNetFMrgRxbuf);
    // One buffer too small for the frame: popped and held, the frame waits.
    first = driver.post(VirtioNet::kRxQueue, {{kData, 100, true}});
    driver.notify(VirtioNet::kRxQueue);
    backend.inject(std::vector<uint8_t>(200, 0x11));
    EXPECT_EQ(driver.used_idx(VirtioNet::kRxQueue), 0);
    blob = save(m);
  }
  VirtioMmio m(mem, IrqLine(), std::make_unique<VirtioNet>(backend));
  driver.bind(m);
  load(m, blob);
  auto& dev = static_cast<VirtioNet&>(m.device());
  EXPECT_EQ(dev.mac(), mac);
  EXPECT_EQ(dev.pending_rx(), 0u);  // the waiting frame was dropped
  const uint16_t second = driver.post(VirtioNet::kRxQueue, {{kData + 0x1000, 200, true}});
  driver.notify(VirtioNet::kRxQueue);
  backend.inject(std::vector<uint8_t>(250, 0x22));
  // The held buffer is used first, then the new one: nothing was lost.
  ASSERT_EQ(driver.used_idx(VirtioNet::kRxQueue), 2);
  EXPECT_EQ(driver.next_used(VirtioNet::kRxQueue), std::make_pair(uint32_t{first}, 100u));
  EXPECT_EQ(driver.next_used(VirtioNet::kRxQueue),
            std::make_pair(uint32_t{second}, uint32_t{250 + sizeof(VirtioNetHdr) - 100}));
  EXPECT_EQ(driver.get<uint16_t>(kData + offsetof(VirtioNetHdr, num_buffers)), 2);
}

// ---- virtio-console: input waiting for buffers survives ----

TEST(VirtioStateConsole, PendingInputSurvives) {
  GuestMemory mem(kRam, kRamSize);
  Driver driver(16, kRings);
  std::vector<uint8_t> blob;
  {
    VirtioMmio m(mem, IrqLine(), std::make_unique<Console>(Console::Output{}, 100, 30));
    driver.bind(m);
    driver.probe(0);
    ASSERT_TRUE(static_cast<Console&>(m.device()).receive(std::vector<uint8_t>{'h', 'i'}));
    blob = save(m);
  }
  VirtioMmio m(mem, IrqLine(), std::make_unique<Console>(Console::Output{}));
  driver.bind(m);
  load(m, blob);
  uint64_t cols = 0;
  ASSERT_TRUE(m.mmio_read(kConfig, 2, cols));
  EXPECT_EQ(cols, 100u);  // the terminal size the guest saw, not the new default
  driver.post(Console::kReceiveQueue, {{kData, 64, true}});
  driver.notify(Console::kReceiveQueue);
  ASSERT_EQ(driver.used_idx(Console::kReceiveQueue), 1);
  EXPECT_EQ(driver.next_used(Console::kReceiveQueue).second, 2u);
  EXPECT_EQ(driver.get<uint16_t>(kData), 'h' | 'i' << 8);
}

}  // namespace
}  // namespace vessel::virtio
