// The binary translator against the interpreter on arbitrary instruction
// streams. The machine and the two phases are fuzz_hart's (a fresh tiny
// machine per input: RAM at 0x80000000, no devices, a deterministic clock;
// first M-mode, then S- or U-mode under Sv39/Sv48 with well-formed page
// tables or tables made of the input), run three times:
//   - on the interpreter in one run() (the reference),
//   - on the translator in one run(),
//   - on the translator in input-chosen slices,
// the first translating code the first time it reaches it, the second the
// second or the fourth time (a configuration bit). After each phase all
// three must be in the same architectural state (pc, privilege, retired
// count, x and f registers, fcsr, CSRs, every byte of RAM).
// Any difference aborts with a line saying what differs.
//
// To reach what the translator finds hard, registers start as pointers into
// the stream (stores then rewrite code that has run or is about to), as odd
// halfword addresses (jumps into the middle of instructions), as addresses
// with nothing behind them (execution from unmapped memory) and as addresses
// near the end of RAM, where a copy of the stream's head runs off the end.
//
// Input: 8 bytes of configuration (fuzz_hart's, see Config), then the
// instruction stream.
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
#include "engine/riscv/hart.hpp"
#include "hart_fuzz_setup.hpp"
#include "memory/guest_memory.hpp"
#include "platform/guest_clock.hpp"

namespace {

using namespace vessel;
using namespace vessel::rv;
using namespace vessel::rv::fuzz;

[[noreturn]] void differ(const char* phase, const char* what, uint64_t interp, uint64_t jit,
                         const char* jit_run) {
  std::fprintf(stderr,
               "fuzz_jit: invariant failed: engines differ after the %s phase: %s is %#llx on the "
               "interpreter, %#llx on the translator (%s)\n",
               phase, what, static_cast<unsigned long long>(interp),
               static_cast<unsigned long long>(jit), jit_run);
  std::abort();
}

constexpr uint64_t kTail = kRam + kRamSize - 64;  // a copy of the stream's head
// Less than fuzz_hart's 10000: three machines run each input, and
// translating is slow under the sanitizers (a block of a random stream costs
// about 0.3 ms, and a stream that stores into its own page has its blocks
// made again at every store): the slowest inputs must stay well under
// run-fuzzers' 10-second timeout (libFuzzer may run an input twice to look
// for leaks).
constexpr uint64_t kBudget = 1000;
constexpr size_t kJitCapacity = size_t{1} << 20;  // small: flushes happen
struct Machine {
  // `warmup`: arrivals before the translator translates code (1: at once).
  explicit Machine(Engine engine, uint32_t warmup = 1) {
    code.set_jit_capacity(kJitCapacity);
    code.set_jit_warmup(warmup);
    hart.set_engine(engine);
  }
  GuestMemory mem{kRam, kRamSize};
  Bus bus;
  CodeCache code{mem};
  uint64_t ticks = 0;
  GuestClock clock{GuestClock::Mode::kDeterministic, &ticks};
  HartIrqPins pins;
  Hart hart{0, mem, bus, code, clock, pins};
  StopReason stop = StopReason::kBudget;

  void write(uint64_t gpa, std::span<const uint8_t> bytes) {
    if (!mem.write(gpa, bytes)) {
      std::fprintf(stderr, "fuzz_jit: cannot write the test machine's RAM\n");
      std::abort();
    }
  }
  void write64(uint64_t gpa, uint64_t v) {
    uint8_t b[8];
    for (unsigned i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    write(gpa, b);
  }
  void stub(const StubArgs& a, const uint64_t (&regs)[32]) {
    hart.reset(kStub, Priv::kMachine);
    hart.x[5] = a.mtvec;
    hart.x[6] = a.stvec;
    hart.x[7] = a.satp;
    hart.x[28] = a.medeleg;
    hart.x[29] = a.mideleg;
    hart.x[30] = a.mie;
    hart.x[31] = a.mstatus;
    hart.x[10] = a.entry;
    StopReason s;
    hart.run(kStubLength, s);
    for (unsigned r = 0; r < 32; ++r) hart.x[r] = regs[r];
  }
};

// Builds the S-phase address space in `m` (fuzz_hart's): RAM's gigapage
// identity-mapped and VA 0's 2 MiB onto RAM with the input's flags, or a root
// table that is a page of the input itself.

// Initial registers: x[r] is picked by two bits of a hash of the
// configuration: a pointer into the stream (4-byte aligned or not), an
// address with nothing behind it or near the end of RAM, or a small value.
void initial_registers(const Config& c, uint64_t stream_len, uint64_t (&regs)[32]) {
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (uint8_t byte : c.b) h = (h ^ byte) * 0x100000001b3ull;
  static constexpr uint64_t kNothing[] = {0,          0x1000,       0x2000000,
                                          0x10000000, kRam - 2,     kRam + kRamSize - 2,
                                          kTail + 60, 0x4000000000, 0xfffffffffffff000};
  regs[0] = 0;
  for (unsigned r = 1; r < 32; ++r) {
    h = h * 6364136223846793005ull + 1442695040888963407ull;
    const uint64_t pick = h >> 60;
    const uint64_t span = stream_len == 0 ? 4096 : stream_len;
    const uint64_t off = (h >> 20) % span;
    if (pick < 5) {
      regs[r] = kRam + (off & ~uint64_t{3});
    } else if (pick < 7) {
      regs[r] = kRam + ((off & ~uint64_t{3}) | 2);
    } else if (pick < 9) {
      regs[r] = kNothing[(h >> 8) % (sizeof(kNothing) / sizeof(kNothing[0]))];
    } else if (pick < 10) {
      regs[r] = kTail + ((h >> 8) & 0x3e);
    } else {
      regs[r] = (h >> 8) & 0xff;
    }
  }
}

// The translator on `jit` translates code the first time it reaches it; on
// `sliced` cold code runs in the interpreter first. (Translating every
// instruction a trap returns to, once, is what costs most under the
// sanitizers: one machine doing it is enough.)
struct Runs {
  explicit Runs(uint32_t sliced_warmup)
      : interp(std::make_unique<Machine>(Engine::kInterp)),
        jit(std::make_unique<Machine>(Engine::kJit, 1)),
        sliced(std::make_unique<Machine>(Engine::kJit, sliced_warmup)) {}
  std::unique_ptr<Machine> interp;
  std::unique_ptr<Machine> jit;
  std::unique_ptr<Machine> sliced;
};

void compare(const char* phase, Machine& ref, Machine& m, const char* run) {
  Hart& a = ref.hart;
  Hart& b = m.hart;
  if (ref.stop != m.stop)
    differ(phase, "the stop reason", static_cast<uint64_t>(ref.stop), static_cast<uint64_t>(m.stop),
           run);
  if (a.pc != b.pc) differ(phase, "pc", a.pc, b.pc, run);
  if (a.priv() != b.priv())
    differ(phase, "the privilege level", static_cast<uint64_t>(a.priv()),
           static_cast<uint64_t>(b.priv()), run);
  if (a.instret() != b.instret()) differ(phase, "instret", a.instret(), b.instret(), run);
  static const char* const kX[32] = {"x0",  "x1",  "x2",  "x3",  "x4",  "x5",  "x6",  "x7",
                                     "x8",  "x9",  "x10", "x11", "x12", "x13", "x14", "x15",
                                     "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23",
                                     "x24", "x25", "x26", "x27", "x28", "x29", "x30", "x31"};
  static const char* const kF[32] = {"f0",  "f1",  "f2",  "f3",  "f4",  "f5",  "f6",  "f7",
                                     "f8",  "f9",  "f10", "f11", "f12", "f13", "f14", "f15",
                                     "f16", "f17", "f18", "f19", "f20", "f21", "f22", "f23",
                                     "f24", "f25", "f26", "f27", "f28", "f29", "f30", "f31"};
  for (unsigned r = 0; r < 32; ++r) {
    if (a.x[r] != b.x[r]) differ(phase, kX[r], a.x[r], b.x[r], run);
  }
  for (unsigned r = 0; r < 32; ++r) {
    if (a.fp.f[r] != b.fp.f[r]) differ(phase, kF[r], a.fp.f[r], b.fp.f[r], run);
  }
  if (a.fp.fflags != b.fp.fflags) differ(phase, "fflags", a.fp.fflags, b.fp.fflags, run);
  if (a.fp.frm != b.fp.frm) differ(phase, "frm", a.fp.frm, b.fp.frm, run);
  static constexpr struct {
    uint16_t number;
    const char* name;
  } kCsrs[] = {{csr::kMstatus, "mstatus"},
               {csr::kMepc, "mepc"},
               {csr::kMcause, "mcause"},
               {csr::kMtval, "mtval"},
               {csr::kSepc, "sepc"},
               {csr::kScause, "scause"},
               {csr::kStval, "stval"},
               {csr::kSatp, "satp"},
               {csr::kMie, "mie"},
               {csr::kMip, "mip"},
               {csr::kMedeleg, "medeleg"},
               {csr::kMideleg, "mideleg"},
               {csr::kMtvec, "mtvec"},
               {csr::kStvec, "stvec"},
               {csr::kMscratch, "mscratch"},
               {csr::kSscratch, "sscratch"},
               {csr::kFcsr, "fcsr"},
               {csr::kMinstret, "minstret"},
               {csr::kMcycle, "mcycle"},
               {csr::kMcounteren, "mcounteren"},
               {csr::kScounteren, "scounteren"},
               {csr::kMenvcfg, "menvcfg"},
               {csr::kSenvcfg, "senvcfg"}};
  for (const auto& c : kCsrs) {
    const uint64_t u = a.read_csr_raw(c.number), v = b.read_csr_raw(c.number);
    if (u != v) differ(phase, c.name, u, v, run);
  }
  // SAFETY: host_base() maps the whole kRamSize bytes of each machine's RAM.
  const uint8_t* p = ref.mem.host_base();
  const uint8_t* q = m.mem.host_base();
  if (std::memcmp(p, q, kRamSize) != 0) {
    uint64_t i = 0;
    while (p[i] == q[i]) ++i;
    std::fprintf(stderr, "fuzz_jit: RAM differs first at %#llx\n",
                 static_cast<unsigned long long>(kRam + i));
    differ(phase, "a byte of RAM", p[i], q[i], run);
  }
}

// One phase: the reference and the translator in one run each, the other
// translator machine in input-chosen slices.
void run_phase(const char* phase, Runs& r, uint32_t seed) {
  r.interp->hart.run(kBudget, r.interp->stop);
  r.jit->hart.run(kBudget, r.jit->stop);

  uint64_t left = kBudget;
  uint32_t lcg = seed * 2654435761u + 12345;
  while (left > 0) {
    lcg = lcg * 1103515245u + 12345;
    uint64_t slice = (lcg >> 16) % 8 == 0 ? 1 + (lcg >> 8) % 3 : 1 + (lcg >> 8) % 200;
    if (slice > left) slice = left;
    r.sliced->hart.run(slice, r.sliced->stop);
    if (r.sliced->stop != StopReason::kBudget) break;
    left -= slice;
  }
  // A store to a device stops a run early (there are none here; be safe).
  for (Machine* m : {r.interp.get(), r.jit.get(), r.sliced.get()}) {
    if (m->stop == StopReason::kRequested) return;
  }
  compare(phase, *r.interp, *r.jit, "one run each");
  compare(phase, *r.interp, *r.sliced, "the translator in slices");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  spdlog::set_level(spdlog::level::off);
  Config c;
  std::memcpy(c.b, data, size < 8 ? size : 8);
  const std::span<const uint8_t> stream =
      size > 8 ? std::span<const uint8_t>(data + 8, size - 8 < kMaxStream ? size - 8 : kMaxStream)
               : std::span<const uint8_t>();

  Runs r((c.b[6] & 0x80) != 0 ? 4 : 2);
  uint64_t regs[32];
  initial_registers(c, stream.size(), regs);
  for (Machine* m : {r.interp.get(), r.jit.get(), r.sliced.get()}) {
    // SAFETY: kStubCode is an array of uint32_t; its bytes are its little-endian encoding.
    m->write(kStub, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kStubCode),
                                             sizeof(kStubCode)));
    if (!stream.empty()) {
      m->write(kRam, stream);
      m->write(kTail, stream.first(stream.size() < 64 ? stream.size() : 64));
    }
    m->pins.level = pins_from(c);
  }

  // Phase 1: M-mode from the start of the stream (or its middle, or the copy
  // at the end of RAM), traps into the stream.
  StubArgs m_args;
  m_args.mtvec = kRam + c.stream_offset(0, 1, stream.size()) + (c.b[2] & 1);
  m_args.mie = irq::kAll;
  m_args.mstatus = (uint64_t{3} << mstatus::kMppShift) | ((c.b[7] & 1) != 0 ? mstatus::kFs : 0) |
                   ((c.b[7] & 2) != 0 ? mstatus::kMpie : 0);
  if ((c.b[6] & 0x30) == 0x30) {
    m_args.entry = kTail + (c.b[6] & 0xe);
  } else {
    m_args.entry = kRam + ((c.b[6] & 0x40) != 0 ? 2 : 0);
  }
  for (Machine* m : {r.interp.get(), r.jit.get(), r.sliced.get()}) m->stub(m_args, regs);
  run_phase("M-mode", r, c.b[7]);

  // Phase 2: S or U under translation, on the memory phase 1 left behind.
  StubArgs s_args = m_args;
  for (Machine* m : {r.interp.get(), r.jit.get(), r.sliced.get()})
    build_tables(*m, c, stream.size(), s_args);
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
  for (Machine* m : {r.interp.get(), r.jit.get(), r.sliced.get()}) m->stub(s_args, regs);
  run_phase("S/U-mode", r, c.b[7] ^ 0x5a);
  return 0;
}
