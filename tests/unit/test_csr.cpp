// The CSR file as guest code sees it (privileged spec, "Control and Status
// Registers" and the machine/supervisor CSR chapters; Zicsr, Zicntr): access
// rules, WARL fields, the supervisor views of machine state, counters and
// the floating-point CSRs. Every check runs real CSR instructions.
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>

#include "hart_test_support.hpp"

namespace vessel::rv {
namespace {

namespace as = test::as;
using test::kRam;
using test::TestMachine;

constexpr uint64_t kFs = mstatus::kFs;
constexpr uint64_t kFsInitial = uint64_t{1} << mstatus::kFsShift;

// Control state the M-mode prologue installs before the code under test runs.
struct Control {
  uint64_t mstatus = 0;  // MPP comes from the mode
  uint64_t mcounteren = 0;
  uint64_t scounteren = 0;
  uint64_t mideleg = 0;
  uint64_t mie = 0;
};

class CsrTest : public ::testing::Test, public TestMachine {
 protected:
  CsrTest() : TestMachine(1 << 20) {}

  static constexpr uint64_t kMHandler = kRam + 0x3f00;  // a WFI
  static constexpr uint64_t kPrologue = kRam + 0x3e00;
  static constexpr uint64_t kCode = kRam + 0x1000;

  // Runs `code` (then an ecall) in `priv`, after an M-mode prologue that
  // installs `control`; every trap lands on a WFI in M-mode. `regs` are the
  // initial values of t0, t1, t2... (x5 up). trapped() then tells whether the
  // code trapped before reaching its final ecall.
  uint64_t exec(Priv priv, std::initializer_list<uint32_t> code, const Control& setup = {},
                std::initializer_list<uint64_t> regs = {}) {
    using namespace as;
    put(kMHandler, {kWfi});
    put(kCode, code);
    end_ = kCode + 4 * code.size();
    priv_ = priv;
    put(end_, {kEcall});
    put(kPrologue, {csrw(csr::kMtvec, t0), csrw(csr::kMcounteren, t1), csrw(csr::kScounteren, t2),
                    csrw(csr::kMideleg, t3), csrw(csr::kMie, t4), csrw(csr::kMstatus, t5),
                    csrw(csr::kMepc, t6), kMret});
    hart.reset(kPrologue, Priv::kMachine);
    hart.x[t0] = kMHandler;
    hart.x[t1] = setup.mcounteren;
    hart.x[t2] = setup.scounteren;
    hart.x[t3] = setup.mideleg;
    hart.x[t4] = setup.mie;
    hart.x[t5] =
        (setup.mstatus & ~mstatus::kMpp) | (static_cast<uint64_t>(priv) << mstatus::kMppShift);
    hart.x[t6] = kCode;
    if (hart.run(8, stop) != 8 || hart.priv() != priv || hart.pc != kCode) {
      ADD_FAILURE() << "prologue failed";
      return 0;
    }
    for (auto& r : hart.x) r = 0;
    unsigned i = 5;
    for (uint64_t v : regs) hart.x[i++] = v;
    return hart.run(1000, stop);
  }

  uint64_t x(unsigned r) const { return hart.x[r]; }
  bool trapped() {
    return csr(csr::kMcause) != cause::kEcallU + static_cast<uint64_t>(priv_) ||
           csr(csr::kMepc) != end_;
  }

  uint64_t end_ = 0;
  Priv priv_ = Priv::kMachine;
};

TEST_F(CsrTest, ReadOnlyCsrWritesAreIllegal) {
  using namespace as;
  struct Case {
    uint32_t insn;
    bool illegal;
  };
  const Case cases[] = {
      {csrrw(zero, csr::kMvendorid, a0), true},  // any write, even from x0
      {csrrwi(zero, csr::kCycle, 0), true},
      {csrrs(a0, csr::kMhartid, t0), true},  // rs1 != x0 writes, though t0 = 0
      {csrrci(a0, csr::kMarchid, 1), true},
      {csrrs(a0, csr::kMhartid, zero), false},  // rs1 = x0: a pure read
      {csrrsi(a0, csr::kMimpid, 0), false},     // uimm = 0: a pure read
      {csrrc(a0, csr::kInstret, zero), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << std::hex << c.insn);
    exec(Priv::kMachine, {c.insn}, {}, {0});
    EXPECT_EQ(trapped(), c.illegal);
    if (c.illegal) {
      EXPECT_EQ(csr(csr::kMcause), cause::kIllegal);
      EXPECT_EQ(csr(csr::kMtval), c.insn);
      EXPECT_EQ(csr(csr::kMepc), kCode);
    }
  }
}

TEST_F(CsrTest, PrivilegeLevelOfCsrs) {
  using namespace as;
  struct Case {
    Priv priv;
    uint32_t insn;
    bool illegal;
  };
  const Case cases[] = {
      {Priv::kSupervisor, csrr(a0, csr::kMstatus), true},  // S reading an M CSR
      {Priv::kSupervisor, csrr(a0, csr::kMhartid), true},
      {Priv::kSupervisor, csrr(a0, csr::kMscratch), true},
      {Priv::kSupervisor, csrr(a0, csr::kSstatus), false},
      {Priv::kSupervisor, csrw(csr::kSscratch, a0), false},
      {Priv::kUser, csrr(a0, csr::kSstatus), true},  // U reading an S CSR
      {Priv::kUser, csrr(a0, csr::kSatp), true},
      {Priv::kUser, csrw(csr::kMstatus, a0), true},
      {Priv::kMachine, csrr(a0, csr::kSatp), false},  // M reaches everything
      {Priv::kMachine, csrr(a0, csr::kSip), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << std::hex << c.insn << " priv " << int(c.priv));
    exec(c.priv, {c.insn});
    EXPECT_EQ(trapped(), c.illegal);
    if (c.illegal) {
      EXPECT_EQ(csr(csr::kMcause), cause::kIllegal);
      EXPECT_EQ(csr(csr::kMtval), c.insn);
    }
  }
}

TEST_F(CsrTest, CsrInstructionsReadOldValue) {
  using namespace as;
  exec(Priv::kMachine,
       {csrw(csr::kMscratch, t0),        // 0xf0
        csrrw(t0, csr::kMscratch, t1),   // swap: t0 = 0xf0, mscratch = 0x0f
        csrrs(a0, csr::kMscratch, t2),   // a0 = 0x0f, mscratch = 0x3f
        csrrci(a1, csr::kMscratch, 3),   // a1 = 0x3f, mscratch = 0x3c
        csrrsi(a2, csr::kMscratch, 31),  // a2 = 0x3c, mscratch = 0x3f
        csrrc(a3, csr::kMscratch, t1),   // a3 = 0x3f, mscratch = 0x30
        csrrwi(a4, csr::kMscratch, 5),   // a4 = 0x30, mscratch = 5
        csrr(a5, csr::kMscratch)},
       {}, {0xf0, 0x0f, 0x30});
  EXPECT_FALSE(trapped());
  EXPECT_EQ(x(t0), 0xf0u);
  EXPECT_EQ(x(a0), 0x0fu);
  EXPECT_EQ(x(a1), 0x3fu);
  EXPECT_EQ(x(a2), 0x3cu);
  EXPECT_EQ(x(a3), 0x3fu);
  EXPECT_EQ(x(a4), 0x30u);
  EXPECT_EQ(x(a5), 5u);
}

TEST_F(CsrTest, MstatusWarl) {
  using namespace as;
  const uint64_t mpp_m = uint64_t{3} << mstatus::kMppShift;
  const uint64_t mpp_h = uint64_t{2} << mstatus::kMppShift;  // reserved
  exec(Priv::kMachine,
       {csrw(csr::kMstatus, t0), csrr(a0, csr::kMstatus),   // MPP = M
        csrw(csr::kMstatus, t1), csrr(a1, csr::kMstatus),   // MPP = 2: not stored
        csrw(csr::kMstatus, t2), csrr(a2, csr::kMstatus)},  // all ones
       {}, {mpp_m, mpp_h, ~uint64_t{0}});
  EXPECT_FALSE(trapped());
  EXPECT_EQ(x(a0) & mstatus::kMpp, mpp_m);
  EXPECT_EQ(x(a1) & mstatus::kMpp, mpp_m);
  // UXL and SXL read 2 (XLEN 64) whatever is written.
  EXPECT_EQ((x(a0) >> 32) & 3, 2u);
  EXPECT_EQ((x(a0) >> 34) & 3, 2u);
  EXPECT_EQ((x(a2) >> 32) & 3, 2u);
  EXPECT_EQ((x(a2) >> 34) & 3, 2u);
  // All ones: FS = 3, so SD reads 1; MPP = 3 is legal; UBE/SBE/MBE and XS
  // stay 0; no bits above SXL other than SD.
  EXPECT_NE(x(a2) & mstatus::kSd, 0u);
  EXPECT_EQ(x(a2) & mstatus::kMpp, mpp_m);
  EXPECT_EQ(x(a2) & (uint64_t{1} << 6), 0u);   // UBE
  EXPECT_EQ(x(a2) & (uint64_t{3} << 15), 0u);  // XS
  EXPECT_EQ(x(a2) & (uint64_t{3} << 36), 0u);  // SBE, MBE
  EXPECT_EQ(x(a2) & 0x7fffffc000000000ull, 0u);
}

TEST_F(CsrTest, SdReflectsFsDirty) {
  using namespace as;
  for (uint64_t fs = 0; fs < 4; ++fs) {
    exec(Priv::kMachine,
         {csrw(csr::kMstatus, t0), csrr(a0, csr::kMstatus), csrr(a1, csr::kSstatus)}, {},
         {fs << mstatus::kFsShift});
    EXPECT_EQ((x(a0) & kFs) >> mstatus::kFsShift, fs);
    EXPECT_EQ((x(a0) & mstatus::kSd) != 0, fs == 3) << fs;
    EXPECT_EQ((x(a1) & mstatus::kSd) != 0, fs == 3) << fs;
  }
  // Writing SD itself does nothing.
  exec(Priv::kMachine, {csrw(csr::kMstatus, t0), csrr(a0, csr::kMstatus)}, {}, {mstatus::kSd});
  EXPECT_EQ(x(a0) & mstatus::kSd, 0u);
}

TEST_F(CsrTest, SstatusIsAViewOfMstatus) {
  using namespace as;
  const uint64_t s_bits =
      mstatus::kSie | mstatus::kSpie | mstatus::kSpp | kFs | mstatus::kSum | mstatus::kMxr;
  const uint64_t m_only = mstatus::kMie | mstatus::kMpie | mstatus::kMpp | mstatus::kMprv |
                          mstatus::kTvm | mstatus::kTw | mstatus::kTsr;
  exec(Priv::kMachine,
       {csrr(s0, csr::kMstatus), csrw(csr::kSstatus, t0), csrr(a0, csr::kMstatus),
        csrr(a1, csr::kSstatus), csrw(csr::kMstatus, t1), csrr(a2, csr::kSstatus),
        csrw(csr::kSstatus, zero), csrr(a3, csr::kMstatus)},
       {}, {~uint64_t{0}, m_only});
  EXPECT_FALSE(trapped());
  // Writing all ones through sstatus sets exactly the S fields of mstatus
  // (SD follows FS = 3).
  EXPECT_EQ(x(a0) & s_bits, s_bits);
  EXPECT_EQ((x(a0) ^ x(s0)) & ~(s_bits | mstatus::kSd), 0u);
  // sstatus shows S fields, UXL and SD; never M fields or SXL.
  EXPECT_EQ(x(a1) & s_bits, s_bits);
  EXPECT_EQ((x(a1) >> 32) & 3, 2u);
  EXPECT_EQ((x(a1) >> 34) & 3, 0u);
  EXPECT_NE(x(a1) & mstatus::kSd, 0u);
  EXPECT_EQ(x(a1) & m_only, 0u);
  // M-only fields set in mstatus stay invisible in sstatus...
  EXPECT_EQ(x(a2) & (m_only | s_bits | mstatus::kSd), 0u);
  // ...and a write of sstatus leaves them alone.
  EXPECT_EQ(x(a3) & m_only, m_only);
  EXPECT_EQ(x(a3) & s_bits, 0u);
}

TEST_F(CsrTest, SieAndSipAreMaskedByMideleg) {
  using namespace as;
  Control s;
  s.mideleg = irq::kSsip | irq::kStip;
  exec(Priv::kMachine,
       {csrw(csr::kMie, t0),    // every interrupt enabled
        csrr(a0, csr::kSie),    // only the delegated ones show
        csrw(csr::kSie, zero),  // clears only delegated enables
        csrr(a1, csr::kMie),
        csrw(csr::kSip, t0),  // sets SSIP only (delegated, and the only writable bit)
        csrr(a2, csr::kMip), csrr(a3, csr::kSip), csrr(a4, csr::kMideleg)},
       s, {~uint64_t{0}});
  EXPECT_FALSE(trapped());
  EXPECT_EQ(x(a0), irq::kSsip | irq::kStip);
  EXPECT_EQ(x(a1), irq::kAll & ~(irq::kSsip | irq::kStip));
  EXPECT_EQ(x(a2), irq::kSsip);
  EXPECT_EQ(x(a3), irq::kSsip);
  EXPECT_EQ(x(a4), irq::kSsip | irq::kStip);  // mideleg kept what was asked

  // Pending bits from the pins appear in sip only when delegated.
  s.mideleg = irq::kSeip;
  pins.level = irq::kSeip | irq::kStip | irq::kMtip;
  exec(Priv::kSupervisor, {csrr(a0, csr::kSip), csrw(csr::kSip, t0), csrr(a1, csr::kSip)}, s,
       {~uint64_t{0}});
  pins.level = 0;
  EXPECT_FALSE(trapped());
  EXPECT_EQ(x(a0), irq::kSeip);
  EXPECT_EQ(x(a1), irq::kSeip);  // SSIP not delegated: the write is ignored
}

TEST_F(CsrTest, MidelegAndMedelegWarl) {
  using namespace as;
  exec(Priv::kMachine,
       {csrw(csr::kMideleg, t0), csrr(a0, csr::kMideleg), csrw(csr::kMedeleg, t0),
        csrr(a1, csr::kMedeleg)},
       {}, {~uint64_t{0}});
  EXPECT_EQ(x(a0), irq::kSsip | irq::kStip | irq::kSeip);
  EXPECT_EQ(x(a1) & (uint64_t{1} << cause::kEcallM), 0u);  // ecall from M stays in M
  EXPECT_NE(x(a1) & (uint64_t{1} << cause::kEcallU), 0u);
  EXPECT_NE(x(a1) & (uint64_t{1} << cause::kLoadPageFault), 0u);
}

TEST_F(CsrTest, SatpWithUnsupportedModeIsIgnored) {
  using namespace as;
  const uint64_t sv39 = (uint64_t{8} << 60) | 0x80123;
  const uint64_t sv48_asid = (uint64_t{9} << 60) | (uint64_t{0xffff} << 44) | 0x80456;
  exec(Priv::kMachine,
       {csrw(csr::kSatp, t0), csrr(a0, csr::kSatp),   // Sv39
        csrw(csr::kSatp, t1), csrr(a1, csr::kSatp),   // Sv57 (10): ignored
        csrw(csr::kSatp, t2), csrr(a2, csr::kSatp)},  // Sv48 with an ASID
       {}, {sv39, (uint64_t{10} << 60) | 0x1, sv48_asid});
  EXPECT_FALSE(trapped());
  EXPECT_EQ(x(a0), sv39);
  EXPECT_EQ(x(a1), sv39);
  EXPECT_EQ(x(a2), (uint64_t{9} << 60) | 0x80456);  // no ASID bits implemented
  for (uint64_t mode : {1ull, 2ull, 7ull, 11ull, 15ull}) {
    exec(Priv::kMachine, {csrw(csr::kSatp, t0), csrw(csr::kSatp, t1), csrr(a0, csr::kSatp)}, {},
         {sv39, (mode << 60) | 0x99});
    EXPECT_EQ(x(a0), sv39) << mode;
  }
}

TEST_F(CsrTest, SatpTrappedByTvm) {
  using namespace as;
  Control s;
  s.mstatus = mstatus::kTvm;
  exec(Priv::kSupervisor, {csrr(a0, csr::kSatp)}, s);
  EXPECT_TRUE(trapped());
  EXPECT_EQ(csr(csr::kMcause), cause::kIllegal);
  exec(Priv::kSupervisor, {csrr(a0, csr::kSatp)});
  EXPECT_FALSE(trapped());
  // TSR traps sret.
  Control tsr;
  tsr.mstatus = mstatus::kTsr;
  exec(Priv::kSupervisor, {as::kSret}, tsr);
  EXPECT_TRUE(trapped());
  EXPECT_EQ(csr(csr::kMtval), as::kSret);
}

TEST_F(CsrTest, CountersGatedByCounteren) {
  using namespace as;
  struct Case {
    Priv priv;
    uint16_t counter;
    uint64_t mcounteren, scounteren;
    bool illegal;
  };
  const Case cases[] = {
      {Priv::kSupervisor, csr::kCycle, 0, 0, true},
      {Priv::kSupervisor, csr::kCycle, 1, 0, false},
      {Priv::kSupervisor, csr::kTime, 1, 0, true},
      {Priv::kSupervisor, csr::kTime, 2, 0, false},
      {Priv::kSupervisor, csr::kInstret, 3, 0, true},
      {Priv::kSupervisor, csr::kInstret, 4, 0, false},
      {Priv::kSupervisor, csr::kHpmCounter3, 7, 0, true},
      {Priv::kSupervisor, csr::kHpmCounter3, 8, 0, false},
      {Priv::kUser, csr::kCycle, 7, 0, true},  // U needs scounteren too
      {Priv::kUser, csr::kCycle, 0, 7, true},  // ...and mcounteren
      {Priv::kUser, csr::kCycle, 1, 1, false},
      {Priv::kUser, csr::kTime, 2, 2, false},
      {Priv::kUser, csr::kInstret, 7, 3, true},
      {Priv::kMachine, csr::kCycle, 0, 0, false},  // M is never gated
      {Priv::kMachine, csr::kInstret, 0, 0, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "priv " << int(c.priv) << " csr " << std::hex << c.counter
                                    << " m " << c.mcounteren << " s " << c.scounteren);
    Control s;
    s.mcounteren = c.mcounteren;
    s.scounteren = c.scounteren;
    exec(c.priv, {csrr(a0, c.counter)}, s);
    EXPECT_EQ(trapped(), c.illegal);
  }
}

TEST_F(CsrTest, TimeFollowsTheGuestClock) {
  using namespace as;
  clock_source = 12345 * GuestClock::kInstructionsPerTick;
  exec(Priv::kMachine, {csrr(a0, csr::kTime)});
  EXPECT_EQ(x(a0), 12345u);
}

// minstret counts instructions retired before the reading one; a write
// replaces the writing instruction's own increment (Zicntr), so the next
// instruction reads exactly the value written. The same for mcycle.
TEST_F(CsrTest, MinstretWriteReplacesIncrement) {
  using namespace as;
  exec(Priv::kMachine,
       {csrr(a0, csr::kMinstret), csrr(a1, csr::kMinstret), addi(zero, zero, 0),
        csrr(a2, csr::kMinstret), csrw(csr::kMinstret, t0), csrr(a3, csr::kMinstret),
        csrr(a4, csr::kInstret), csrw(csr::kMcycle, t0), csrr(a5, csr::kMcycle)},
       {}, {1000});
  EXPECT_FALSE(trapped());
  EXPECT_EQ(x(a1) - x(a0), 1u);
  EXPECT_EQ(x(a2) - x(a1), 2u);
  EXPECT_EQ(x(a3), 1000u);
  EXPECT_EQ(x(a4), 1001u);
  EXPECT_EQ(x(a5), 1000u);
  EXPECT_EQ(csr(csr::kMinstret), 1005u);  // five more retired, the final WFI included
}

TEST_F(CsrTest, FloatingPointCsrs) {
  using namespace as;
  Control s;
  s.mstatus = kFsInitial;
  exec(Priv::kMachine,
       {csrw(csr::kFcsr, t0), csrr(a0, csr::kFflags), csrr(a1, csr::kFrm), csrrwi(a2, csr::kFrm, 2),
        csrr(a3, csr::kFcsr), csrrci(zero, csr::kFflags, 0x1f), csrr(a4, csr::kFcsr),
        csrr(a5, csr::kMstatus)},
       s, {0xfff});
  EXPECT_FALSE(trapped());
  EXPECT_EQ(x(a0), 0x1fu);
  EXPECT_EQ(x(a1), 7u);
  EXPECT_EQ(x(a2), 7u);
  EXPECT_EQ(x(a3), (2u << 5) | 0x1f);
  EXPECT_EQ(x(a4), 2u << 5);
  EXPECT_EQ(x(a5) & kFs, kFs);  // written: Dirty
  EXPECT_NE(x(a5) & mstatus::kSd, 0u);
}

TEST_F(CsrTest, FloatingPointOffIsIllegal) {
  using namespace as;
  for (uint32_t insn : {csrr(a0, csr::kFflags), csrr(a0, csr::kFrm), csrw(csr::kFcsr, a0),
                        fadd_d(1, 2, 3), fld(1, s0, 0)}) {
    SCOPED_TRACE(testing::Message() << std::hex << insn);
    exec(Priv::kSupervisor, {insn});  // FS = 0 (Off)
    EXPECT_TRUE(trapped());
    EXPECT_EQ(csr(csr::kMcause), cause::kIllegal);
    EXPECT_EQ(csr(csr::kMtval), insn);
  }
}

TEST_F(CsrTest, TrapVectorAndEpcWarl) {
  using namespace as;
  exec(Priv::kMachine,
       {csrw(csr::kMtvec, t0), csrr(a0, csr::kMtvec), csrw(csr::kMtvec, t1), csrr(a1, csr::kMtvec),
        csrw(csr::kMepc, t2), csrr(a2, csr::kMepc), csrw(csr::kSepc, t2), csrr(a3, csr::kSepc)},
       {}, {kMHandler | 1, kMHandler | 3, 0x80001237});
  EXPECT_EQ(x(a0), kMHandler | 1);  // vectored
  EXPECT_NE(x(a1) & 3, 3u);         // mode 3 is reserved: not kept
  EXPECT_EQ(x(a2), 0x80001236u);    // IALIGN = 16: bit 0 reads 0
  EXPECT_EQ(x(a3), 0x80001236u);
}

TEST_F(CsrTest, MachineInformationRegisters) {
  using namespace as;
  exec(Priv::kMachine, {csrr(a0, csr::kMisa), csrw(csr::kMisa, zero), csrr(a1, csr::kMisa),
                        csrr(a2, csr::kMhartid), csrr(a3, csr::kMvendorid)});
  EXPECT_FALSE(trapped());
  EXPECT_EQ(x(a0) >> 62, 2u);  // MXL = 64
  for (char ext : {'A', 'C', 'D', 'F', 'I', 'M', 'S', 'U'}) {
    EXPECT_NE(x(a0) & (uint64_t{1} << (ext - 'A')), 0u) << ext;
  }
  EXPECT_EQ(x(a1), x(a0));  // WARL, fixed
  EXPECT_EQ(x(a2), 0u);
  EXPECT_EQ(x(a3), 0u);
}

// Regression (fixed): mip.SEIP (and STIP) read as software bit OR pin level, and csr_write
// stores whatever the read-modify-write computed, so CSRRS/CSRRC on mip
// latch the interrupt controller's signal into the software-writable bit.
// Privileged spec (mip, SEIP): "Only the software-writable SEIP bit
// participates in the read-modify-write sequence of a CSRRS or CSRRC
// instruction." Here M-mode clears SSIP with `csrrci x0, mip, 2` while the
// PLIC drives SEIP; once the pin drops, mip must read 0, but vessel keeps
// reading SEIP = 1 (a stuck external interrupt for S-mode).
TEST_F(CsrTest, MipRmwDoesNotLatchPinLevels) {
  using namespace as;
  pins.level = irq::kSeip | irq::kStip;
  exec(Priv::kMachine, {csrrci(zero, csr::kMip, 2)});
  pins.level = 0;
  EXPECT_EQ(csr(csr::kMip), 0u);
}

}  // namespace
}  // namespace vessel::rv
