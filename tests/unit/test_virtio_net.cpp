// virtio-net through real split virtqueues in guest memory, with a test
// backend that records what the device sends and injects what it receives.
#include "devices/virtio/net.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "devices/virtio/virtqueue.hpp"

namespace vessel::virtio {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kRamSize = 4 << 20;
constexpr uint64_t kData = kRam + 0x100000;  // buffers are carved from here
constexpr uint16_t kQueueSize = 16;
constexpr uint64_t kHeader = sizeof(VirtioNetHdr);
constexpr uint64_t kModern = kFVersion1 | kNetFMac | kNetFStatus;

class TestBackend : public net::NetBackend {
 public:
  void send(std::span<const uint8_t> frame) override {
    sent.emplace_back(frame.begin(), frame.end());
    if (echo) inject(frame);  // an answer from inside send(), as slirp does
  }
  void prepare(PollSet&) override {}
  void dispatch(const PollSet&) override {}
  void inject(std::span<const uint8_t> frame) { deliver(frame); }

  std::vector<Bytes> sent;
  bool echo = false;
};

// A transport stand-in: two queues in one guest memory.
class TestHost : public VirtioHost {
 public:
  GuestMemory& memory() override { return mem; }
  Virtqueue& queue(unsigned index) override { return index == 0 ? rx : tx; }
  void notify_used(unsigned q) override {
    if (queue(q).should_notify()) ++interrupts[q];
  }
  void config_changed() override { ++config_changes; }
  void device_error(const char*) override { ++errors; }

  GuestMemory mem{kRam, kRamSize};
  Virtqueue rx{mem, 256};
  Virtqueue tx{mem, 256};
  int interrupts[2] = {};
  int config_changes = 0;
  int errors = 0;
};

// The driver's side of one split ring (2.7).
struct Ring {
  GuestMemory& mem;
  uint64_t desc, avail, used;
  uint16_t next_desc = 0;
  uint16_t avail_idx = 0;
  uint16_t seen_used = 0;

  template <typename T>
  void put(uint64_t gpa, T v) {
    ASSERT_TRUE(mem.write(gpa, {reinterpret_cast<const uint8_t*>(&v), sizeof v}));
  }
  template <typename T>
  T get(uint64_t gpa) const {
    T v{};
    EXPECT_TRUE(mem.read(gpa, {reinterpret_cast<uint8_t*>(&v), sizeof v}));
    return v;
  }
  void configure(Virtqueue& q) {
    q.set_size(kQueueSize);
    q.set_desc_addr(desc);
    q.set_avail_addr(avail);
    q.set_used_addr(used);
    ASSERT_TRUE(q.enable());
  }
  // Publishes one chain of (gpa, len, writable) buffers; returns its head.
  uint16_t post(const std::vector<std::tuple<uint64_t, uint32_t, bool>>& bufs) {
    const uint16_t head = next_desc % kQueueSize;
    for (size_t i = 0; i < bufs.size(); ++i) {
      const auto [gpa, len, writable] = bufs[i];
      const uint16_t index = next_desc++ % kQueueSize;
      const bool last = i + 1 == bufs.size();
      const uint16_t flags = (writable ? kDescWrite : 0) | (last ? 0 : kDescNext);
      put(desc + 16 * uint64_t{index},
          Descriptor{gpa, len, flags, uint16_t(next_desc % kQueueSize)});
    }
    put<uint16_t>(avail + 4 + 2 * uint64_t(avail_idx % kQueueSize), head);
    ++avail_idx;
    put<uint16_t>(avail + 2, avail_idx);
    return head;
  }
  uint16_t used_idx() const { return get<uint16_t>(used + 2); }
  // The next used element: {id, len}.
  std::pair<uint32_t, uint32_t> take_used() {
    EXPECT_NE(seen_used, used_idx());
    const uint64_t slot = used + 4 + 8 * uint64_t(seen_used++ % kQueueSize);
    return {get<uint32_t>(slot), get<uint32_t>(slot + 4)};
  }
};

Bytes frame_of(size_t size, uint8_t seed = 1) {
  Bytes f(size);
  std::iota(f.begin(), f.end(), seed);
  return f;
}

class VirtioNetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net.attach(host);
    rx_ring.configure(host.rx);
    tx_ring.configure(host.tx);
  }
  void activate(uint64_t features = kModern) { net.activate(features); }

  uint64_t alloc(uint64_t size) {
    const uint64_t gpa = next_data_;
    next_data_ += (size + 15) & ~uint64_t{15};
    return gpa;
  }
  Bytes read(uint64_t gpa, size_t len) {
    Bytes b(len);
    EXPECT_TRUE(host.mem.read(gpa, b));
    return b;
  }
  // Posts a transmit request: `header` bytes of header, then `frame`, each
  // in its own descriptor.
  uint16_t transmit(const Bytes& frame, uint32_t header = kHeader) {
    const uint64_t h = alloc(header), f = alloc(frame.size());
    if (frame.empty()) return tx_ring.post({{h, header, false}});
    EXPECT_TRUE(host.mem.write(f, frame));
    return tx_ring.post({{h, header, false}, {f, uint32_t(frame.size()), false}});
  }
  // Posts a receive buffer of `size` bytes; returns its address.
  uint64_t post_rx(uint32_t size) {
    const uint64_t gpa = alloc(size);
    rx_ring.post({{gpa, size, true}});
    return gpa;
  }

  TestBackend backend;
  TestHost host;
  VirtioNet net{backend};
  Ring rx_ring{host.mem, kRam + 0x1000, kRam + 0x2000, kRam + 0x3000};
  Ring tx_ring{host.mem, kRam + 0x5000, kRam + 0x6000, kRam + 0x7000};
  uint64_t next_data_ = kData;
};

TEST_F(VirtioNetTest, IdentityFeaturesAndConfig) {
  EXPECT_EQ(net.device_id(), 1u);
  EXPECT_EQ(net.num_queues(), 2u);
  EXPECT_EQ(net.device_features(), kNetFMac | kNetFStatus | kNetFMrgRxbuf);
  uint8_t config[16];
  std::memset(config, 0xee, sizeof config);
  net.read_config(0, config);
  const uint8_t expected[16] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 1, 0, 1, 0};
  EXPECT_EQ(0, std::memcmp(config, expected, sizeof config));  // past the end: zeros
  uint8_t status[2];
  net.read_config(6, status);
  EXPECT_EQ(status[0], kNetSLinkUp);
  uint8_t far[4] = {1, 2, 3, 4};
  net.read_config(~uint64_t{0} - 1, far);
  EXPECT_EQ(far[0] | far[1] | far[2] | far[3], 0);
  net.write_config(0, std::span<const uint8_t>(expected, 6));  // read-only: ignored
}

TEST_F(VirtioNetTest, MacIsPerDeviceAndLinkChangesAreAnnounced) {
  TestBackend other;
  VirtioNet second(other, net::MacAddress{0x02, 1, 2, 3, 4, 5});
  uint8_t mac[6];
  second.read_config(0, mac);
  EXPECT_EQ(mac[0], 0x02);
  EXPECT_EQ(mac[5], 5);

  activate();
  net.set_link_up(false);
  uint8_t status[2];
  net.read_config(6, status);
  EXPECT_EQ(status[0], 0);
  EXPECT_EQ(host.config_changes, 1);
  net.set_link_up(false);
  EXPECT_EQ(host.config_changes, 1);
}

TEST_F(VirtioNetTest, LinkDownDropsBothWays) {
  activate();
  net.set_link_up(false);
  transmit(frame_of(60));
  net.queue_notify(VirtioNet::kTxQueue);
  EXPECT_TRUE(backend.sent.empty());
  EXPECT_EQ(tx_ring.used_idx(), 1);  // returned all the same
  post_rx(1526);
  backend.inject(frame_of(60));
  EXPECT_EQ(rx_ring.used_idx(), 0);
  EXPECT_EQ(net.pending_rx(), 0u);
  net.set_link_up(true);
  backend.inject(frame_of(60));
  EXPECT_EQ(rx_ring.used_idx(), 1);
}

TEST_F(VirtioNetTest, TransmitSkipsHeaderAndSendsFrame) {
  activate();
  const Bytes frame = frame_of(60);
  const uint16_t head = transmit(frame);
  net.queue_notify(VirtioNet::kTxQueue);
  ASSERT_EQ(backend.sent.size(), 1u);
  EXPECT_EQ(backend.sent[0], frame);
  const auto [id, len] = tx_ring.take_used();
  EXPECT_EQ(id, head);
  EXPECT_EQ(len, 0u);
  EXPECT_EQ(host.interrupts[1], 1);
  EXPECT_EQ(net.stats().tx_frames, 1u);
}

TEST_F(VirtioNetTest, TransmitGathersFragmentsAndHeaderSharingADescriptor) {
  activate();
  const Bytes frame = frame_of(1514, 7);
  // Header and the first 100 bytes in one descriptor, the rest in three.
  const uint64_t a = alloc(kHeader + 100), b = alloc(1), c = alloc(1000), d = alloc(413);
  Bytes first(kHeader, 0);
  first.insert(first.end(), frame.begin(), frame.begin() + 100);
  ASSERT_TRUE(host.mem.write(a, first));
  ASSERT_TRUE(host.mem.write(b, std::span(frame).subspan(100, 1)));
  ASSERT_TRUE(host.mem.write(c, std::span(frame).subspan(101, 1000)));
  ASSERT_TRUE(host.mem.write(d, std::span(frame).subspan(1101, 413)));
  tx_ring.post(
      {{a, uint32_t(kHeader + 100), false}, {b, 1, false}, {c, 1000, false}, {d, 413, false}});
  net.queue_notify(VirtioNet::kTxQueue);
  ASSERT_EQ(backend.sent.size(), 1u);
  EXPECT_EQ(backend.sent[0], frame);
}

TEST_F(VirtioNetTest, TransmitDropsMalformedRequestsButReturnsThem) {
  activate();
  transmit({}, 8);                              // shorter than the header
  transmit(frame_of(10));                       // shorter than an Ethernet header
  transmit(frame_of(net::kMaxFrameBytes + 1));  // oversized
  transmit(frame_of(net::kMaxFrameBytes, 3));   // the largest allowed
  net.queue_notify(VirtioNet::kTxQueue);
  ASSERT_EQ(backend.sent.size(), 1u);
  EXPECT_EQ(backend.sent[0].size(), net::kMaxFrameBytes);
  EXPECT_EQ(tx_ring.used_idx(), 4);  // every request came back
  EXPECT_EQ(net.stats().tx_dropped, 3u);
  EXPECT_EQ(host.errors, 0);
  EXPECT_FALSE(host.tx.broken());
}

TEST_F(VirtioNetTest, TransmitIgnoresWritableTail) {
  activate();
  const Bytes frame = frame_of(64);
  const uint64_t h = alloc(kHeader), f = alloc(64), w = alloc(32);
  ASSERT_TRUE(host.mem.write(f, frame));
  tx_ring.post({{h, uint32_t(kHeader), false}, {f, 64, false}, {w, 32, true}});
  net.queue_notify(VirtioNet::kTxQueue);
  ASSERT_EQ(backend.sent.size(), 1u);
  EXPECT_EQ(tx_ring.take_used().second, 0u);
}

TEST_F(VirtioNetTest, BrokenTransmitRingStopsTheQueueNotTheProcess) {
  activate();
  tx_ring.put<uint16_t>(tx_ring.avail + 2, 1000);  // avail idx far ahead of the ring
  net.queue_notify(VirtioNet::kTxQueue);
  EXPECT_TRUE(host.tx.broken());
  EXPECT_TRUE(backend.sent.empty());
  net.queue_notify(VirtioNet::kTxQueue);  // stays quiet afterwards
  EXPECT_TRUE(backend.sent.empty());
}

TEST_F(VirtioNetTest, ReceiveWritesHeaderAndFrame) {
  activate();
  const uint64_t buf = post_rx(1526);
  const Bytes frame = frame_of(1514, 9);
  backend.inject(frame);
  const auto [id, len] = rx_ring.take_used();
  EXPECT_EQ(id, 0u);
  EXPECT_EQ(len, kHeader + frame.size());
  VirtioNetHdr hdr{};
  ASSERT_TRUE(host.mem.read(buf, {reinterpret_cast<uint8_t*>(&hdr), sizeof hdr}));
  EXPECT_EQ(hdr.flags, 0);
  EXPECT_EQ(hdr.gso_type, 0);
  EXPECT_EQ(hdr.num_buffers, 1);  // 5.1.6.4: 1 without MRG_RXBUF
  EXPECT_EQ(read(buf + kHeader, frame.size()), frame);
  EXPECT_EQ(host.interrupts[0], 1);
  EXPECT_EQ(net.stats().rx_frames, 1u);
}

TEST_F(VirtioNetTest, ReceiveAcrossDescriptorsOfOneChain) {
  activate();
  const uint64_t a = alloc(5), b = alloc(2000);
  rx_ring.post({{a, 5, true}, {b, 2000, true}});  // header split across descriptors
  const Bytes frame = frame_of(100);
  backend.inject(frame);
  EXPECT_EQ(rx_ring.take_used().second, kHeader + 100);
  Bytes got = read(a, 5);
  const Bytes rest = read(b, kHeader - 5 + 100);
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(Bytes(got.begin() + kHeader, got.end()), frame);
  EXPECT_EQ(got[10], 1);  // num_buffers, little-endian
}

TEST_F(VirtioNetTest, LegacyHeaderIsTenBytes) {
  activate(kNetFMac);  // neither VERSION_1 nor MRG_RXBUF
  const uint64_t buf = post_rx(200);
  const Bytes frame = frame_of(60);
  backend.inject(frame);
  EXPECT_EQ(rx_ring.take_used().second, 10 + 60u);
  EXPECT_EQ(read(buf + 10, 60), frame);

  const uint64_t h = alloc(10), f = alloc(60);
  ASSERT_TRUE(host.mem.write(f, frame));
  tx_ring.post({{h, 10, false}, {f, 60, false}});
  net.queue_notify(VirtioNet::kTxQueue);
  ASSERT_EQ(backend.sent.size(), 1u);
  EXPECT_EQ(backend.sent[0], frame);
}

TEST_F(VirtioNetTest, FramesWaitForBuffersAndBackendIsHeldBack) {
  activate();
  EXPECT_TRUE(backend.receive_ready());
  backend.inject(frame_of(60, 1));
  backend.inject(frame_of(70, 2));
  EXPECT_EQ(net.pending_rx(), 2u);
  EXPECT_FALSE(backend.receive_ready());
  EXPECT_EQ(rx_ring.used_idx(), 0);

  const uint64_t b1 = post_rx(1526);
  net.queue_notify(VirtioNet::kRxQueue);
  EXPECT_EQ(net.pending_rx(), 1u);
  EXPECT_FALSE(backend.receive_ready());
  const uint64_t b2 = post_rx(1526);
  net.queue_notify(VirtioNet::kRxQueue);
  EXPECT_EQ(net.pending_rx(), 0u);
  EXPECT_TRUE(backend.receive_ready());
  EXPECT_EQ(rx_ring.take_used().second, kHeader + 60);
  EXPECT_EQ(rx_ring.take_used().second, kHeader + 70);
  EXPECT_EQ(read(b1 + kHeader, 60), frame_of(60, 1));  // in order
  EXPECT_EQ(read(b2 + kHeader, 70), frame_of(70, 2));
}

TEST_F(VirtioNetTest, PendingFramesAreBounded) {
  activate();
  for (size_t i = 0; i < VirtioNet::kMaxPendingRx + 44; ++i) backend.inject(frame_of(60));
  EXPECT_EQ(net.pending_rx(), VirtioNet::kMaxPendingRx);
  EXPECT_EQ(net.stats().rx_dropped, 44u);
}

TEST_F(VirtioNetTest, BufferTooSmallForHeaderIsReturnedEmpty) {
  activate();
  post_rx(8);
  const uint64_t good = post_rx(1526);
  backend.inject(frame_of(60));
  const auto first = rx_ring.take_used();
  EXPECT_EQ(first.first, 0u);
  EXPECT_EQ(first.second, 0u);
  const auto second = rx_ring.take_used();
  EXPECT_EQ(second.first, 1u);
  EXPECT_EQ(second.second, kHeader + 60);
  EXPECT_EQ(read(good + kHeader, 60), frame_of(60));
  EXPECT_FALSE(host.rx.broken());
}

TEST_F(VirtioNetTest, ReadOnlyReceiveBufferIsReturnedEmpty) {
  activate();
  const uint64_t gpa = alloc(100);
  rx_ring.post({{gpa, 100, false}});  // no writable part at all
  backend.inject(frame_of(60));
  EXPECT_EQ(rx_ring.take_used().second, 0u);
  EXPECT_EQ(net.pending_rx(), 1u);  // still waiting for a real buffer
}

TEST_F(VirtioNetTest, WithoutMergeableBuffersTooSmallBufferDropsTheFrame) {
  activate();
  post_rx(100);
  backend.inject(frame_of(200));
  EXPECT_EQ(rx_ring.take_used().second, 0u);
  EXPECT_EQ(net.stats().rx_dropped, 1u);
  EXPECT_EQ(net.pending_rx(), 0u);
}

TEST_F(VirtioNetTest, MergeableBuffersSpreadALargeFrame) {
  activate(kModern | kNetFMrgRxbuf);
  const uint64_t b1 = post_rx(1000), b2 = post_rx(1000), b3 = post_rx(1000), b4 = post_rx(1000);
  const Bytes frame = frame_of(2500, 5);
  backend.inject(frame);
  EXPECT_EQ(rx_ring.take_used().second, 1000u);
  EXPECT_EQ(rx_ring.take_used().second, 1000u);
  EXPECT_EQ(rx_ring.take_used().second, kHeader + 2500 - 2000);
  EXPECT_EQ(rx_ring.used_idx(), 3);  // the fourth buffer is untouched
  VirtioNetHdr hdr{};
  ASSERT_TRUE(host.mem.read(b1, {reinterpret_cast<uint8_t*>(&hdr), sizeof hdr}));
  EXPECT_EQ(hdr.num_buffers, 3);
  Bytes got = read(b1 + kHeader, 1000 - kHeader);
  for (uint64_t b : {b2, b3}) {
    const Bytes part = read(b, b == b3 ? 512 : 1000);  // 988 + 1000 + 512 = 2500
    got.insert(got.end(), part.begin(), part.end());
  }
  EXPECT_EQ(got, frame);
  // The next frame lands in the fourth buffer.
  backend.inject(frame_of(60));
  EXPECT_EQ(rx_ring.take_used(), std::make_pair(3u, uint32_t(kHeader + 60)));
  ASSERT_TRUE(host.mem.read(b4, {reinterpret_cast<uint8_t*>(&hdr), sizeof hdr}));
  EXPECT_EQ(hdr.num_buffers, 1);
  EXPECT_EQ(host.interrupts[0], 2);
}

TEST_F(VirtioNetTest, MergeableFrameWaitsForEnoughBuffers) {
  activate(kModern | kNetFMrgRxbuf);
  post_rx(1000);
  backend.inject(frame_of(1500));
  EXPECT_EQ(rx_ring.used_idx(), 0);  // one buffer is not enough: nothing written yet
  EXPECT_EQ(net.pending_rx(), 1u);
  post_rx(1000);
  net.queue_notify(VirtioNet::kRxQueue);
  EXPECT_EQ(rx_ring.used_idx(), 2);
  EXPECT_EQ(net.pending_rx(), 0u);
}

TEST_F(VirtioNetTest, MergeableFrameLargerThanTheWholeQueueIsDropped) {
  activate(kModern | kNetFMrgRxbuf);
  for (int i = 0; i < kQueueSize; ++i) post_rx(64);
  backend.inject(frame_of(4000));  // 16 * 64 bytes can never hold it
  EXPECT_EQ(net.stats().rx_dropped, 1u);
  EXPECT_EQ(net.pending_rx(), 0u);
  backend.inject(frame_of(100));  // the held buffers serve the next frame
  EXPECT_EQ(rx_ring.used_idx(), 2);
  EXPECT_EQ(net.stats().rx_frames, 1u);
}

TEST_F(VirtioNetTest, NothingHappensBeforeActivation) {
  transmit(frame_of(60));
  net.queue_notify(VirtioNet::kTxQueue);  // the transport should not, but a guest can try
  net.queue_notify(VirtioNet::kRxQueue);
  net.queue_notify(7);
  EXPECT_TRUE(backend.sent.empty());
  EXPECT_FALSE(backend.receive_ready());
  post_rx(1526);
  backend.inject(frame_of(60));
  EXPECT_EQ(rx_ring.used_idx(), 0);
  EXPECT_EQ(net.pending_rx(), 0u);
  EXPECT_EQ(net.stats().rx_dropped, 1u);
}

TEST_F(VirtioNetTest, ResetDropsPendingFramesAndHeldBuffers) {
  activate(kModern | kNetFMrgRxbuf);
  post_rx(1000);
  backend.inject(frame_of(1500));  // holds the buffer, frame pending
  backend.inject(frame_of(60));
  EXPECT_EQ(net.pending_rx(), 2u);
  net.reset();
  EXPECT_EQ(net.pending_rx(), 0u);
  EXPECT_FALSE(backend.receive_ready());
  backend.inject(frame_of(60));
  EXPECT_EQ(net.pending_rx(), 0u);
  EXPECT_EQ(rx_ring.used_idx(), 0);  // the held buffer was never used
}

TEST_F(VirtioNetTest, BadFramesFromTheBackendAreDropped) {
  activate();
  post_rx(1526);
  backend.inject(frame_of(5));
  backend.inject(Bytes(net::kMaxFrameBytes + 1));
  EXPECT_EQ(rx_ring.used_idx(), 0);
  EXPECT_EQ(net.stats().rx_dropped, 2u);
}

TEST_F(VirtioNetTest, ReplyDeliveredFromInsideSend) {
  activate();
  backend.echo = true;
  const uint64_t buf = post_rx(1526);
  const Bytes frame = frame_of(98, 4);
  transmit(frame);
  net.queue_notify(VirtioNet::kTxQueue);
  ASSERT_EQ(backend.sent.size(), 1u);
  EXPECT_EQ(rx_ring.take_used().second, kHeader + 98);
  EXPECT_EQ(read(buf + kHeader, 98), frame);
  EXPECT_EQ(host.interrupts[0], 1);
  EXPECT_EQ(host.interrupts[1], 1);
}

TEST_F(VirtioNetTest, DestroyedDeviceDetachesFromBackend) {
  TestBackend other;
  {
    VirtioNet temp(other);
    temp.attach(host);
    temp.activate(kModern);
    ASSERT_TRUE(other.has_sink());
    post_rx(1526);  // temp would take a frame now
    ASSERT_TRUE(other.receive_ready());
  }
  // The backend outlives the device: it must neither call into the dead
  // device nor keep asking for frames on its behalf.
  EXPECT_FALSE(other.has_sink());
  EXPECT_FALSE(other.receive_ready());
  other.inject(frame_of(60));
  EXPECT_EQ(rx_ring.used_idx(), 0) << "a frame reached the guest through a destroyed device";
}

}  // namespace
}  // namespace vessel::virtio
