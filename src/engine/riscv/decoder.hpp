// Instruction decoding: raw RV64GC (+ Zba/Zbb/Zbs) bits to DecodedInsn.
#pragma once

#include <cstdint>

#include "engine/riscv/decoded_insn.hpp"

namespace vessel::rv {

// Expands a 16-bit compressed instruction to its 32-bit equivalent, or
// returns 0 if the encoding is reserved or illegal on RV64.
uint32_t expand_compressed(uint16_t c);

// Length in bytes of the instruction whose low 16 bits are `low`.
inline unsigned insn_length(uint16_t low) {
  return (low & 3) == 3 ? 4 : 2;
}

// Decodes one instruction. `raw` holds 16 or 32 bits (as insn_length says).
// Unknown or reserved encodings decode to Op::ILLEGAL with `raw` kept for
// mtval. `page_offset` (the instruction's offset in its 4 KiB page) lets the
// decoder mark branch targets in the same page.
DecodedInsn decode(uint32_t raw, unsigned page_offset);

}  // namespace vessel::rv
