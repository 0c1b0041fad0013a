// The binary translator against the interpreter, in lockstep: two machines,
// one per engine, load the same program and run the same sequence of budgets;
// after every slice the whole architectural state (pc, privilege, x and f
// registers, fcsr, the retired count, the CSRs, every byte of RAM) must be
// identical. The programs come from a seeded generator below (RV64IMAFDC with
// Zba/Zbb/Zbs, misaligned and page-crossing accesses, bounded loops, jumps
// into the middle of instructions, traps through a handler, self-modifying
// code, in M-, S- and U-mode), and from a few hand-written ones. A third
// machine runs the translator in one call, so run(a) then run(b) == run(a+b)
// is checked against the slices too. The translator translates code the
// first time it reaches it (CodeCache::set_jit_warmup(1)), except for some
// seeds that keep the interpreter running cold code for a while.
//
// VESSEL_JIT_SEED_COUNT=N runs N seeds per mode instead of the default (a
// longer hunt after a change to the translator). To look at one failing
// seed: VESSEL_JIT_SEED=N runs only it, and
// VESSEL_JIT_DUMP=FILE writes its RAM image (load it at 0x80000000, e.g.
// riscv64-unknown-elf-objdump -D -b binary -m riscv:rv64 --adjust-vma=0x80000000).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/riscv/decoder.hpp"
#include "engine/riscv/hart.hpp"
#include "hart_test_support.hpp"

namespace vessel::rv {
namespace {

namespace as = test::as;
using test::kRam;
using test::TestMachine;

// ---- The memory map of a generated program ----
constexpr uint64_t kRamSize = 0x20000;          // 128 KiB
constexpr uint64_t kStub = kRam;                // installs the CSRs, then mret
constexpr uint64_t kHandler = kRam + 0x1000;    // the M-mode trap handler
constexpr uint64_t kCode = kRam + 0x2000;       // generated code, up to kFuncs
constexpr uint64_t kFuncs = kRam + 0xa000;      // generated subroutines (a page) ...
constexpr uint64_t kFuncsEnd = kRam + 0xc000;   // ... and a variant of them
constexpr uint64_t kTables = kRam + 0xc000;     // Sv39 root, L1, L0
constexpr uint64_t kConsts = kRam + 0xf000;     // gp: constants (never stored to)
constexpr uint64_t kSave = kRam + 0xf800;       // mscratch: the handler's save area
constexpr uint64_t kData = kRam + 0x10000;      // 4 pages of data
constexpr uint64_t kDataPtr = kData + 0x2000;   // s0 (on a page boundary)
constexpr uint64_t kStackPtr = kData + 0x1800;  // sp
// In S- and U-mode RAM is mapped twice: identity (a gigapage) and at kAlias
// in 4 KiB pages, some of them read-only, unmapped, or without A/D bits.
// There the second page of subroutines is a copy of the first with other
// immediates, and S-mode programs swap the two in the kAlias window (and two
// data pages), with sfence.vma.
constexpr uint64_t kAlias = 0x40000000;
constexpr unsigned kReadOnlyPage = 0x14, kUnmappedPage = 0x15, kNoAdPage = 0x16;

// Constant pool slots (8 bytes each, at gp).
constexpr unsigned kBadAddresses = 16;  // slots 0..15: addresses that fault somewhere
constexpr unsigned kMaxFuncs = 8;
constexpr unsigned kFuncSlot = 16;                   // identity addresses of the subroutines
constexpr unsigned kAliasFuncSlot = 16 + kMaxFuncs;  // their kAlias addresses
constexpr unsigned kL0Slot = 16 + 2 * kMaxFuncs;     // the kAlias window's page table

// Handler save area: t5, t4, t3, then a hash of every trap and a trap count.
constexpr int kSaveHash = 24, kSaveCount = 32;

// Registers random instructions never write (they read them freely): return
// addresses, the two data pointers, the constant pool, the loop counter.
constexpr uint32_t kRa = 1, kSp = 2, kGp = 3, kS0 = 8, kS1 = 9;
constexpr uint32_t kReserved = (1u << kRa) | (1u << kSp) | (1u << kGp) | (1u << kS0) | (1u << kS1);

// ---- A small assembler with labels, on top of hart_test_support's ----
//
// Items are laid out in order from `origin`; org() moves to a higher address.
// Fix-ups name a label (plus an addend) and are resolved by layout().
class Asm {
 public:
  enum class Fix : uint8_t { kNone, kBranch, kCBranch, kJal, kCJ, kHi, kLoI };

  explicit Asm(uint64_t origin) : origin_(origin) {}

  int label() {
    labels_.push_back(-1);
    return static_cast<int>(labels_.size()) - 1;
  }
  void bind(int l) { labels_[l] = static_cast<int>(items_.size()); }
  size_t size() const { return items_.size(); }

  void w32(uint32_t w) { items_.push_back(Item{w, 4}); }
  void w16(uint16_t h) { items_.push_back(Item{h, 2}); }
  void org(uint64_t address) { items_.push_back(Item{0, 0, Fix::kNone, -1, 0, address}); }

  // Conditional branch (funct3 `f3`) to label + addend.
  void branch(uint32_t f3, uint32_t rs1, uint32_t rs2, int l, int32_t addend = 0) {
    items_.push_back(Item{as::B(0, rs2, rs1, f3), 4, Fix::kBranch, l, addend});
  }
  // c.beqz / c.bnez; rs1 in x8..x15.
  void cbranch(bool nez, uint32_t rs1, int l) {
    items_.push_back(Item{(nez ? 0xe001u : 0xc001u) | ((rs1 - 8) << 7), 2, Fix::kCBranch, l, 0});
  }
  void jal(uint32_t rd, int l, int32_t addend = 0) {
    items_.push_back(Item{as::jal(rd, 0), 4, Fix::kJal, l, addend});
  }
  void cj(int l) { items_.push_back(Item{0xa001, 2, Fix::kCJ, l, 0}); }
  // auipc rd, %pcrel_hi(label + addend); then `lo` (an I-type instruction
  // whose immediate becomes %pcrel_lo): addi rd, rd, lo or jalr x, lo(rd).
  void pcrel(uint32_t rd, int l, int32_t addend, uint32_t lo_insn) {
    items_.push_back(Item{as::auipc(rd, 0), 4, Fix::kHi, l, addend});
    items_.push_back(Item{lo_insn & 0x000fffffu, 4, Fix::kLoI, l, addend});
  }

  // Assigns addresses and resolves fix-ups; false if a target is out of range
  // or the code overflows `limit` (the generator then tries another layout).
  bool layout(uint64_t limit) {
    addr_.assign(items_.size() + 1, 0);
    uint64_t a = origin_;
    for (size_t i = 0; i < items_.size(); ++i) {
      if (items_[i].len == 0 && items_[i].org != 0) {
        if (items_[i].org < a) return false;
        a = items_[i].org;
      }
      addr_[i] = a;
      a += items_[i].len;
    }
    addr_[items_.size()] = a;
    end_ = a;
    if (a > limit) return false;
    for (size_t i = 0; i < items_.size(); ++i) {
      Item& it = items_[i];
      if (it.fix == Fix::kNone) continue;
      const int64_t target = static_cast<int64_t>(address(it.target)) + it.addend;
      int64_t off = target - static_cast<int64_t>(addr_[i]);
      switch (it.fix) {
        case Fix::kBranch:
          if (off < -4096 || off > 4094) return false;
          it.bits |= as::B(static_cast<int32_t>(off), 0, 0, 0) & ~0x7fu;
          break;
        case Fix::kCBranch:
          if (off < -256 || off > 254) return false;
          it.bits |= cb_imm(static_cast<int32_t>(off));
          break;
        case Fix::kJal:
          if (off < -(1 << 20) || off >= (1 << 20)) return false;
          it.bits |= as::J(static_cast<int32_t>(off), 0) & ~0x7fu;
          break;
        case Fix::kCJ:
          if (off < -2048 || off > 2046) return false;
          it.bits |= cj_imm(static_cast<int32_t>(off));
          break;
        case Fix::kHi:
          it.bits |= static_cast<uint32_t>(((off + 0x800) >> 12) & 0xfffff) << 12;
          break;
        case Fix::kLoI: {
          off = target - static_cast<int64_t>(addr_[i - 1]);  // relative to the auipc
          const int64_t lo = off - (((off + 0x800) >> 12) << 12);
          it.bits |= static_cast<uint32_t>(lo & 0xfff) << 20;
          break;
        }
        case Fix::kNone: break;
      }
    }
    return true;
  }

  uint64_t address(int l) const { return addr_[static_cast<size_t>(labels_[l])]; }
  uint64_t end() const { return end_; }

  // Writes the laid-out code into `image` (which starts at kRam).
  void write(std::vector<uint8_t>& image) const {
    for (size_t i = 0; i < items_.size(); ++i) {
      const uint64_t off = addr_[i] - kRam;
      for (unsigned b = 0; b < items_[i].len; ++b)
        image.at(off + b) = static_cast<uint8_t>(items_[i].bits >> (8 * b));
    }
  }

  // RVC branch and jump immediates (unprivileged spec, "Control Transfer
  // Instructions" of the C extension).
  static uint32_t cb_imm(int32_t off) {
    const auto u = static_cast<uint32_t>(off);
    return (((u >> 8) & 1) << 12) | (((u >> 3) & 3) << 10) | (((u >> 6) & 3) << 5) |
           (((u >> 1) & 3) << 3) | (((u >> 5) & 1) << 2);
  }
  static uint32_t cj_imm(int32_t off) {
    const auto u = static_cast<uint32_t>(off);
    return (((u >> 11) & 1) << 12) | (((u >> 4) & 1) << 11) | (((u >> 8) & 3) << 9) |
           (((u >> 10) & 1) << 8) | (((u >> 6) & 1) << 7) | (((u >> 7) & 1) << 6) |
           (((u >> 1) & 7) << 3) | (((u >> 5) & 1) << 2);
  }

 private:
  struct Item {
    uint32_t bits = 0;
    uint8_t len = 4;  // 0: an org marker
    Fix fix = Fix::kNone;
    int target = -1;
    int32_t addend = 0;
    uint64_t org = 0;
  };
  uint64_t origin_;
  std::vector<Item> items_;
  std::vector<int> labels_;
  std::vector<uint64_t> addr_;
  uint64_t end_ = 0;
};

// ---- More encodings ----
constexpr uint32_t andi(uint32_t rd, uint32_t rs1, int32_t imm) {
  return as::I(imm, rs1, 7, rd, 0x13);
}
constexpr uint32_t orr(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return as::R(0, rs2, rs1, 6, rd, 0x33);
}
constexpr uint32_t xorr(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return as::R(0, rs2, rs1, 4, rd, 0x33);
}
constexpr uint32_t lhu(uint32_t rd, uint32_t rs1, int32_t imm) {
  return as::I(imm, rs1, 5, rd, 0x03);
}
constexpr uint32_t amo(uint32_t funct5, bool dword, uint32_t rd, uint32_t rs2, uint32_t rs1,
                       uint32_t aqrl) {
  return as::R((funct5 << 2) | aqrl, rs2, rs1, dword ? 3 : 2, rd, 0x2f);
}
constexpr uint32_t kCsrFrm = csr::kFrm, kCsrFflags = csr::kFflags, kCsrFcsr = csr::kFcsr;
constexpr uint32_t kFsBits = 0x6000;  // mstatus.FS

// The 32-bit constant `v` into rd (lui + addiw); the low 32 bits are exact.
void li32(Asm& a, uint32_t rd, uint32_t v) {
  const uint32_t hi = ((v + 0x800) >> 12) & 0xfffff;
  const auto lo = static_cast<int32_t>(v << 20) >> 20;
  a.w32(as::lui(rd, hi));
  a.w32(as::addiw(rd, rd, lo));
}

// ---- The trap handler (M-mode, at kHandler) ----
//
// Every trap is folded into a hash at kSave + kSaveHash (cause and tval) and
// counted. Exceptions resume after the faulting instruction (its length read
// from memory); instruction fetch faults resume at ra (they come from calls);
// interrupts return with MPIE cleared, so they stay off until the program
// sets mstatus.MIE again.
void assemble_handler(Asm& a) {
  using namespace as;
  const int fetch_fault = a.label(), phys = a.label(), set = a.label(), out = a.label(),
            exception = a.label();
  a.w32(csrrw(t6, csr::kMscratch, t6));
  a.w32(sd(t5, t6, 0));
  a.w32(sd(t4, t6, 8));
  a.w32(sd(t3, t6, 16));
  a.w32(csrr(t5, csr::kMcause));
  a.w32(csrr(t4, csr::kMtval));
  a.w32(ld(t3, t6, kSaveHash));
  a.w32(rori(t3, t3, 7));
  a.w32(xorr(t3, t3, t5));
  a.w32(add(t3, t3, t4));
  a.w32(sd(t3, t6, kSaveHash));
  a.w32(ld(t3, t6, kSaveCount));
  a.w32(addi(t3, t3, 1));
  a.w32(sd(t3, t6, kSaveCount));
  a.branch(5, t5, zero, exception);  // bge: not an interrupt
  a.w32(addi(t3, zero, 0x80));       // mstatus.MPIE
  a.w32(csrrc(zero, csr::kMstatus, t3));
  a.jal(zero, out);
  a.bind(exception);
  a.w32(addi(t3, t5, -static_cast<int32_t>(cause::kInsnAccess)));
  a.branch(0, t3, zero, fetch_fault);
  a.w32(addi(t3, t5, -static_cast<int32_t>(cause::kInsnPageFault)));
  a.branch(0, t3, zero, fetch_fault);
  a.w32(csrr(t4, csr::kMepc));
  a.w32(addi(t5, t4, 0));
  // An address in the kAlias window reads the same RAM 0x40000000 higher.
  a.w32(srli(t3, t4, 30));
  a.w32(addi(t3, t3, -1));
  a.branch(1, t3, zero, phys);
  a.w32(lui(t3, 0x40000));
  a.w32(add(t5, t5, t3));
  a.bind(phys);
  a.w32(lhu(t5, t5, 0));
  a.w32(andi(t5, t5, 3));
  a.w32(addi(t5, t5, -3));
  a.w32(addi(t4, t4, 2));
  a.branch(1, t5, zero, set);  // a 16-bit instruction
  a.w32(addi(t4, t4, 2));
  a.bind(set);
  a.w32(csrw(csr::kMepc, t4));
  a.jal(zero, out);
  a.bind(fetch_fault);
  a.w32(csrw(csr::kMepc, ra));
  a.bind(out);
  a.w32(ld(t3, t6, 16));
  a.w32(ld(t4, t6, 8));
  a.w32(ld(t5, t6, 0));
  a.w32(csrrw(t6, csr::kMscratch, t6));
  a.w32(kMret);
}

// The stub the hart starts at: CSRs from registers, then mret to the program.
constexpr uint32_t kStubCode[] = {as::csrw(csr::kMtvec, as::t0),
                                  as::csrw(csr::kMscratch, as::t1),
                                  as::csrw(csr::kMstatus, as::t2),
                                  as::csrw(csr::kSatp, as::t3),
                                  as::csrw(csr::kMepc, as::t4),
                                  as::csrw(csr::kMcounteren, as::t5),
                                  as::csrw(csr::kScounteren, as::t6),
                                  as::csrw(csr::kMie, as::a0),
                                  as::kMret};
constexpr unsigned kStubLength = sizeof(kStubCode) / sizeof(kStubCode[0]);

struct StubArgs {
  Priv priv = Priv::kMachine;
  uint64_t entry = kCode;
  uint64_t mstatus = 0;  // without MPP
  uint64_t satp = 0;
  uint64_t mie = 0;
};

// ---- A program: a RAM image and how to start it ----
struct Program {
  std::vector<uint8_t> image = std::vector<uint8_t>(kRamSize, 0);
  StubArgs stub;
  std::array<uint64_t, 32> x{};
  std::array<uint64_t, 32> f{};
  uint32_t fflags = 0, frm = 0;
  uint64_t pins = 0;
  uint64_t end_pc = 0;  // a `j .` the program ends in (0: none)

  void put64(uint64_t gpa, uint64_t v) {
    for (unsigned i = 0; i < 8; ++i) image.at(gpa - kRam + i) = static_cast<uint8_t>(v >> (8 * i));
  }
  void put32(uint64_t gpa, uint32_t v) {
    for (unsigned i = 0; i < 4; ++i) image.at(gpa - kRam + i) = static_cast<uint8_t>(v >> (8 * i));
  }
};

// Writes the stub and the handler, and fills the save area.
void add_runtime(Program& p) {
  for (unsigned i = 0; i < kStubLength; ++i) p.put32(kStub + 4 * i, kStubCode[i]);
  Asm h(kHandler);
  assemble_handler(h);
  EXPECT_TRUE(h.layout(kHandler + 0x1000));
  h.write(p.image);
}

// Sv39 tables for S/U programs: RAM's gigapage identity-mapped, and RAM again
// at kAlias in 4 KiB pages with the odd ones listed at kReadOnlyPage.
void add_page_tables(Program& p, bool user) {
  constexpr uint64_t V = 1, R = 2, W = 4, X = 8, U = 16, A = 64, D = 128;
  const uint64_t u = user ? U : 0;
  auto pte = [](uint64_t pa, uint64_t flags) { return ((pa >> 12) << 10) | flags; };
  const uint64_t root = kTables, l1 = kTables + 0x1000, l0 = kTables + 0x2000;
  p.put64(root + 2 * 8, pte(kRam & ~uint64_t{0x3fffffff}, V | R | W | X | A | D | u));
  p.put64(root + 1 * 8, pte(l1, V));
  p.put64(l1 + 0 * 8, pte(l0, V));
  for (uint64_t i = 0; i < kRamSize / 4096; ++i) {
    uint64_t flags = V | R | W | X | A | D | u;
    if (i == kReadOnlyPage) flags = V | R | A | u;
    if (i == kUnmappedPage) flags = 0;
    if (i == kNoAdPage) flags = V | R | W | u;
    if (i >= (kFuncs - kRam) / 4096 && i < (kFuncsEnd - kRam) / 4096) flags = V | R | X | A | u;
    p.put64(l0 + 8 * i, pte(kRam + 4096 * i, flags));
  }
  p.stub.satp = (uint64_t{8} << 60) | (root >> 12);
}

// ---- The random program generator ----
class Generator {
 public:
  Generator(uint64_t seed, Priv priv) : rng_(seed), priv_(priv), a_(kCode) {}

  // False if the layout failed (a branch out of range); try another seed.
  bool generate(Program& p) {
    const bool paged = priv_ != Priv::kMachine;
    const uint64_t window = paged ? kAlias - kRam : 0;  // where s0/sp point
    funcs_ = 2 + static_cast<unsigned>(rnd(kMaxFuncs - 1));
    for (unsigned i = 0; i < funcs_; ++i) {
      func_label_.push_back(a_.label());
      func_patch_.push_back(a_.label());
    }

    // Main code: segments until the code region is nearly full.
    const size_t target_items = 500 + rnd(1500);
    while (a_.size() < target_items) segment(0, -1);
    const int end = a_.label();
    a_.bind(end);
    a_.w32(as::jal(as::zero, 0));  // j .

    a_.org(kFuncs);
    for (unsigned i = 0; i < funcs_; ++i) {
      a_.bind(func_label_[i]);
      straight(static_cast<int>(rnd(6)));
      a_.bind(func_patch_[i]);
      a_.w32(as::addi(free_reg(), free_reg(), static_cast<int32_t>(rnd(4096)) - 2048));
      straight(static_cast<int>(rnd(6)));
      if (rnd(2) != 0) {
        a_.w16(0x8082);  // c.jr ra
      } else {
        a_.w32(as::jalr(as::zero, kRa, 0));
      }
    }
    if (!a_.layout(kFuncs + 0x1000)) return false;  // one page of subroutines
    a_.write(p.image);
    // Their second page: the same code with other immediates in the patch
    // slots, for remap() to swap in.
    for (uint64_t i = 0; i < 0x1000; ++i)
      p.image[kFuncs - kRam + 0x1000 + i] = p.image[kFuncs - kRam + i];
    for (unsigned i = 0; i < funcs_; ++i)
      p.put32(a_.address(func_patch_[i]) + 0x1000,
              as::addi(free_reg(), free_reg(), static_cast<int32_t>(rnd(4096)) - 2048));
    p.end_pc = a_.address(end);

    add_runtime(p);
    // Constants at gp: addresses that fault (somewhere), then the subroutines.
    const uint64_t bad[kBadAddresses] = {0,
                                         0x1000,
                                         0x2000000,
                                         0x10000000,
                                         0x7ffffff8,
                                         kRam + kRamSize,
                                         kRam + kRamSize - 4,
                                         0xfffffffffffff800,
                                         0x8000000000000000,
                                         kAlias + kReadOnlyPage * 4096,
                                         kAlias + kUnmappedPage * 4096,
                                         kAlias + kUnmappedPage * 4096 - 4,
                                         kAlias + kNoAdPage * 4096,
                                         0x0000004000000000,
                                         kRam - 4,
                                         0x003ffffffffff000};
    for (unsigned i = 0; i < kBadAddresses; ++i) p.put64(kConsts + 8 * i, bad[i]);
    for (unsigned i = 0; i < funcs_; ++i) {
      p.put64(kConsts + 8 * (kFuncSlot + i), a_.address(func_label_[i]));
      p.put64(kConsts + 8 * (kAliasFuncSlot + i), a_.address(func_label_[i]) - kRam + kAlias);
    }
    p.put64(kConsts + 8 * kL0Slot, kTables + 0x2000);
    // Data: random bytes, some runs of interesting patterns.
    for (uint64_t i = 0; i < 0x4000; i += 8) {
      p.put64(kData + i, rnd(4) == 0 ? special() : rng_());
    }

    p.stub.priv = priv_;
    p.stub.entry = kCode;
    const uint64_t fs = rnd(8) == 0 ? 0 : (1 + rnd(3)) << 13;
    p.stub.mstatus = fs;
    if (paged) add_page_tables(p, priv_ == Priv::kUser);
    if (priv_ == Priv::kMachine && rnd(2) != 0) {
      // Pending interrupts the program lets in whenever it sets mstatus.MIE.
      p.stub.mie = irq::kMsip | irq::kMtip | irq::kMeip | irq::kSsip;
      p.pins = rnd(2) != 0 ? irq::kMtip : 0;
    }
    for (unsigned r = 0; r < 32; ++r) p.x[r] = special();
    p.x[0] = 0;
    p.x[kRa] = kCode;
    p.x[kSp] = kStackPtr + window;
    p.x[kGp] = kConsts;
    p.x[kS0] = kDataPtr + window;
    p.x[kS1] = 0;
    for (auto& v : p.f) v = fp_special();
    p.frm = static_cast<uint32_t>(rnd(5));
    p.fflags = static_cast<uint32_t>(rnd(32));
    return true;
  }

 private:
  uint64_t rnd(uint64_t n) { return rng_() % n; }
  bool chance(unsigned percent) { return rnd(100) < percent; }

  uint64_t special() {
    static constexpr uint64_t kValues[] = {
        0,          1,          ~uint64_t{0}, 0x8000000000000000, 0x7fffffffffffffff,
        0x80000000, 0x7fffffff, 0xffffffff,   0xffffffff80000000, 63,
        64,         31,         32,           0x100000000,        2,
        0xfff};
    switch (rnd(4)) {
      case 0: return kValues[rnd(sizeof(kValues) / sizeof(kValues[0]))];
      case 1: return rnd(4096) - 2048;
      default: return rng_();
    }
  }
  uint64_t fp_special() {
    static constexpr uint64_t kValues[] = {0,
                                           0x8000000000000000,
                                           0x3ff0000000000000,
                                           0xbff8000000000000,
                                           0x7ff0000000000000,
                                           0xfff0000000000000,
                                           0x7ff8000000000000,
                                           0x7ff4000000000000,
                                           0x0000000000000001,
                                           0x7fefffffffffffff,
                                           0x43e0000000000000,
                                           0xc3e0000000000000,
                                           0xffffffff3f800000,
                                           0xffffffff7f800000,
                                           0xffffffff7fc00000,
                                           0xffffffff7fa00000,
                                           0xffffffff00000001,
                                           0xffffffff4f000000,
                                           0xffffffffcf000000,
                                           0x000000003f800000,
                                           0xffffffff80000000,
                                           0x41dfffffffc00000,
                                           0xc1e0000000000000,
                                           0x3fe0000000000000};
    if (rnd(3) == 0) return rng_();
    return kValues[rnd(sizeof(kValues) / sizeof(kValues[0]))];
  }

  uint32_t any_reg() { return static_cast<uint32_t>(rnd(32)); }
  uint32_t free_reg() {
    for (;;) {
      const auto r = static_cast<uint32_t>(1 + rnd(31));
      if (((kReserved >> r) & 1) == 0) return r;
    }
  }
  bool writable(const DecodedInsn& d) const {
    return d.rd == kZeroSink || (d.rd < 32 && ((kReserved >> d.rd) & 1) == 0);
  }

  static bool alu_op(Op op) {
    switch (op) {
      case Op::ILLEGAL:
      case Op::UNDECODED:
      case Op::JAL:
      case Op::JALR:
      case Op::BEQ:
      case Op::BNE:
      case Op::BLT:
      case Op::BGE:
      case Op::BLTU:
      case Op::BGEU:
      case Op::LB:
      case Op::LH:
      case Op::LW:
      case Op::LD:
      case Op::LBU:
      case Op::LHU:
      case Op::LWU:
      case Op::SB:
      case Op::SH:
      case Op::SW:
      case Op::SD: return false;
      default: return op >= Op::NOP && op < Op::LR_W ? true : op >= Op::SH1ADD;
    }
  }

  // A random integer computational instruction (RV64IM, Zba, Zbb, Zbs, W
  // forms, lui/auipc), drawn from the encoding space and kept if the decoder
  // takes it.
  uint32_t alu32() {
    static constexpr uint32_t kFunct7[] = {0x00, 0x20, 0x01, 0x05, 0x10, 0x04,
                                           0x14, 0x24, 0x34, 0x30, 0x00, 0x01};
    static constexpr uint32_t kImmHigh[] = {0x000, 0x400, 0x600, 0x280, 0x480, 0x680, 0x080};
    static constexpr uint32_t kUnary[] = {0x600, 0x601, 0x602, 0x604, 0x605, 0x6b8, 0x287};
    for (;;) {
      const uint32_t rd = free_reg(), rs1 = any_reg(), rs2 = any_reg();
      const auto f3 = static_cast<uint32_t>(rnd(8));
      uint32_t w = 0;
      switch (rnd(8)) {
        case 0:
        case 1: w = as::R(kFunct7[rnd(12)], rs2, rs1, f3, rd, 0x33); break;
        case 2: w = as::R(kFunct7[rnd(12)], rs2, rs1, f3, rd, 0x3b); break;
        case 3: {
          uint32_t imm = static_cast<uint32_t>(rnd(4096));
          if (f3 == 1 || f3 == 5) imm = kImmHigh[rnd(7)] | static_cast<uint32_t>(rnd(64));
          if (f3 == 1 && rnd(3) == 0) imm = kUnary[rnd(5)];
          if (f3 == 5 && rnd(3) == 0) imm = kUnary[5 + rnd(2)];
          w = as::I(static_cast<int32_t>(imm), rs1, f3, rd, 0x13);
          break;
        }
        case 4: {
          uint32_t imm = static_cast<uint32_t>(rnd(4096));
          if (f3 == 1 || f3 == 5) imm = kImmHigh[rnd(7)] | static_cast<uint32_t>(rnd(32));
          if (f3 == 1 && rnd(2) == 0)
            imm = (rnd(2) != 0 ? 0x600 : 0x080) | static_cast<uint32_t>(rnd(6));
          w = as::I(static_cast<int32_t>(imm), rs1, f3, rd, 0x1b);
          break;
        }
        case 5: w = as::lui(rd, static_cast<uint32_t>(rnd(1 << 20))); break;
        case 6: w = as::auipc(rd, static_cast<uint32_t>(rnd(1 << 20))); break;
        default:
          if (rnd(8) == 0) {
            w = as::R(0x04, 0, rs1, 4, rd, 0x3b);  // zext.h
            break;
          }
          w = as::R(rnd(2) != 0 ? 0x01 : 0x00, rs2, rs1, f3, rd, rnd(2) != 0 ? 0x33 : 0x3b);
      }
      const DecodedInsn d = decode(w, 0);
      if (alu_op(d.op) && writable(d)) return w;
    }
  }

  // A random 16-bit instruction (any quadrant) the program may execute:
  // arithmetic, loads from anywhere, stores through s0 or sp only, c.ebreak
  // and the odd illegal one; no control transfers.
  uint16_t compressed(bool traps_too) {
    for (;;) {
      auto h = static_cast<uint16_t>(rng_());
      if ((h & 3) == 3) h ^= static_cast<uint16_t>(1 + rnd(2));
      const DecodedInsn d = decode(h, 0);
      switch (d.op) {
        case Op::ILLEGAL:
        case Op::EBREAK:
          if (traps_too && chance(3)) return h;
          continue;
        case Op::SW:
        case Op::SD:
        case Op::FSD:
          if (d.rs1 == kS0 || d.rs1 == kSp) return h;
          continue;
        case Op::FLD: return h;
        case Op::LW:
        case Op::LD:
          if (writable(d)) return h;
          continue;
        default:
          if (alu_op(d.op) && d.op != Op::AUIPC && writable(d)) return h;
          continue;
      }
    }
  }

  // A base register and immediate for an access to the data area: s0 or sp
  // plus a 12-bit offset, or s0 plus a data-dependent pointer.
  void data_address(uint32_t& base, int32_t& imm) {
    imm = static_cast<int32_t>(rnd(4096)) - 2048;
    if (chance(25)) imm = static_cast<int32_t>(rnd(64)) - 32 + (rnd(2) != 0 ? 0 : -2048 + 4);
    switch (rnd(3)) {
      case 0: base = kS0; break;
      case 1: base = kSp; break;
      default:
        base = free_reg();
        a_.w32(andi(base, any_reg(), 0x7ff));
        a_.w32(as::add(base, base, kS0));
        imm = static_cast<int32_t>(rnd(4096)) - 2048;
        if (imm > 2047 - 8) imm = 2047 - 8;
    }
  }

  void load() {
    uint32_t base;
    int32_t imm;
    if (chance(5)) {
      base = any_reg();  // anywhere at all: a fault or a harmless read
      imm = static_cast<int32_t>(rnd(4096)) - 2048;
    } else {
      data_address(base, imm);
    }
    uint32_t f3 = static_cast<uint32_t>(rnd(7));
    a_.w32(as::I(imm, base, f3, free_reg(), 0x03));
  }
  void store() {
    uint32_t base;
    int32_t imm;
    data_address(base, imm);
    a_.w32(as::S(imm, any_reg(), base, static_cast<uint32_t>(rnd(4)), 0x23));
  }
  void fp_load_store() {
    uint32_t base;
    int32_t imm;
    data_address(base, imm);
    const uint32_t f3 = rnd(2) != 0 ? 3 : 2;
    if (rnd(2) != 0) {
      a_.w32(as::I(imm, base, f3, any_reg(), 0x07));
    } else {
      a_.w32(as::S(imm, any_reg(), base, f3, 0x27));
    }
  }
  // A load or store (integer, FP or atomic) at one of the addresses that
  // fault somewhere (the constant pool's first slots).
  void bad_access() {
    const uint32_t p = free_reg();
    a_.w32(as::ld(p, kGp, static_cast<int32_t>(8 * rnd(kBadAddresses))));
    const int32_t imm = rnd(2) != 0 ? 0 : static_cast<int32_t>(rnd(16)) - 8;
    switch (rnd(5)) {
      case 0: a_.w32(as::I(imm, p, static_cast<uint32_t>(rnd(7)), free_reg(), 0x03)); break;
      case 1: a_.w32(as::S(imm, any_reg(), p, static_cast<uint32_t>(rnd(4)), 0x23)); break;
      case 2: a_.w32(as::I(imm, p, rnd(2) != 0 ? 3 : 2, any_reg(), 0x07)); break;
      case 3: a_.w32(as::S(imm, any_reg(), p, rnd(2) != 0 ? 3 : 2, 0x27)); break;
      default: a_.w32(amo(rnd(2) != 0 ? 0x00 : 0x01, rnd(2) != 0, free_reg(), any_reg(), p, 0));
    }
  }

  // F/D computational instructions, any rounding mode (5 and 6 are illegal,
  // 7 takes frm, which may be illegal too).
  void fp_op() {
    static constexpr uint32_t kFunct5[] = {0x00, 0x01, 0x02, 0x03, 0x0b, 0x04, 0x05, 0x14,
                                           0x18, 0x1a, 0x1c, 0x1e, 0x08, 0x14, 0x00, 0x02};
    for (;;) {
      uint32_t w;
      const uint32_t fmt = static_cast<uint32_t>(rnd(2));
      const uint32_t rm = rnd(4) == 0 ? static_cast<uint32_t>(rnd(8)) : (rnd(2) != 0 ? 7 : 0);
      const uint32_t rd = rnd(2) != 0 ? any_reg() : free_reg();
      if (chance(15)) {
        static constexpr uint32_t kFma[] = {0x43, 0x47, 0x4b, 0x4f};
        w = (any_reg() << 27) | (fmt << 25) | (any_reg() << 20) | (any_reg() << 15) | (rm << 12) |
            (rd << 7) | kFma[rnd(4)];
      } else {
        const uint32_t funct5 = kFunct5[rnd(16)];
        uint32_t rs2 = any_reg();
        if (funct5 == 0x18 || funct5 == 0x1a || funct5 == 0x08) rs2 = static_cast<uint32_t>(rnd(4));
        if (funct5 == 0x0b || funct5 == 0x1c || funct5 == 0x1e) rs2 = 0;
        uint32_t f3 = rm;
        if (funct5 == 0x04) f3 = static_cast<uint32_t>(rnd(3));
        if (funct5 == 0x05 || funct5 == 0x1c) f3 = static_cast<uint32_t>(rnd(2));
        if (funct5 == 0x14) f3 = static_cast<uint32_t>(rnd(3));
        if (funct5 == 0x1e) f3 = 0;
        w = (funct5 << 27) | (fmt << 25) | (rs2 << 20) | (any_reg() << 15) | (f3 << 12) |
            (rd << 7) | 0x53;
      }
      const DecodedInsn d = decode(w, 0);
      if (d.op != Op::FP) continue;
      if (fp_writes_x(static_cast<FpOp>(d.aux)) && !writable(d)) continue;
      a_.w32(w);
      return;
    }
  }

  void csr_access() {
    // Readable in every mode (with the counters enabled), then in S, then in M.
    static constexpr uint32_t kReadable[] = {
        csr::kFflags, csr::kFrm,        csr::kFcsr,    csr::kCycle,   csr::kInstret,
        csr::kTime,   csr::kSstatus,    csr::kSie,     csr::kSip,     csr::kSepc,
        csr::kSatp,   csr::kScounteren, csr::kMstatus, csr::kMisa,    csr::kMhartid,
        csr::kMepc,   csr::kMcause,     csr::kMtval,   csr::kMtvec,   csr::kMie,
        csr::kMip,    csr::kMinstret,   csr::kMcycle,  csr::kMedeleg, 0x7c0 /* none */};
    const uint64_t allowed = priv_ == Priv::kUser ? 6 : priv_ == Priv::kSupervisor ? 12 : 25;
    const uint32_t rd = free_reg();
    switch (rnd(12)) {
      case 0:
        // frm 5 to 7 make dynamic rounding illegal until the next write.
        a_.w32(as::csrrwi(rd, kCsrFrm, static_cast<uint32_t>(rnd(4) == 0 ? rnd(8) : rnd(5))));
        break;
      case 1: a_.w32(as::csrrwi(rd, kCsrFflags, static_cast<uint32_t>(rnd(32)))); break;
      case 2: a_.w32(as::csrrw(rd, kCsrFcsr, any_reg())); break;
      case 3: a_.w32(as::csrrc(rd, kCsrFflags, any_reg())); break;
      case 4:
        // FS off, or on again (sstatus: M and S may write it, U traps).
        a_.w32(as::lui(rd, kFsBits >> 12));
        a_.w32(rnd(4) == 0 ? as::csrrc(as::zero, csr::kSstatus, rd)
                           : as::csrrs(as::zero, csr::kSstatus, rd));
        break;
      case 5:
        // Interrupts on (M-mode: the handler turns them off again).
        a_.w32(as::csrrsi(rd, csr::kMstatus, 8));
        break;
      case 6:
        if (chance(30)) {
          a_.w32(as::csrrw(rd, rnd(2) != 0 ? csr::kMinstret : csr::kMcycle, any_reg()));
          break;
        }
        [[fallthrough]];
      default: {
        const uint64_t n = chance(10) ? sizeof(kReadable) / sizeof(kReadable[0]) : allowed;
        a_.w32(as::csrrs(rd, kReadable[rnd(n)], as::zero));
      }
    }
  }

  void trap() {
    switch (rnd(6)) {
      case 0: a_.w32(as::kEcall); break;
      case 1: a_.w32(as::kEbreak); break;
      case 2: a_.w16(0x9002); break;                                   // c.ebreak
      case 3: a_.w16(0x0000); break;                                   // c.unimp
      case 4: a_.w32(0x0000000b); break;                               // custom-0: illegal
      default: a_.w32(as::csrw(csr::kMisa + 0x400, as::zero)); break;  // no such CSR
    }
  }

  void atomic() {
    const uint32_t p = free_reg();
    int32_t off = 8 * (static_cast<int32_t>(rnd(64)) - 32);
    if (chance(10)) off += static_cast<int32_t>(1 + rnd(7));  // misaligned: a trap
    a_.w32(as::addi(p, kS0, off));
    static constexpr uint32_t kFunct5[] = {0x00, 0x01, 0x04, 0x0c, 0x08, 0x10, 0x14, 0x18, 0x1c};
    const bool dword = rnd(2) != 0;
    if (rnd(4) == 0) {
      const uint32_t rd = free_reg();
      a_.w32(amo(0x02, dword, rd, 0, p, 0));  // lr
      if (rnd(2) != 0) a_.w32(as::addi(rd, rd, 1));
      a_.w32(amo(0x03, dword, free_reg(), any_reg(), p, static_cast<uint32_t>(rnd(4))));  // sc
    } else {
      a_.w32(amo(kFunct5[rnd(9)], dword, free_reg(), any_reg(), p, static_cast<uint32_t>(rnd(4))));
    }
  }

  void random_insn() {
    const uint64_t r = rnd(100);
    if (r < 30) {
      a_.w32(alu32());
    } else if (r < 46) {
      a_.w16(compressed(true));
    } else if (r < 57) {
      load();
    } else if (r < 66) {
      store();
    } else if (r < 72) {
      fp_load_store();
    } else if (r < 83) {
      fp_op();
    } else if (r < 86) {
      csr_access();
    } else if (r < 87) {
      trap();
    } else if (r < 89) {
      atomic();
    } else if (r < 90) {
      a_.w32(rnd(2) != 0 ? as::kFenceI : 0x0ff0000f);  // fence.i, fence
    } else if (r < 91) {
      bad_access();
    } else {
      a_.w32(alu32());
    }
  }
  void straight(int n) {
    for (int i = 0; i < n; ++i) random_insn();
  }

  // Branches and jumps over code; the skipped code may be any bits at all.
  void forward_branch(int depth) {
    const int over = a_.label();
    static constexpr uint32_t kConds[] = {0, 1, 4, 5, 6, 7};
    if (chance(25)) {
      a_.cbranch(rnd(2) != 0, 8 + static_cast<uint32_t>(rnd(8)), over);
      straight(1 + static_cast<int>(rnd(10)));
    } else {
      a_.branch(kConds[rnd(6)], any_reg(), any_reg(), over);
      const int n = 1 + static_cast<int>(rnd(4));
      for (int i = 0; i < n; ++i) segment(depth + 1, -1);
    }
    a_.bind(over);
  }
  void forward_jump() {
    const int over = a_.label();
    switch (rnd(4)) {
      case 0: a_.jal(rnd(2) != 0 ? as::zero : free_reg(), over); break;
      case 1: a_.cj(over); break;
      default: {
        const uint32_t t = free_reg();
        // jalr ignores bit 0 of the target: +1 sometimes.
        a_.pcrel(t, over, static_cast<int32_t>(rnd(2)),
                 as::jalr(rnd(2) != 0 ? as::zero : free_reg(), t, 0));
      }
    }
    const int junk = 1 + static_cast<int>(rnd(6));
    for (int i = 0; i < junk; ++i) a_.w16(static_cast<uint16_t>(rng_()));
    a_.bind(over);
  }
  // lui rd, imm whose upper half is itself a compressed instruction; a branch
  // decides whether it runs as the lui or from its middle.
  void middle_of_insn() {
    const int m = a_.label();
    const uint16_t hidden = compressed(true);
    if (rnd(3) == 0) {
      a_.jal(as::zero, m, 2);
    } else {
      static constexpr uint32_t kConds[] = {0, 1, 4, 5, 6, 7};
      a_.branch(kConds[rnd(6)], any_reg(), any_reg(), m, 2);
    }
    a_.bind(m);
    a_.w32(as::lui(free_reg(), (uint32_t{hidden} << 4) | static_cast<uint32_t>(rnd(16))));
  }

  // Rewrites the 4-byte instruction at `target` (two halfword stores through
  // a pc-relative pointer) with a fresh one, or, in a loop, with addi rX,
  // rX, s1 (a different instruction every iteration).
  void patch(int target, bool per_iteration) {
    const uint32_t t = free_reg();
    uint32_t v = free_reg();
    while (v == t) v = free_reg();
    a_.pcrel(t, target, 0, as::addi(t, t, 0));
    if (per_iteration) {
      uint32_t w = free_reg();
      while (w == t || w == v) w = free_reg();
      const uint32_t r = free_reg();
      a_.w32(as::slli(v, kS1, 20));
      li32(a_, w, as::addi(r, r, 0));
      a_.w32(orr(v, v, w));
    } else {
      li32(a_, v, rnd(4) == 0 ? as::kEcall : alu32());
    }
    a_.w32(as::sh(v, t, 0));
    a_.w32(as::srli(v, v, 16));
    a_.w32(as::sh(v, t, 2));
    if (chance(30)) a_.w32(as::kFenceI);
  }
  void self_modify(int loop_slot) {
    if (loop_slot >= 0 && rnd(2) != 0) {
      patch(loop_slot, true);  // an instruction this loop has run already
      return;
    }
    if (rnd(3) == 0) {
      patch(func_patch_[rnd(funcs_)], rnd(2) != 0 && loop_slot >= 0);
      return;
    }
    const int target = a_.label();
    patch(target, false);
    straight(static_cast<int>(rnd(4)));
    a_.bind(target);
    a_.w32(alu32());
  }

  void call() {
    const unsigned f = static_cast<unsigned>(rnd(funcs_));
    const uint32_t t = free_reg();
    switch (rnd(5)) {
      case 0:
      case 1: a_.jal(kRa, func_label_[f]); break;
      case 2:
        a_.w32(as::ld(t, kGp, static_cast<int32_t>(8 * (kFuncSlot + f))));
        a_.w32(as::jalr(kRa, t, 0));
        break;
      case 3:
        // Through the alias mapping (a fetch fault in M-mode).
        a_.w32(as::ld(t, kGp, static_cast<int32_t>(8 * (kAliasFuncSlot + f))));
        a_.w16(static_cast<uint16_t>(0x9002 | (t << 7)));  // c.jalr t
        break;
      default: {
        // Code at an address that faults: the handler returns to ra. (Not
        // the slots next to RAM: the code there would run.)
        static constexpr unsigned kNoCode[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 15};
        a_.w32(as::ld(t, kGp, static_cast<int32_t>(8 * kNoCode[rnd(14)])));
        a_.w32(as::jalr(kRa, t, static_cast<int32_t>(2 * rnd(4))));
      }
    }
  }

  void loop() {
    a_.w32(as::addi(kS1, as::zero, 1 + static_cast<int32_t>(rnd(rnd(4) == 0 ? 40 : 12))));
    const int top = a_.label(), done = a_.label();
    a_.bind(top);
    int slot = -1;
    if (chance(40)) {
      slot = a_.label();
      a_.bind(slot);
      a_.w32(as::addi(free_reg(), free_reg(), 1));
    }
    const size_t start = a_.size();
    const int n = 1 + static_cast<int>(rnd(5));
    for (int i = 0; i < n; ++i) segment(1, slot);
    a_.w32(as::addi(kS1, kS1, -1));
    // Items are at most 4 bytes: short enough bodies take the short forms.
    const size_t bytes = 4 * (a_.size() - start) + 8;
    switch (rnd(4)) {
      case 0: a_.branch(1, kS1, as::zero, top); break;  // bnez
      case 1:
        if (bytes <= 250) {
          a_.cbranch(true, kS1, top);  // c.bnez
        } else {
          a_.branch(1, kS1, as::zero, top);
        }
        break;
      case 2:
        a_.branch(0, kS1, as::zero, done);  // beqz done; j top
        if (rnd(2) != 0 || bytes > 2000) {
          a_.jal(as::zero, top);
        } else {
          a_.cj(top);
        }
        break;
      default: {
        a_.branch(0, kS1, as::zero, done);  // beqz done; jalr to top
        const uint32_t t = free_reg();
        a_.pcrel(t, top, 0, as::jalr(as::zero, t, 0));
      }
    }
    a_.bind(done);
  }

  // One piece of the program; `loop_slot` is the patchable instruction of
  // the loop being generated (or -1).
  void segment(int depth, int loop_slot) {
    const uint64_t r = rnd(100);
    if (r < 35 || depth > 2) {
      straight(1 + static_cast<int>(rnd(8)));
    } else if (r < 50) {
      forward_branch(depth);
    } else if (r < 57) {
      forward_jump();
    } else if (r < 63) {
      middle_of_insn();
    } else if (r < 71) {
      self_modify(loop_slot);
    } else if (r < 82) {
      call();
    } else if (r < 94 && depth == 0) {
      loop();
    } else if (r < 97 && priv_ == Priv::kSupervisor) {
      remap();
    } else {
      straight(1 + static_cast<int>(rnd(8)));
    }
  }

  // S-mode: swaps two pages of the kAlias window (the two pages of
  // subroutines, or two data pages) in the page table, then sfence.vma (all,
  // or the two pages). Code reached through kAlias then runs from the other
  // page, and data through s0 and sp moves.
  void remap() {
    constexpr auto kFuncPage = static_cast<uint32_t>((kFuncs - kRam) >> 12);
    constexpr auto kDataPage = static_cast<uint32_t>((kData - kRam) >> 12);
    static constexpr std::array<std::array<uint32_t, 2>, 3> kPairs = {
        {{kFuncPage, kFuncPage + 1}, {kDataPage + 1, kDataPage + 2}, {kDataPage, kDataPage + 3}}};
    const auto& pair = kPairs[rnd(3)];
    const uint32_t t = free_reg();
    uint32_t u = free_reg(), w = free_reg();
    while (u == t) u = free_reg();
    while (w == t || w == u) w = free_reg();
    a_.w32(as::ld(t, kGp, 8 * kL0Slot));
    a_.w32(as::ld(u, t, static_cast<int32_t>(8 * pair[0])));
    a_.w32(as::ld(w, t, static_cast<int32_t>(8 * pair[1])));
    a_.w32(as::sd(w, t, static_cast<int32_t>(8 * pair[0])));
    a_.w32(as::sd(u, t, static_cast<int32_t>(8 * pair[1])));
    if (rnd(2) != 0) {
      a_.w32(as::sfence_vma(as::zero, as::zero));
    } else {
      for (uint32_t page : pair) {
        a_.w32(as::lui(u, static_cast<uint32_t>((kAlias >> 12) + page)));
        a_.w32(as::sfence_vma(u, as::zero));
      }
    }
  }

  std::mt19937_64 rng_;
  Priv priv_;
  Asm a_;
  unsigned funcs_ = 0;
  std::vector<int> func_label_, func_patch_;
};

// ---- Machines and the comparison ----

// `warmup`: how often the translator must reach code before it translates it
// (1: at once, so that code that runs once is translated too; 0: the default).
std::unique_ptr<TestMachine> make_machine(const Program& p, Engine engine, uint32_t warmup = 1,
                                          size_t jit_capacity = 0) {
  auto m = std::make_unique<TestMachine>(kRamSize);
  if (jit_capacity != 0) m->code.set_jit_capacity(jit_capacity);
  m->code.set_jit_warmup(warmup);
  // Translate code the first time it runs, so that the translator, not the
  // interpreter it warms up with, runs these programs.
  m->code.set_jit_warmup(1);
  EXPECT_TRUE(m->mem.write(kRam, p.image));
  m->hart.set_engine(engine);
  m->pins.level = p.pins;
  m->hart.reset(kStub, Priv::kMachine);
  Hart& h = m->hart;
  h.x[as::t0] = kHandler;
  h.x[as::t1] = kSave;
  h.x[as::t2] = p.stub.mstatus | (static_cast<uint64_t>(p.stub.priv) << mstatus::kMppShift);
  h.x[as::t3] = p.stub.satp;
  h.x[as::t4] = p.stub.entry;
  h.x[as::t5] = 7;
  h.x[as::t6] = 7;
  h.x[as::a0] = p.stub.mie;
  EXPECT_EQ(m->run(kStubLength), kStubLength);
  EXPECT_EQ(h.pc, p.stub.entry);
  EXPECT_EQ(h.priv(), p.stub.priv);
  for (unsigned r = 0; r < 32; ++r) h.x[r] = p.x[r];
  for (unsigned r = 0; r < 32; ++r) h.fp.f[r] = p.f[r];
  h.fp.fflags = p.fflags;
  h.fp.frm = p.frm;
  return m;
}

constexpr uint16_t kCompared[] = {csr::kMstatus, csr::kMisa,     csr::kMedeleg,    csr::kMideleg,
                                  csr::kMie,     csr::kMip,      csr::kMtvec,      csr::kMscratch,
                                  csr::kMepc,    csr::kMcause,   csr::kMtval,      csr::kMcounteren,
                                  csr::kMenvcfg, csr::kSstatus,  csr::kSie,        csr::kSip,
                                  csr::kStvec,   csr::kSscratch, csr::kSepc,       csr::kScause,
                                  csr::kStval,   csr::kSatp,     csr::kScounteren, csr::kSenvcfg,
                                  csr::kFflags,  csr::kFrm,      csr::kFcsr,       csr::kMinstret,
                                  csr::kMcycle,  csr::kInstret,  csr::kCycle,      csr::kTime};

// The first difference between the two machines' architectural state, or "".
std::string difference(TestMachine& a, TestMachine& b) {
  Hart& x = a.hart;
  Hart& y = b.hart;
  auto hex = [](uint64_t v) { return fmt::format("{:#x}", v); };
  if (x.pc != y.pc) return "pc: interp " + hex(x.pc) + ", jit " + hex(y.pc);
  if (x.priv() != y.priv())
    return fmt::format("privilege: interp {}, jit {}", static_cast<int>(x.priv()),
                       static_cast<int>(y.priv()));
  if (x.instret() != y.instret())
    return fmt::format("instret: interp {}, jit {}", x.instret(), y.instret());
  if (a.stop != b.stop)
    return fmt::format("stop reason: interp {}, jit {}", static_cast<int>(a.stop),
                       static_cast<int>(b.stop));
  if (x.waiting() != y.waiting()) return "waiting (WFI) differs";
  for (unsigned r = 0; r < 32; ++r) {
    if (x.x[r] != y.x[r]) return fmt::format("x{}: interp {}, jit {}", r, hex(x.x[r]), hex(y.x[r]));
  }
  for (unsigned r = 0; r < 32; ++r) {
    if (x.fp.f[r] != y.fp.f[r])
      return fmt::format("f{}: interp {}, jit {}", r, hex(x.fp.f[r]), hex(y.fp.f[r]));
  }
  if (x.fp.fflags != y.fp.fflags || x.fp.frm != y.fp.frm)
    return fmt::format("fflags/frm: interp {}/{}, jit {}/{}", x.fp.fflags, x.fp.frm, y.fp.fflags,
                       y.fp.frm);
  for (uint16_t n : kCompared) {
    const uint64_t u = x.read_csr_raw(n), v = y.read_csr_raw(n);
    if (u != v) return fmt::format("csr {:#x}: interp {}, jit {}", n, hex(u), hex(v));
  }
  // SAFETY: host_base() maps all kRamSize bytes of each machine's RAM.
  const uint8_t* p = a.mem.host_base();
  const uint8_t* q = b.mem.host_base();
  if (std::memcmp(p, q, kRamSize) != 0) {
    uint64_t i = 0;
    while (p[i] == q[i]) ++i;
    return fmt::format("RAM at {}: interp {:#04x}, jit {:#04x}", hex(kRam + i), p[i], q[i]);
  }
  return "";
}

// Runs `p` on both engines with the same random budgets until the program
// reaches its end (or `max_total` instructions' worth of budget), comparing
// after every slice. Budgets are 1 to 200 (often 1 to 3), or all
// `fixed_slice` if that is not 0.
struct LockstepResult {
  std::string error;
  uint64_t slices = 0;
  uint64_t budget = 0;  // total budget given
};
LockstepResult lockstep(const Program& p, uint64_t slice_seed, uint64_t max_total,
                        uint64_t fixed_slice = 0, uint32_t warmup = 1) {
  constexpr uint64_t kSliceMax = 200;
  LockstepResult res;
  auto ref = make_machine(p, Engine::kInterp);
  auto jit = make_machine(p, Engine::kJit, warmup);
  if (std::string d = difference(*ref, *jit); !d.empty()) {
    res.error = "after the start stub: " + d;
    return res;
  }
  std::mt19937_64 rng(slice_seed);
  unsigned after_end = 0;
  while (res.budget < max_total) {
    uint64_t budget = fixed_slice;
    if (budget == 0) budget = rng() % 8 == 0 ? 1 + rng() % 3 : 1 + rng() % kSliceMax;
    const uint64_t pc_before = ref->hart.pc;
    const uint64_t r1 = ref->run(budget);
    const uint64_t r2 = jit->run(budget);
    ++res.slices;
    std::string d = difference(*ref, *jit);
    if (d.empty() && r1 != r2) d = fmt::format("run() returned: interp {}, jit {}", r1, r2);
    if (!d.empty()) {
      res.error = fmt::format("slice {} (budget {}, starting at pc {:#x} after {} budget): {}",
                              res.slices, budget, pc_before, res.budget, d);
      return res;
    }
    res.budget += budget;
    if (p.end_pc != 0 && ref->hart.pc == p.end_pc && ++after_end == 2) break;
  }
  if (p.end_pc != 0 && after_end < 2) {
    res.error =
        fmt::format("the program did not reach its end at {:#x} in {} instructions (pc {:#x})",
                    p.end_pc, max_total, ref->hart.pc);
    return res;
  }
  // The same total in one run on the translator: the slices must not matter.
  // (Not after a WFI stop: the one run ends there.)
  auto single = make_machine(p, Engine::kJit, warmup);
  single->run(res.budget);
  if (single->stop != StopReason::kBudget) return res;
  if (std::string d = difference(*ref, *single); !d.empty())
    res.error = fmt::format("one run of {} on the jit vs the slices: {}", res.budget, d);
  return res;
}

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtoull(v, nullptr, 0) : fallback;
}

void dump_image(const Program& p) {
  if (const char* path = std::getenv("VESSEL_JIT_DUMP")) {
    if (FILE* f = std::fopen(path, "wb")) {
      std::fwrite(p.image.data(), 1, p.image.size(), f);
      std::fclose(f);
    }
  }
}

// ---- The generator's own encodings, checked against the decoder ----

TEST(JitGenerator, EncodingsDecodeAsIntended) {
  for (int32_t off = -256; off <= 254; off += 2) {
    const DecodedInsn beqz = decode(0xc001u | ((10 - 8) << 7) | Asm::cb_imm(off), 0);
    ASSERT_EQ(beqz.op, Op::BEQ) << off;
    EXPECT_EQ(beqz.imm, off);
    EXPECT_EQ(beqz.rs1, 10);
    const DecodedInsn bnez = decode(0xe001u | ((9 - 8) << 7) | Asm::cb_imm(off), 0);
    ASSERT_EQ(bnez.op, Op::BNE) << off;
    EXPECT_EQ(bnez.imm, off);
  }
  for (int32_t off = -2048; off <= 2046; off += 2) {
    const DecodedInsn j = decode(0xa001u | Asm::cj_imm(off), 0);
    ASSERT_EQ(j.op, Op::JAL) << off;
    EXPECT_EQ(j.imm, off);
  }
  EXPECT_EQ(decode(0x9002, 0).op, Op::EBREAK);
  EXPECT_EQ(decode(0x0000, 0).op, Op::ILLEGAL);
  EXPECT_EQ(decode(0x0000000b, 0).op, Op::ILLEGAL);
  EXPECT_EQ(decode(0x8082, 0).op, Op::JALR);  // c.jr ra
  const DecodedInsn cjalr = decode(0x9002 | (as::t0 << 7), 0);
  EXPECT_EQ(cjalr.op, Op::JALR);
  EXPECT_EQ(cjalr.rd, kRa);
  EXPECT_EQ(cjalr.rs1, as::t0);
  // A program lays out and starts.
  Program p;
  Generator g(1, Priv::kMachine);
  ASSERT_TRUE(g.generate(p));
  EXPECT_GT(p.end_pc, kCode);
}

// ---- Random programs, lockstep ----

// Runs seeds [first, first + count) in `priv`; each program must reach its
// end with both engines equal after every slice.
void run_seeds(uint64_t first, uint64_t count, Priv priv) {
  const uint64_t only = env_u64("VESSEL_JIT_SEED", ~uint64_t{0});
  count = env_u64("VESSEL_JIT_SEED_COUNT", count);
  for (uint64_t seed = first; seed < first + count; ++seed) {
    if (only != ~uint64_t{0} && seed != only) continue;
    Program p;
    uint64_t layout_seed = seed;
    for (;;) {
      Generator g(layout_seed, priv);
      if (g.generate(p)) break;
      p = Program{};
      layout_seed += 1000003;  // a branch out of range: another program
    }
    if (only != ~uint64_t{0}) dump_image(p);
    // Mostly translated at once; some seeds mix the interpreter in (code is
    // translated on its 2nd or 3rd arrival, or at the default warm-up).
    static constexpr uint32_t kWarmups[8] = {1, 1, 1, 1, 1, 2, 3, 0};
    const uint32_t warmup = kWarmups[seed % 8];
    const LockstepResult r = lockstep(p, seed * 7919 + 1, 400000, 0, warmup);
    ASSERT_TRUE(r.error.empty()) << "seed " << seed << " (VESSEL_JIT_SEED=" << seed
                                 << " to run it alone), jit warm-up " << warmup << ": " << r.error;
  }
}

TEST(JitLockstep, RandomProgramsMachineMode) {
  run_seeds(0, 80, Priv::kMachine);
}
TEST(JitLockstep, RandomProgramsSupervisorModeSv39) {
  run_seeds(1000, 60, Priv::kSupervisor);
}
TEST(JitLockstep, RandomProgramsUserModeSv39) {
  run_seeds(2000, 60, Priv::kUser);
}

// ---- Hand-written programs ----

// A program of `words` at kCode, ending in `j .`, with the runtime (stub and
// trap handler) around it, in M-mode with FS on.
Program directed(std::initializer_list<uint32_t> words) {
  Program p;
  add_runtime(p);
  uint64_t a = kCode;
  for (uint32_t w : words) {
    p.put32(a, w);
    a += 4;
  }
  p.put32(a, as::jal(as::zero, 0));
  p.end_pc = a;
  p.stub.mstatus = kFsBits;
  p.x[kS0] = kDataPtr;
  p.x[kSp] = kStackPtr;
  p.x[kGp] = kConsts;
  return p;
}

// A store rewrites the next instruction of its own block; the new one runs.
TEST(JitLockstep, StoreRewritesTheNextInstruction) {
  using namespace as;
  const uint32_t replacement = addi(a1, zero, 0x2a);
  Program p = directed({auipc(t0, 0),  // kCode
                        lui(t1, (replacement + 0x800) >> 12),
                        addiw(t1, t1, static_cast<int32_t>(replacement << 20) >> 20),
                        sw(t1, t0, 20),                        // rewrites kCode + 20
                        addi(a0, zero, 1), addi(a1, zero, 1),  // kCode + 20
                        add(a2, a0, a1)});
  for (uint64_t slice : {1, 2, 3, 5, 100}) {
    const LockstepResult r = lockstep(p, slice, 1000, slice);
    ASSERT_TRUE(r.error.empty()) << "slices of " << slice << ": " << r.error;
  }
  auto jit = make_machine(p, Engine::kJit);
  jit->run(100);
  EXPECT_EQ(jit->hart.x[as::a1], 0x2au);
  EXPECT_EQ(jit->hart.x[as::a2], 0x2bu);
}

// A loop rewrites an instruction it ran in the previous iteration.
TEST(JitLockstep, LoopRewritesItsOwnBody) {
  using namespace as;
  const uint32_t base = addi(a0, a0, 0);
  Program p =
      directed({addi(s1, zero, 10),  // kCode
                auipc(t0, 0),        // kCode + 4: t0 = kCode + 4
                addi(a0, a0, 1),     // kCode + 8: rewritten to addi a0, a0, s1
                slli(t1, s1, 20), lui(t2, (base + 0x800) >> 12),
                addiw(t2, t2, static_cast<int32_t>(base << 20) >> 20), R(0, t2, t1, 6, t1, 0x33),
                sw(t1, t0, 4), addi(s1, s1, -1), bne(s1, zero, -32)});
  const LockstepResult r = lockstep(p, 3, 10000);
  ASSERT_TRUE(r.error.empty()) << r.error;
  auto jit = make_machine(p, Engine::kJit);
  jit->run(1000);
  // 1 in the first iteration, then s1 = 10, 9, ..., 2 as rewritten.
  EXPECT_EQ(jit->hart.x[as::a0], 1u + (10 + 9 + 8 + 7 + 6 + 5 + 4 + 3 + 2));
}

// A table lookup on loaded data, as in a table-driven CRC: the translator
// takes the lookup's TLB addend from its slot (the table straddles a page
// boundary, so the guess is often wrong), fuses slli+add into one lea and
// drops the sext.w of an already sign-extended value.
TEST(JitLockstep, TableLookupChainAcrossAPageBoundary) {
  using namespace as;
  const uint64_t table = kDataPtr - 512;  // 256 words, half in each page
  const auto andi = [](uint32_t rd, uint32_t rs1, int32_t imm) { return I(imm, rs1, 7, rd, 0x13); };
  const auto srliw = [](uint32_t rd, uint32_t rs1, int32_t sh) { return I(sh, rs1, 5, rd, 0x1b); };
  const auto xor_ = [](uint32_t rd, uint32_t rs1, uint32_t rs2) {
    return R(0, rs2, rs1, 4, rd, 0x33);
  };
  Program p = directed(
      {addi(s1, zero, 1000),                                      // kCode
       addi(a5, zero, -1), addi(t2, s0, -512), srliw(a3, a5, 8),  // kCode + 12: the loop
       xor_(a4, a5, s1), andi(a4, a4, 255), slli(a4, a4, 2), add(a4, a4, t2), lw(a4, a4, 0),
       xor_(a5, a4, a3), addiw(a5, a5, 0), addi(s1, s1, -1), bne(s1, zero, -36)});
  uint32_t words[256];
  for (uint32_t i = 0; i < 256; ++i) {
    words[i] = (i * 0x9e3779b9u) ^ (i << 24);
    p.put32(table + 4 * i, words[i]);
  }
  for (uint64_t slice : {1, 7, 16384}) {
    const LockstepResult r = lockstep(p, slice, 20000, slice);
    ASSERT_TRUE(r.error.empty()) << "slices of " << slice << ": " << r.error;
  }
  uint64_t c = ~uint64_t{0};
  for (uint64_t i = 1000; i > 0; --i) {
    const uint64_t hi = static_cast<uint32_t>(c) >> 8;
    const auto v =
        static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(words[(c ^ i) & 255])));
    c = v ^ hi;
  }
  auto jit = make_machine(p, Engine::kJit);
  jit->run(20000);
  EXPECT_EQ(jit->hart.x[as::a5], c);
}

// Jumps into the middle of a 4-byte instruction whose upper half is
// c.addi a0, 1; the full instruction runs too.
TEST(JitLockstep, JumpIntoTheMiddleOfAnInstruction) {
  using namespace as;
  const uint16_t c_addi_a0_1 = 0x0505;
  ASSERT_EQ(decode(c_addi_a0_1, 0).op, Op::ADDI);
  Program p = directed({addi(s1, zero, 6),                            // kCode
                        andi(t0, s1, 1),                              // kCode + 4
                        bne(t0, zero, 6),                             // -> kCode + 14
                        lui(a1, (uint32_t{c_addi_a0_1} << 4) | 0x3),  // kCode + 12
                        addi(a2, a2, 1),                              // kCode + 16
                        addi(s1, s1, -1), bne(s1, zero, -20)});
  const LockstepResult r = lockstep(p, 5, 10000);
  ASSERT_TRUE(r.error.empty()) << r.error;
  auto jit = make_machine(p, Engine::kJit);
  jit->run(1000);
  EXPECT_EQ(jit->hart.x[as::a0], 3u);  // odd s1: 5, 3, 1
  EXPECT_EQ(jit->hart.x[as::a2], 6u);
  EXPECT_EQ(jit->hart.x[as::a1], (uint64_t{c_addi_a0_1} << 16) | 0x3000);
}

// Loads, stores and fetches at addresses with nothing behind them raise
// access faults; the handler skips them (returns to ra for fetches).
TEST(JitLockstep, AccessFaultsContinueThroughTheHandler) {
  using namespace as;
  Program p = directed({
      addi(a0, zero, 7), ld(t0, gp, 8 * 3),  // 0x10000000
      ld(a1, t0, 0),     addi(a0, a0, 1),   sd(a0, t0, 8),     addi(a0, a0, 1),
      ld(t1, gp, 8 * 5),                                                         // RAM end
      lw(a2, t1, -2),                                                            // crosses the end
      sw(a0, t1, -2),    addi(a0, a0, 1),   ld(t2, gp, 8 * 0), jalr(ra, t2, 0),  // fetch from 0
      addi(a0, a0, 1),   fld(1, t0, 0),     addi(a0, a0, 1),   amoadd_d(a3, a0, t0),
      addi(a0, a0, 1),   sd(a0, s0, 0),     ld(a4, s0, 0),
  });
  for (uint32_t i = 0; i < 16; ++i) p.put64(kConsts + 8 * i, 0);
  p.put64(kConsts + 8 * 3, 0x10000000);
  p.put64(kConsts + 8 * 5, kRam + kRamSize);
  for (uint64_t slice : {1, 2, 7, 1000}) {
    const LockstepResult r = lockstep(p, slice, 2000, slice);
    ASSERT_TRUE(r.error.empty()) << "slices of " << slice << ": " << r.error;
  }
  auto jit = make_machine(p, Engine::kJit);
  jit->run(1000);
  EXPECT_EQ(jit->hart.x[as::a0], 13u);
  EXPECT_EQ(jit->hart.x[as::a4], 13u);
  EXPECT_EQ(jit->read64(kSave + kSaveCount), 7u);  // 6 data faults and a fetch fault
  EXPECT_EQ(jit->hart.x[as::a1], p.x[as::a1]);     // faulting loads wrote nothing
}

// Plain jumps within the page: the block goes on at the target
// (translator.cpp). A loop whose test the compiler put after its body,
// entered by a jump to the test; the body calls a small function of the
// same page (a call ends the block); a jump past code that never runs
// leaves the loop; the last jump, to itself, ends the block.
TEST(JitLockstep, JumpsWithinThePageContinueTheBlock) {
  using namespace as;
  Program p = directed({
      addi(s1, zero, 10),  // kCode
      jal(zero, 16),       // + 4: to the test at +20
      addi(a0, a0, 3),     // + 8: the body
      jal(ra, 20),         // +12: calls +32
      addi(s1, s1, -1),    // +16
      bne(s1, zero, -12),  // +20: the test, to +8
      jal(zero, 16),       // +24: to +40
      addi(a0, a0, 1000),  // +28: never runs
      addi(a1, a1, 5),     // +32: the function
      jalr(zero, ra, 0),   // +36
      addi(a2, a0, 0),     // +40
  });
  for (uint64_t slice : {1, 2, 3, 5, 8, 13, 1000}) {
    const LockstepResult r = lockstep(p, slice, 2000, slice);
    ASSERT_TRUE(r.error.empty()) << "slices of " << slice << ": " << r.error;
  }
  auto jit = make_machine(p, Engine::kJit);
  jit->run(2000);
  ASSERT_EQ(jit->hart.pc, p.end_pc);
  EXPECT_EQ(jit->hart.x[as::a0], 30u);
  EXPECT_EQ(jit->hart.x[as::a1], 50u);
  EXPECT_EQ(jit->hart.x[as::a2], 30u);
  EXPECT_EQ(jit->hart.x[as::ra], kCode + 16);
}

// Every budget from 1 to past the block length, so that slices end at every
// position inside blocks (and inside chained blocks of a loop).
TEST(JitLockstep, BudgetsEndingInsideBlocks) {
  using namespace as;
  std::vector<uint32_t> body = {addi(s1, zero, 20)};
  for (int i = 0; i < 40; ++i) body.push_back(i % 3 == 0 ? add(a0, a0, s1) : addi(a1, a1, i));
  body.push_back(sd(a0, s0, 0));
  body.push_back(ld(a2, s0, 0));
  body.push_back(addi(s1, s1, -1));
  body.push_back(bne(s1, zero, -4 * 43));
  Program p;
  add_runtime(p);
  uint64_t a = kCode;
  for (uint32_t w : body) {
    p.put32(a, w);
    a += 4;
  }
  p.put32(a, jal(zero, 0));
  p.end_pc = a;
  p.x[kS0] = kDataPtr;
  for (uint64_t slice = 1; slice <= 50; ++slice) {
    const LockstepResult r = lockstep(p, slice, 5000, slice);
    ASSERT_TRUE(r.error.empty()) << "slices of " << slice << ": " << r.error;
  }
}

// A hot loop with an instruction that crosses a page boundary (it starts at
// the page's last two bytes): the translator runs it (not the interpreter,
// once per round), and when the program rewrites its second half (in the
// next page) and runs fence.i, the new instruction runs.
void crossing_page_boundary(int32_t sign) {
  using namespace as;
  constexpr uint64_t kBoundary = kCode + 0x1000;
  constexpr uint64_t kLoop = kBoundary - 10;  // 2-byte aligned, as RVC allows
  constexpr unsigned kRounds = 500;
  Program p;
  add_runtime(p);
  const uint32_t add5 = addi(a2, a2, 5 * sign), add7 = addi(a2, a2, 7 * sign);
  p.put32(kCode, addi(s1, zero, kRounds));
  p.put32(kCode + 4, jal(zero, static_cast<int32_t>(kLoop - (kCode + 4))));
  p.put32(kLoop, addi(a0, a0, 1));
  p.put32(kLoop + 4, addi(a1, a1, 3));
  p.put32(kBoundary - 2, add5);  // the crossing one
  p.put32(kBoundary + 2, addi(s1, s1, -1));
  p.put32(kBoundary + 6, bne(s1, zero, static_cast<int32_t>(kLoop - (kBoundary + 6))));
  // Once: the second half becomes add7's, then the loop runs again.
  p.put32(kBoundary + 10, bne(s2, zero, 32));  // the second time: to the end
  p.put32(kBoundary + 14, addi(s2, zero, 1));
  p.put32(kBoundary + 18, auipc(t0, 0));  // t0 = kBoundary + 18
  // (the 16 bits as a sign-extended 12-bit immediate: they fit for 7 and -7)
  p.put32(kBoundary + 22, addi(t1, zero, static_cast<int16_t>(add7 >> 16)));
  p.put32(kBoundary + 26, sh(t1, t0, -18));
  p.put32(kBoundary + 30, kFenceI);
  p.put32(kBoundary + 34, addi(s1, zero, kRounds));
  p.put32(kBoundary + 38, jal(zero, static_cast<int32_t>(kLoop - (kBoundary + 38))));
  p.put32(kBoundary + 42, jal(zero, 0));
  p.end_pc = kBoundary + 42;
  ASSERT_EQ(add5 & 0xffff, add7 & 0xffff);
  for (uint64_t slice : {1, 3, 7, 100, 16384}) {
    const LockstepResult r = lockstep(p, slice, 20000, slice);
    ASSERT_TRUE(r.error.empty()) << "slices of " << slice << ": " << r.error;
  }
  auto jit = make_machine(p, Engine::kJit);
  jit->run(20000);
  ASSERT_EQ(jit->hart.pc, p.end_pc);
  EXPECT_EQ(jit->hart.x[as::a2], static_cast<uint64_t>(int64_t{kRounds} * 12 * sign));
  EXPECT_EQ(jit->hart.x[as::a0], 2 * uint64_t{kRounds});
  // The crossing instruction ran translated: far fewer than one
  // interpreted instruction per round.
  EXPECT_LT(jit->hart.engine_stats().interpreted, uint64_t{kRounds} / 10);
}

TEST(JitLockstep, InstructionCrossingAPageBoundary) {
  // Second halves below and above 0x8000 (a negative immediate).
  for (int32_t sign : {1, -1}) {
    SCOPED_TRACE(sign);
    crossing_page_boundary(sign);
  }
}

// CSR instructions the translator runs (Runtime::csr) in every form, in a
// loop: trap registers, which blocks go on after, and status and interrupt
// enables, whose writes end the block; a write to a read-only CSR and, in
// S-mode, an M-mode CSR are illegal (the handler counts and skips them).
TEST(JitLockstep, CsrInstructions) {
  using namespace as;
  const std::vector<uint32_t> body = {addi(a0, a0, 0x55),
                                      csrrw(a1, csr::kSscratch, a0),
                                      csrrs(a2, csr::kSscratch, zero),
                                      addi(a3, zero, 0x0f),
                                      csrrc(a4, csr::kSscratch, a3),
                                      csrrsi(a5, csr::kSscratch, 3),
                                      csrrci(a6, csr::kSscratch, 1),
                                      csrrwi(a7, csr::kSepc, 8),
                                      csrr(s2, csr::kSepc),
                                      csrr(s3, csr::kSstatus),
                                      csrrsi(zero, csr::kSstatus, 2),
                                      add(s4, s4, a6),
                                      csrrci(zero, csr::kSstatus, 2),
                                      csrr(s5, csr::kSie),
                                      csrr(s6, csr::kSip),
                                      csrrw(zero, csr::kStval, a5),
                                      csrr(s7, csr::kStval),
                                      add(s8, s8, s7),
                                      addi(s1, s1, -1),
                                      bne(s1, zero, -4 * 19)};
  for (Priv priv : {Priv::kMachine, Priv::kSupervisor}) {
    std::vector<uint32_t> words = {addi(s1, zero, 30)};
    words.insert(words.end(), body.begin(), body.end());
    // Illegal: mhartid is read-only; in S-mode mscratch is out of reach.
    words.push_back(csrrw(t0, csr::kMhartid, a0));
    words.push_back(csrr(t1, csr::kMscratch));
    words.push_back(csrr(t2, csr::kMhartid));
    Program p;
    add_runtime(p);
    uint64_t a = kCode;
    for (uint32_t w : words) {
      p.put32(a, w);
      a += 4;
    }
    p.put32(a, jal(zero, 0));
    p.end_pc = a;
    p.stub.priv = priv;
    p.x[kS0] = kDataPtr;
    p.x[kSp] = kStackPtr;
    p.x[kGp] = kConsts;
    for (uint64_t slice : {1, 2, 5, 13, 100, 16384}) {
      const LockstepResult r = lockstep(p, slice, 20000, slice);
      ASSERT_TRUE(r.error.empty()) << "slices of " << slice << ": " << r.error;
    }
    auto jit = make_machine(p, Engine::kJit);
    jit->run(5000);
    ASSERT_EQ(jit->hart.pc, p.end_pc);
    EXPECT_EQ(jit->hart.x[as::a2], 30u * 0x55);
    EXPECT_EQ(jit->hart.x[as::s2], 8u);
    EXPECT_EQ(jit->read64(kSave + kSaveCount), priv == Priv::kMachine ? 1u : 3u);
    // Most of it ran translated: two dispatcher round trips per round, not
    // one interpreted instruction per CSR.
    EXPECT_LT(jit->hart.engine_stats().interpreted, 30u * 4);
  }
}

// WFI stops both engines at the same point with the same count.
TEST(JitLockstep, WfiStopsAtTheSamePoint) {
  using namespace as;
  Program p =
      directed({addi(a0, zero, 1), addi(a0, a0, 1), kWfi, addi(a0, a0, 1), kWfi, addi(a0, a0, 1)});
  for (uint64_t slice : {1, 2, 3, 100}) {
    const LockstepResult r = lockstep(p, slice, 2000, slice);
    ASSERT_TRUE(r.error.empty()) << "slices of " << slice << ": " << r.error;
  }
}

// FP instructions with FS off trap as illegal; on again, they run.
TEST(JitLockstep, FloatingPointWithFsOff) {
  using namespace as;
  Program p = directed({fld(1, s0, 0), fadd_d(2, 1, 1), lui(t0, kFsBits >> 12),
                        csrrc(zero, csr::kMstatus, t0), fadd_d(3, 1, 1), fld(4, s0, 8),
                        csrrs(zero, csr::kMstatus, t0), fadd_d(5, 1, 1), fld(6, s0, 8)});
  p.put64(kDataPtr, 0x3ff8000000000000);
  p.put64(kDataPtr + 8, 0x4000000000000000);
  for (uint64_t slice : {1, 3, 100}) {
    const LockstepResult r = lockstep(p, slice, 200, slice);
    ASSERT_TRUE(r.error.empty()) << "slices of " << slice << ": " << r.error;
  }
  auto jit = make_machine(p, Engine::kJit);
  jit->run(100);
  EXPECT_EQ(jit->read64(kSave + kSaveCount), 2u);
  EXPECT_EQ(jit->hart.fp.f[5], 0x4008000000000000u);
  EXPECT_EQ(jit->hart.fp.f[6], 0x4000000000000000u);
}

// Forward branches inside a block (the translator jumps to the target in
// the block instead of leaving it): an if without else over a counted
// loop, as in a sieve's count, with a second branch to the same target
// from inside the skipped part, a register written only on the skipped
// path and read after the target, and (with FS off) an F instruction on
// the skipped path and one after the target, which must both trap.
void forward_branches_in_a_block(bool fs_off) {
  using namespace as;
  Program p = directed({
      addi(s1, zero, 60),                          // kCode
      addi(t2, s0, 0),                             // + 4
      lw(t0, t2, 0),                               // + 8: the loop
      addi(t2, t2, 4),                             // +12
      beq(t0, zero, 20),                           // +16: to +36
      fs_off ? fadd_d(2, 1, 1) : addi(a0, a0, 1),  // +20
      add(a1, a1, s1),                             // +24
      bne(t0, s1, 8),                              // +28: to +36
      addi(a2, a1, 7),                             // +32: a2 written only here
      fs_off ? fadd_d(4, 1, 1) : add(a3, a3, a2),  // +36: the target
      addi(s1, s1, -1),                            // +40
      bne(s1, zero, -36),                          // +44: to +8
  });
  p.stub.mstatus = fs_off ? 0 : kFsBits;
  p.x[as::a2] = 1000;
  uint64_t a0 = 0, a1 = 0, a2 = 1000, a3 = 0, traps = 0;
  for (uint64_t i = 0; i < 60; ++i) {
    const uint32_t v = i % 3 == 0 ? 0 : (i % 7 == 0 ? 60 - i : static_cast<uint32_t>(i));
    p.put32(kDataPtr + 4 * i, v);
    const uint64_t s1 = 60 - i;
    if (v != 0) {
      fs_off ? ++traps : ++a0;
      a1 += s1;
      if (v == s1) a2 = a1 + 7;
    }
    fs_off ? ++traps : a3 += a2;
  }
  for (uint64_t slice : {1, 2, 3, 5, 7, 11, 100, 1000}) {
    const LockstepResult r = lockstep(p, slice, 20000, slice);
    ASSERT_TRUE(r.error.empty()) << "slices of " << slice << ": " << r.error;
  }
  auto jit = make_machine(p, Engine::kJit);
  jit->run(20000);
  ASSERT_EQ(jit->hart.pc, p.end_pc);
  EXPECT_EQ(jit->hart.x[as::a0], a0);
  EXPECT_EQ(jit->hart.x[as::a1], a1);
  EXPECT_EQ(jit->hart.x[as::a2], a2);
  EXPECT_EQ(jit->hart.x[as::a3], a3);
  if (fs_off) {
    EXPECT_EQ(jit->read64(kSave + kSaveCount), traps);
  }
}

TEST(JitLockstep, ForwardBranchesInsideABlock) {
  forward_branches_in_a_block(false);
}

TEST(JitLockstep, ForwardBranchesInsideABlockWithFsOff) {
  forward_branches_in_a_block(true);
}

// A matrix-multiply row as compilers emit it (fld, fmul.d and fadd.d with
// the dynamic rounding mode, fsd), in an inner loop a later branch of the
// block goes back to: the translator keeps the f registers in SSE registers
// across the loop and checks FS and frm once on entry. With frm = RUP the
// block is the interpreter's, which rounds up.
void matmul_row(uint32_t frm) {
  using namespace as;
  constexpr int kN = 24, kRows = 3;
  Program p = directed({
      addi(s1, zero, kRows),  // kCode
      fld(3, gp, 0),          // + 4: f3 = a, the row's factor
      addi(t0, s0, 0),        // + 8: t0 = b
      addi(t1, s0, 8 * kN),   // +12: t1 = c
      addi(t2, zero, kN),     // +16
      fld(1, t0, 0),          // +20: the inner loop
      fld(2, t1, 0),          // +24
      fmul_d(1, 3, 1),        // +28
      fadd_d(2, 2, 1),        // +32
      fsd(2, t1, 0),          // +36
      addi(t0, t0, 8),        // +40
      addi(t1, t1, 8),        // +44
      addi(t2, t2, -1),       // +48
      bne(t2, zero, -32),     // +52: to +20
      fadd_d(3, 3, 3),        // +56: a doubles each row
      addi(s1, s1, -1),       // +60
      bne(s1, zero, -56),     // +64: to +8
  });
  p.frm = frm;
  const double a = 1.0 / 3.0;
  p.put64(kConsts, std::bit_cast<uint64_t>(a));
  std::vector<double> b(kN), c(kN, 0.0);
  for (int j = 0; j < kN; ++j) {
    b[j] = 1.0 + j / 7.0;
    p.put64(kDataPtr + 8 * j, std::bit_cast<uint64_t>(b[j]));
    p.put64(kDataPtr + 8 * (kN + j), 0);
  }
  for (uint64_t slice : {1, 3, 7, 50, 10000}) {
    const LockstepResult r = lockstep(p, slice, 20000, slice);
    ASSERT_TRUE(r.error.empty()) << "frm " << frm << ", slices of " << slice << ": " << r.error;
  }
  auto jit = make_machine(p, Engine::kJit);
  jit->run(20000);
  ASSERT_EQ(jit->hart.pc, p.end_pc);
  // Round to nearest: the host's own arithmetic, in the same order.
  double f3 = a;
  for (int row = 0; row < kRows; ++row, f3 += f3) {
    for (int j = 0; j < kN; ++j) c[j] += f3 * b[j];
  }
  int above = 0;
  for (int j = 0; j < kN; ++j) {
    const double got = std::bit_cast<double>(jit->read64(kDataPtr + 8 * (kN + j)));
    if (frm == 0) {
      EXPECT_EQ(got, c[j]) << j;
    } else {
      EXPECT_GE(got, c[j]) << j;  // every step rounded up
      above += got > c[j] ? 1 : 0;
    }
  }
  if (frm != 0) EXPECT_GT(above, 0);
}

TEST(JitLockstep, FloatingPointLoopInSseRegisters) {
  matmul_row(0);
}

TEST(JitLockstep, FloatingPointLoopRoundingUp) {
  matmul_row(3);  // RUP
}

// ---- A program that keeps making new code ----

// Writes a page of fresh code (1023 x `addi a0, a0, k`, then `ret`) into each
// of `pages` pages in turn and calls it, `rounds` times, with k = the round.
// Every page write drops the page's translations and every call makes new
// ones, so the translator's cache fills up again and again.
Program code_generator_program(unsigned pages, unsigned rounds) {
  using namespace as;
  constexpr uint64_t kArena = kRam + 0x3000;  // up to 12 pages, below kConsts
  const uint32_t ret = jalr(zero, ra, 0);
  Program p;
  add_runtime(p);
  Asm a(kCode);
  const int round = a.label(), page = a.label(), word = a.label(), done = a.label();
  a.w32(addi(s1, zero, 0));  // s1 = round
  a.bind(round);
  a.w32(addi(s2, zero, 0));  // s2 = page index
  a.bind(page);
  a.w32(slli(t0, s2, 12));  // t0 = arena page
  a.w32(add(t0, t0, s3));   // s3 = kArena
  li32(a, t1, addi(a0, a0, 0));
  a.w32(slli(t2, s1, 20));
  a.w32(orr(t1, t1, t2));  // addi a0, a0, round
  a.w32(addi(t2, zero, 1023));
  a.w32(addi(t3, t0, 0));
  a.bind(word);
  a.w32(sw(t1, t3, 0));
  a.w32(addi(t3, t3, 4));
  a.w32(addi(t2, t2, -1));
  a.branch(1, t2, zero, word);
  li32(a, t1, ret);
  a.w32(sw(t1, t3, 0));
  a.w32(jalr(ra, t0, 0));
  a.w32(addi(s2, s2, 1));
  a.w32(addi(t4, zero, static_cast<int32_t>(pages)));
  a.branch(1, s2, t4, page);
  a.w32(addi(s1, s1, 1));
  a.w32(addi(t4, zero, static_cast<int32_t>(rounds)));
  a.branch(1, s1, t4, round);
  a.bind(done);
  a.w32(jal(zero, 0));
  EXPECT_TRUE(a.layout(kArena));
  a.write(p.image);
  p.end_pc = a.address(done);
  p.stub.mstatus = 0;
  p.x[as::s3] = kArena;
  return p;
}

TEST(JitCache, HostileCodeGenerationStaysWithinCapacity) {
  constexpr size_t kCapacity = size_t{1} << 20;
  constexpr unsigned kPages = 12, kRounds = 40;
  const Program p = code_generator_program(kPages, kRounds);
  auto ref = make_machine(p, Engine::kInterp);
  auto jit = make_machine(p, Engine::kJit, 1, kCapacity);
  uint64_t max_bytes = 0;
  uint64_t total = 0;
  for (;;) {
    ref->run(50000);
    jit->run(50000);
    total += 50000;
    const EngineStats s = jit->hart.engine_stats();
    max_bytes = std::max(max_bytes, s.cache_bytes);
    ASSERT_LE(s.cache_bytes, kCapacity);
    const std::string d = difference(*ref, *jit);
    ASSERT_TRUE(d.empty()) << "after " << total << ": " << d;
    if (ref->hart.pc == p.end_pc) break;
    ASSERT_LT(total, 20000000u) << "the program did not finish";
  }
  // a0 = sum over rounds r of 1023 * r per page.
  EXPECT_EQ(jit->hart.x[as::a0], uint64_t{1023} * kPages * (kRounds * (kRounds - 1) / 2));
  const EngineStats s = jit->hart.engine_stats();
  EXPECT_GT(s.cache_flushes, 0u) << "blocks=" << s.blocks_translated << " max bytes=" << max_bytes;
  EXPECT_GT(s.invalidations, 0u);
  EXPECT_GT(s.blocks_translated, 1000u);
  EXPECT_GT(max_bytes, kCapacity / 2);
  EXPECT_LE(max_bytes, kCapacity);
}

}  // namespace
}  // namespace vessel::rv
