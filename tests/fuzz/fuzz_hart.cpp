// Arbitrary instruction streams on a fresh tiny machine per input (RAM at
// 0x80000000, a bus with no devices, a deterministic clock): first in M-mode,
// then in S- or U-mode under Sv39/Sv48 with page tables that are either well
// formed or made of the input itself. Nothing the guest does may crash the
// process or trip ASan/UBSan.
//
// Each phase runs on two identical machines, one with a single run() and one
// with the same budget cut into input-chosen slices; since the instruction
// count is exact, both must end in the same state (registers, CSRs, RAM).
// VESSEL_FUZZ_HART_NO_SLICE_CHECK=1 in the environment turns that check off.
// Every 2- and 4-byte window of the input also goes through the decoder,
// whose output must be well formed.
//
// Input: 8 bytes of configuration (see Config), then the instruction stream.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

#include "devices/bus.hpp"
#include "engine/riscv/code_cache.hpp"
#include "engine/riscv/csr_numbers.hpp"
#include "engine/riscv/decoder.hpp"
#include "engine/riscv/fpu.hpp"
#include "engine/riscv/hart.hpp"
#include "hart_fuzz_setup.hpp"
#include "memory/guest_memory.hpp"
#include "platform/guest_clock.hpp"

#define HART_FUZZ_CHECK(cond)                                                           \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

namespace {

using namespace vessel;
using namespace vessel::rv;
using namespace vessel::rv::fuzz;

constexpr uint64_t kBudget = 10000;
struct Machine {
  GuestMemory mem{kRam, kRamSize};
  Bus bus;
  CodeCache code{mem};
  uint64_t ticks = 0;
  GuestClock clock{GuestClock::Mode::kDeterministic, &ticks};
  HartIrqPins pins;
  Hart hart{0, mem, bus, code, clock, pins};

  void write(uint64_t gpa, std::span<const uint8_t> bytes) {
    HART_FUZZ_CHECK(mem.write(gpa, bytes));
  }
  void write64(uint64_t gpa, uint64_t v) {
    uint8_t b[8];
    for (unsigned i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    write(gpa, b);
  }
  void stub(const StubArgs& a) {
    hart.reset(kStub, Priv::kMachine);
    hart.x[5] = a.mtvec;
    hart.x[6] = a.stvec;
    hart.x[7] = a.satp;
    hart.x[28] = a.medeleg;
    hart.x[29] = a.mideleg;
    hart.x[30] = a.mie;
    hart.x[31] = a.mstatus;
    hart.x[10] = a.entry;
    StopReason stop;
    hart.run(kStubLength, stop);
    for (auto& r : hart.x) r = 0;
  }
};

// Every decoded instruction must be one the interpreter can execute safely.
void check_decoded(const DecodedInsn& d, uint32_t raw) {
  const unsigned len = insn_length(static_cast<uint16_t>(raw));
  HART_FUZZ_CHECK(d.len == len);
  HART_FUZZ_CHECK(static_cast<unsigned>(d.op) < static_cast<unsigned>(Op::kCount));
  HART_FUZZ_CHECK(d.op != Op::UNDECODED && d.op != Op::PAGE_END && d.op != Op::SCRATCH_END &&
                  d.op != Op::CROSS_PAGE);
  HART_FUZZ_CHECK(d.rd <= kZeroSink && d.rs1 < 32 && d.rs2 < 32 && d.rs3 < 32);
  HART_FUZZ_CHECK(d.raw == (len == 2 ? (raw & 0xffff) : raw));
  if (d.op == Op::FP) {
    HART_FUZZ_CHECK(d.aux < static_cast<unsigned>(FpOp::kCount));
    HART_FUZZ_CHECK(d.rd < 32 || fp_writes_x(static_cast<FpOp>(d.aux)));
  }
  if (d.op == Op::FLW || d.op == Op::FLD) HART_FUZZ_CHECK(d.rd < 32);
  if (d.op == Op::AMO_W || d.op == Op::AMO_D) HART_FUZZ_CHECK(d.aux <= 8);
}

void fuzz_decoder(std::span<const uint8_t> s) {
  for (size_t i = 0; i + 2 <= s.size(); ++i) {
    const uint16_t low = static_cast<uint16_t>(s[i] | (s[i + 1] << 8));
    const unsigned offset = static_cast<unsigned>(i) & 0xffe;
    const uint32_t expanded = expand_compressed(low);
    if ((low & 3) == 3) HART_FUZZ_CHECK(expanded == 0);
    if (expanded != 0) HART_FUZZ_CHECK((expanded & 3) == 3);
    const DecodedInsn d16 = decode(low, offset);
    check_decoded(d16, low);
    if ((low & 3) != 3) {
      HART_FUZZ_CHECK((d16.op == Op::ILLEGAL) == (expanded == 0));
      if (expanded != 0) HART_FUZZ_CHECK(decode(expanded, offset).op == d16.op);
    }
    if (i + 4 <= s.size()) {
      const uint32_t w =
          low | (static_cast<uint32_t>(s[i + 2]) << 16) | (static_cast<uint32_t>(s[i + 3]) << 24);
      check_decoded(decode(w, offset), w);
    }
  }
}

// Builds the S-phase address space in `m` and returns satp and the entry point.

// Runs `budget` on `one` in a single call and on `sliced` in input-chosen
// slices, then checks they agree.
void run_both(Machine& one, Machine& sliced, uint32_t seed) {
  StopReason stop_one;
  one.hart.run(kBudget, stop_one);

  uint64_t left = kBudget;
  StopReason stop_sliced = StopReason::kBudget;
  uint32_t lcg = seed * 2654435761u + 12345;
  while (left > 0) {
    lcg = lcg * 1103515245u + 12345;
    uint64_t slice = (lcg >> 16) % 8 == 0 ? 1 + (lcg >> 8) % 3 : 1 + (lcg >> 8) % 1500;
    if (slice > left) slice = left;
    sliced.hart.run(slice, stop_sliced);
    if (stop_sliced != StopReason::kBudget) break;
    left -= slice;
  }
  if (stop_one == StopReason::kRequested || stop_sliced == StopReason::kRequested) return;
  // VESSEL_FUZZ_HART_NO_SLICE_CHECK=1 hunts crashes only (while a known
  // slicing bug is open, for instance).
  static const bool skip = std::getenv("VESSEL_FUZZ_HART_NO_SLICE_CHECK") != nullptr;
  if (skip) return;

  const Hart& a = one.hart;
  Hart& b = sliced.hart;
  HART_FUZZ_CHECK(stop_one == stop_sliced);
  HART_FUZZ_CHECK(a.pc == b.pc);
  HART_FUZZ_CHECK(a.priv() == b.priv());
  HART_FUZZ_CHECK(a.instret() == b.instret());
  for (unsigned r = 0; r < 32; ++r) HART_FUZZ_CHECK(a.x[r] == b.x[r]);
  HART_FUZZ_CHECK(std::memcmp(a.fp.f, b.fp.f, sizeof(a.fp.f)) == 0);
  static constexpr uint16_t kCsrs[] = {
      csr::kMstatus,   csr::kMepc,    csr::kMcause,   csr::kMtval,  csr::kSepc,
      csr::kScause,    csr::kStval,   csr::kSatp,     csr::kMie,    csr::kMip,
      csr::kMedeleg,   csr::kMideleg, csr::kMtvec,    csr::kStvec,  csr::kMscratch,
      csr::kSscratch,  csr::kFcsr,    csr::kMinstret, csr::kMcycle, csr::kMcounteren,
      csr::kScounteren};
  for (uint16_t n : kCsrs) {
    HART_FUZZ_CHECK(one.hart.read_csr_raw(n) == b.read_csr_raw(n));
  }
  // SAFETY: host_base() maps the whole kRamSize bytes of each machine's RAM.
  HART_FUZZ_CHECK(std::memcmp(one.mem.host_base(), sliced.mem.host_base(), kRamSize) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  spdlog::set_level(spdlog::level::off);
  Config c;
  std::memcpy(c.b, data, size < 8 ? size : 8);
  const std::span<const uint8_t> stream =
      size > 8 ? std::span<const uint8_t>(data + 8, size - 8 < kMaxStream ? size - 8 : kMaxStream)
               : std::span<const uint8_t>();
  fuzz_decoder(stream);

  auto one = std::make_unique<Machine>();
  auto sliced = std::make_unique<Machine>();
  for (Machine* m : {one.get(), sliced.get()}) {
    // SAFETY: kStubCode is an array of uint32_t; its bytes are its little-endian encoding.
    m->write(kStub, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kStubCode),
                                             sizeof(kStubCode)));
    if (!stream.empty()) m->write(kRam, stream);  // write() memcpys even an empty span
    m->pins.level = pins_from(c);
  }

  // Phase 1: M-mode from the start of the stream, traps into the stream.
  StubArgs m_args;
  m_args.mtvec = kRam + c.stream_offset(0, 1, stream.size()) + (c.b[2] & 1);
  m_args.mie = irq::kAll;
  m_args.mstatus = (uint64_t{3} << mstatus::kMppShift) | ((c.b[7] & 1) != 0 ? mstatus::kFs : 0) |
                   ((c.b[7] & 2) != 0 ? mstatus::kMpie : 0);
  m_args.entry = kRam;
  for (Machine* m : {one.get(), sliced.get()}) m->stub(m_args);
  run_both(*one, *sliced, c.b[7]);

  // Phase 2: S or U under translation, on the memory phase 1 left behind.
  StubArgs s_args = m_args;
  build_tables(*one, c, stream.size(), s_args);
  build_tables(*sliced, c, stream.size(), s_args);
  s_args.stvec = kRam + c.stream_offset(6, 5, stream.size());
  s_args.medeleg = (c.b[5] & 1) != 0 ? cause::kDelegable : 0;
  s_args.mideleg = (c.b[5] & 2) != 0 ? irq::kDelegable : 0;
  const uint64_t mpp = (c.b[3] & 4) != 0 ? 0 : 1;
  s_args.mstatus =
      (mpp << mstatus::kMppShift) | mstatus::kMpie | ((c.b[3] & 8) != 0 ? mstatus::kSum : 0) |
      ((c.b[3] & 16) != 0 ? mstatus::kMxr : 0) | ((c.b[3] & 32) != 0 ? mstatus::kMprv : 0) |
      ((c.b[3] & 64) != 0 ? mstatus::kTvm | mstatus::kTsr | mstatus::kTw : 0) |
      ((c.b[3] & 128) != 0 ? mstatus::kFs : 0) |
      ((c.b[5] & 4) != 0 ? mstatus::kSie | mstatus::kSpie : 0);
  s_args.entry = kRam;
  for (Machine* m : {one.get(), sliced.get()}) m->stub(s_args);
  run_both(*one, *sliced, c.b[7] ^ 0x5a);
  return 0;
}
