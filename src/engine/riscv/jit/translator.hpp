// Translation of one block of RISC-V code to x86-64 (through xbyak): this
// file finds the block's instructions, emitter.hpp emits its code.
//
// A block is straight-line code in one 4 KiB page: it starts where execution
// arrives, goes on through conditional branches (side exits) and through
// plain jumps to code of the page not yet in it (at the target), and ends
// after any other jump or call, before the first
// instruction it leaves to the interpreter (system instructions, CSRs,
// atomics), after an instruction that crosses into the next page, at the
// end of the page, or after kMaxBlockInsns instructions. Its code:
//   - takes its instruction count from the budget on entry, or returns to the
//     dispatcher untouched when too little is left (the dispatcher then
//     interprets the rest, so the retired count stays exact);
//   - keeps the guest registers it uses most in host registers (abi.hpp);
//   - does loads and stores through the software TLB inline, calling
//     Runtime's slow paths on a miss; a fault refunds the instructions that
//     did not retire and returns with pc at the faulting instruction;
//   - ends in direct jumps to blocks of the same page (linked lazily) or in
//     the jump-cache lookup for everything else.
// An instruction whose second half lies in the next page (a hot loop may
// well hold one) is translated as the block's last. The block is keyed by
// its first page alone, so its code checks the second half on every run:
// the next page must be in the fetch TLB and still hold the same 16 bits,
// else the interpreter runs the instruction (and fills that TLB entry).
#pragma once

#include <cstdint>

#include "engine/riscv/jit/block_cache.hpp"

namespace vessel::rv::jit {

inline constexpr unsigned kMaxBlockInsns = 64;

// Translates the block at virtual `va`, guest-physical `gpa`; `page` is the
// host address of the page's first byte, `next_page` that of the next
// virtual page as an instruction fetch would see it now (nullptr if it
// would fault): where an instruction crossing into it finds its second half
// at translation time. Writes code at the cache's cursor
// and returns the block (code == nullptr when the first instruction is one
// the translator leaves to the interpreter).
enum class Translation {
  kDone,
  kNoRoom,  // the buffer is too full for it: the caller flushes the cache and tries again
  kFailed,  // the emitter refused it (a translator bug): `error` says why; interpret it
};
Translation translate_block(BlockCache& cache, uint64_t va, uint64_t gpa, const uint8_t* page,
                            const uint8_t* next_page, Block& out, const char** error);

}  // namespace vessel::rv::jit
