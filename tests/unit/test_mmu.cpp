// Sv39 and Sv48 translation (privileged spec, "Supervisor-Level ISA",
// "Virtual Address Translation Process"): page tables built in guest memory by
// the test, checked through Hart::translate_debug and through loads, stores
// and fetches that run().
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>

#include "hart_test_support.hpp"

namespace vessel::rv {
namespace {

namespace as = test::as;
using test::kRam;
using test::TestMachine;

// PTE bits (privileged spec, "Sv32" PTE format, shared by Sv39/Sv48).
constexpr uint64_t V = 1, R = 2, W = 4, X = 8, U = 16, G = 32, A = 64, D = 128;

constexpr uint64_t kRamSize = 16 << 20;
constexpr uint64_t kSatpSv39 = 8, kSatpSv48 = 9;

class MmuTest : public ::testing::Test, public TestMachine {
 protected:
  MmuTest() : TestMachine(kRamSize) {}

  static constexpr uint64_t kMHandler = kRam + 0x3f00;  // a WFI, M-mode (physical)
  static constexpr uint64_t kPrologue = kRam + 0x3e00;
  static constexpr uint64_t kCodePa = kRam + 0x1000;  // the translated code page
  static constexpr uint64_t kCodeVa = 0x10000000;

  // Starts a fresh page table for `mode` (Sv39 or Sv48).
  void use(uint64_t mode) {
    mode_ = mode;
    levels_ = mode == kSatpSv39 ? 3 : 4;
    root_ = new_table();
  }
  uint64_t new_table() {
    const uint64_t t = next_table_;
    next_table_ += 4096;
    return t;
  }
  uint64_t satp() const { return (mode_ << 60) | (root_ >> 12); }
  static uint64_t pte(uint64_t pa, uint64_t flags) { return ((pa >> 12) << 10) | flags; }

  // Maps `va` to `pa` with a leaf at `level` (0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB,
  // 3 = 512 GiB), making intermediate tables as needed. Returns the leaf PTE's
  // guest-physical address.
  uint64_t map(uint64_t va, uint64_t pa, uint64_t flags, unsigned level = 0) {
    uint64_t table = root_;
    for (unsigned l = levels_ - 1; l > level; --l) {
      const uint64_t slot = table + ((va >> (12 + 9 * l)) & 511) * 8;
      uint64_t entry = read64(slot);
      if ((entry & V) == 0) {
        entry = pte(new_table(), V);
        write64(slot, entry);
      }
      table = ((entry >> 10) & ((1ull << 44) - 1)) << 12;
    }
    const uint64_t slot = table + ((va >> (12 + 9 * level)) & 511) * 8;
    write64(slot, pte(pa, flags));
    return slot;
  }

  // Installs satp, mstatus (MPP from `priv`) and handlers from M-mode, then
  // mrets to kCodeVa in `priv`; the code page is mapped (U if priv is U).
  void enter(Priv priv, uint64_t mstatus_bits = 0, uint64_t medeleg = 0) {
    using namespace as;
    put(kMHandler, {kWfi});
    map(kCodeVa, kCodePa, V | R | X | A | (priv == Priv::kUser ? U : 0));
    put(kPrologue, {csrw(csr::kMtvec, t0), csrw(csr::kMedeleg, t1), csrw(csr::kSatp, s0),
                    csrw(csr::kMstatus, s1), csrw(csr::kMepc, a0), kMret});
    hart.reset(kPrologue, Priv::kMachine);
    hart.x[t0] = kMHandler;
    hart.x[t1] = medeleg;
    hart.x[s0] = satp();
    hart.x[s1] =
        (mstatus_bits & ~mstatus::kMpp) | (static_cast<uint64_t>(priv) << mstatus::kMppShift);
    hart.x[a0] = kCodeVa;
    ASSERT_EQ(run(6), 6u);
    ASSERT_EQ(hart.priv(), priv);
    ASSERT_EQ(hart.pc, kCodeVa);
    ASSERT_EQ(hart.read_csr_raw(csr::kSatp), satp());
    for (auto& r : hart.x) r = 0;
  }

  // translate_debug as a value: the physical address, or ~0 on a fault.
  uint64_t tr(uint64_t va, Access access = Access::kLoad) {
    uint64_t pa = 0;
    return hart.translate_debug(va, access, pa) ? pa : kFault;
  }
  static constexpr uint64_t kFault = ~uint64_t{0};

  uint64_t mode_ = kSatpSv39;
  unsigned levels_ = 3;
  uint64_t root_ = 0;
  uint64_t next_table_ = kRam + 0x400000;
};

TEST_F(MmuTest, Sv39PageSizes) {
  use(kSatpSv39);
  const uint64_t va4k = 0x0000001234567000, pa4k = kRam + 0x100000;
  const uint64_t va2m = 0x0000000040200000, pa2m = kRam + 0x200000;
  const uint64_t va1g = 0xffffffffc0000000, pa1g = kRam;  // the top gigapage (VPN[2] = 511)
  map(va4k, pa4k, V | R | W | A | D);
  map(va2m, pa2m, V | R | W | X | A | D, 1);
  map(va1g, pa1g, V | R | A, 2);
  enter(Priv::kSupervisor);
  EXPECT_EQ(tr(va4k + 0x123), pa4k + 0x123);
  EXPECT_EQ(tr(va4k + 0xfff, Access::kStore), pa4k + 0xfff);
  EXPECT_EQ(tr(va4k + 0x1000), kFault);  // the next page is not mapped
  EXPECT_EQ(tr(va2m + 0x12345), pa2m + 0x12345);
  EXPECT_EQ(tr(va2m + 0x1ffffc, Access::kFetch), pa2m + 0x1ffffc);
  EXPECT_EQ(tr(va1g + 0x3fffff8), pa1g + 0x3fffff8);
  EXPECT_EQ(tr(va1g + 0x3fffffff), pa1g + 0x3fffffff);
  EXPECT_EQ(tr(va1g, Access::kStore), kFault);  // read-only
}

TEST_F(MmuTest, Sv48PageSizes) {
  use(kSatpSv48);
  const uint64_t va4k = 0x00007f0012345000, pa4k = kRam + 0x100000;
  const uint64_t va2m = 0xffff800000200000, pa2m = kRam + 0x200000;
  const uint64_t va1g = 0x0000004000000000, pa1g = kRam;
  const uint64_t va512g = 0x0000008000000000;  // VPN[3] = 1, maps PA 0
  map(va4k, pa4k, V | R | W | A | D);
  map(va2m, pa2m, V | R | W | X | A | D, 1);
  map(va1g, pa1g, V | R | A, 2);
  map(va512g, 0, V | R | A, 3);
  enter(Priv::kSupervisor);
  EXPECT_EQ(tr(va4k + 0x8), pa4k + 0x8);
  EXPECT_EQ(tr(va2m + 0x1fffff, Access::kStore), pa2m + 0x1fffff);
  EXPECT_EQ(tr(va1g + 0x12345678), pa1g + 0x12345678);
  EXPECT_EQ(tr(va512g + 0x7fffffff00), 0x7fffffff00u);
  EXPECT_EQ(tr(kCodeVa + 4, Access::kFetch), kCodePa + 4);
}

// translate_global (reverse-continue's test of whether a watched address is
// mapped the same in every address space): a leaf with G only; paging off
// or a fault: false.
TEST_F(MmuTest, TranslateGlobal) {
  use(kSatpSv39);
  const uint64_t va_g = 0xffffffd800001000, pa_g = kRam + 0x100000;
  const uint64_t va_l = 0x0000000000402000, pa_l = kRam + 0x101000;
  const uint64_t va_ro = 0xffffffd800002000;
  map(va_g, pa_g, V | R | W | G | A | D);
  map(va_l, pa_l, V | R | W | A | D);
  map(va_ro, pa_g, V | R | G | A);
  uint64_t pa = 0;
  EXPECT_FALSE(hart.paging());
  EXPECT_FALSE(hart.translate_global(va_g, pa));  // satp is Bare until enter()
  enter(Priv::kUser);  // the supervisor's view is asked for, whatever the mode
  EXPECT_TRUE(hart.paging());
  ASSERT_TRUE(hart.translate_global(va_g + 0x123, pa));
  EXPECT_EQ(pa, pa_g + 0x123);
  EXPECT_FALSE(hart.translate_global(va_l, pa));           // one address space's
  EXPECT_FALSE(hart.translate_global(va_ro, pa));          // not writable
  EXPECT_FALSE(hart.translate_global(va_g + 0x2000, pa));  // not mapped
  EXPECT_EQ(tr(va_l), kFault);  // from U-mode: no U bit; and nothing was left pending
}

TEST_F(MmuTest, NonCanonicalAddressesFault) {
  use(kSatpSv39);
  map(0xffffffffc0000000, kRam, V | R | W | X | A | D, 2);  // the top gigapage
  map(0x0000003fc0000000, kRam, V | R | W | X | A | D, 2);  // highest positive gigapage
  enter(Priv::kSupervisor);
  EXPECT_EQ(tr(0xffffffffc0000000), kRam);
  EXPECT_EQ(tr(0x0000003fffffffff), kRam + 0x3fffffff);
  // Bit 38 set but bits 63:39 clear, and the other way round.
  EXPECT_EQ(tr(0x0000004000000000), kFault);
  EXPECT_EQ(tr(0x0000008000000000), kFault);
  EXPECT_EQ(tr(0xffffffbfc0000000), kFault);
  EXPECT_EQ(tr(0x8000000000000000), kFault);

  // Through a load: a load page fault with the address in mtval.
  put(kCodePa, {as::ld(as::a0, as::s0, 0)});
  enter(Priv::kSupervisor);
  hart.x[as::s0] = 0x0000004000000000;
  run(10);
  EXPECT_EQ(csr(csr::kMcause), cause::kLoadPageFault);
  EXPECT_EQ(csr(csr::kMtval), 0x0000004000000000u);
  EXPECT_EQ(csr(csr::kMepc), kCodeVa);
}

TEST_F(MmuTest, Sv48NonCanonical) {
  use(kSatpSv48);
  map(0xffff800000000000, kRam, V | R | A, 2);
  enter(Priv::kSupervisor);
  EXPECT_EQ(tr(0xffff800000000000), kRam);
  EXPECT_EQ(tr(0x0000800000000000), kFault);
  EXPECT_EQ(tr(0xfff0800000000000), kFault);
}

TEST_F(MmuTest, MisalignedSuperpagesFault) {
  use(kSatpSv39);
  map(0x40000000, kRam + 0x1000, V | R | W | A | D, 1);    // 2 MiB leaf, PPN[0] != 0
  map(0x80000000, kRam + 0x200000, V | R | W | A | D, 2);  // 1 GiB leaf, PPN[1] != 0
  map(0xc0000000, kRam + 0x200000, V | R | W | A | D, 1);  // aligned 2 MiB: fine
  enter(Priv::kSupervisor);
  EXPECT_EQ(tr(0x40000000), kFault);
  EXPECT_EQ(tr(0x80000000), kFault);
  EXPECT_EQ(tr(0xc0000010), kRam + 0x200010);
  use(kSatpSv48);
  map(0x8000000000, kRam, V | R | A, 3);  // 512 GiB leaf at a PA that is not 512 GiB aligned
  enter(Priv::kSupervisor);
  EXPECT_EQ(tr(0x8000000000), kFault);
}

TEST_F(MmuTest, MalformedPtesFault) {
  use(kSatpSv39);
  map(0x1000, kRam + 0x100000, V | R | W | A | D | (1ull << 60));  // reserved bit
  map(0x2000, kRam + 0x100000, V | R | W | A | D | (1ull << 63));  // N without Svnapot
  map(0x3000, kRam + 0x100000, V | R | W | A | D | (1ull << 61));  // PBMT without Svpbmt
  map(0x4000, kRam + 0x100000, V | W | A | D);                     // W without R
  map(0x5000, kRam + 0x100000, R | W | A | D);                     // not valid
  map(0x6000, kRam + 0x100000, V | R | W | A | D | (1ull << 54));  // lowest reserved bit
  map(0x7000, kRam + 0x100000, V | R | W | A | D | (1ull << 53));  // top PPN bit: legal
  enter(Priv::kSupervisor);
  for (uint64_t va : {0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000}) {
    EXPECT_EQ(tr(va), kFault) << std::hex << va;
    EXPECT_EQ(tr(va, Access::kStore), kFault) << std::hex << va;
  }
  EXPECT_EQ(tr(0x7000), (kRam + 0x100000) | (1ull << 55));
  // A pointer PTE at the last level (no leaf found).
  const uint64_t leaf = map(0x8000, 0, 0);
  write64(leaf, pte(kRam + 0x100000, V));
  EXPECT_EQ(tr(0x8000), kFault);
  write64(leaf, pte(kRam + 0x100000, V | R | A));
  EXPECT_EQ(tr(0x8000), kRam + 0x100000);
}

TEST_F(MmuTest, PageTableOutsideRamIsAccessFault) {
  use(kSatpSv39);
  write64(root_ + 1 * 8, pte(0x10000000, V));  // VPN[2] = 1: a table at 256 MiB, not RAM
  put(kCodePa, {as::ld(as::a0, as::s0, 0)});
  enter(Priv::kSupervisor);
  EXPECT_EQ(tr(0x40001000), kFault);
  hart.x[as::s0] = 0x40001000;
  run(10);
  EXPECT_EQ(csr(csr::kMcause), cause::kLoadAccess);
  EXPECT_EQ(csr(csr::kMtval), 0x40001000u);
}

TEST_F(MmuTest, SupervisorAndUserPermissions) {
  use(kSatpSv39);
  const uint64_t user = 0x20000000, super = 0x20001000, ro = 0x20002000, nx = 0x20003000,
                 xonly = 0x20004000;
  const uint64_t pa = kRam + 0x100000;
  map(user, pa, V | R | W | X | U | A | D);
  map(super, pa, V | R | W | X | A | D);
  map(ro, pa, V | R | A);
  map(nx, pa, V | R | W | A | D);
  map(xonly, pa, V | X | A);

  enter(Priv::kSupervisor);
  EXPECT_EQ(tr(user), kFault);  // U page from S without SUM
  EXPECT_EQ(tr(user, Access::kStore), kFault);
  EXPECT_EQ(tr(user, Access::kFetch), kFault);
  EXPECT_EQ(tr(super), pa);
  EXPECT_EQ(tr(ro), pa);
  EXPECT_EQ(tr(ro, Access::kStore), kFault);  // store to read-only
  EXPECT_EQ(tr(nx, Access::kFetch), kFault);  // fetch from non-X
  EXPECT_EQ(tr(xonly, Access::kFetch), pa);
  EXPECT_EQ(tr(xonly), kFault);  // X-only is not readable without MXR

  enter(Priv::kSupervisor, mstatus::kSum);
  EXPECT_EQ(tr(user), pa);  // SUM: S may load and store U pages...
  EXPECT_EQ(tr(user, Access::kStore), pa);
  EXPECT_EQ(tr(user, Access::kFetch), kFault);  // ...but never execute them

  enter(Priv::kSupervisor, mstatus::kMxr);
  EXPECT_EQ(tr(xonly), pa);  // MXR: X pages readable
  EXPECT_EQ(tr(xonly, Access::kStore), kFault);
  EXPECT_EQ(tr(user), kFault);

  enter(Priv::kUser, mstatus::kSum | mstatus::kMxr);
  EXPECT_EQ(tr(user), pa);
  EXPECT_EQ(tr(user, Access::kFetch), pa);
  EXPECT_EQ(tr(super), kFault);  // U never reaches S pages
  EXPECT_EQ(tr(ro), kFault);
}

// The same faults raised by real accesses: cause, mtval and mepc.
TEST_F(MmuTest, PageFaultsThroughRun) {
  use(kSatpSv39);
  const uint64_t ro = 0x20002000, nx = 0x20003000, user = 0x20000000;
  map(ro, kRam + 0x100000, V | R | A);
  map(nx, kRam + 0x100000, V | R | W | A | D);
  map(user, kRam + 0x100000, V | R | W | U | A | D);
  struct Case {
    uint32_t insn;
    uint64_t target;
    uint64_t cause;
  };
  const Case cases[] = {
      {as::sd(as::a0, as::s0, 8), ro, cause::kStorePageFault},
      {as::ld(as::a0, as::s0, 16), user, cause::kLoadPageFault},
      {as::jalr(as::zero, as::s0, 4), nx, cause::kInsnPageFault},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << std::hex << c.insn);
    put(kCodePa, {c.insn});
    enter(Priv::kSupervisor);
    hart.x[as::s0] = c.target;
    run(10);
    EXPECT_EQ(csr(csr::kMcause), c.cause);
    const uint64_t offset = c.cause == cause::kStorePageFault  ? 8
                            : c.cause == cause::kLoadPageFault ? 16
                                                               : 4;
    EXPECT_EQ(csr(csr::kMtval), c.target + offset);
    EXPECT_EQ(csr(csr::kMepc), c.cause == cause::kInsnPageFault ? c.target + 4 : kCodeVa);
    EXPECT_EQ(hart.priv(), Priv::kMachine);
  }
}

// A misaligned store across two pages whose second page is read-only faults
// without writing the first page (both are translated before any byte).
TEST_F(MmuTest, MisalignedStoreAcrossPagesIsAllOrNothing) {
  use(kSatpSv39);
  const uint64_t va = 0x20000000, pa1 = kRam + 0x100000, pa2 = kRam + 0x102000;
  map(va, pa1, V | R | W | A | D);
  map(va + 0x1000, pa2, V | R | A);
  write64(pa1 + 0xff8, 0x1111111111111111);
  put(kCodePa, {as::sd(as::t0, as::s0, 0)});
  enter(Priv::kSupervisor);
  hart.x[as::s0] = va + 0xffc;
  hart.x[as::t0] = 0x2222222222222222;
  run(10);
  EXPECT_EQ(csr(csr::kMcause), cause::kStorePageFault);
  EXPECT_GE(csr(csr::kMtval), va + 0xffc);
  EXPECT_LE(csr(csr::kMtval), va + 0x1003);
  EXPECT_EQ(read64(pa1 + 0xff8), 0x1111111111111111u);
}

// Accessed and dirty bits are set in the PTE in memory (vessel updates them
// in hardware, like QEMU and Svadu).
TEST_F(MmuTest, AccessedAndDirtyBitsSetByAccess) {
  use(kSatpSv39);
  const uint64_t va = 0x20000000;
  const uint64_t leaf = map(va, kRam + 0x100000, V | R | W);
  const uint64_t code_leaf = map(kCodeVa, kCodePa, V | R | X);  // no A yet
  put(kCodePa, {as::ld(as::a0, as::s0, 0), as::kWfi, as::sd(as::a0, as::s0, 8), as::kWfi});
  put(kMHandler, {as::kWfi});
  // enter() would map the code page with A set; do its job by hand.
  put(kPrologue, {as::csrw(csr::kMtvec, as::t0), as::csrw(csr::kSatp, as::s0),
                  as::csrw(csr::kMstatus, as::s1), as::csrw(csr::kMepc, as::a0), as::kMret});
  hart.reset(kPrologue, Priv::kMachine);
  hart.x[as::t0] = kMHandler;
  hart.x[as::s0] = satp();
  hart.x[as::s1] = uint64_t{1} << mstatus::kMppShift;
  hart.x[as::a0] = kCodeVa;
  ASSERT_EQ(run(5), 5u);
  hart.x[as::s0] = va;
  EXPECT_EQ(run(10), 2u);  // ld, wfi
  EXPECT_EQ(read64(code_leaf) & (A | D), A);
  EXPECT_EQ(read64(leaf) & (A | D), A);
  EXPECT_EQ(run(10), 2u);  // sd, wfi
  EXPECT_EQ(read64(leaf) & (A | D), A | D);
  EXPECT_EQ(csr(csr::kMcause), 0u);  // no fault on the way
}

// Regression (fixed): Hart::translate_debug ("without side effects") still runs the
// hardware A/D update of Hart::translate, so a debugger's query writes the
// guest's page table: translate_debug(va, Access::kStore) on a PTE with
// A = D = 0 leaves A and D set in guest memory (expected: PTE unchanged).
TEST_F(MmuTest, TranslateDebugLeavesPtesUnchanged) {
  use(kSatpSv39);
  const uint64_t leaf = map(0x20000000, kRam + 0x100000, V | R | W);
  enter(Priv::kSupervisor);
  const uint64_t before = read64(leaf);
  EXPECT_EQ(tr(0x20000000, Access::kStore), kRam + 0x100000);
  EXPECT_EQ(read64(leaf), before);
}

// A changed PTE becomes visible after sfence.vma, whether the host or the
// guest itself rewrote it.
TEST_F(MmuTest, SfenceVmaMakesChangedPteVisible) {
  use(kSatpSv39);
  const uint64_t va = 0x20000000;
  const uint64_t page1 = kRam + 0x100000, page2 = kRam + 0x101000;
  write64(page1, 111);
  write64(page2, 222);
  const uint64_t leaf = map(va, page1, V | R | W | A | D);
  const uint64_t pt_va = 0x30000000;  // the leaf's table, mapped for the guest
  map(pt_va, leaf & ~uint64_t{0xfff}, V | R | W | A | D);
  put(kCodePa, {
                   as::ld(as::a0, as::s0, 0),  // 111
                   as::kWfi,                   // the host rewrites the PTE here
                   as::sfence_vma(as::zero, as::zero),
                   as::ld(as::a1, as::s0, 0),  // 222
                   as::sd(as::t0, as::s1, 0),  // the guest points it back at page1
                   as::sfence_vma(as::s0, as::zero),
                   as::ld(as::a0, as::s0, 0),  // 111
                   as::kWfi,
               });
  enter(Priv::kSupervisor);
  hart.x[as::s0] = va;
  hart.x[as::s1] = pt_va + (leaf & 0xfff);
  hart.x[as::t0] = pte(page1, V | R | W | A | D);
  EXPECT_EQ(run(10), 2u);
  EXPECT_EQ(hart.x[as::a0], 111u);
  write64(leaf, pte(page2, V | R | W | A | D));
  hart.x[as::a0] = 0;
  EXPECT_EQ(run(10), 6u);
  EXPECT_EQ(hart.x[as::a1], 222u);
  EXPECT_EQ(hart.x[as::a0], 111u);
  EXPECT_EQ(csr(csr::kMcause), 0u);
}

// A page that loses its mapping: after sfence.vma the next fetch faults.
TEST_F(MmuTest, SfenceVmaDropsCachedFetchTranslation) {
  use(kSatpSv39);
  put(kCodePa, {as::kWfi, as::sfence_vma(as::zero, as::zero), as::kWfi});
  enter(Priv::kSupervisor);
  EXPECT_EQ(run(10), 1u);
  // Make the code page non-executable. The hart may still run the sfence.vma
  // from a cached translation; the fetch after it must fault.
  map(kCodeVa, kCodePa, V | R | A);
  run(10);
  EXPECT_EQ(csr(csr::kMcause), cause::kInsnPageFault);
  const uint64_t tval = csr(csr::kMtval);
  EXPECT_TRUE(tval == kCodeVa + 4 || tval == kCodeVa + 8) << std::hex << tval;
  EXPECT_EQ(csr(csr::kMepc), tval);
}

TEST_F(MmuTest, SfenceVmaPrivilege) {
  use(kSatpSv39);
  put(kCodePa, {as::sfence_vma(as::zero, as::zero)});
  enter(Priv::kUser);
  run(10);
  EXPECT_EQ(csr(csr::kMcause), cause::kIllegal);
  enter(Priv::kSupervisor, mstatus::kTvm);
  run(10);
  EXPECT_EQ(csr(csr::kMcause), cause::kIllegal);
  EXPECT_EQ(csr(csr::kMtval), as::sfence_vma(as::zero, as::zero));
}

// M-mode never translates fetches; with MPRV its loads and stores translate
// as MPP says.
TEST_F(MmuTest, MprvTranslatesMachineDataAccesses) {
  use(kSatpSv39);
  map(0x20000000, kRam + 0x100000, V | R | W | A | D);
  put(kRam + 0x2000, {as::csrw(csr::kSatp, as::s0), as::csrw(csr::kMstatus, as::s1), as::kWfi});
  hart.reset(kRam + 0x2000, Priv::kMachine);
  hart.x[as::s0] = satp();
  hart.x[as::s1] = mstatus::kMprv | (uint64_t{1} << mstatus::kMppShift);  // MPP = S
  EXPECT_EQ(run(10), 3u);
  EXPECT_EQ(hart.priv(), Priv::kMachine);
  EXPECT_EQ(tr(0x20000000), kRam + 0x100000);
  EXPECT_EQ(tr(kRam + 0x2000, Access::kFetch), kRam + 0x2000);  // fetches: untranslated
  EXPECT_EQ(tr(kRam + 0x2000), kFault);                         // not mapped in the S address space
}

TEST_F(MmuTest, BareModeIsIdentity) {
  use(kSatpSv39);
  enter(Priv::kSupervisor);
  put(kRam + 0x2000, {as::csrw(csr::kSatp, as::zero), as::kWfi});
  // Run the satp write from the identity-mapped page.
  map(kRam + 0x2000, kRam + 0x2000, V | R | X | A);
  hart.pc = kRam + 0x2000;
  EXPECT_EQ(run(10), 2u);
  EXPECT_EQ(csr(csr::kSatp), 0u);
  EXPECT_EQ(tr(0x12345678), 0x12345678u);
  EXPECT_EQ(tr(0xffffffffffffff00, Access::kStore), 0xffffffffffffff00u);
}

}  // namespace
}  // namespace vessel::rv
