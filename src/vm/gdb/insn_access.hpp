// Which guest memory an instruction is about to access, from its decoded
// form and the registers: what the stub checks watchpoints against before
// it lets a hart execute the instruction (RISC-V watchpoints fire before
// the access, and gdb's RISC-V port expects that: it steps over the
// instruction itself, with the watchpoint out of the way).
#pragma once

#include <cstdint>
#include <optional>

#include "engine/riscv/decoded_insn.hpp"

namespace vessel::gdb {

struct MemAccess {
  uint64_t addr;
  unsigned size;
  bool load;
  bool store;
};

// nullopt for instructions that do not access data memory. `x` is the
// hart's integer registers (x[0] reads as zero).
std::optional<MemAccess> memory_access(const rv::DecodedInsn& d, const uint64_t* x);

}  // namespace vessel::gdb
