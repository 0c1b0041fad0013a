// virtio-balloon against a hostile driver: PFN arrays (inside and outside
// RAM, ragged lengths, writable buffers), statistics buffers (any tags, odd
// and huge lengths, a second one while one is held), free page reports
// (misaligned, huge, readable descriptors), raw scribbles over the rings,
// notifies on any queue, config accesses, resets with any feature set, and
// the host side: targets, stats requests, and a save/load round trip into a
// fresh device. A fresh device and guest for each input. Invariants: no
// crash; the target never exceeds RAM; only heads the queue gave out reach a
// used ring; state saved, loaded and saved again is the same blob; a
// mutated blob loads or throws StateError, nothing else.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "base/state.hpp"
#include "devices/virtio/balloon.hpp"
#include "devices/virtio/virtqueue.hpp"
#include "memory/guest_memory.hpp"
#include "mmio_ops.hpp"

namespace {

using namespace vessel;
using namespace vessel::virtio;

constexpr uint64_t kBase = 0x80000000, kRam = 1 << 20;
constexpr unsigned kQueues = Balloon::kNumQueues;
// Rings of queue q at kBase + 0x3000 q; buffers from kBuffers on.
constexpr uint64_t kBuffers = kBase + 0x10000;
uint64_t desc_of(unsigned q) {
  return kBase + 0x3000 * uint64_t{q};
}
uint64_t avail_of(unsigned q) {
  return desc_of(q) + 0x1000;
}
uint64_t used_of(unsigned q) {
  return desc_of(q) + 0x2000;
}

class FuzzHost : public VirtioHost {
 public:
  explicit FuzzHost(GuestMemory& m) : mem(m), absent(m, 0) {
    for (auto& q : queues) q = std::make_unique<Virtqueue>(m, Balloon::kQueueSize);
  }
  GuestMemory& memory() override { return mem; }
  Virtqueue& queue(unsigned index) override { return index < kQueues ? *queues[index] : absent; }
  void notify_used(unsigned /*queue*/) override {}
  void config_changed() override {}
  void device_error(const char* /*what*/) override {}
  GuestMemory& mem;
  std::array<std::unique_ptr<Virtqueue>, kQueues> queues;
  Virtqueue absent;
};

struct Driver {
  Driver(FuzzedDataProvider& in, GuestMemory& mem, FuzzHost& host) : in(in), mem(mem), host(host) {}

  void enable_all() {
    for (unsigned q = 0; q < kQueues; ++q) enable(q);
  }
  void enable(unsigned q) {
    Virtqueue& vq = *host.queues[q];
    size[q] = in.PickValueInArray<uint16_t>({1, 2, 4, 8, 16, 32, 128});
    vq.reset();
    vq.set_size(size[q]);
    vq.set_desc_addr(desc_of(q));
    vq.set_avail_addr(avail_of(q));
    vq.set_used_addr(used_of(q));
    vq.set_event_idx(in.ConsumeBool());
    vq.enable();
    avail_idx[q] = 0;
    next_desc[q] = 0;
    w16(avail_of(q) + 2, 0);
  }

  void w16(uint64_t gpa, uint16_t v) { mem.write(gpa, {reinterpret_cast<uint8_t*>(&v), 2}); }
  void w32(uint64_t gpa, uint32_t v) { mem.write(gpa, {reinterpret_cast<uint8_t*>(&v), 4}); }

  unsigned queue() { return in.ConsumeIntegralInRange<unsigned>(0, kQueues - 1); }

  // A guest page number: usually inside RAM, sometimes just outside it, or
  // anything at all.
  uint32_t pfn() {
    switch (in.ConsumeIntegralInRange(0, 5)) {
      case 0: return in.ConsumeIntegral<uint32_t>();
      case 1: return static_cast<uint32_t>((kBase + kRam) >> 12) + in.ConsumeIntegral<uint8_t>();
      case 2: return static_cast<uint32_t>(kBase >> 12) - in.ConsumeIntegralInRange<uint32_t>(1, 4);
      default:
        return static_cast<uint32_t>(kBase >> 12) +
               in.ConsumeIntegralInRange<uint32_t>(0, kRam / 4096 - 1);
    }
  }

  // A buffer address and length: mostly page-aligned inside RAM, sometimes
  // misaligned, running off the end, or anything.
  void range(uint64_t& gpa, uint32_t& len) {
    switch (in.ConsumeIntegralInRange(0, 7)) {
      case 0:
        gpa = in.ConsumeIntegral<uint64_t>();
        len = in.ConsumeIntegral<uint32_t>();
        break;
      case 1:
        gpa = kBase + in.ConsumeIntegralInRange<uint64_t>(0, kRam - 1);
        len = in.ConsumeIntegralInRange<uint32_t>(0, 3 * 4096);
        break;
      case 2:
        len = 4096 * in.ConsumeIntegralInRange<uint32_t>(1, 4);
        gpa = kBase + kRam - len + 4096 * in.ConsumeIntegralInRange<uint32_t>(0, 1);
        break;
      default:
        gpa = kBase + 4096 * in.ConsumeIntegralInRange<uint64_t>(0, kRam / 4096 - 1);
        len = 4096 * in.ConsumeIntegralInRange<uint32_t>(0, 8);
        break;
    }
  }

  // Publishes `chain` on queue q from its next free descriptors.
  void publish(unsigned q, const std::vector<Descriptor>& chain) {
    if (chain.empty()) return;
    const uint16_t head = next_desc[q];
    for (size_t i = 0; i < chain.size(); ++i) {
      const uint16_t slot = next_desc[q];
      next_desc[q] = static_cast<uint16_t>((slot + 1) % size[q]);
      Descriptor d = chain[i];
      if (i + 1 < chain.size()) {
        d.flags |= kDescNext;
        d.next = next_desc[q];
      }
      mem.write(desc_of(q) + 16 * uint64_t{slot}, {reinterpret_cast<uint8_t*>(&d), sizeof d});
    }
    w16(avail_of(q) + 4 + 2 * uint64_t(avail_idx[q] % size[q]), head);
    ++avail_idx[q];
    w16(avail_of(q) + 2, avail_idx[q]);
  }

  uint64_t buffer() { return kBuffers + 16 * in.ConsumeIntegralInRange<uint64_t>(0, 255); }

  void post_pfns() {
    const uint64_t at = buffer();
    const unsigned count = in.ConsumeIntegralInRange(0, 40);
    for (unsigned i = 0; i < count; ++i) w32(at + 4 * uint64_t{i}, pfn());
    uint32_t len = 4 * count;
    if (in.ConsumeIntegralInRange(0, 5) == 0) len = in.ConsumeIntegralInRange<uint32_t>(0, 8192);
    const uint16_t flags = in.ConsumeIntegralInRange(0, 7) == 0 ? kDescWrite : 0;
    publish(in.ConsumeIntegralInRange(0, 7) == 0 ? queue() : in.ConsumeIntegralInRange(0u, 1u),
            {{at, len, flags, 0}});
  }

  void post_stats() {
    const uint64_t at = buffer();
    const unsigned count = in.ConsumeIntegralInRange(0, 20);
    for (unsigned i = 0; i < count; ++i) {
      const uint64_t e = at + 10 * uint64_t{i};
      w16(e, in.ConsumeIntegralInRange(0, 3) == 0 ? in.ConsumeIntegral<uint16_t>()
                                                  : in.ConsumeIntegralInRange<uint16_t>(0, 9));
      const uint64_t value = in.ConsumeIntegral<uint64_t>();
      mem.write(e + 2, {reinterpret_cast<const uint8_t*>(&value), 8});
    }
    uint32_t len = 10 * count;
    if (in.ConsumeIntegralInRange(0, 4) == 0) len = in.ConsumeIntegral<uint32_t>();
    std::vector<Descriptor> chain{{at, len, 0, 0}};
    if (in.ConsumeIntegralInRange(0, 5) == 0) chain.push_back({at + 2048, 16, kDescWrite, 0});
    publish(in.ConsumeIntegralInRange(0, 5) == 0 ? queue() : 2u, chain);
  }

  void post_report() {
    std::vector<Descriptor> chain;
    const unsigned count = in.ConsumeIntegralInRange(1, 6);
    for (unsigned i = 0; i < count; ++i) {
      uint64_t gpa = 0;
      uint32_t len = 0;
      range(gpa, len);
      // Readable descriptors are not for this queue; one after a writable
      // one breaks the queue.
      const bool readable = in.ConsumeIntegralInRange(0, 5) == 0;
      chain.push_back({gpa, len, static_cast<uint16_t>(readable ? 0 : kDescWrite), 0});
    }
    publish(in.ConsumeIntegralInRange(0, 5) == 0 ? queue() : in.ConsumeIntegralInRange(2u, 3u),
            chain);
  }

  void scribble() {
    // Descriptor tables and avail rings; the used rings are the device's
    // (a guest may scribble there too, but then the checks below could not
    // tell whose entry they read).
    const uint64_t at = desc_of(queue()) + in.ConsumeIntegralInRange<uint64_t>(0, 0x2000 - 16);
    const std::vector<uint8_t> bytes = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange(1, 16));
    mem.write(at, bytes);
  }

  FuzzedDataProvider& in;
  GuestMemory& mem;
  FuzzHost& host;
  std::array<uint16_t, kQueues> size{1, 1, 1, 1};
  std::array<uint16_t, kQueues> avail_idx{};
  std::array<uint16_t, kQueues> next_desc{};
};

uint64_t features(FuzzedDataProvider& in) {
  // Any subset of the offered bits, sometimes bits that were not offered.
  return kFVersion1 | (in.ConsumeIntegral<uint8_t>() & 0x3f);
}

std::vector<uint8_t> save(const Balloon& b) {
  state::Writer w;
  b.save_state(w);
  return w.take();
}

// The head of the last used entry of queue q, which must be one the queue
// could have given out.
void check_last_used(GuestMemory& mem, Virtqueue& q, unsigned index) {
  if (!q.ready() || q.broken() || q.used_idx() == 0) return;
  uint32_t id = 0;
  const uint64_t slot = used_of(index) + 4 + 8 * uint64_t((q.used_idx() - 1) % q.size());
  FUZZ_CHECK(mem.read(slot, {reinterpret_cast<uint8_t*>(&id), 4}));
  FUZZ_CHECK(id < q.size());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  GuestMemory mem(kBase, kRam);
  FuzzHost host(mem);
  Driver driver(in, mem, host);
  auto dev = std::make_unique<Balloon>([] { return uint64_t{42}; });
  dev->attach(host);
  driver.enable_all();
  dev->activate(features(in));

  for (unsigned step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
    switch (in.ConsumeIntegralInRange(0, 17)) {
      case 0: driver.scribble(); break;
      case 1: driver.w16(avail_of(driver.queue()) + 2, in.ConsumeIntegral<uint16_t>()); break;
      case 2: {
        dev->reset();
        driver.enable_all();
        if (in.ConsumeBool()) dev->activate(features(in));
        break;
      }
      case 3: {
        uint8_t config[8] = {};
        const uint64_t offset = in.ConsumeIntegralInRange<uint64_t>(0, 24);
        const size_t len = in.ConsumeIntegralInRange<size_t>(0, sizeof config);
        if (in.ConsumeBool()) {
          dev->read_config(offset, {config, len});
        } else {
          const uint64_t value = in.ConsumeIntegral<uint64_t>();
          std::memcpy(config, &value, sizeof config);
          dev->write_config(offset, {config, len});
        }
        break;
      }
      case 4:
        dev->set_target_bytes(in.ConsumeBool() ? in.ConsumeIntegral<uint64_t>()
                                               : in.ConsumeIntegralInRange<uint64_t>(0, kRam));
        FUZZ_CHECK(dev->target_bytes() <= kRam);
        break;
      case 5: {
        Virtqueue& q = *host.queues[2];
        const uint16_t before = q.used_idx();
        if (dev->request_stats() && !q.broken()) {
          FUZZ_CHECK(q.used_idx() == static_cast<uint16_t>(before + 1));
        }
        FUZZ_CHECK(!dev->stats_buffer_held());
        break;
      }
      case 6: {
        // Snapshot and restore into a fresh device on the same queues.
        const std::vector<uint8_t> blob = save(*dev);
        auto fresh = std::make_unique<Balloon>([] { return uint64_t{42}; });
        fresh->attach(host);
        fresh->activate(features(in));
        std::vector<uint8_t> input = blob;
        if (in.ConsumeIntegralInRange(0, 3) == 0 && !input.empty()) {
          input[in.ConsumeIntegralInRange<size_t>(0, input.size() - 1)] ^=
              in.ConsumeIntegralInRange<uint8_t>(1, 255);
        }
        if (in.ConsumeIntegralInRange(0, 5) == 0)
          input.resize(in.ConsumeIntegralInRange<size_t>(0, input.size()));
        try {
          state::Reader r(input, "balloon");
          fresh->load_state(r);
          r.expect_end();
          if (input == blob) FUZZ_CHECK(save(*fresh) == blob);
          dev = std::move(fresh);
        } catch (const state::StateError&) {
          // A blob this device cannot take: refused, the old device stays.
        }
        break;
      }
      case 7:
      case 8:
      case 9: dev->queue_notify(in.ConsumeIntegralInRange(0, 9) == 0 ? 7 : driver.queue()); break;
      case 10:
      case 11: driver.post_pfns(); break;
      case 12:
      case 13: driver.post_stats(); break;
      default: driver.post_report(); break;
    }
    for (unsigned q = 0; q < kQueues; ++q) check_last_used(mem, *host.queues[q], q);
    FUZZ_CHECK(dev->stats().values.size() <= kBalloonNumStats);
    FUZZ_CHECK(dev->reported_bytes() % 4096 == 0);
  }
  for (unsigned q = 0; q < kQueues; ++q) dev->queue_notify(q);
  dev->request_stats();
  for (unsigned q = 0; q < kQueues; ++q) check_last_used(mem, *host.queues[q], q);
  dev->reset();
  return 0;
}
