// What fuzz_hart and fuzz_jit share: the tiny machine's memory map, the
// M-mode stub that switches mode from registers, the 8-byte configuration at
// the head of each input, and the page tables and interrupt pins it selects.
#pragma once

#include <cstdint>

#include "devices/irq.hpp"
#include "engine/riscv/csr_numbers.hpp"

namespace vessel::rv::fuzz {

constexpr uint64_t kRam = 0x80000000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kMaxStream = 0x10000;      // the stream lives in [kRam, kRam + 64 KiB)
constexpr uint64_t kTables = kRam + 0xe0000;  // well-formed page tables
constexpr uint64_t kStub = kRam + 0xf0000;    // the M-mode mode-switch stub

// ---- The stub: installs CSRs from x5..x31 and x10, then mret ----
constexpr uint32_t csrw(uint32_t csr, uint32_t rs1) {
  return (csr << 20) | (rs1 << 15) | (1u << 12) | 0x73;
}
constexpr uint32_t kStubCode[] = {
    csrw(csr::kMtvec, 5),    csrw(csr::kStvec, 6),    csrw(csr::kSatp, 7),
    csrw(csr::kMedeleg, 28), csrw(csr::kMideleg, 29), csrw(csr::kMie, 30),
    csrw(csr::kMstatus, 31), csrw(csr::kMepc, 10),    0x30200073 /* mret */};
constexpr unsigned kStubLength = sizeof(kStubCode) / sizeof(kStubCode[0]);

struct StubArgs {
  uint64_t mtvec = 0, stvec = 0, satp = 0, medeleg = 0, mideleg = 0, mie = 0, mstatus = 0;
  uint64_t entry = kRam;
};

// The first 8 input bytes.
struct Config {
  uint8_t b[8] = {};
  uint64_t stream_offset(unsigned lo, unsigned hi, uint64_t len) const {
    return len == 0 ? 0 : ((b[lo] | (b[hi] << 8)) % len) & ~uint64_t{3};
  }
};

// Page tables as the configuration asks (M is a fuzzer's machine, with
// write64(gpa, value)).
template <typename M>
void build_tables(M& m, const Config& c, uint64_t stream_len, StubArgs& a) {
  const unsigned option = c.b[3] & 3;
  const bool sv48 = (option & 1) != 0;
  const uint64_t mode = sv48 ? 9 : 8;
  const bool user = (c.b[3] & 4) != 0;
  constexpr uint64_t V = 1, R = 2, W = 4, X = 8, U = 16, A = 64, D = 128;
  auto pte = [](uint64_t pa, uint64_t flags) { return ((pa >> 12) << 10) | flags; };
  if (option >= 2) {
    // The root table is a page of the input itself.
    const uint64_t pages = (stream_len + 4095) / 4096;
    const uint64_t root = kRam + 4096 * (pages == 0 ? 0 : c.b[4] % pages);
    a.satp = (mode << 60) | (root >> 12);
    return;
  }
  // Identity-map RAM's gigapage with full rights, and VA 0's 2 MiB onto RAM
  // with the input's flags.
  const uint64_t root = kTables, l2 = kTables + 0x1000, l1 = kTables + 0x2000;
  const uint64_t big = V | R | W | X | A | D | (user ? U : 0);
  if (sv48) {
    m.write64(root + 0 * 8, pte(l2, V));
    m.write64(l2 + 2 * 8, pte(kRam, big));
    m.write64(l2 + 0 * 8, pte(l1, V));
  } else {
    m.write64(root + 2 * 8, pte(kRam, big));
    m.write64(root + 0 * 8, pte(l1, V));
  }
  m.write64(l1 + 0 * 8, pte(kRam, c.b[4]));
  a.satp = (mode << 60) | (root >> 12);
}

uint64_t pins_from(const Config& c) {
  if ((c.b[2] & 0x80) == 0) return 0;
  static constexpr uint64_t kBits[6] = {irq::kSsip, irq::kMsip, irq::kStip,
                                        irq::kMtip, irq::kSeip, irq::kMeip};
  uint64_t level = 0;
  for (unsigned i = 0; i < 6; ++i) {
    if ((c.b[2] >> (i + 1)) & 1) level |= kBits[i];
  }
  return level;
}

}  // namespace vessel::rv::fuzz
