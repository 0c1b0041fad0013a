// What the translator needs to know about each decoded operation: which
// integer registers it reads and writes, whether it is a conditional branch,
// and whether the translator handles it or leaves it to the interpreter.
#pragma once

#include <cstdint>

#include "engine/riscv/decoded_insn.hpp"

namespace vessel::rv::jit {

// Whether `d` writes x[rd] (as opposed to an f register, memory or nothing).
bool writes_x(const DecodedInsn& d);
// Which of x[rs1], x[rs2] `d` reads, as a mask of register numbers (x0 never).
// The fields also hold immediate bits in some formats, so this must not just
// take both: it decides which registers a block keeps in host registers.
uint32_t x_reads(const DecodedInsn& d);
// Which f registers `d` may read, and whether it writes f[rd]. Generous
// where a field's meaning varies (an FP instruction's rs1..rs3 all count as
// f registers it reads): they decide which f registers a block loads into
// SSE registers and writes back, and an extra one only costs a move.
uint32_t f_reads(const DecodedInsn& d);
bool writes_f(const DecodedInsn& d);
bool is_conditional_branch(Op op);
// Whether x[rd] after `d` equals the sign extension of its low 32 bits, given
// `known`, the registers known to hold such values before it (bit 0 is x0).
// It lets the translator drop sign extensions that would change nothing (the
// `sext.w` compilers emit after 32-bit arithmetic done in 64-bit registers),
// each one a cycle on a dependency chain.
bool result_is_sext32(const DecodedInsn& d, uint32_t known);
// Instructions the translator leaves to the interpreter: they change
// privilege, translation or interrupt state, talk to the SBI, or are rare
// enough that a call into the interpreter costs nothing that matters.
bool translatable(Op op);
// CSR instructions are the translator's (through Runtime::csr) for the CSRs
// a kernel's trap entry and exit and its user-access windows touch: trap
// registers, status, interrupt enables. Counters and time (exact only at the
// interpreter's instruction boundaries), the FP CSRs (their flags sit in
// MXCSR while generated code runs) and the rest stay the interpreter's.
bool csr_translatable(uint16_t number);
// Whether writing this CSR changes nothing a block relies on (privilege,
// translation, FS, which interrupts are pending or enabled): the block goes
// on after it; after any other write it returns to the dispatcher.
bool csr_write_keeps_block(uint16_t number);
// translatable(op), and for a CSR instruction csr_translatable.
bool translatable(const DecodedInsn& d);

}  // namespace vessel::rv::jit
