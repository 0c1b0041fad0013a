// The slow paths that generated code calls: plain functions with the System V
// calling convention, each given the running hart's HartState*. They reach
// the hart's private MMU and trap machinery (Hart declares Runtime a friend)
// and never touch generated code.
#pragma once

#include <cstdint>

#include "engine/riscv/hart_state.hpp"

namespace vessel::rv::jit {

struct Runtime {
  // A load's result and whether it succeeded (ok = 0: a trap is recorded).
  // Returned in rax:rdx.
  struct LoadResult {
    uint64_t value;
    uint64_t ok;
  };
  // `kind` is the size in bytes, plus kSigned to sign-extend the value.
  static constexpr uint64_t kSigned = 0x100;
  static LoadResult load(HartState* state, uint64_t va, uint64_t kind);
  // Returns 0 if the store trapped. After a store here the block always
  // returns to the dispatcher: it may have hit MMIO or rewritten code.
  static uint64_t store(HartState* state, uint64_t va, uint64_t value, uint64_t size);
  // An LR, SC or AMO at `va`: `packed` holds op | AmoOp << 8 | rd << 16 |
  // rs2 << 24; writes x[rd]. Returns 0 if it trapped.
  static uint64_t atomic(HartState* state, uint64_t va, uint64_t packed);
  // One F/D computational instruction; `packed` holds op | rm << 8 | rd << 16 |
  // rs1 << 24 | rs2 << 32 | rs3 << 40. Returns 0 if it is illegal (the
  // interpreter then raises the exception).
  static uint64_t fp(HartState* state, uint64_t packed);
  // A CSR instruction op_info.hpp's csr_translatable allows; `packed` holds
  // op | csr << 8 | rd << 24 | rs1 << 32 (rs1: the register, or the 5-bit
  // immediate). Returns 0 if it is illegal (the interpreter then raises the
  // exception; nothing was changed), 1 if the block goes on, 2 if it must
  // return to the dispatcher (csr_write_keeps_block).
  static uint64_t csr(HartState* state, uint64_t packed);
  // Before entering generated code: MXCSR must round to nearest with all
  // exceptions masked and hold no sticky flag missing from `fflags` (abi.hpp);
  // resets it to the default when not (rare: ldmxcsr is slow).
  static void prepare_mxcsr(uint32_t fflags);
  static uint32_t read_mxcsr();

  // MXCSR flag bits (IE DE ZE OE UE PE) -> fflags, and fflags -> the MXCSR
  // bits that may be set without news for the guest (those plus DE).
  static const uint8_t kHostToRvFlags[64];
  static const uint16_t kRvToHostAllowed[32];
};

}  // namespace vessel::rv::jit
