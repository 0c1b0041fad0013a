// The translator's direct user memory (`vessel exec`): guest loads and stores
// as host accesses into the reservation, whose host protections mirror the
// guest's, host faults resumed at the access's slow path. Each case runs on
// both engines (the interpreter has no direct path: the same guest-visible
// results, from the software TLB) and checks the guest's view exactly: the
// trap, its address, pc and the retired count.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "devices/bus.hpp"
#include "engine/riscv/code_cache.hpp"
#include "engine/riscv/csr_numbers.hpp"
#include "engine/riscv/hart.hpp"
#include "hart_test_support.hpp"
#include "user/address_space.hpp"
#include "user/host_faults.hpp"

namespace vessel::user {
namespace {

namespace as = rv::test::as;
namespace cause = rv::cause;

constexpr uint64_t kCode = 0x10000, kData = 0x20000, kHole = 0x30000;

// A user-mode hart wired as Process wires one (process.cpp): with the
// translator, direct memory, mirrored protections and the fault handler.
class UserDirect : public ::testing::TestWithParam<Engine> {
 protected:
  UserDirect() : direct_(GetParam() == Engine::kJit) {
    if (direct_) {
      install_host_fault_handler();
      space_.mirror_protections();
      cache_.set_direct_memory(space_.memory().host_base(), AddressSpace::kLimit);
      space_.memory().set_code_mark_hook([this](uint64_t page) { space_.code_marked(page); });
      set_fault_address_space(&space_);
    }
    space_.memory().set_code_write_hook([this](uint64_t page) {
      cache_.invalidate(page);
      if (direct_) space_.code_written(page);
    });
    cache_.set_jit_warmup(1);  // translate everything at once
    set_fault_code_cache(&cache_);
    hart_.set_engine(GetParam());
  }
  ~UserDirect() override {
    set_fault_code_cache(nullptr);
    set_fault_address_space(nullptr);
    uninstall_host_fault_handler();
  }

  // Maps the code page (`prot`), with `code` at its start.
  void load_code(const std::vector<uint32_t>& code, uint32_t prot = kProtRead | kProtExec) {
    space_.map_anonymous(kCode, 0x1000, kProtRead | kProtWrite);
    space_.poke(kCode, code.data(), code.size() * 4);
    space_.protect(kCode, 0x1000, prot);
    hart_.enter_user(kCode, space_.satp());
  }
  // Runs until the hart reports a trap; returns it.
  rv::Hart::UserTrap run_to_trap() {
    rv::Hart::UserTrap trap;
    for (int i = 0; i < 100; ++i) {
      StopReason stop;
      hart_.run(10000, stop);
      if (hart_.take_user_trap(trap)) return trap;
    }
    ADD_FAILURE() << "no trap";
    return trap;
  }
  // As Thread::run does when the address space's generation moved.
  void protect(uint64_t va, uint64_t len, uint32_t prot) {
    ASSERT_EQ(space_.protect(va, len, prot), 0);
    hart_.flush_translations();
  }

  bool direct_;
  AddressSpace space_;
  Bus bus_;
  uint64_t retired_ = 0;
  GuestClock clock_{GuestClock::Mode::kDeterministic, &retired_};
  HartIrqPins pins_;
  rv::CodeCache cache_{space_.memory(), /*owner_hook=*/false};
  rv::Hart hart_{0, space_.memory(), bus_, cache_, clock_, pins_};
};

TEST_P(UserDirect, FaultsArePreciseOnReadOnlyAndUnmappedPages) {
  load_code({
      as::lui(as::t0, kData >> 12), as::ld(as::t1, as::t0, 0),   // read-only: fine
      as::addi(as::a0, as::zero, 5), as::sd(as::t1, as::t0, 0),  // +12: read-only: a store fault
      as::lui(as::t2, kHole >> 12), as::lw(as::a1, as::t2, 8),   // +20: unmapped: a load fault
      0x00000073,                                                // ecall
  });
  space_.map_anonymous(kData, 0x1000, kProtRead | kProtWrite);
  ASSERT_TRUE(space_.write_value(kData, uint64_t{42}));
  protect(kData, 0x1000, kProtRead);

  uint64_t before = hart_.instret();
  rv::Hart::UserTrap trap = run_to_trap();
  EXPECT_EQ(trap.cause, cause::kStorePageFault);
  EXPECT_EQ(trap.tval, kData);
  EXPECT_EQ(hart_.pc, kCode + 12);
  EXPECT_EQ(hart_.instret() - before, 3u);
  EXPECT_EQ(hart_.x[as::t1], 42u);
  EXPECT_EQ(hart_.x[as::a0], 5u);

  hart_.pc += 4;
  before = hart_.instret();
  trap = run_to_trap();
  EXPECT_EQ(trap.cause, cause::kLoadPageFault);
  EXPECT_EQ(trap.tval, kHole + 8);
  EXPECT_EQ(hart_.pc, kCode + 20);
  EXPECT_EQ(hart_.instret() - before, 1u);

  hart_.pc += 4;
  EXPECT_EQ(run_to_trap().cause, cause::kEcallU);
  uint64_t v = 0;
  ASSERT_TRUE(space_.read_value(kData, v));
  EXPECT_EQ(v, 42u);  // the faulting store wrote nothing
}

TEST_P(UserDirect, AddressesOutsideTheReservationFaultForTheGuest) {
  // The top user page is mapped: an access that starts in it and runs past
  // the limit must fault without writing a byte, and accesses far beyond
  // the reservation (2^40, 2^63) must fault, never reaching host memory.
  load_code({
      as::addi(as::t0, as::zero, 1),
      as::slli(as::t0, as::t0, 40),
      as::ld(as::a0, as::t0, 0),  // +8
      as::addi(as::t0, as::zero, 1),
      as::slli(as::t0, as::t0, 63),
      as::sd(as::a0, as::t0, 0),  // +20
      as::addi(as::t0, as::zero, 1),
      as::slli(as::t0, as::t0, 36),  // the limit (64 GiB)
      as::addi(as::t0, as::t0, -4),
      as::addi(as::a0, as::zero, -1),
      as::sd(as::a0, as::t0, 0),  // +40: its last 4 bytes are past the limit
      as::ld(as::a1, as::t0, 0),  // +44
      as::sw(as::a0, as::t0, 0),  // +48: fits below the limit
      0x00000073,
  });
  static_assert(AddressSpace::kLimit == uint64_t{1} << 36);
  const uint64_t top = AddressSpace::kLimit - 0x1000;
  space_.map_anonymous(top, 0x1000, kProtRead | kProtWrite);
  const uint64_t root = (space_.satp() & ((uint64_t{1} << 44) - 1)) << 12;
  std::vector<uint8_t> tables(space_.memory().host_ptr(root, 4096),
                              space_.memory().host_ptr(root, 4096) + 4096);

  struct Want {
    uint64_t cause, tval, pc;
  };
  const Want wants[] = {
      {cause::kLoadPageFault, uint64_t{1} << 40, kCode + 8},
      {cause::kStorePageFault, uint64_t{1} << 63, kCode + 20},
      {cause::kStorePageFault, AddressSpace::kLimit, kCode + 40},
      {cause::kLoadPageFault, AddressSpace::kLimit, kCode + 44},
  };
  for (const Want& w : wants) {
    const rv::Hart::UserTrap trap = run_to_trap();
    EXPECT_EQ(trap.cause, w.cause);
    EXPECT_EQ(trap.tval, w.tval);
    EXPECT_EQ(hart_.pc, w.pc);
    hart_.pc += 4;
  }
  uint64_t v = 1;
  ASSERT_TRUE(space_.read_value(AddressSpace::kLimit - 8, v));
  EXPECT_EQ(v, 0u);  // the straddling store wrote nothing
  EXPECT_EQ(run_to_trap().cause, cause::kEcallU);
  ASSERT_TRUE(space_.read_value(AddressSpace::kLimit - 8, v));
  EXPECT_EQ(v, uint64_t{0xffffffff} << 32);
  EXPECT_EQ(std::memcmp(tables.data(), space_.memory().host_ptr(root, 4096), 4096), 0);
}

TEST_P(UserDirect, SelfModifyingCodeRunsTheNewCode) {
  // A function at +0x100 returns 1; the program calls it, overwrites its
  // first instruction with one returning 2 (a store to a page holding
  // translated code) and calls it again.
  std::vector<uint32_t> code(0x108 / 4, as::addi(as::zero, as::zero, 0));
  const std::vector<uint32_t> main = {
      as::jal(as::ra, 0x100),  // +0
      as::addi(as::s0, as::a0, 0),
      as::lui(as::t0, kData >> 12),
      as::lw(as::t1, as::t0, 0),  // the new instruction
      as::lui(as::t2, kCode >> 12),
      as::sw(as::t1, as::t2, 0x100),  // +20
      as::jal(as::ra, 0x100 - 24),    // +24
      0x00000073,
  };
  std::copy(main.begin(), main.end(), code.begin());
  code[0x100 / 4] = as::addi(as::a0, as::zero, 1);
  code[0x104 / 4] = as::jalr(as::zero, as::ra, 0);
  load_code(code, kProtRead | kProtWrite | kProtExec);
  space_.map_anonymous(kData, 0x1000, kProtRead | kProtWrite);
  ASSERT_TRUE(space_.write_value(kData, as::addi(as::a0, as::zero, 2)));

  EXPECT_EQ(run_to_trap().cause, cause::kEcallU);
  EXPECT_EQ(hart_.x[as::s0], 1u);
  EXPECT_EQ(hart_.x[as::a0], 2u);
  // And again, from the start: the page was translated again and the store
  // (now of the same word) goes through the slow path again.
  hart_.pc = kCode;
  EXPECT_EQ(run_to_trap().cause, cause::kEcallU);
  EXPECT_EQ(hart_.x[as::s0], 2u);
  EXPECT_EQ(hart_.x[as::a0], 2u);
}

TEST_P(UserDirect, MprotectChangesWhatFaults) {
  load_code({
      as::lui(as::t0, kData >> 12),
      as::ld(as::a1, as::t0, 0),  // +4
      as::sd(as::a0, as::t0, 8),  // +8
      0x00000073,
  });
  space_.map_anonymous(kData, 0x1000, kProtRead | kProtWrite);
  hart_.x[as::a0] = 7;
  EXPECT_EQ(run_to_trap().cause, cause::kEcallU);

  protect(kData, 0x1000, kProtRead);
  hart_.pc = kCode;
  hart_.x[as::a0] = 8;
  rv::Hart::UserTrap trap = run_to_trap();
  EXPECT_EQ(trap.cause, cause::kStorePageFault);
  EXPECT_EQ(hart_.pc, kCode + 8);

  protect(kData, 0x1000, 0);
  hart_.pc = kCode;
  trap = run_to_trap();
  EXPECT_EQ(trap.cause, cause::kLoadPageFault);
  EXPECT_EQ(hart_.pc, kCode + 4);

  protect(kData, 0x1000, kProtRead | kProtWrite);
  hart_.pc = kCode;
  EXPECT_EQ(run_to_trap().cause, cause::kEcallU);
  uint64_t v = 0;
  ASSERT_TRUE(space_.read_value(kData + 8, v));
  EXPECT_EQ(v, 8u);

  // Unmapped: the same load faults as unmapped.
  space_.unmap(kData, 0x1000);
  hart_.flush_translations();
  hart_.pc = kCode;
  trap = run_to_trap();
  EXPECT_EQ(trap.cause, cause::kLoadPageFault);
  EXPECT_EQ(trap.tval, kData);
}

TEST_P(UserDirect, AtomicsFaultPreciselyAndWork) {
  load_code({
      as::lui(as::t0, kData >> 12),
      as::addi(as::a0, as::zero, 3),
      as::amoadd_w(as::a1, as::a0, as::t0),  // +8
      as::lr_w(as::a2, as::t0),
      as::addi(as::a2, as::a2, 10),
      as::sc_w(as::a3, as::a2, as::t0),  // +20
      0x00000073,
  });
  space_.map_anonymous(kData, 0x1000, kProtRead | kProtWrite);
  ASSERT_TRUE(space_.write_value(kData, uint32_t{100}));
  protect(kData, 0x1000, kProtRead);
  rv::Hart::UserTrap trap = run_to_trap();
  EXPECT_EQ(trap.cause, cause::kStorePageFault);
  EXPECT_EQ(trap.tval, kData);
  EXPECT_EQ(hart_.pc, kCode + 8);

  protect(kData, 0x1000, kProtRead | kProtWrite);
  EXPECT_EQ(run_to_trap().cause, cause::kEcallU);
  EXPECT_EQ(hart_.x[as::a1], 100u);
  EXPECT_EQ(hart_.x[as::a2], 113u);
  EXPECT_EQ(hart_.x[as::a3], 0u);  // the SC succeeded
  uint32_t v = 0;
  ASSERT_TRUE(space_.read_value(kData, v));
  EXPECT_EQ(v, 113u);
}

TEST_P(UserDirect, HostWritesToACodePageOutsideTranslatedCodeGoOn) {
  // vessel's own writes through a host pointer made before the page became
  // code (a system call's copy into guest memory, a write pointer another
  // thread cached) meet the host write protection of a page whose code was
  // decoded: the fault handler drops the page's code and lets them go on,
  // on whichever thread.
  if (!direct_) GTEST_SKIP() << "only direct memory write-protects code pages on the host";
  load_code({as::addi(as::a0, as::zero, 5), 0x00000073}, kProtRead | kProtWrite | kProtExec);
  EXPECT_EQ(run_to_trap().cause, cause::kEcallU);
  EXPECT_EQ(hart_.x[as::a0], 5u);
  GuestMemory& memory = space_.memory();
  ASSERT_NE(memory.page_flags(kCode) & GuestMemory::kPageHostReadOnly, 0);
  const uint32_t generation = memory.code_generation(kCode);
  auto* data = reinterpret_cast<volatile uint32_t*>(memory.host_base() + kCode + 0x800);
  *data = 0x1234;  // no prepare_write: faults on the host
  EXPECT_EQ(*data, 0x1234u);
  EXPECT_NE(memory.code_generation(kCode), generation);
  EXPECT_EQ(memory.page_flags(kCode) & GuestMemory::kPageCode, 0);

  // Run again: decoded and write-protected again; a write from another
  // thread goes on too.
  hart_.pc = kCode;
  EXPECT_EQ(run_to_trap().cause, cause::kEcallU);
  ASSERT_NE(memory.page_flags(kCode) & GuestMemory::kPageCode, 0);
  std::thread([data] { *data = 0x5678; }).join();
  EXPECT_EQ(*data, 0x5678u);
  // The page's code went with that write: new code there runs.
  *reinterpret_cast<volatile uint32_t*>(memory.host_base() + kCode) = as::addi(as::a0, as::zero, 9);
  hart_.pc = kCode;
  EXPECT_EQ(run_to_trap().cause, cause::kEcallU);
  EXPECT_EQ(hart_.x[as::a0], 9u);

  // A host write to a page the guest may not write is still vessel's own
  // fault, which ends it.
  space_.map_anonymous(kData, 0x1000, kProtRead);
  auto* read_only = reinterpret_cast<volatile uint32_t*>(memory.host_base() + kData);
  EXPECT_DEATH(*read_only = 1, "");
}

INSTANTIATE_TEST_SUITE_P(Engines, UserDirect, ::testing::Values(Engine::kInterp, Engine::kJit),
                         [](const auto& info) { return std::string(engine_name(info.param)); });

}  // namespace
}  // namespace vessel::user
