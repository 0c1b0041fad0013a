// State blobs from a hostile snapshot file or migration stream against
// state::decode and the load_state of the hart, CLINT, PLIC and UART.
//
// The input is tried two ways, because a mutated container rarely keeps its
// xxh64 checksums right and would otherwise never reach a load_state:
//   1. as a container: every section that decodes goes to the part its name
//      says ("hart*", "clint", "plic", "uart"), or else to the part chosen by
//      its payload's first byte, with the rest as the payload;
//   2. as one bare payload: the first byte chooses the part (and, for the
//      CLINT and PLIC, the number of harts), the rest is the payload.
// StateError is the only acceptable failure. A load that succeeds must save
// to a blob that loads into a second fresh part and saves to the same bytes,
// and a loaded hart must survive running.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "base/state.hpp"
#include "devices/bus.hpp"
#include "devices/uart16550.hpp"
#include "engine/riscv/code_cache.hpp"
#include "engine/riscv/hart.hpp"
#include "memory/guest_memory.hpp"
#include "platform/clint.hpp"
#include "platform/guest_clock.hpp"
#include "platform/plic.hpp"
#include "platform/virt_map.hpp"

#define STATE_FUZZ_CHECK(cond)                                                          \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

namespace {

using namespace vessel;

constexpr uint64_t kRam = 0x80000000;
constexpr uint64_t kRamSize = 64 << 10;

enum class Part { kHart, kClint, kPlic, kUart };

// A fresh instance of each part with everything it is wired to.
struct HartBox {
  GuestMemory mem{kRam, kRamSize};
  Bus bus;
  rv::CodeCache code{mem};
  uint64_t retired = 0;
  GuestClock clock{GuestClock::Mode::kDeterministic, &retired};
  HartIrqPins pins;
  rv::Hart hart{0, mem, bus, code, clock, pins};
};

struct ClintBox {
  explicit ClintBox(unsigned harts) : pins(harts) {
    for (HartIrqPins& p : pins) ptrs.push_back(&p);
  }
  uint64_t retired = 0;
  GuestClock clock{GuestClock::Mode::kDeterministic, &retired};
  std::vector<HartIrqPins> pins;
  std::vector<HartIrqPins*> ptrs;
  Clint clint{clock, ptrs};
};

struct PlicBox {
  explicit PlicBox(unsigned harts) : pins(harts) {
    for (HartIrqPins& p : pins) ptrs.push_back(&p);
  }
  std::vector<HartIrqPins> pins;
  std::vector<HartIrqPins*> ptrs;
  Plic plic{ptrs};
};

struct LevelSink : IrqSink {
  void set_irq(uint32_t, bool on) override { level = on; }
  bool level = false;
};

struct UartBox {
  LevelSink sink;
  Uart16550 uart{IrqLine(&sink, 10), nullptr};
};

template <typename T>
std::vector<uint8_t> save(const T& part) {
  state::Writer w;
  part.save_state(w);
  return w.take();
}

// Loads `payload` into a fresh `make()` part; on success checks that a
// save/load/save cycle is stable. Returns normally on StateError.
template <typename Make, typename Get, typename After>
void try_load(std::span<const uint8_t> payload, Make make, Get get, After after) {
  auto first = make();
  try {
    state::Reader r(payload, "fuzz");
    get(*first).load_state(r);
  } catch (const state::StateError&) {
    return;
  }
  const std::vector<uint8_t> saved = save(get(*first));
  auto second = make();
  state::Reader r(saved, "fuzz-again");
  get(*second).load_state(r);  // any exception here is a bug: it loaded once
  STATE_FUZZ_CHECK(save(get(*second)) == saved);
  after(*first);
}

void load_into(Part part, unsigned harts, std::span<const uint8_t> payload) {
  switch (part) {
    case Part::kHart:
      try_load(
          payload, [] { return std::make_unique<HartBox>(); },
          [](HartBox& b) -> rv::Hart& { return b.hart; },
          [](HartBox& b) {
            // Whatever state loaded must be safe to run (RAM is zeros, so
            // mostly traps; the pc and paging setup are the input's).
            rv::StopReason stop;
            b.hart.run(200, stop);
          });
      break;
    case Part::kClint:
      try_load(
          payload, [harts] { return std::make_unique<ClintBox>(harts); },
          [](ClintBox& b) -> Clint& { return b.clint; },
          [](ClintBox& b) {
            b.retired += 1'000'000;
            b.clint.update();
            uint64_t value = 0;
            b.clint.mmio_read(Clint::kMtimecmpBase, 8, value);
          });
      break;
    case Part::kPlic:
      try_load(
          payload, [harts] { return std::make_unique<PlicBox>(harts); },
          [](PlicBox& b) -> Plic& { return b.plic; },
          [](PlicBox& b) {
            // Claim and complete everything claimable on every context.
            for (unsigned ctx = 0; ctx < b.plic.num_contexts(); ++ctx) {
              const uint64_t claim = Plic::kContextBase + Plic::kContextStride * ctx + 4;
              uint64_t source = 0;
              for (int i = 0; i < 4 && b.plic.mmio_read(claim, 4, source) && source != 0; ++i) {
                b.plic.mmio_write(claim, 4, source);
              }
            }
          });
      break;
    case Part::kUart:
      try_load(
          payload, [] { return std::make_unique<UartBox>(); },
          [](UartBox& b) -> Uart16550& { return b.uart; },
          [](UartBox& b) {
            STATE_FUZZ_CHECK(b.sink.level == b.uart.irq_level());
            uint64_t value = 0;
            for (uint64_t reg = 0; reg < 8; ++reg) b.uart.mmio_read(reg, 1, value);
            STATE_FUZZ_CHECK(b.sink.level == b.uart.irq_level());
          });
      break;
  }
}

// The harts a saved CLINT or PLIC was for, from its leading u32 (harts or,
// for the PLIC after the source count, contexts), if that is a board size.
unsigned saved_harts(std::span<const uint8_t> payload, size_t offset, unsigned per_hart) {
  uint32_t n = 0;
  if (payload.size() < offset + 4) return 1;
  std::memcpy(&n, payload.data() + offset, 4);
  return n >= per_hart && n % per_hart == 0 && n / per_hart <= virt::kMaxHarts ? n / per_hart : 1;
}

// The first byte: two bits of part, three of (harts - 1) for the CLINT and PLIC.
void load_selected(std::span<const uint8_t> data) {
  if (data.empty()) return;
  const auto part = static_cast<Part>(data[0] & 3);
  const unsigned harts = 1 + ((data[0] >> 2) & 7);
  load_into(part, harts, data.subspan(1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  spdlog::set_level(spdlog::level::off);
  const std::span<const uint8_t> input(data, size);
  try {
    for (const state::Section& s : state::decode(input)) {
      const std::string_view name = s.name;
      if (name.starts_with("hart")) {
        load_into(Part::kHart, 1, s.payload);
      } else if (name == "clint") {
        load_into(Part::kClint, saved_harts(s.payload, 0, 1), s.payload);
      } else if (name == "plic") {
        load_into(Part::kPlic, saved_harts(s.payload, 4, 2), s.payload);
      } else if (name == "uart") {
        load_into(Part::kUart, 1, s.payload);
      } else {
        load_selected(s.payload);
      }
    }
  } catch (const state::StateError&) {
  }
  load_selected(input);
  return 0;
}
