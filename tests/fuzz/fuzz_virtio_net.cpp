// virtio-net against hostile rings: a fresh device per input, two queues in a
// small guest memory, and a sequence of guest actions (raw memory writes,
// transmit and receive chains of any shape, notifications, resets) mixed
// with frames arriving from a test backend.
#include <spdlog/spdlog.h>

#include <vector>

#include "devices/virtio/net.hpp"
#include "devices/virtio/virtqueue.hpp"
#include "mmio_ops.hpp"

namespace {

using namespace vessel;
using namespace vessel::virtio;

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kRamSize = 256 * 1024;
constexpr uint64_t kDataStart = kRam + 0x10000;

class Backend : public net::NetBackend {
 public:
  void send(std::span<const uint8_t> frame) override {
    FUZZ_CHECK(frame.size() >= net::kMinFrameBytes && frame.size() <= net::kMaxFrameBytes);
    ++sent;
    if (echo) deliver(frame);  // an answer from inside send(), as slirp does
  }
  void prepare(PollSet&) override {}
  void dispatch(const PollSet&) override {}
  void inject(std::span<const uint8_t> frame) { deliver(frame); }
  size_t sent = 0;
  bool echo = false;
};

class Host : public VirtioHost {
 public:
  GuestMemory& memory() override { return mem; }
  Virtqueue& queue(unsigned index) override {
    FUZZ_CHECK(index < 2);
    return index == 0 ? rx : tx;
  }
  void notify_used(unsigned q) override {
    FUZZ_CHECK(q < 2);
    queue(q).should_notify();
  }
  void config_changed() override {}
  void device_error(const char*) override {}

  GuestMemory mem{kRam, kRamSize};
  Virtqueue rx{mem, 256};
  Virtqueue tx{mem, 256};
};

struct Ring {
  uint64_t desc, avail, used;
  uint16_t size = 0;
  uint16_t next_desc = 0;
};

void configure(FuzzedDataProvider& in, Virtqueue& q, Ring& ring) {
  // Mostly valid sizes; sometimes one enable() refuses.
  ring.size = in.ConsumeBool() ? uint16_t(1u << in.ConsumeIntegralInRange(0, 6))
                               : in.ConsumeIntegral<uint16_t>();
  q.set_size(ring.size);
  q.set_desc_addr(ring.desc);
  q.set_avail_addr(ring.avail);
  q.set_used_addr(ring.used);
  q.set_event_idx(in.ConsumeBool());
  q.set_indirect(in.ConsumeBool());
  q.enable();
}

// Posts one chain as a driver would, with fuzzer-chosen buffers: mostly in
// the data area and plausible, sometimes anywhere.
void post(FuzzedDataProvider& in, GuestMemory& mem, Ring& ring, bool receive) {
  if (ring.size == 0 || (ring.size & (ring.size - 1)) != 0 || ring.size > 256) return;
  const unsigned count = in.ConsumeIntegralInRange(1, 5);
  const uint16_t head = ring.next_desc % ring.size;
  for (unsigned i = 0; i < count; ++i) {
    Descriptor d{};
    switch (in.ConsumeIntegralInRange(0, 5)) {
      case 0:
        d.addr = in.ConsumeIntegral<uint64_t>();
        d.len = in.ConsumeIntegral<uint32_t>();
        break;
      case 1: d.len = in.ConsumeIntegralInRange<uint32_t>(0, 16); [[fallthrough]];
      default:
        d.addr = kDataStart + in.ConsumeIntegralInRange<uint64_t>(0, kRamSize - 0x10000 - 1);
        if (d.len == 0) d.len = in.ConsumeIntegralInRange<uint32_t>(1, 4096);
        break;
    }
    const uint16_t index = ring.next_desc++ % ring.size;
    const bool last = i + 1 == count;
    d.flags = (receive ? kDescWrite : 0) | (last ? 0 : kDescNext);
    if (in.ConsumeIntegralInRange(0, 15) == 0) d.flags ^= in.ConsumeIntegralInRange(1, 7);
    d.next = ring.next_desc % ring.size;
    mem.write(ring.desc + 16 * uint64_t{index}, {reinterpret_cast<const uint8_t*>(&d), sizeof d});
  }
  uint16_t idx = 0;  // the guest may have scribbled on it: use what is there
  mem.read(ring.avail + 2, {reinterpret_cast<uint8_t*>(&idx), 2});
  mem.write(ring.avail + 4 + 2 * uint64_t(idx % ring.size),
            {reinterpret_cast<const uint8_t*>(&head), 2});
  ++idx;
  mem.write(ring.avail + 2, {reinterpret_cast<const uint8_t*>(&idx), 2});
}

uint64_t features(FuzzedDataProvider& in) {
  uint64_t f = kFVersion1 | kNetFMac | kNetFStatus;
  if (in.ConsumeBool()) f |= kNetFMrgRxbuf;
  if (in.ConsumeIntegralInRange(0, 7) == 0) f = in.ConsumeIntegral<uint64_t>();
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  spdlog::set_level(spdlog::level::off);
  FuzzedDataProvider in(data, size);
  Backend backend;
  Host host;
  VirtioNet net(backend);
  net.attach(host);
  Ring rx{kRam + 0x0000, kRam + 0x2000, kRam + 0x4000};
  Ring tx{kRam + 0x6000, kRam + 0x8000, kRam + 0xa000};
  configure(in, host.rx, rx);
  configure(in, host.tx, tx);
  if (in.ConsumeBool()) net.activate(features(in));
  backend.echo = in.ConsumeBool();

  std::vector<uint8_t> frame;
  uint64_t injected = 0;
  while (in.remaining_bytes() > 0) {
    switch (in.ConsumeIntegralInRange(0, 9)) {
      case 0: {  // the guest writes anything anywhere in its RAM
        const uint64_t at = in.ConsumeIntegralInRange<uint64_t>(0, kRamSize - 1);
        const auto bytes = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange(1, 64));
        host.mem.write(kRam + at, bytes);
        break;
      }
      case 1: post(in, host.mem, tx, false); break;
      case 2: post(in, host.mem, rx, true); break;
      case 3: net.queue_notify(VirtioNet::kTxQueue); break;
      case 4: net.queue_notify(VirtioNet::kRxQueue); break;
      case 5: {  // a frame from the network, now and then a burst
        const size_t len = in.ConsumeBool() ? in.ConsumeIntegralInRange<size_t>(0, 2000)
                                            : in.ConsumeIntegralInRange<size_t>(0, 70000);
        frame.assign(len, in.ConsumeIntegral<uint8_t>());
        const unsigned burst = in.ConsumeIntegralInRange(0, 15) == 0 ? 300 : 1;
        for (unsigned i = 0; i < burst; ++i, ++injected) backend.inject(frame);
        break;
      }
      case 6:
        net.reset();
        host.rx.reset();
        host.tx.reset();
        rx.next_desc = tx.next_desc = 0;
        configure(in, host.rx, rx);
        configure(in, host.tx, tx);
        if (in.ConsumeBool()) net.activate(features(in));
        break;
      case 7: {
        uint8_t out[16];
        const auto len = in.ConsumeIntegralInRange<size_t>(0, sizeof out);
        net.read_config(in.ConsumeIntegral<uint64_t>() % 24, {out, len});
        net.set_link_up(in.ConsumeBool());
        break;
      }
      case 8: net.queue_notify(in.ConsumeIntegral<unsigned>()); break;
      default: backend.echo = !backend.echo; break;
    }
    FUZZ_CHECK(net.pending_rx() <= VirtioNet::kMaxPendingRx);
    const auto& s = net.stats();
    FUZZ_CHECK(s.rx_frames + s.rx_dropped + net.pending_rx() <= injected + backend.sent);
    FUZZ_CHECK(s.tx_frames == backend.sent);
  }
  return 0;
}
