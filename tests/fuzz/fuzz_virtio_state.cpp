// virtio-mmio state restore against hostile blobs: a fresh transport with an
// rng device, or a blk device over a small image file, loads the fuzz input
// as its state (raw, or a real saved state with bytes patched), and, if it
// loads, a hostile guest pokes its registers and rings and notifies its
// queues. Invariants: a bad blob is a StateError, never a crash; a loaded
// device survives whatever follows; and nothing is in flight at the end.
#include <fcntl.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "base/state.hpp"
#include "devices/virtio/blk.hpp"
#include "devices/virtio/mmio_transport.hpp"
#include "devices/virtio/rng.hpp"
#include "devices/virtio/virtqueue.hpp"
#include "memory/guest_memory.hpp"
#include "mmio_ops.hpp"

namespace {

using namespace vessel;
using namespace vessel::virtio;
using namespace vessel::virtio::mmio;

constexpr uint64_t kBase = 0x80000000, kRam = 64 * 1024;
constexpr uint64_t kDesc = kBase, kAvail = kBase + 0x1000, kUsed = kBase + 0x2000;
constexpr uint64_t kBuffers = kBase + 0x4000;
constexpr uint16_t kQSize = 16;
constexpr uint64_t kSectors = 16;

struct Image {
  Image() {
    char name[] = "/tmp/vessel_fuzz_state_XXXXXX";
    fd = mkstemp(name);
    if (fd < 0) std::abort();
    path = name;
    std::vector<uint8_t> bytes(kSectors * 512, 0x5a);
    FUZZ_CHECK(pwrite(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
  }
  ~Image() {
    close(fd);
    unlink(path.c_str());
  }
  int fd;
  std::string path;
};

Image& image() {
  static Image img;
  return img;
}

std::unique_ptr<VirtioMmio> make(GuestMemory& mem, bool blk) {
  std::unique_ptr<VirtioDevice> dev;
  if (blk) {
    dev = std::make_unique<VirtioBlk>(image().path, false, BlockBackend::Kind::kAuto);
  } else {
    dev = std::make_unique<Rng>([](std::span<uint8_t> out) {
      std::fill(out.begin(), out.end(), 0x42);  // deterministic, so inputs reproduce
      return out.size();
    });
  }
  return std::make_unique<VirtioMmio>(mem, IrqLine(), std::move(dev));
}

void wr(VirtioMmio& m, uint64_t off, uint32_t v) {
  m.mmio_write(off, 4, v);
}

void w16(GuestMemory& mem, uint64_t gpa, uint16_t v) {
  mem.write(gpa, {reinterpret_cast<const uint8_t*>(&v), 2});
}

void put_desc(GuestMemory& mem, uint16_t i, const Descriptor& d) {
  mem.write(kDesc + 16 * uint64_t{i}, {reinterpret_cast<const uint8_t*>(&d), sizeof d});
}

// A real saved state and the guest memory it belongs to: a driver probed
// the device with EVENT_IDX and INDIRECT_DESC and completed a few requests.
struct Saved {
  std::vector<uint8_t> blob;
  std::vector<uint8_t> memory;
};

Saved make_saved(bool blk) {
  GuestMemory mem(kBase, kRam);
  auto m = make(mem, blk);
  wr(*m, kStatus, kStatusAcknowledge | kStatusDriver);
  const uint64_t features = kFVersion1 | kFEventIdx | kFIndirectDesc;
  wr(*m, kDriverFeaturesSel, 0);
  wr(*m, kDriverFeatures, static_cast<uint32_t>(features));
  wr(*m, kDriverFeaturesSel, 1);
  wr(*m, kDriverFeatures, static_cast<uint32_t>(features >> 32));
  wr(*m, kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
  wr(*m, kQueueSel, 0);
  wr(*m, kQueueNum, kQSize);
  wr(*m, kQueueDescLow, static_cast<uint32_t>(kDesc));
  wr(*m, kQueueDescHigh, static_cast<uint32_t>(kDesc >> 32));
  wr(*m, kQueueDriverLow, static_cast<uint32_t>(kAvail));
  wr(*m, kQueueDriverHigh, static_cast<uint32_t>(kAvail >> 32));
  wr(*m, kQueueDeviceLow, static_cast<uint32_t>(kUsed));
  wr(*m, kQueueDeviceHigh, static_cast<uint32_t>(kUsed >> 32));
  wr(*m, kQueueReady, 1);
  wr(*m, kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  FUZZ_CHECK(m->active());
  for (uint16_t r = 0; r < 3; ++r) {
    const uint16_t head = static_cast<uint16_t>(3 * r);
    const uint64_t buf = kBuffers + 0x1000 * r;
    if (blk) {
      BlkReqHeader h{kBlkTIn, 0, r};
      mem.write(buf, {reinterpret_cast<const uint8_t*>(&h), sizeof h});
      put_desc(mem, head, {buf, 16, kDescNext, static_cast<uint16_t>(head + 1)});
      put_desc(mem, head + 1,
               {buf + 0x100, 512, kDescWrite | kDescNext, static_cast<uint16_t>(head + 2)});
      put_desc(mem, head + 2, {buf + 0x400, 1, kDescWrite, 0});
    } else {
      put_desc(mem, head, {buf, 64, kDescWrite, 0});
    }
    w16(mem, kAvail + 4 + 2 * r, head);
  }
  w16(mem, kAvail + 2, 3);
  wr(*m, kQueueNotify, 0);
  m->quiesce();
  state::Writer w;
  m->save_state(w);
  Saved s{w.take(), std::vector<uint8_t>(kRam)};
  mem.read(kBase, s.memory);
  return s;
}

const Saved& saved(bool blk) {
  static const Saved rng = make_saved(false);
  static const Saved disk = make_saved(true);
  return blk ? disk : rng;
}

uint64_t interesting(FuzzedDataProvider& in) {
  return in.PickValueInArray<uint64_t>({kQueueNotify, kQueueNotify, kQueueNotify, kQueueSel,
                                        kQueueReady, kQueueNum, kStatus, kInterruptAck,
                                        kDriverFeatures, kQueueDescLow, kConfig, kConfig + 8});
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  image();
  saved(false);
  saved(true);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const bool blk = in.ConsumeBool();
  const bool patch = in.ConsumeIntegralInRange(0, 3) != 0;

  GuestMemory mem(kBase, kRam);
  std::vector<uint8_t> blob;
  if (patch) {
    // The saved state and its memory, with a few bytes of the blob changed.
    const Saved& s = saved(blk);
    mem.write(kBase, s.memory);
    blob = s.blob;
    const unsigned patches = in.ConsumeIntegralInRange(0, 6);
    for (unsigned i = 0; i < patches; ++i) {
      const auto at = in.ConsumeIntegralInRange<size_t>(0, blob.size() - 1);
      blob[at] = in.ConsumeIntegral<uint8_t>();
    }
    if (in.ConsumeIntegralInRange(0, 7) == 0) {
      blob.resize(in.ConsumeIntegralInRange<size_t>(0, blob.size()));
    }
  } else {
    blob = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 512));
  }

  auto m = make(mem, blk);
  try {
    state::Reader r(blob, "virtio0");
    m->load_state(r);
    r.expect_end();
  } catch (const state::StateError&) {
    return 0;  // refused: the transport is discarded, as the machine would
  }

  // A driver, hostile or not, carries on.
  uint16_t avail_idx = 0;
  mem.read(kAvail + 2, {reinterpret_cast<uint8_t*>(&avail_idx), 2});
  for (unsigned step = 0; step < 32 && in.remaining_bytes() > 0; ++step) {
    const fuzz::MmioOp op = fuzz::next_op(in, VirtioMmio::kWindowSize, interesting);
    switch (op.kind) {
      case fuzz::MmioOp::Kind::kEvent:
        switch (in.ConsumeIntegralInRange(0, 3)) {
          case 0: {  // republish an earlier chain
            w16(mem, kAvail + 4 + 2 * uint64_t(avail_idx % kQSize),
                in.ConsumeIntegralInRange<uint16_t>(0, 8));
            w16(mem, kAvail + 2, ++avail_idx);
            break;
          }
          case 1: {  // scribble over the rings
            const uint64_t at = kBase + in.ConsumeIntegralInRange<uint64_t>(0, 0x3000);
            mem.write(at, in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange(1, 8)));
            break;
          }
          default: m->quiesce(); break;
        }
        break;
      default: {
        const uint64_t value = fuzz::apply(*m, op);
        if (op.kind == fuzz::MmioOp::Kind::kRead) FUZZ_CHECK(fuzz::fits(value, op.size));
        break;
      }
    }
  }
  m->quiesce();
  FUZZ_CHECK(!m->busy());
  return 0;
}
