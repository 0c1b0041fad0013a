// Save/restore of the board's interrupt controllers and UART: a device
// configured through its registers, saved and loaded into a fresh instance,
// reads back the same and drives the same interrupt levels; hostile blobs
// throw StateError and leave the device as it was.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "base/state.hpp"
#include "devices/uart16550.hpp"
#include "platform/clint.hpp"
#include "platform/plic.hpp"

namespace vessel {
namespace {

template <typename Device>
std::vector<uint8_t> save(const Device& d) {
  state::Writer w;
  d.save_state(w);
  return w.take();
}

template <typename Device>
void load(Device& d, const std::vector<uint8_t>& blob) {
  state::Reader r(blob, "test");
  d.load_state(r);
}

// `load` must throw StateError whose message contains `needle`.
template <typename Device>
void expect_rejected(Device& d, const std::vector<uint8_t>& blob, const std::string& needle) {
  try {
    load(d, blob);
    ADD_FAILURE() << "accepted; expected an error mentioning '" << needle << "'";
  } catch (const state::StateError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// Every proper prefix of `blob` is rejected.
template <typename Device>
void expect_every_truncation_rejected(Device& d, const std::vector<uint8_t>& blob) {
  for (size_t n = 0; n < blob.size(); ++n) {
    const std::vector<uint8_t> cut(blob.begin(), blob.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_THROW(load(d, cut), state::StateError) << "length " << n;
  }
  std::vector<uint8_t> longer = blob;
  longer.push_back(0);
  EXPECT_THROW(load(d, longer), state::StateError);
}

// Random bytes and random corruptions of `blob`: StateError or success, never
// anything else (the sanitizer build catches memory errors).
template <typename Device>
void expect_garbage_survived(Device& d, const std::vector<uint8_t>& blob) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> bad = blob;
    if (i % 2 == 0) {
      for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips) {
        bad[rng() % bad.size()] = static_cast<uint8_t>(rng());
      }
    } else {
      bad.resize(rng() % (2 * blob.size()));
      for (uint8_t& b : bad) b = static_cast<uint8_t>(rng());
    }
    try {
      load(d, bad);
    } catch (const state::StateError&) {
    }
  }
}

// ---------------------------------------------------------------- CLINT

class ClintStateTest : public ::testing::Test {
 protected:
  void set_time(uint64_t ticks) { retired = ticks * GuestClock::kInstructionsPerTick; }
  static uint64_t rd(Clint& c, uint64_t off, unsigned size) {
    uint64_t v = 0;
    EXPECT_TRUE(c.mmio_read(off, size, v));
    return v;
  }

  uint64_t retired = 0;
  GuestClock clock{GuestClock::Mode::kDeterministic, &retired};
  HartIrqPins pins[2], fresh_pins[2];
  Clint clint{clock, {&pins[0], &pins[1]}};
  Clint fresh{clock, {&fresh_pins[0], &fresh_pins[1]}};
};

TEST_F(ClintStateTest, RoundTripRestoresRegistersAndPins) {
  set_time(200);
  ASSERT_TRUE(clint.mmio_write(Clint::kMtimecmpBase, 8, 150));              // hart 0: due
  ASSERT_TRUE(clint.mmio_write(Clint::kMtimecmpBase + 8, 4, 0x1234'5678));  // hart 1: low half
  ASSERT_TRUE(clint.mmio_write(Clint::kMsipBase + 4, 4, 1));                // IPI to hart 1
  ASSERT_EQ(fresh_pins[0].level | fresh_pins[1].level, 0u);

  load(fresh, save(clint));
  for (uint64_t off : {Clint::kMsipBase, Clint::kMsipBase + 4}) {
    EXPECT_EQ(rd(fresh, off, 4), rd(clint, off, 4)) << off;
  }
  for (uint64_t off : {Clint::kMtimecmpBase, Clint::kMtimecmpBase + 8}) {
    EXPECT_EQ(rd(fresh, off, 8), rd(clint, off, 8)) << off;
  }
  EXPECT_EQ(fresh.mtimecmp(1), 0xffff'ffff'1234'5678u);
  EXPECT_EQ(fresh_pins[0].level, pins[0].level);
  EXPECT_EQ(fresh_pins[1].level, pins[1].level);
  EXPECT_EQ(fresh_pins[0].level, uint64_t{1} << HartIrqPins::kMtip);
  EXPECT_EQ(fresh_pins[1].level, uint64_t{1} << HartIrqPins::kMsip);
  EXPECT_EQ(fresh.next_deadline(), clint.next_deadline());
}

TEST_F(ClintStateTest, GuestTimeIsNotPartOfTheClintState) {
  set_time(100);
  ASSERT_TRUE(clint.mmio_write(Clint::kMtimecmpBase, 8, 150));
  const std::vector<uint8_t> blob = save(clint);
  set_time(160);  // the machine restores time; the CLINT's pins follow it
  load(fresh, blob);
  EXPECT_TRUE((fresh_pins[0].level >> HartIrqPins::kMtip) & 1);
  EXPECT_EQ(rd(fresh, Clint::kMtime, 8), 160u);
}

TEST_F(ClintStateTest, HartCountMustMatch) {
  HartIrqPins one_pin;
  Clint one{clock, {&one_pin}};
  expect_rejected(one, save(clint), "for 2 harts, this CLINT has 1");
  expect_rejected(fresh, save(one), "for 1 harts, this CLINT has 2");
}

TEST_F(ClintStateTest, BadInputThrowsAndChangesNothing) {
  ASSERT_TRUE(clint.mmio_write(Clint::kMtimecmpBase, 8, 150));
  ASSERT_TRUE(clint.mmio_write(Clint::kMsipBase, 4, 1));
  const std::vector<uint8_t> blob = save(clint);
  std::vector<uint8_t> bad_bool = blob;
  bad_bool[4 + 8] = 2;  // hart 0's msip
  expect_rejected(fresh, bad_bool, "bad boolean");
  expect_every_truncation_rejected(fresh, blob);
  EXPECT_EQ(fresh.mtimecmp(0), UINT64_MAX);
  EXPECT_FALSE(fresh.msip(0));
  EXPECT_EQ(fresh_pins[0].level, 0u);
  expect_garbage_survived(fresh, blob);
}

// ----------------------------------------------------------------- PLIC

constexpr uint64_t kPriority = 0, kPending = 0x1000;
constexpr uint64_t enable_reg(unsigned ctx, unsigned word) {
  return 0x2000 + 0x80 * ctx + 4 * word;
}
constexpr uint64_t threshold_reg(unsigned ctx) {
  return 0x200000 + 0x1000 * ctx;
}
constexpr uint64_t claim_reg(unsigned ctx) {
  return threshold_reg(ctx) + 4;
}
constexpr unsigned kPlicWords = Plic::kNumSources / 32;
// Offsets in the PLIC's version-1 layout (see plic.cpp).
constexpr size_t kPlicPriorities = 8;
constexpr size_t kPlicPendingWords = kPlicPriorities + Plic::kNumSources;
constexpr size_t kPlicClaimedWords = kPlicPendingWords + 4 * kPlicWords;
constexpr size_t kPlicLevelWords = kPlicClaimedWords + 4 * kPlicWords;
constexpr size_t kPlicContexts = kPlicLevelWords + 4 * kPlicWords;
constexpr size_t kPlicContextBytes = 4 * kPlicWords + 1;

class PlicStateTest : public ::testing::Test {
 protected:
  static uint32_t rd(Plic& p, uint64_t off) {
    uint64_t v = 0xdead'beef;
    EXPECT_TRUE(p.mmio_read(off, 4, v)) << std::hex << off;
    return static_cast<uint32_t>(v);
  }
  void wr(uint64_t off, uint32_t v) { ASSERT_TRUE(plic.mmio_write(off, 4, v)) << std::hex << off; }
  // Every register without side effects (the claim registers have them).
  static std::vector<uint32_t> registers(Plic& p) {
    std::vector<uint32_t> out;
    for (uint32_t s = 0; s < Plic::kNumSources; ++s) out.push_back(rd(p, kPriority + 4 * s));
    for (unsigned w = 0; w < kPlicWords; ++w) out.push_back(rd(p, kPending + 4 * w));
    for (unsigned ctx = 0; ctx < p.num_contexts(); ++ctx) {
      for (unsigned w = 0; w < kPlicWords; ++w) out.push_back(rd(p, enable_reg(ctx, w)));
      out.push_back(rd(p, threshold_reg(ctx)));
    }
    return out;
  }
  // A configuration with something in every part of the state: source 10
  // claimed by context 1 with its line still high, 33 and 40 pending, 41
  // pending but below context 0's threshold.
  void configure() {
    wr(kPriority + 4 * 10, 3);
    wr(kPriority + 4 * 33, 5);
    wr(kPriority + 4 * 40, 1);
    wr(kPriority + 4 * 41, 2);
    wr(kPriority + 4 * 95, 7);
    wr(enable_reg(0, 1), (1u << 1) | (1u << 8) | (1u << 9));  // 33, 40, 41 for hart 0 M
    wr(enable_reg(1, 0), 1u << 10);                           // 10 for hart 0 S
    wr(enable_reg(3, 2), 1u << 31);                           // 95 for hart 1 S
    wr(threshold_reg(0), 2);
    wr(threshold_reg(3), 7);
    plic.set_irq(10, true);
    plic.set_irq(33, true);
    plic.set_irq(40, true);
    plic.set_irq(41, true);
    plic.set_irq(95, true);
    ASSERT_EQ(rd(plic, claim_reg(1)), 10u);
  }

  HartIrqPins pins[2], fresh_pins[2];
  Plic plic{{&pins[0], &pins[1]}};
  Plic fresh{{&fresh_pins[0], &fresh_pins[1]}};
};

TEST_F(PlicStateTest, RoundTripRestoresRegistersPinsAndClaims) {
  configure();
  load(fresh, save(plic));
  EXPECT_EQ(registers(fresh), registers(plic));
  EXPECT_EQ(fresh_pins[0].level, pins[0].level);
  EXPECT_EQ(fresh_pins[1].level, pins[1].level);
  EXPECT_NE(fresh_pins[0].level, 0u);  // context 0 has 33 to deliver
  for (uint32_t s : {10u, 33u, 40u, 41u, 95u}) {
    EXPECT_EQ(fresh.claimed(s), plic.claimed(s)) << s;
    EXPECT_EQ(fresh.pending(s), plic.pending(s)) << s;
  }
  // Both behave the same from here: claims in priority order, and source
  // 10's completion re-pends it because its restored line is still high.
  for (Plic* p : {&plic, &fresh}) {
    EXPECT_EQ(rd(*p, claim_reg(0)), 33u);
    EXPECT_EQ(rd(*p, claim_reg(0)), 0u);  // 40 and 41 are at or below the threshold
    EXPECT_EQ(rd(*p, claim_reg(1)), 0u);  // 10 is in service
    ASSERT_TRUE(p->mmio_write(claim_reg(1), 4, 10));
    EXPECT_TRUE(p->pending(10));
    EXPECT_EQ(rd(*p, claim_reg(1)), 10u);
  }
  EXPECT_EQ(fresh_pins[0].level, pins[0].level);
  EXPECT_EQ(fresh_pins[1].level, pins[1].level);
}

TEST_F(PlicStateTest, ContextCountMustMatch) {
  HartIrqPins one_pin;
  Plic one{{&one_pin}};
  expect_rejected(one, save(plic), "96 sources and 4 contexts, this one has 96 and 2");
  expect_rejected(fresh, save(one), "2 contexts");
}

TEST_F(PlicStateTest, SourceCountMustMatch) {
  std::vector<uint8_t> blob = save(plic);
  blob[0] = 64;
  expect_rejected(fresh, blob, "64 sources");
}

TEST_F(PlicStateTest, ValuesTheRegistersCannotHoldAreRejected) {
  configure();
  const std::vector<uint8_t> blob = save(plic);
  auto patched = [&](size_t offset, uint8_t value) {
    std::vector<uint8_t> b = blob;
    b[offset] = value;
    return b;
  };
  expect_rejected(fresh, patched(kPlicPriorities + 7, 8), "bad priority 8");
  expect_rejected(fresh, patched(kPlicPriorities + 0, 1), "source 0 has a priority");
  expect_rejected(fresh, patched(kPlicContexts + 3 * kPlicContextBytes - 1, 8), "bad threshold 8");
  expect_rejected(fresh, patched(kPlicContexts, 1), "source 0 is enabled");
  expect_rejected(fresh, patched(kPlicLevelWords, 1), "source 0 is active");
  // Source 12: pending without a line; source 10: claimed and pending.
  expect_rejected(fresh, patched(kPlicPendingWords + 1, 1u << (12 - 8)), "pending bits");
  expect_rejected(fresh, patched(kPlicPendingWords + 1, blob[kPlicPendingWords + 1] | 1u << 2),
                  "pending bits");
  // None of it reached the fresh PLIC.
  Plic reset{std::vector<HartIrqPins*>(2, nullptr)};
  EXPECT_EQ(registers(fresh), registers(reset));
  EXPECT_EQ(fresh_pins[0].level | fresh_pins[1].level, 0u);
}

TEST_F(PlicStateTest, TruncatedAndGarbageInputThrows) {
  configure();
  const std::vector<uint8_t> blob = save(plic);
  expect_every_truncation_rejected(fresh, blob);
  expect_garbage_survived(fresh, blob);
}

// ----------------------------------------------------------------- UART

constexpr uint64_t kRbrThr = 0, kIer = 1, kIirFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6,
                   kScr = 7;
// Offsets in the UART's version-1 layout (see uart16550.cpp).
constexpr size_t kUartIer = 0, kUartFcr = 1, kUartMcr = 3, kUartOverrun = 7, kUartRxLength = 9;

struct LevelSink : IrqSink {
  void set_irq(uint32_t, bool on) override {
    level = on;
    ++calls;
  }
  bool level = false;
  int calls = 0;
};

class UartStateTest : public ::testing::Test {
 protected:
  static uint8_t rd(Uart16550& u, uint64_t reg) {
    uint64_t v = 0;
    EXPECT_TRUE(u.mmio_read(reg, 1, v));
    return static_cast<uint8_t>(v);
  }
  void wr(uint64_t reg, uint8_t v) { ASSERT_TRUE(uart.mmio_write(reg, 1, v)); }
  // Reads everything a driver would, in an order that exercises the side
  // effects (IIR acknowledges THRI, LSR clears OE, RBR pops), and the
  // divisor latch.
  static std::vector<uint8_t> observe(Uart16550& u, size_t rx_reads) {
    std::vector<uint8_t> seen;
    for (uint64_t reg : {kIer, kIirFcr, kLcr, kMcr, kLsr, kMsr, kScr, kIirFcr, kLsr}) {
      seen.push_back(rd(u, reg));
    }
    for (size_t i = 0; i < rx_reads; ++i) {
      seen.push_back(rd(u, kRbrThr));
      seen.push_back(rd(u, kIirFcr));
    }
    const uint8_t lcr = rd(u, kLcr);
    EXPECT_TRUE(u.mmio_write(kLcr, 1, lcr | 0x80));
    seen.push_back(rd(u, kRbrThr));
    seen.push_back(rd(u, kIer));
    EXPECT_TRUE(u.mmio_write(kLcr, 1, lcr));
    seen.push_back(u.irq_level() ? 1 : 0);
    return seen;
  }

  LevelSink sink, fresh_sink;
  std::vector<uint8_t> out, fresh_out;
  Uart16550 uart{IrqLine(&sink, 10), [this](uint8_t b) { out.push_back(b); }};
  Uart16550 fresh{IrqLine(&fresh_sink, 10), [this](uint8_t b) { fresh_out.push_back(b); }};
};

TEST_F(UartStateTest, RoundTripRestoresRegistersFifoAndIrq) {
  wr(kLcr, 0x80);  // DLAB
  wr(kRbrThr, 0x01);
  wr(kIer, 0x02);
  wr(kLcr, 0x1b);     // 8E1
  wr(kIirFcr, 0x81);  // FIFO on, trigger level 8
  wr(kMcr, 0x0b);
  wr(kScr, 0x5a);
  wr(kIer, 0x03);  // RDI and THRI
  for (uint8_t c : {'h', 'e', 'l', 'l', 'o'}) ASSERT_TRUE(uart.receive(c));
  ASSERT_TRUE(uart.irq_level());

  load(fresh, save(uart));
  EXPECT_TRUE(fresh.irq_level());
  EXPECT_TRUE(fresh_sink.level);  // driven on load
  EXPECT_EQ(fresh.rx_space(), uart.rx_space());
  EXPECT_EQ(observe(fresh, 6), observe(uart, 6));
  EXPECT_EQ(fresh_sink.level, sink.level);
  // Transmission still reaches the fresh instance's own output.
  ASSERT_TRUE(fresh.mmio_write(kRbrThr, 1, '!'));
  EXPECT_EQ(fresh_out, std::vector<uint8_t>{'!'});
}

TEST_F(UartStateTest, OverrunAndPendingThriSurvive) {
  wr(kMcr, 0x10);  // loopback
  while (uart.rx_space() > 0) ASSERT_TRUE(uart.receive('x'));
  wr(kIer, 0x06);    // RLSI and THRI
  wr(kRbrThr, 'y');  // no room: overrun
  ASSERT_TRUE(uart.irq_level());

  load(fresh, save(uart));
  EXPECT_EQ(fresh.rx_space(), 0u);
  EXPECT_EQ(observe(fresh, 3), observe(uart, 3));
}

TEST_F(UartStateTest, QuietStateDrivesTheLineLow) {
  ASSERT_TRUE(uart.receive('a'));  // no IER bits: no interrupt
  const std::vector<uint8_t> blob = save(uart);
  fresh_sink.level = true;  // whatever the controller believed before
  load(fresh, blob);
  EXPECT_EQ(fresh_sink.calls, 1);
  EXPECT_FALSE(fresh_sink.level);
  EXPECT_EQ(rd(fresh, kRbrThr), 'a');
}

TEST_F(UartStateTest, ValuesTheRegistersCannotHoldAreRejected) {
  const std::vector<uint8_t> blob = save(uart);
  auto patched = [&](size_t offset, uint8_t value) {
    std::vector<uint8_t> b = blob;
    b[offset] = value;
    return b;
  };
  expect_rejected(fresh, patched(kUartIer, 0x10), "bad IER");
  expect_rejected(fresh, patched(kUartFcr, 0x02), "bad FCR");  // clear-RX is not kept
  expect_rejected(fresh, patched(kUartFcr, 0x40), "bad FCR");  // trigger without FIFO
  expect_rejected(fresh, patched(kUartFcr, 0x89), "bad FCR");  // DMA mode bit
  expect_rejected(fresh, patched(kUartMcr, 0x20), "bad MCR");
  expect_rejected(fresh, patched(kUartOverrun, 2), "bad boolean");
  EXPECT_EQ(fresh_sink.calls, 0);
}

TEST_F(UartStateTest, ReceiveQueueIsBounded) {
  state::Writer w;
  for (int i = 0; i < 7; ++i) w.u8(0);
  w.boolean(false);
  w.boolean(false);
  w.bytes(std::vector<uint8_t>(Uart16550::kRxQueueSize + 1, 'z'));
  expect_rejected(fresh, w.data(), "too long");

  std::vector<uint8_t> huge_length = save(uart);
  huge_length[kUartRxLength + 7] = 0x80;  // a length of 2^63
  expect_rejected(fresh, huge_length, "too long");
  EXPECT_EQ(fresh.rx_space(), Uart16550::kRxQueueSize);
}

TEST_F(UartStateTest, TruncatedAndGarbageInputThrows) {
  wr(kIer, 0x01);
  for (uint8_t c : {'a', 'b', 'c'}) ASSERT_TRUE(uart.receive(c));
  const std::vector<uint8_t> blob = save(uart);
  expect_every_truncation_rejected(fresh, blob);
  expect_garbage_survived(fresh, blob);
}

// ---------------------------------------------------- UART behind a PLIC

TEST(PlatformState, UartInterruptReachesARestoredPlic) {
  HartIrqPins pins, fresh_pins;
  Plic plic{{&pins}};
  Plic fresh_plic{{&fresh_pins}};
  Uart16550 uart{IrqLine(&plic, 10), nullptr};
  Uart16550 fresh_uart{IrqLine(&fresh_plic, 10), nullptr};
  ASSERT_TRUE(plic.mmio_write(kPriority + 4 * 10, 4, 1));
  ASSERT_TRUE(plic.mmio_write(enable_reg(1, 0), 4, 1u << 10));
  ASSERT_TRUE(uart.mmio_write(kIer, 1, 0x01));
  ASSERT_TRUE(uart.receive('k'));
  ASSERT_TRUE((pins.level >> HartIrqPins::kSeip) & 1);

  // The UART first: its line reaches the fresh PLIC before that is loaded.
  load(fresh_uart, save(uart));
  load(fresh_plic, save(plic));
  EXPECT_EQ(fresh_pins.level, pins.level);
  uint64_t source = 0;
  ASSERT_TRUE(fresh_plic.mmio_read(claim_reg(1), 4, source));
  EXPECT_EQ(source, 10u);
  uint64_t byte = 0;
  ASSERT_TRUE(fresh_uart.mmio_read(kRbrThr, 1, byte));
  EXPECT_EQ(byte, 'k');
  // The line dropped with the byte read; completion leaves nothing pending.
  ASSERT_TRUE(fresh_plic.mmio_write(claim_reg(1), 4, 10));
  EXPECT_FALSE(fresh_plic.pending(10));
  EXPECT_FALSE((fresh_pins.level >> HartIrqPins::kSeip) & 1);
}

}  // namespace
}  // namespace vessel
