// virtio-balloon end to end: a driver programs the virtio-mmio registers the
// way Linux's virtio_balloon does (inflateq 0, deflateq 1, statsq 2,
// reporting_vq next), posts buffers and notifies; the host side sets the
// target and asks for statistics.
#include "devices/virtio/balloon.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "devices/virtio/mmio_transport.hpp"
#include "devices/virtio/virtqueue.hpp"
#include "virtio_test_driver.hpp"

namespace vessel::virtio {
namespace {

using namespace mmio;

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kRamSize = 32 << 20;
constexpr uint64_t kPage = 4096;
constexpr uint16_t kQSize = 16;
// Rings of queue q at kRam + 0x4000 * q, in the first 64 KiB; buffers the
// driver builds after.
constexpr uint64_t kBuffers = kRam + 0x10000;  // PFN arrays, stats buffers
// Pages the tests balloon away, well clear of rings and buffers.
constexpr uint64_t kPattern = kRam + (8 << 20);

constexpr uint64_t kAllFeatures = kBalloonFStatsVq | kBalloonFDeflateOnOom | kBalloonFReporting;

uint64_t fake_clock_ns = 1000;

// One guest: RAM, a balloon behind virtio-mmio, and a driver for it.
class Guest : public test::MmioDriver {
 public:
  Guest() : MmioDriver(kQSize, kRam) {
    auto dev = std::make_unique<Balloon>([] { return fake_clock_ns; });
    balloon = dev.get();
    mmio = std::make_unique<VirtioMmio>(mem, IrqLine(&sink, 7), std::move(dev));
    bind(*mmio);
  }

  // 3.1.1 device initialization, accepting `features` (plus VERSION_1) and
  // setting up the queues that exist with them (5.5.2).
  void probe(uint64_t features = kAllFeatures, bool driver_ok = true) {
    ASSERT_EQ(rd(kDeviceId), kIdBalloon);
    wr(kStatus, 0);
    wr(kStatus, kStatusAcknowledge);
    wr(kStatus, kStatusAcknowledge | kStatusDriver);
    negotiate(features | kFVersion1);
    unsigned queues = 2;
    if ((features & kBalloonFStatsVq) != 0) ++queues;
    if ((features & kBalloonFReporting) != 0) ++queues;
    for (unsigned q = 0; q < queues; ++q) setup_queue(q);
    if (driver_ok) this->driver_ok();
  }
  // A driver allocates fresh, zeroed rings for each probe.
  void setup_queue(unsigned q) {
    fill(desc_ring(q), 0x4000, 0);
    MmioDriver::setup_queue(q);
  }

  // An array of le32 PFNs at `gpa`, as one device-readable buffer.
  uint16_t post_pfns(unsigned q, uint64_t gpa, const std::vector<uint32_t>& pfns) {
    EXPECT_TRUE(mem.write(gpa, {reinterpret_cast<const uint8_t*>(pfns.data()), 4 * pfns.size()}));
    return post(q, {{gpa, static_cast<uint32_t>(4 * pfns.size()), false}});
  }

  // A statsq buffer of (le16 tag, le64 val) entries, packed.
  uint16_t post_stats(uint64_t gpa, const std::vector<std::pair<uint16_t, uint64_t>>& entries,
                      uint32_t len = UINT32_MAX) {
    std::vector<uint8_t> bytes;
    for (const auto& [tag, val] : entries) {
      uint8_t e[10];
      std::memcpy(e, &tag, 2);
      std::memcpy(e + 2, &val, 8);
      bytes.insert(bytes.end(), e, e + 10);
    }
    EXPECT_TRUE(mem.write(gpa, bytes));
    return post(2, {{gpa, len == UINT32_MAX ? static_cast<uint32_t>(bytes.size()) : len, false}});
  }

  void fill(uint64_t gpa, uint64_t len, uint8_t value) {
    const std::vector<uint8_t> chunk(1 << 20, value);
    for (uint64_t done = 0; done < len;) {
      const uint64_t n = std::min<uint64_t>(chunk.size(), len - done);
      ASSERT_TRUE(mem.write(gpa + done, {chunk.data(), n}));
      done += n;
    }
  }
  // True if every byte of [gpa, gpa + len) is `value`.
  bool all(uint64_t gpa, uint64_t len, uint8_t value) {
    std::vector<uint8_t> bytes(std::min<uint64_t>(len, 1 << 20));
    for (uint64_t done = 0; done < len; done += bytes.size()) {
      const std::span<uint8_t> chunk(bytes.data(), std::min<uint64_t>(bytes.size(), len - done));
      EXPECT_TRUE(mem.read(gpa + done, chunk));
      if (!std::all_of(chunk.begin(), chunk.end(), [&](uint8_t b) { return b == value; })) {
        return false;
      }
    }
    return true;
  }
  bool needs_reset() { return (rd(kStatus) & kStatusNeedsReset) != 0; }

  GuestMemory mem{kRam, kRamSize};
  test::LevelSink sink;
  Balloon* balloon = nullptr;
  std::unique_ptr<VirtioMmio> mmio;
};

uint32_t pfn(uint64_t gpa) {
  return static_cast<uint32_t>(gpa >> 12);
}

// Resident memory of this process, from /proc/self/status, in bytes.
uint64_t rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    unsigned long long kb = 0;
    if (std::sscanf(line.c_str(), "VmRSS: %llu kB", &kb) == 1) return kb * 1024;
  }
  ADD_FAILURE() << "no VmRSS in /proc/self/status";
  return 0;
}

class VirtioBalloonTest : public ::testing::Test {
 protected:
  void SetUp() override { fake_clock_ns = 1000; }
  Guest g;
};

TEST_F(VirtioBalloonTest, OffersItsFeaturesAndFourQueues) {
  EXPECT_EQ(g.rd(kDeviceId), kIdBalloon);
  g.wr(kDeviceFeaturesSel, 0);
  const uint32_t low = g.rd(kDeviceFeatures);
  EXPECT_EQ(low & 0xff, kBalloonFStatsVq | kBalloonFDeflateOnOom | kBalloonFReporting);
  for (unsigned q = 0; q < 4; ++q) {
    g.wr(kQueueSel, q);
    EXPECT_EQ(g.rd(kQueueNumMax), Balloon::kQueueSize) << q;
  }
  g.wr(kQueueSel, 4);
  EXPECT_EQ(g.rd(kQueueNumMax), 0u);
}

TEST_F(VirtioBalloonTest, ConfigSpaceTargetAndActual) {
  g.probe();
  const uint32_t generation = g.rd(kConfigGeneration);
  g.balloon->set_target_bytes((10 << 20) + 100);  // rounded down to pages
  EXPECT_EQ(g.balloon->target_bytes(), 10u << 20);
  EXPECT_EQ(g.rd(kConfig + 0), (10u << 20) / kPage);  // num_pages
  EXPECT_NE(g.rd(kConfigGeneration), generation);
  EXPECT_EQ(g.rd(kInterruptStatus) & kIntConfigChange, kIntConfigChange);
  g.wr(kInterruptAck, kIntConfigChange);

  // The same target again: nothing to tell the driver.
  g.balloon->set_target_bytes(10 << 20);
  EXPECT_EQ(g.rd(kInterruptStatus), 0u);

  // The driver reports progress in `actual`; num_pages is the device's.
  g.wr(kConfig + 4, 1234);
  EXPECT_EQ(g.rd(kConfig + 4), 1234u);
  EXPECT_EQ(g.balloon->actual_bytes(), 1234u * kPage);
  g.wr(kConfig + 5, 0x01, 1);             // one byte of actual
  EXPECT_EQ(g.rd(kConfig + 4), 0x01d2u);  // 1234 is 0x04d2
  g.wr(kConfig + 0, 7);
  g.wr(kConfig + 8, 7);
  g.wr(kConfig + 12, 7);
  EXPECT_EQ(g.rd(kConfig + 0), 2560u);
  EXPECT_EQ(g.rd(kConfig + 8), 0u);   // free_page_hint_cmd_id: not offered
  EXPECT_EQ(g.rd(kConfig + 12), 0u);  // poison_val: not offered
  EXPECT_EQ(g.rd(kConfig + 16), 0u);  // past the end
  uint64_t both = 0;
  ASSERT_TRUE(g.mmio->mmio_read(kConfig, 8, both));
  EXPECT_EQ(both, uint64_t{g.rd(kConfig + 4)} << 32 | 2560u);

  // More than the guest has is capped at its RAM.
  g.balloon->set_target_bytes(uint64_t{1} << 50);
  EXPECT_EQ(g.balloon->target_bytes(), kRamSize);
}

TEST_F(VirtioBalloonTest, InflateGivesPagesBackToTheHost) {
  g.probe();
  constexpr uint64_t kBytes = 16 << 20;
  g.fill(kPattern, kBytes, 0x5a);
  const uint64_t before = rss_bytes();

  // Linux sends up to 256 PFNs per buffer; 16 buffers cover 16 MiB. The
  // pages of each buffer in descending order, as a page allocator hands
  // them out often enough.
  constexpr uint32_t kPerBuffer = 256;
  for (uint32_t b = 0; b < kBytes / kPage / kPerBuffer; ++b) {
    std::vector<uint32_t> pfns;
    for (uint32_t i = kPerBuffer; i-- > 0;) pfns.push_back(pfn(kPattern) + b * kPerBuffer + i);
    g.post_pfns(0, kBuffers + 0x400 * uint64_t{b}, pfns);
  }
  g.notify(0);

  const uint64_t after = rss_bytes();  // before the checks below allocate
  EXPECT_GE(before, after + (12 << 20)) << "RSS before " << before << ", after " << after;
  ASSERT_EQ(g.used_idx(0), kBytes / kPage / kPerBuffer);
  EXPECT_EQ(g.used_len(0, 0), 0u);
  EXPECT_EQ(g.balloon->inflated_pages(), kBytes / kPage);
  EXPECT_TRUE(g.all(kPattern, kBytes, 0));
  EXPECT_FALSE(g.needs_reset());
  EXPECT_TRUE(g.sink.level);
}

TEST_F(VirtioBalloonTest, InflateDiscardsExactlyTheListedPages) {
  g.probe();
  g.fill(kPattern, 16 * kPage, 0xa5);
  // Unsorted, with a repeat, a gap and a run: pages 1-3, 5, 9.
  g.post_pfns(0, kBuffers,
              {pfn(kPattern) + 3, pfn(kPattern) + 1, pfn(kPattern) + 9, pfn(kPattern) + 2,
               pfn(kPattern) + 5, pfn(kPattern) + 2});
  g.notify(0);
  ASSERT_EQ(g.used_idx(0), 1);
  for (uint64_t page = 0; page < 16; ++page) {
    const bool ballooned = page == 1 || page == 2 || page == 3 || page == 5 || page == 9;
    EXPECT_TRUE(g.all(kPattern + page * kPage, kPage, ballooned ? 0 : 0xa5)) << page;
  }
  EXPECT_EQ(g.balloon->inflated_pages(), 6u);
}

TEST_F(VirtioBalloonTest, PfnsOutsideRamAreSkipped) {
  g.probe();
  g.fill(kPattern, kPage, 0x11);
  g.post_pfns(0, kBuffers, {0, pfn(kRam) - 1, pfn(kRam + kRamSize), 0xffffffffu, pfn(kPattern)});
  g.notify(0);
  ASSERT_EQ(g.used_idx(0), 1);
  EXPECT_EQ(g.balloon->bad_pfns(), 4u);
  EXPECT_EQ(g.balloon->inflated_pages(), 1u);
  EXPECT_TRUE(g.all(kPattern, kPage, 0));
  EXPECT_FALSE(g.needs_reset());

  g.post_pfns(1, kBuffers + 0x1000, {pfn(kRam + kRamSize) + 7, pfn(kPattern)});
  g.notify(1);
  EXPECT_EQ(g.balloon->bad_pfns(), 5u);
  EXPECT_EQ(g.balloon->deflated_pages(), 1u);
}

TEST_F(VirtioBalloonTest, PfnBufferTailIsIgnored) {
  g.probe();
  g.fill(kPattern, 4 * kPage, 0x22);
  const std::vector<uint32_t> pfns = {pfn(kPattern), pfn(kPattern) + 1, pfn(kPattern) + 2};
  ASSERT_TRUE(g.mem.write(kBuffers, {reinterpret_cast<const uint8_t*>(pfns.data()), 12}));
  g.post(0, {{kBuffers, 11, false}});  // the third PFN is cut short
  // A device-writable buffer carries no PFNs.
  g.post(0, {{kBuffers, 12, true}});
  g.notify(0);
  ASSERT_EQ(g.used_idx(0), 2);
  EXPECT_TRUE(g.all(kPattern, 2 * kPage, 0));
  EXPECT_TRUE(g.all(kPattern + 2 * kPage, 2 * kPage, 0x22));
  EXPECT_EQ(g.balloon->inflated_pages(), 2u);
  EXPECT_EQ(g.used_len(0, 1), 0u);
}

TEST_F(VirtioBalloonTest, DeflateIsAcknowledged) {
  g.probe();
  g.post_pfns(0, kBuffers, {pfn(kPattern), pfn(kPattern) + 1});
  g.notify(0);
  const uint16_t head = g.post_pfns(1, kBuffers + 0x1000, {pfn(kPattern), pfn(kPattern) + 1});
  g.notify(1);
  ASSERT_EQ(g.used_idx(1), 1);
  EXPECT_EQ(g.used_id(1, 0), head);
  EXPECT_EQ(g.used_len(1, 0), 0u);
  EXPECT_EQ(g.balloon->deflated_pages(), 2u);
  // The guest uses the page again: it works like any other.
  g.put<uint64_t>(kPattern, 0x1234);
  EXPECT_EQ(g.get<uint64_t>(kPattern), 0x1234u);
}

TEST_F(VirtioBalloonTest, StatsBufferIsKeptAndReturnedOnRequest) {
  // Linux primes statsq during probe, before DRIVER_OK.
  g.probe(kAllFeatures, /*driver_ok=*/false);
  std::vector<std::pair<uint16_t, uint64_t>> entries;
  for (uint16_t tag = 0; tag < 10; ++tag) entries.push_back({tag, 1000u + tag});
  entries.push_back({42, 7});  // a statistic this device does not know
  const uint16_t head = g.post_stats(kBuffers, entries);
  g.notify(2);
  fake_clock_ns = 5000;
  g.driver_ok();

  EXPECT_EQ(g.used_idx(2), 0);  // kept, not returned
  Balloon::BalloonStats s = g.balloon->stats();
  EXPECT_EQ(s.updated_ns, 5000u);
  ASSERT_EQ(s.values.size(), 10u);
  EXPECT_EQ(s.values["swap_in"], 1000u);
  EXPECT_EQ(s.values["free_memory"], 1004u);
  EXPECT_EQ(s.values["total_memory"], 1005u);
  EXPECT_EQ(s.values["available_memory"], 1006u);
  EXPECT_EQ(s.values["hugetlb_failures"], 1009u);

  ASSERT_TRUE(g.balloon->request_stats());
  ASSERT_EQ(g.used_idx(2), 1);
  EXPECT_EQ(g.used_id(2, 0), head);
  EXPECT_EQ(g.used_len(2, 0), 0u);
  EXPECT_TRUE(g.sink.level);
  // Until the driver answers there is nothing to return.
  EXPECT_FALSE(g.balloon->request_stats());
  EXPECT_EQ(g.used_idx(2), 1);

  // The answer replaces every value, including ones it no longer has.
  fake_clock_ns = 9000;
  g.post_stats(kBuffers, {{4, 77}, {5, 88}});
  g.notify(2);
  s = g.balloon->stats();
  EXPECT_EQ(s.updated_ns, 9000u);
  ASSERT_EQ(s.values.size(), 2u);
  EXPECT_EQ(s.values["free_memory"], 77u);
  EXPECT_EQ(s.values["total_memory"], 88u);
  EXPECT_TRUE(g.balloon->request_stats());
}

TEST_F(VirtioBalloonTest, StatsBufferOfOddLengthOrTooShort) {
  g.probe();
  g.post_stats(kBuffers, {{0, 10}, {1, 20}, {2, 30}}, 25);  // 2.5 entries
  g.notify(2);
  Balloon::BalloonStats s = g.balloon->stats();
  ASSERT_EQ(s.values.size(), 2u);
  EXPECT_EQ(s.values["swap_out"], 20u);
  EXPECT_EQ(s.values.count("major_faults"), 0u);

  ASSERT_TRUE(g.balloon->request_stats());
  g.post_stats(kBuffers, {{0, 10}}, 7);  // not even one entry
  g.notify(2);
  EXPECT_TRUE(g.balloon->stats().values.empty());
  // Still held: it is the driver's only way to hear a request.
  EXPECT_TRUE(g.balloon->stats_buffer_held());
  EXPECT_TRUE(g.balloon->request_stats());
  EXPECT_EQ(g.used_idx(2), 2);
  EXPECT_FALSE(g.needs_reset());
}

TEST_F(VirtioBalloonTest, SecondStatsBufferReturnsTheFirst) {
  g.probe();
  const uint16_t first = g.post_stats(kBuffers, {{0, 1}});
  g.notify(2);
  const uint16_t second = g.post_stats(kBuffers + 0x100, {{0, 2}});
  g.notify(2);
  ASSERT_EQ(g.used_idx(2), 1);
  EXPECT_EQ(g.used_id(2, 0), first);
  EXPECT_EQ(g.balloon->stats().values["swap_in"], 2u);
  ASSERT_TRUE(g.balloon->request_stats());
  EXPECT_EQ(g.used_id(2, 1), second);
}

TEST_F(VirtioBalloonTest, RequestStatsWithoutBuffer) {
  EXPECT_FALSE(g.balloon->request_stats());  // before any driver
  g.probe();
  EXPECT_FALSE(g.balloon->request_stats());
  EXPECT_EQ(g.used_idx(2), 0);
  EXPECT_EQ(g.balloon->stats().updated_ns, 0u);

  // Without STATS_VQ, queue 2 is the reporting queue: a buffer there is not
  // a stats buffer.
  Guest h;
  h.probe(kBalloonFReporting);
  h.post(2, {{kPattern, static_cast<uint32_t>(kPage), true}});
  h.notify(2);
  EXPECT_FALSE(h.balloon->request_stats());
  EXPECT_EQ(h.used_idx(2), 1);
}

TEST_F(VirtioBalloonTest, ReportedRangesAreDiscarded) {
  g.probe();
  constexpr uint64_t kBlock = 2 << 20;  // Linux reports pageblock-order blocks
  g.fill(kPattern, 3 * kBlock, 0x77);
  const uint16_t head =
      g.post(3, {{kPattern, kBlock, true}, {kPattern + 2 * kBlock, kBlock, true}});
  g.notify(3);
  ASSERT_EQ(g.used_idx(3), 1);
  EXPECT_EQ(g.used_id(3, 0), head);
  EXPECT_EQ(g.used_len(3, 0), 0u);
  EXPECT_EQ(g.balloon->reported_bytes(), 2 * kBlock);
  EXPECT_TRUE(g.all(kPattern, kBlock, 0));
  EXPECT_TRUE(g.all(kPattern + kBlock, kBlock, 0x77));
  EXPECT_TRUE(g.all(kPattern + 2 * kBlock, kBlock, 0));
  EXPECT_TRUE(g.sink.level);
}

TEST_F(VirtioBalloonTest, ReportingQueueFollowsNegotiatedFeatures) {
  g.probe(kBalloonFReporting);  // no statsq: reporting_vq is queue 2
  g.fill(kPattern, kPage, 0x33);
  g.post(2, {{kPattern, static_cast<uint32_t>(kPage), true}});
  g.notify(2);
  EXPECT_EQ(g.used_idx(2), 1);
  EXPECT_TRUE(g.all(kPattern, kPage, 0));
  EXPECT_EQ(g.balloon->reported_bytes(), kPage);
}

TEST_F(VirtioBalloonTest, MisalignedReportedRangesAreSkipped) {
  g.probe();
  g.fill(kPattern, 4 * kPage, 0x44);
  g.post(3, {{kPattern + 8, static_cast<uint32_t>(kPage), true},          // address
             {kPattern + kPage, static_cast<uint32_t>(kPage) - 1, true},  // length
             {kPattern + 3 * kPage, static_cast<uint32_t>(kPage), true}});
  g.notify(3);
  ASSERT_EQ(g.used_idx(3), 1);
  EXPECT_TRUE(g.all(kPattern, 3 * kPage, 0x44));
  EXPECT_TRUE(g.all(kPattern + 3 * kPage, kPage, 0));
  EXPECT_EQ(g.balloon->reported_bytes(), kPage);
  EXPECT_FALSE(g.needs_reset());
}

TEST_F(VirtioBalloonTest, GiantReportedRangeBreaksTheQueueNotTheVmm) {
  g.probe();
  g.fill(kPattern, kPage, 0x55);
  // Page-aligned, but runs past the end of RAM (and a 4 GiB - 4 KiB one).
  g.post(3, {{kPattern, static_cast<uint32_t>(kRamSize), true}});
  g.notify(3);
  EXPECT_EQ(g.used_idx(3), 0);
  EXPECT_TRUE(g.needs_reset());
  EXPECT_TRUE(g.all(kPattern, kPage, 0x55));
  EXPECT_EQ(g.balloon->reported_bytes(), 0u);

  Guest h;
  h.probe();
  h.post(3, {{kRam, 0xfffff000u, true}});
  h.notify(3);
  EXPECT_TRUE(h.needs_reset());
  EXPECT_EQ(h.balloon->reported_bytes(), 0u);
}

TEST_F(VirtioBalloonTest, ReadableDescriptorOnReportingQueueIsNotDiscarded) {
  g.probe();
  g.fill(kPattern, 2 * kPage, 0x66);
  g.post(3, {{kPattern, static_cast<uint32_t>(kPage), false},
             {kPattern + kPage, static_cast<uint32_t>(kPage), true}});
  g.notify(3);
  ASSERT_EQ(g.used_idx(3), 1);
  EXPECT_TRUE(g.all(kPattern, kPage, 0x66));
  EXPECT_TRUE(g.all(kPattern + kPage, kPage, 0));
  EXPECT_EQ(g.balloon->reported_bytes(), kPage);
}

TEST_F(VirtioBalloonTest, ResetDropsTheHeldStatsBuffer) {
  g.probe();
  g.balloon->set_target_bytes(1 << 20);
  g.post_stats(kBuffers, {{0, 1}});
  g.notify(2);
  g.wr(kConfig + 4, 99);
  g.wr(kStatus, 0);
  EXPECT_FALSE(g.balloon->request_stats());
  EXPECT_EQ(g.balloon->actual_bytes(), 0u);
  EXPECT_EQ(g.balloon->target_bytes(), 1u << 20);  // the host's setting stays
  g.probe();
  EXPECT_FALSE(g.balloon->request_stats());
}

using test::save;

void load(Balloon& b, const std::vector<uint8_t>& blob) {
  test::load(b, blob, "balloon");
}

TEST_F(VirtioBalloonTest, SaveLoadRoundTrip) {
  g.probe();
  g.balloon->set_target_bytes(3 << 20);
  g.wr(kConfig + 4, 200);
  g.post_pfns(0, kBuffers, {pfn(kPattern), pfn(kPattern) + 1, pfn(kRam + kRamSize)});
  g.notify(0);
  g.post_pfns(1, kBuffers + 0x100, {pfn(kPattern)});
  g.notify(1);
  g.post(3, {{kPattern + kPage, static_cast<uint32_t>(kPage), true}});
  g.notify(3);
  fake_clock_ns = 4242;
  g.post_stats(kBuffers + 0x200, {{1, 11}, {4, 44}});  // descriptor 0 of statsq
  g.post_stats(kBuffers + 0x300, {{2, 22}, {5, 55}});  // descriptor 1 replaces it
  g.notify(2);
  const std::vector<uint8_t> blob = save(*g.balloon);

  // The restored machine: same driver setup (the transport restores the
  // queues before the device), then the device's state.
  Guest h;
  h.probe();
  load(*h.balloon, blob);
  EXPECT_EQ(h.balloon->target_bytes(), 3u << 20);
  EXPECT_EQ(h.balloon->actual_bytes(), 200u * kPage);
  EXPECT_EQ(h.rd(kConfig + 0), (3u << 20) / kPage);
  EXPECT_EQ(h.rd(kConfig + 4), 200u);
  EXPECT_EQ(h.balloon->inflated_pages(), 2u);
  EXPECT_EQ(h.balloon->deflated_pages(), 1u);
  EXPECT_EQ(h.balloon->bad_pfns(), 1u);
  EXPECT_EQ(h.balloon->reported_bytes(), kPage);
  const Balloon::BalloonStats s = h.balloon->stats();
  EXPECT_EQ(s.updated_ns, 4242u);
  EXPECT_EQ(s.values,
            (std::map<std::string, uint64_t>{{"major_faults", 22}, {"total_memory", 55}}));
  EXPECT_EQ(save(*h.balloon), blob);

  // The held buffer (descriptor 1) goes back to the restored driver.
  ASSERT_TRUE(h.balloon->request_stats());
  ASSERT_EQ(h.used_idx(2), 1);
  EXPECT_EQ(h.used_id(2, 0), 1u);
}

TEST_F(VirtioBalloonTest, TruncatedOrBadStateIsRefused) {
  g.probe();
  g.balloon->set_target_bytes(1 << 20);
  g.post_stats(kBuffers, {{0, 1}});
  g.notify(2);
  const std::vector<uint8_t> blob = save(*g.balloon);

  Guest h;
  h.probe();
  for (size_t n = 0; n < blob.size(); ++n) {
    const std::vector<uint8_t> cut(blob.begin(), blob.begin() + static_cast<long>(n));
    EXPECT_THROW(load(*h.balloon, cut), state::StateError) << n;
  }
  // Nothing was half-loaded.
  EXPECT_EQ(h.balloon->target_bytes(), 0u);
  EXPECT_FALSE(h.balloon->stats_buffer_held());

  // Layout: num_pages u32, actual u32, 4 counters, mask u16, 10 values,
  // updated u64, held u8, head u16.
  constexpr size_t kMask = 4 + 4 + 4 * 8, kHeld = kMask + 2 + 10 * 8 + 8, kHead = kHeld + 1;
  ASSERT_EQ(blob.size(), kHead + 2);
  std::vector<uint8_t> bad = blob;
  bad[kMask + 1] = 0x04;  // tag 10
  EXPECT_THROW(load(*h.balloon, bad), state::StateError);
  bad = blob;
  bad[kHead] = kQSize;  // past the stats queue
  EXPECT_THROW(load(*h.balloon, bad), state::StateError);
  bad = blob;
  bad[kMask - 16] = 1;  // reported bytes: not whole pages
  EXPECT_THROW(load(*h.balloon, bad), state::StateError);
  bad = blob;
  bad[kHeld] = 2;
  EXPECT_THROW(load(*h.balloon, bad), state::StateError);
  bad = blob;
  const uint32_t too_many = kRamSize / kPage + 1;
  std::memcpy(bad.data(), &too_many, 4);
  EXPECT_THROW(load(*h.balloon, bad), state::StateError);

  // A held buffer needs a stats queue: not on a device the driver has not
  // started, nor on one without STATS_VQ.
  Guest idle;
  EXPECT_THROW(load(*idle.balloon, blob), state::StateError);
  Guest no_stats;
  no_stats.probe(kBalloonFDeflateOnOom);
  EXPECT_THROW(load(*no_stats.balloon, blob), state::StateError);

  load(*h.balloon, blob);
  EXPECT_TRUE(h.balloon->stats_buffer_held());
}

TEST(VirtioBalloon, StatNames) {
  EXPECT_STREQ(Balloon::stat_name(0), "swap_in");
  EXPECT_STREQ(Balloon::stat_name(3), "minor_faults");
  EXPECT_STREQ(Balloon::stat_name(6), "available_memory");
  EXPECT_STREQ(Balloon::stat_name(7), "disk_caches");
  EXPECT_STREQ(Balloon::stat_name(8), "hugetlb_allocations");
  EXPECT_EQ(Balloon::stat_name(10), nullptr);
  EXPECT_EQ(Balloon::stat_name(0xffff), nullptr);
}

}  // namespace
}  // namespace vessel::virtio
