// A split virtqueue over guest memory the fuzzer writes: random descriptor
// tables, rings and indexes, a pop/push loop, and the driver changing memory
// between steps. Every chain handed out must lie in RAM and stay bounded.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "devices/virtio/virtqueue.hpp"
#include "mmio_ops.hpp"

namespace {

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kRamSize = 4 * 4096;

// A guest-physical address: mostly inside RAM (often aligned), sometimes
// near its edges or anywhere at all.
uint64_t pick_addr(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<unsigned>(0, 7)) {
    case 0: return in.ConsumeIntegral<uint64_t>();
    case 1: return kRam + kRamSize - in.ConsumeIntegralInRange<uint64_t>(0, 64);
    case 2: return kRam - in.ConsumeIntegralInRange<uint64_t>(0, 64);
    case 3: return kRam + in.ConsumeIntegralInRange<uint64_t>(0, kRamSize);
    default: return kRam + 16 * in.ConsumeIntegralInRange<uint64_t>(0, kRamSize / 16 - 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vessel;
  using namespace vessel::virtio;
  spdlog::set_level(spdlog::level::off);
  FuzzedDataProvider in(data, size);

  const auto max_size = in.ConsumeIntegralInRange<uint16_t>(0, 256);
  GuestMemory mem(kRam, kRamSize);
  // Guest memory image from the front of the input (integers come from the
  // back): at most half of it, so ops remain.
  const size_t image_len =
      std::min<size_t>(kRamSize, in.ConsumeIntegralInRange<size_t>(0, in.remaining_bytes() / 2));
  const std::vector<uint8_t> image = in.ConsumeBytes<uint8_t>(image_len);
  if (!image.empty()) mem.write(kRam, image);  // memcpy from an empty vector is UB

  Virtqueue q(mem, max_size);
  int broken_calls = 0;
  q.set_on_broken([&](const char*) { ++broken_calls; });

  auto configure = [&] {
    q.reset();
    broken_calls = 0;
    q.set_size(in.ConsumeBool() ? uint16_t{1} << in.ConsumeIntegralInRange<unsigned>(0, 8)
                                : in.ConsumeIntegral<uint16_t>());
    if (in.ConsumeBool()) {
      // The usual layout: three rings one page apart.
      q.set_desc_addr(kRam);
      q.set_avail_addr(kRam + 0x1000);
      q.set_used_addr(kRam + 0x2000);
    } else {
      q.set_desc_addr(pick_addr(in));
      q.set_avail_addr(pick_addr(in));
      q.set_used_addr(pick_addr(in));
    }
    q.set_event_idx(in.ConsumeBool());
    q.set_indirect(in.ConsumeBool());
    const bool ok = q.enable();
    FUZZ_CHECK(ok == q.ready());
    if (ok) {
      FUZZ_CHECK(q.size() >= 1 && q.size() <= q.max_size());
      FUZZ_CHECK((q.size() & (q.size() - 1)) == 0);
      FUZZ_CHECK(mem.contains(q.desc_addr(), 16 * uint64_t{q.size()}));
      FUZZ_CHECK(mem.contains(q.avail_addr(), 6 + 2 * uint64_t{q.size()}));
      FUZZ_CHECK(mem.contains(q.used_addr(), 6 + 8 * uint64_t{q.size()}));
    }
  };
  configure();

  std::vector<DescriptorChain> held;  // chains popped but not yet returned
  unsigned steps = 0;
  while (in.remaining_bytes() > 0 && ++steps < 4096) {
    switch (in.ConsumeIntegralInRange<unsigned>(0, 12)) {
      case 10:
      case 11: {
        // The driver writes a descriptor, in the queue's table or in an
        // indirect table at kRam + 0x3000.
        const bool direct = in.ConsumeBool();
        const uint64_t table = direct ? q.desc_addr() : kRam + 0x3000;
        const uint64_t index =
            in.ConsumeIntegralInRange<uint64_t>(0, direct ? q.size() : kRamSize / 16);
        Descriptor d{};
        d.addr = in.ConsumeBool() ? kRam + 0x3000 : pick_addr(in);
        d.len = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint32_t>(0, 512)
                                 : in.ConsumeIntegral<uint32_t>();
        d.flags = in.ConsumeIntegralInRange<uint16_t>(0, 7);
        d.next = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint16_t>(0, 16)
                                  : in.ConsumeIntegral<uint16_t>();
        mem.write(table + 16 * index, {reinterpret_cast<const uint8_t*>(&d), sizeof d});
        break;
      }
      case 12:
        if (q.ready()) {
          // The driver makes a request available: ring entry, then idx.
          uint16_t idx = 0;
          mem.read(q.avail_addr() + 2, {reinterpret_cast<uint8_t*>(&idx), 2});
          const uint16_t head = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint16_t>(0, 16)
                                                 : in.ConsumeIntegral<uint16_t>();
          mem.write(q.avail_addr() + 4 + 2 * uint64_t(idx % q.size()),
                    {reinterpret_cast<const uint8_t*>(&head), 2});
          ++idx;
          mem.write(q.avail_addr() + 2, {reinterpret_cast<const uint8_t*>(&idx), 2});
        }
        break;
      case 0:
      case 1:
      case 2: {
        const bool was_broken = q.broken();
        const uint16_t before = q.last_avail();
        auto chain = q.pop();
        if (!chain) break;
        FUZZ_CHECK(!was_broken && !q.broken());
        FUZZ_CHECK(static_cast<uint16_t>(q.last_avail() - before) == 1);
        FUZZ_CHECK(chain->head < q.size());
        // A direct chain of at most `size`, then at most one indirect table
        // of at most `size` entries.
        FUZZ_CHECK(chain->readable.size() + chain->writable.size() <= 2 * uint64_t{q.size()});
        for (const auto* part : {&chain->readable, &chain->writable}) {
          for (const Segment& s : *part) {
            FUZZ_CHECK(s.len > 0);
            FUZZ_CHECK(mem.contains(s.gpa, s.len));
          }
        }
        // Read everything, write some, take the rest as iovecs.
        ChainReader reader(mem, *chain);
        std::vector<uint8_t> buf(reader.remaining() < 65536 ? reader.remaining() : 65536);
        const size_t got = reader.read(buf);
        FUZZ_CHECK(got == buf.size());
        for (const iovec& v : reader.take_iovecs(in.ConsumeIntegral<uint32_t>())) {
          FUZZ_CHECK(v.iov_base >= mem.host_base() &&
                     static_cast<uint8_t*>(v.iov_base) + v.iov_len <= mem.host_base() + kRamSize);
        }
        ChainWriter writer(mem, *chain);
        const std::vector<uint8_t> out(in.ConsumeIntegralInRange<size_t>(0, 300), 0xee);
        const size_t put = writer.write(out);
        FUZZ_CHECK(put == std::min<uint64_t>(out.size(), chain->writable_bytes()));
        uint64_t iov_bytes = 0;
        for (const iovec& v : writer.take_iovecs(in.ConsumeIntegral<uint32_t>())) {
          FUZZ_CHECK(v.iov_base >= mem.host_base() &&
                     static_cast<uint8_t*>(v.iov_base) + v.iov_len <= mem.host_base() + kRamSize);
          iov_bytes += v.iov_len;
        }
        FUZZ_CHECK(writer.written() == put + iov_bytes);
        FUZZ_CHECK(writer.written() + writer.remaining() == chain->writable_bytes());
        held.push_back(std::move(*chain));
        break;
      }
      case 3:
      case 4:
        if (!held.empty()) {
          const size_t i = in.ConsumeIntegralInRange<size_t>(0, held.size() - 1);
          q.push(held[i], in.ConsumeIntegral<uint32_t>());
          held.erase(held.begin() + static_cast<ptrdiff_t>(i));
        }
        break;
      case 5: q.should_notify(); break;
      case 6: {
        // The driver (another vCPU) changes memory: a ring index, a
        // descriptor, anything.
        const uint64_t off = in.ConsumeIntegralInRange<uint64_t>(0, kRamSize - 8);
        const auto v = in.ConsumeIntegral<uint64_t>();
        mem.write(kRam + off,
                  {reinterpret_cast<const uint8_t*>(&v), in.ConsumeIntegralInRange<size_t>(1, 8)});
        break;
      }
      case 7:
        if (q.ready()) {
          // Publish: bump avail->idx by a little (or a lot).
          uint16_t idx = 0;
          mem.read(q.avail_addr() + 2, {reinterpret_cast<uint8_t*>(&idx), 2});
          idx += in.ConsumeBool() ? 1 : in.ConsumeIntegral<uint16_t>();
          mem.write(q.avail_addr() + 2, {reinterpret_cast<const uint8_t*>(&idx), 2});
        }
        break;
      case 8:
        held.clear();  // a device reset drops in-flight requests
        configure();
        break;
      default: {
        DescriptorChain bogus;  // push of a chain the queue never gave out
        bogus.head = in.ConsumeIntegral<uint16_t>();
        q.push(bogus, in.ConsumeIntegral<uint32_t>());
        break;
      }
    }
    // The hook fires exactly once per broken episode.
    FUZZ_CHECK(q.broken() == (broken_calls == 1));
    FUZZ_CHECK(broken_calls <= 1);
  }
  return 0;
}
