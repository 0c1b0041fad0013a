// virtio-blk against a hostile driver: random requests (types, sectors,
// lengths, descriptor layouts, status byte or none), raw scribbles over the
// rings, notifies, event-loop turns and resets, against a fresh device over a
// small image file for each input. Invariants: no crash, and the file keeps
// its size and the bytes past the disk's capacity (the image is 16 sectors
// plus a ragged tail that the device must round away).
#include <fcntl.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/event_loop.hpp"
#include "devices/virtio/blk.hpp"
#include "devices/virtio/virtqueue.hpp"
#include "memory/guest_memory.hpp"
#include "mmio_ops.hpp"

namespace {

using namespace vessel;
using namespace vessel::virtio;

constexpr uint64_t kBase = 0x80000000, kRam = 256 * 1024;
constexpr uint64_t kDesc = kBase, kAvail = kBase + 0x1000, kUsed = kBase + 0x2000;
constexpr uint64_t kBuffers = kBase + 0x4000;  // headers, data, statuses, indirect tables
constexpr uint64_t kSectors = 16, kTail = 37;
constexpr uint64_t kFileSize = kSectors * 512 + kTail;

uint8_t pattern(uint64_t i) {
  return static_cast<uint8_t>(i * 31 + 7);
}

class FuzzHost : public VirtioHost {
 public:
  explicit FuzzHost(GuestMemory& m) : mem(m), q(m, VirtioBlk::kQueueSize) {}
  GuestMemory& memory() override { return mem; }
  Virtqueue& queue(unsigned /*index*/) override { return q; }
  void notify_used(unsigned /*queue*/) override {}
  void config_changed() override {}
  void device_error(const char* /*what*/) override {}
  GuestMemory& mem;
  Virtqueue q;
};

struct Image {
  Image() {
    char name[] = "/tmp/vessel_fuzz_blk_XXXXXX";
    fd = mkstemp(name);
    if (fd < 0) std::abort();
    path = name;
  }
  ~Image() {
    close(fd);
    unlink(path.c_str());
  }
  void refill() const {
    std::vector<uint8_t> bytes(kFileSize);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = pattern(i);
    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    FUZZ_CHECK(pwrite(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
  }
  void check_outside_capacity_untouched() const {
    FUZZ_CHECK(lseek(fd, 0, SEEK_END) == static_cast<off_t>(kFileSize));
    uint8_t tail[kTail];
    FUZZ_CHECK(pread(fd, tail, kTail, kSectors * 512) == static_cast<ssize_t>(kTail));
    for (uint64_t i = 0; i < kTail; ++i) FUZZ_CHECK(tail[i] == pattern(kSectors * 512 + i));
  }
  int fd;
  std::string path;
};

struct Driver {
  Driver(FuzzedDataProvider& in, GuestMemory& mem, Virtqueue& q) : in(in), mem(mem), q(q) {}

  void enable() {
    size = in.PickValueInArray<uint16_t>({1, 2, 4, 8, 16, 32, 256});
    q.reset();
    q.set_size(size);
    q.set_desc_addr(kDesc);
    q.set_avail_addr(kAvail);
    q.set_used_addr(kUsed);
    q.set_indirect(in.ConsumeBool());
    q.set_event_idx(in.ConsumeBool());
    q.enable();
    avail_idx = 0;
    next_desc = 0;
    w16(kAvail + 2, 0);
  }

  void w16(uint64_t gpa, uint16_t v) { mem.write(gpa, {reinterpret_cast<uint8_t*>(&v), 2}); }

  // A guest address for a buffer: usually in the buffer area, sometimes
  // over the rings, at the very end of RAM, or anywhere at all.
  uint64_t address(uint32_t len) {
    switch (in.ConsumeIntegralInRange(0, 9)) {
      case 0: return in.ConsumeIntegral<uint64_t>();
      case 1: return kBase + in.ConsumeIntegralInRange<uint64_t>(0, 0x3fff);
      case 2: return kBase + kRam - len;
      default: return kBuffers + in.ConsumeIntegralInRange<uint64_t>(0, kRam - 0x4000 - 0x2000);
    }
  }
  uint32_t length() {
    switch (in.ConsumeIntegralInRange(0, 5)) {
      case 0: return in.ConsumeIntegral<uint32_t>();
      case 1: return in.ConsumeIntegralInRange<uint32_t>(0, 600);
      default: return 512 * in.ConsumeIntegralInRange<uint32_t>(0, 4);
    }
  }
  uint64_t sector() {
    switch (in.ConsumeIntegralInRange(0, 4)) {
      case 0: return in.ConsumeIntegral<uint64_t>();
      case 1: return kSectors - in.ConsumeIntegralInRange<uint64_t>(0, 3);
      default: return in.ConsumeIntegralInRange<uint64_t>(0, kSectors);
    }
  }

  // One request as a driver would build it (with hostile variations).
  void post_request() {
    const uint64_t hdr = kBuffers + 16 * in.ConsumeIntegralInRange<uint64_t>(0, 63);
    const uint32_t type = in.PickValueInArray<uint32_t>(
        {kBlkTIn, kBlkTOut, kBlkTFlush, kBlkTGetId, kBlkTDiscard, kBlkTWriteZeroes, kBlkTIn,
         kBlkTOut, 2, 10, 14, 0x80000000u, in.ConsumeIntegral<uint32_t>()});
    BlkReqHeader h{type, 0, sector()};
    mem.write(hdr, {reinterpret_cast<uint8_t*>(&h), sizeof h});

    std::vector<Descriptor> chain;
    const uint32_t hdr_len =
        in.ConsumeIntegralInRange(0, 9) == 0 ? in.ConsumeIntegralInRange<uint32_t>(0, 16) : 16;
    chain.push_back({hdr, hdr_len, 0, 0});
    const unsigned data = in.ConsumeIntegralInRange(0, 4);
    for (unsigned i = 0; i < data; ++i) {
      const uint32_t len = length();
      const uint64_t gpa = address(len);
      if (type == kBlkTDiscard || type == kBlkTWriteZeroes) {
        BlkDiscardSegment s{
            sector(), static_cast<uint32_t>(sector()),
            in.ConsumeIntegralInRange(0, 5) == 0 ? in.ConsumeIntegral<uint32_t>() : 0u};
        mem.write(gpa, {reinterpret_cast<uint8_t*>(&s), sizeof s});
      }
      const bool writable =
          in.ConsumeIntegralInRange(0, 5) == 0 ? in.ConsumeBool() : type == kBlkTIn;
      chain.push_back({gpa, len, static_cast<uint16_t>(writable ? kDescWrite : 0), 0});
    }
    if (in.ConsumeIntegralInRange(0, 7) != 0) {
      chain.push_back(
          {kBuffers + 0x3000 + in.ConsumeIntegralInRange<uint64_t>(0, 255), 1, kDescWrite, 0});
    }
    // Link them, directly or through an indirect table.
    const bool indirect = in.ConsumeIntegralInRange(0, 3) == 0;
    const uint64_t table = indirect ? kBuffers + 0x2000 : kDesc;
    const uint16_t count = indirect ? static_cast<uint16_t>(chain.size()) : size;
    const uint16_t first = indirect ? 0 : next_desc;
    uint16_t index = first;
    for (size_t i = 0; i < chain.size(); ++i) {
      const uint16_t slot = index;
      index = static_cast<uint16_t>((index + 1) % count);
      Descriptor d = chain[i];
      if (i + 1 < chain.size()) {
        d.flags |= kDescNext;
        d.next = index;
      }
      mem.write(table + 16 * uint64_t{slot}, {reinterpret_cast<uint8_t*>(&d), sizeof d});
    }
    uint16_t head = first;
    if (indirect) {
      Descriptor d{table, static_cast<uint32_t>(16 * chain.size()), kDescIndirect, 0};
      head = next_desc;
      mem.write(kDesc + 16 * uint64_t{head}, {reinterpret_cast<uint8_t*>(&d), sizeof d});
      next_desc = static_cast<uint16_t>((next_desc + 1) % size);
    } else {
      next_desc = index;
    }
    w16(kAvail + 4 + 2 * uint64_t(avail_idx % size), head);
    ++avail_idx;
    w16(kAvail + 2, avail_idx);
  }

  void scribble() {
    const uint64_t at = kBase + in.ConsumeIntegralInRange<uint64_t>(0, 0x4000 + 64 * 16);
    const std::vector<uint8_t> bytes = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange(1, 16));
    mem.write(at, bytes);
  }

  FuzzedDataProvider& in;
  GuestMemory& mem;
  Virtqueue& q;
  uint16_t size = 1;
  uint16_t avail_idx = 0;
  uint16_t next_desc = 0;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Image image;
  image.refill();
  FuzzedDataProvider in(data, size);
  const bool read_only = in.ConsumeIntegralInRange(0, 3) == 0;
  const auto kind = in.ConsumeBool() ? BlockBackend::Kind::kThreads : BlockBackend::Kind::kAuto;

  GuestMemory mem(kBase, kRam);
  FuzzHost host(mem);
  Driver driver(in, mem, host.q);
  EventLoop loop;
  {
    VirtioBlk dev(image.path, read_only, kind);
    dev.attach(host);
    driver.enable();
    dev.activate(kFVersion1 | dev.device_features());
    loop.add(&dev);
    for (unsigned step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
      switch (in.ConsumeIntegralInRange(0, 15)) {
        case 0: driver.scribble(); break;
        case 1: driver.w16(kAvail + 2, in.ConsumeIntegral<uint16_t>()); break;
        case 2:
        case 3: loop.run_once(in.ConsumeBool() ? 0 : 2); break;
        case 4: {
          dev.reset();
          driver.enable();
          if (in.ConsumeBool()) dev.activate(kFVersion1 | dev.device_features());
          break;
        }
        case 5: {
          uint8_t config[16];
          dev.read_config(in.ConsumeIntegralInRange<uint64_t>(0, 120), config);
          break;
        }
        case 6:
        case 7:
        case 8: dev.queue_notify(in.ConsumeIntegralInRange(0, 9) == 0 ? 1 : 0); break;
        default: driver.post_request(); break;
      }
    }
    dev.queue_notify(0);
    for (int i = 0; i < 50 && dev.in_flight() > 0; ++i) loop.run_once(5);
    loop.remove(&dev);
    dev.reset();  // waits for whatever is still running on the host
  }
  image.check_outside_capacity_untouched();
  return 0;
}
