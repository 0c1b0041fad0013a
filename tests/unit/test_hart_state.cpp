// Hart save/restore: a run split by save, load into a fresh hart over a copy
// of memory, and continue ends exactly where an uninterrupted run does; a
// hostile blob throws StateError.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/state.hpp"
#include "hart_test_support.hpp"

namespace vessel::rv {
namespace {

namespace as = test::as;
using test::kRam;
using test::TestMachine;

constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t V = 1, R = 2, W = 4, X = 8, A = 64, D = 128;
constexpr uint64_t kSatpSv39 = 8;

constexpr uint64_t kPrologue = kRam + 0x100;
constexpr uint64_t kCodePa = kRam + 0x1000, kCodeVa = 0x1000'0000;
constexpr uint64_t kDataPa = kRam + 0x2000, kDataVa = 0x2000'0000;
constexpr uint64_t kOtherDataPa = kRam + 0x3000;
constexpr uint64_t kTables = kRam + 0x8'0000;
constexpr unsigned kLoopLength = 16;

// Offsets of fields in the hart's version-2 layout (see hart_state.cpp).
constexpr size_t kOffPc = 4, kOffX = 12, kOffFflags = kOffX + 2 * 256, kOffPriv = kOffFflags + 2;
constexpr size_t kOffWfi = kOffPriv + 1 + 8, kOffCsrs = kOffWfi + 1 + 8 + 8;
constexpr size_t csr_offset(unsigned index) {  // index in save_state's CSR list
  return kOffCsrs + 8 * index;
}
constexpr size_t kOffMstatus = csr_offset(0), kOffMtvec = csr_offset(5), kOffSatp = csr_offset(20);
constexpr size_t kOffPmpaddr = csr_offset(23) + 8 * 8;
constexpr size_t kStateBytes = kOffPmpaddr + 64 * 8;

uint32_t fmv_x_d(uint32_t rd, uint32_t rs1) {
  return as::R(0x71, 0, rs1, 0, rd, 0x53);
}

// One hart with its memory; can be built as a copy of another's memory.
struct Box : TestMachine {
  Box() : TestMachine(kRamSize) {}

  void copy_memory_from(const Box& other) {
    std::vector<uint8_t> bytes(kRamSize);
    ASSERT_TRUE(other.mem.read(kRam, bytes));
    ASSERT_TRUE(mem.write(kRam, bytes));
  }
  // Runs until `n` instructions retired (the loop never traps or stops).
  void run_exactly(uint64_t n) {
    uint64_t done = 0;
    while (done < n) {
      const uint64_t got = run(n - done);
      ASSERT_GT(got, 0u);
      ASSERT_EQ(stop, StopReason::kBudget);
      done += got;
    }
  }
  std::vector<uint8_t> save() const {
    state::Writer w;
    hart.save_state(w);
    return w.take();
  }
  void load(const std::vector<uint8_t>& blob) {
    state::Reader r(blob, "hart0");
    hart.load_state(r);
  }
};

// The program: S-mode under Sv39 with FP on, every CSR holding something
// other than its reset value, looping over a checksum that mixes integer,
// multiply, bit-manipulation, FP, memory, LR/SC and CSR results.
void build(Box& m) {
  using namespace as;
  // Page tables: root -> level 1 -> level 0, code and data in one 2 MiB range
  // each.
  auto pte = [](uint64_t pa, uint64_t flags) { return ((pa >> 12) << 10) | flags; };
  uint64_t next = kTables + 0x1000;
  auto map = [&](uint64_t va, uint64_t pa, uint64_t flags) {
    uint64_t table = kTables;
    for (unsigned level = 2; level > 0; --level) {
      const uint64_t slot = table + ((va >> (12 + 9 * level)) & 511) * 8;
      uint64_t entry = m.read64(slot);
      if ((entry & V) == 0) {
        entry = pte(next, V);
        next += 0x1000;
        m.write64(slot, entry);
      }
      table = (entry >> 10) << 12;
    }
    m.write64(table + ((va >> 12) & 511) * 8, pte(pa, flags));
  };
  map(kCodeVa, kCodePa, V | R | X | A);
  map(kDataVa, kDataPa, V | R | W | A | D);

  m.write64(kDataPa + 0, 0x9e37'79b9'7f4a'7c15);
  const double step = 1.5;
  uint64_t step_bits = 0;
  std::memcpy(&step_bits, &step, 8);
  m.write64(kDataPa + 16, step_bits);
  m.write64(kOtherDataPa + 0, 0x0bad'cafe'0000'0001);
  m.write64(kOtherDataPa + 16, step_bits);

  // a0 checksum, a1 counter, a2 data, a4 the LR/SC word.
  const uint64_t loop = m.put(kCodePa, {fld(1, a2, 16)});
  m.put(loop, {ld(t0, a2, 0), add(a0, a0, t0), mul(t1, a0, a1), rori(a0, a0, 7), add(a0, a0, t1),
               sd(a0, a2, 0), fadd_d(0, 0, 1), fmv_x_d(t2, 0), add(a0, a0, t2), lr_w(t3, a4),
               add(t3, t3, a1), sc_w(t4, t3, a4), add(a0, a0, t4), csrw(csr::kSscratch, a0),
               addi(a1, a1, 1), jal(zero, -4 * (kLoopLength - 1))});

  // The prologue, one CSR write per step with t0 set from here.
  const std::vector<std::pair<uint16_t, uint64_t>> csrs = {
      {csr::kMstatus, mstatus::kSum | mstatus::kMxr | (1ull << mstatus::kFsShift) |
                          (uint64_t{1} << mstatus::kMppShift) | mstatus::kSpie},
      {csr::kFrm, 2},
      {csr::kMedeleg, 0xb1ff},
      {csr::kMideleg, irq::kSsip | irq::kStip | irq::kSeip},
      {csr::kMie, irq::kStip | irq::kSeip},  // not SSIP: that one is pending below
      {csr::kMip, irq::kSsip},
      {csr::kMtvec, kRam + 0x801},
      {csr::kMscratch, 0x1234'5678'9abc'def0},
      {csr::kMcause, 0x8000'0000'0000'0007},
      {csr::kMtval, 0xfeed},
      {csr::kMcounteren, 7},
      {csr::kMenvcfg, 1},
      {csr::kMcountinhibit, 5},
      {csr::kStvec, 0x1000'0800},
      {csr::kSepc, 0x1000'0042},
      {csr::kScause, 13},
      {csr::kStval, 0xdead'0000},
      {csr::kScounteren, 5},
      {csr::kSenvcfg, 1},
      {csr::kSatp, (kSatpSv39 << 60) | (kTables >> 12)},
      {csr::kMcycle, 1'000'000},
      {csr::kMinstret, 2'000'000},
      {csr::kPmpcfg0 + 2, 0x1f},
      {csr::kPmpaddr0 + 63, (1ull << 54) - 1},
      {csr::kMepc, kCodeVa},
  };
  uint64_t at = kPrologue;
  for (const auto& [number, value] : csrs) at = m.put(at, {csrw(number, t0)});
  m.put(at, {kMret});
  m.hart.reset(kPrologue, Priv::kMachine);
  for (const auto& [number, value] : csrs) {
    m.hart.x[t0] = value;
    ASSERT_EQ(m.run(1), 1u);
  }
  ASSERT_EQ(m.run(1), 1u);  // mret
  ASSERT_EQ(m.hart.priv(), Priv::kSupervisor);
  ASSERT_EQ(m.hart.pc, kCodeVa);
  m.hart.x[a2] = kDataVa;
  m.hart.x[a4] = kDataVa + 24;
}

// Everything observable about a hart, for comparisons with a readable diff.
std::vector<std::string> observe(Box& m) {
  std::vector<std::string> out;
  out.push_back(fmt::format("pc {:#x} priv {} instret {} waiting {}", m.hart.pc,
                            static_cast<int>(m.hart.priv()), m.hart.instret(), m.hart.waiting()));
  for (unsigned i = 0; i < 32; ++i) out.push_back(fmt::format("x{} {:#x}", i, m.hart.x[i]));
  for (unsigned i = 0; i < 32; ++i) out.push_back(fmt::format("f{} {:#x}", i, m.hart.fp.f[i]));
  static constexpr uint16_t kCsrs[] = {
      csr::kFcsr,         csr::kMstatus,    csr::kMedeleg,  csr::kMideleg,       csr::kMie,
      csr::kMip,          csr::kMtvec,      csr::kMscratch, csr::kMepc,          csr::kMcause,
      csr::kMtval,        csr::kMcounteren, csr::kMenvcfg,  csr::kMcountinhibit, csr::kStvec,
      csr::kSscratch,     csr::kSepc,       csr::kScause,   csr::kStval,         csr::kScounteren,
      csr::kSenvcfg,      csr::kSatp,       csr::kMcycle,   csr::kMinstret,      csr::kPmpcfg0 + 2,
      csr::kPmpaddr0 + 63};
  for (uint16_t n : kCsrs) out.push_back(fmt::format("csr {:#x} {:#x}", n, m.csr(n)));
  for (uint64_t off = 0; off < 32; off += 8) {
    out.push_back(fmt::format("data+{} {:#x}", off, m.read64(kDataPa + off)));
  }
  return out;
}

TEST(HartState, SplitRunEqualsUninterruptedRun) {
  constexpr uint64_t kTotal = 3000;
  Box whole;
  build(whole);
  whole.run_exactly(kTotal);
  const std::vector<std::string> expected = observe(whole);
  ASSERT_EQ(whole.hart.x[as::t4], 0u) << "the SC should succeed";
  ASSERT_NE(whole.csr(csr::kFcsr), 0u) << "fcsr should hold frm = RDN";

  // Split at every point of one loop iteration (between the LR and the SC
  // too), at the very start, and one before the end.
  std::vector<uint64_t> splits = {0, 1, kTotal - 1};
  for (uint64_t k = 1000; k <= 1000 + kLoopLength; ++k) splits.push_back(k);
  for (uint64_t k : splits) {
    SCOPED_TRACE(k);
    auto first = std::make_unique<Box>();
    build(*first);
    first->run_exactly(k);
    const std::vector<uint8_t> blob = first->save();
    ASSERT_EQ(blob.size(), kStateBytes);

    auto second = std::make_unique<Box>();
    second->copy_memory_from(*first);
    first.reset();  // nothing of the first hart survives but the blob and memory
    second->load(blob);
    second->run_exactly(kTotal - k);
    EXPECT_EQ(observe(*second), expected);
  }
}

TEST(HartState, SaveIsAFunctionOfTheState) {
  Box a, b;
  build(a);
  a.run_exactly(777);
  const std::vector<uint8_t> blob = a.save();
  b.copy_memory_from(a);
  b.load(blob);
  EXPECT_EQ(b.save(), blob);
  EXPECT_EQ(observe(b), observe(a));
}

TEST(HartState, LoadDropsCachedTranslations) {
  // A hart reloaded in place must not use TLB entries from before the load:
  // here the data page moved without an sfence, and only a flush sees that.
  Box used, fresh;
  build(used);
  used.run_exactly(200);
  const std::vector<uint8_t> blob = used.save();
  // Remap the data page to kOtherDataPa.
  uint64_t leaf = kTables;
  for (unsigned level = 2; level > 0; --level) {
    leaf = (used.read64(leaf + ((kDataVa >> (12 + 9 * level)) & 511) * 8) >> 10) << 12;
  }
  leaf += ((kDataVa >> 12) & 511) * 8;
  ASSERT_EQ(used.read64(leaf) >> 10, kDataPa >> 12);
  used.write64(leaf, ((kOtherDataPa >> 12) << 10) | V | R | W | A | D);
  fresh.copy_memory_from(used);
  used.load(blob);
  fresh.load(blob);
  used.run_exactly(2 * kLoopLength);
  fresh.run_exactly(2 * kLoopLength);
  EXPECT_EQ(observe(used), observe(fresh));
  EXPECT_EQ(used.read64(kDataPa), fresh.read64(kDataPa));
  EXPECT_NE(used.read64(kOtherDataPa), 0x0bad'cafe'0000'0001u) << "the remap was not seen";
}

TEST(HartState, WaitingHartStaysWaiting) {
  Box a, b;
  a.put(kRam, {as::kWfi, as::addi(as::a0, as::zero, 5)});
  a.hart.reset(kRam, Priv::kMachine);
  a.run(10);
  ASSERT_EQ(a.stop, StopReason::kWfi);
  ASSERT_TRUE(a.hart.waiting());
  b.copy_memory_from(a);
  b.load(a.save());
  EXPECT_TRUE(b.hart.waiting());
  EXPECT_EQ(b.hart.pc, a.hart.pc);
}

class HartStateRejects : public ::testing::Test {
 protected:
  void SetUp() override {
    build(source);
    source.run_exactly(100);
    blob = source.save();
    ASSERT_EQ(blob.size(), kStateBytes);
  }
  std::vector<uint8_t> with_u64(size_t offset, uint64_t value) const {
    std::vector<uint8_t> b = blob;
    std::memcpy(&b[offset], &value, 8);
    return b;
  }
  uint64_t u64_at(size_t offset) const {
    uint64_t v = 0;
    std::memcpy(&v, &blob[offset], 8);
    return v;
  }
  std::vector<uint8_t> with_u8(size_t offset, uint8_t value) const {
    std::vector<uint8_t> b = blob;
    b[offset] = value;
    return b;
  }
  void expect_rejected(const std::vector<uint8_t>& bad, const std::string& needle) {
    Box target;
    try {
      target.load(bad);
      ADD_FAILURE() << "accepted; expected an error mentioning '" << needle << "'";
    } catch (const state::StateError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
  void expect_accepted(const std::vector<uint8_t>& good) {
    Box target;
    EXPECT_NO_THROW(target.load(good));
  }

  Box source;
  std::vector<uint8_t> blob;
};

TEST_F(HartStateRejects, BadPrivilegeLevel) {
  expect_rejected(with_u8(kOffPriv, 2), "bad privilege level 2");
  expect_rejected(with_u8(kOffPriv, 4), "bad privilege level 4");
  expect_rejected(with_u8(kOffPriv, 0xff), "bad privilege level 255");
  for (uint8_t p : {0, 1, 3}) expect_accepted(with_u8(kOffPriv, p));
}

TEST_F(HartStateRejects, BadSatp) {
  const uint64_t ppn = u64_at(kOffSatp) & ((1ull << 44) - 1);
  for (uint64_t mode : {1ull, 7ull, 10ull, 11ull, 15ull}) {
    expect_rejected(with_u64(kOffSatp, (mode << 60) | ppn), "bad satp");
  }
  expect_rejected(with_u64(kOffSatp, (kSatpSv39 << 60) | (1ull << 44) | ppn), "bad satp");  // ASID
  for (uint64_t mode : {0ull, 8ull, 9ull}) expect_accepted(with_u64(kOffSatp, (mode << 60) | ppn));
}

TEST_F(HartStateRejects, BadCsrValues) {
  const uint64_t mstatus = u64_at(kOffMstatus);
  expect_rejected(with_u64(kOffMstatus, (mstatus & ~mstatus::kMpp) | (2ull << mstatus::kMppShift)),
                  "bad mstatus");
  expect_rejected(with_u64(kOffMstatus, mstatus | mstatus::kUxl), "bad mstatus");  // read-only
  expect_rejected(with_u64(kOffMstatus, mstatus | 1), "bad mstatus");              // WPRI
  expect_rejected(with_u64(kOffMtvec, kRam + 2), "bad mtvec");
  expect_rejected(with_u64(kOffPmpaddr, 1ull << 54), "bad pmpaddr");
  expect_rejected(with_u64(csr_offset(1), 1ull << 11), "bad medeleg");  // ecall from M
  expect_rejected(with_u64(csr_offset(4), irq::kMsip), "bad mip");      // a pin, not a bit
  expect_rejected(with_u64(csr_offset(7), 1), "bad mepc");
}

TEST_F(HartStateRejects, BadRegistersAndFlags) {
  expect_rejected(with_u64(kOffPc, kCodeVa + 1), "bad pc");
  expect_rejected(with_u64(kOffX, 1), "x0 is not zero");
  expect_rejected(with_u8(kOffFflags, 0x20), "bad fflags");
  expect_rejected(with_u8(kOffFflags + 1, 8), "bad frm");
  expect_rejected(with_u8(kOffWfi, 2), "bad boolean");
  expect_rejected(with_u8(0, 1), "belongs to hart 1, not 0");
}

TEST_F(HartStateRejects, TruncatedOrLongerBlob) {
  for (size_t n = 0; n < blob.size(); ++n) {
    Box target;
    const std::vector<uint8_t> cut(blob.begin(), blob.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_THROW(target.load(cut), state::StateError) << n;
  }
  std::vector<uint8_t> longer = blob;
  longer.push_back(0);
  expect_rejected(longer, "trailing");
}

TEST_F(HartStateRejects, GarbageThrowsOnlyStateError) {
  std::mt19937 rng(99);
  Box target;
  unsigned accepted = 0, rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    SCOPED_TRACE(i);
    std::vector<uint8_t> bad = blob;
    for (int flips = 1 + static_cast<int>(rng() % 8); flips > 0; --flips) {
      bad[rng() % bad.size()] = static_cast<uint8_t>(rng());
    }
    try {
      target.load(bad);
    } catch (const state::StateError&) {
      ++rejected;
      continue;
    }
    ++accepted;
    // What loaded is exactly what the blob says: nothing was clamped or
    // dropped on the way in.
    ASSERT_EQ(target.save(), bad);
    // Whatever loaded must be runnable, and running it keeps the hart in
    // states that save and load again.
    const uint64_t retired = target.run(50);
    EXPECT_LE(retired, 50u);
    Box again;
    ASSERT_NO_THROW(again.load(target.save())) << "ran into a state that does not load";
  }
  // Both ways through the loader were taken: a mutation rate that only ever
  // hit checked fields (or only unchecked ones) would test half of it.
  EXPECT_GT(accepted, 100u);
  EXPECT_GT(rejected, 100u);
}

}  // namespace
}  // namespace vessel::rv
