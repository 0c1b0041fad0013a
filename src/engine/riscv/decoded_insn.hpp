// The decoded form of one RISC-V instruction, as the interpreter executes it.
//
// Instructions are decoded once and cached per guest-physical page (see
// code_cache.hpp); the interpreter dispatches on `op` with a jump table and
// never looks at the raw bits again.
#pragma once

#include <cstdint>

namespace vessel::rv {

// Every operation the interpreter executes. The first group are internal
// markers, not instructions. F/D computational instructions share one op
// (Op::FP) and carry an FpOp in `aux`.
// clang-format off
#define VESSEL_RV_OPS(X)                                                                                 \
  X(UNDECODED) X(PAGE_END) X(SCRATCH_END) X(CROSS_PAGE) X(ILLEGAL) X(NOP) X(LUI) X(AUIPC) X(JAL) X(JALR) \
  X(BEQ) X(BNE) X(BLT) X(BGE) X(BLTU) X(BGEU) X(LB) X(LH) X(LW) X(LD)                                    \
  X(LBU) X(LHU) X(LWU) X(SB) X(SH) X(SW) X(SD) X(ADDI) X(SLTI) X(SLTIU)                                  \
  X(XORI) X(ORI) X(ANDI) X(SLLI) X(SRLI) X(SRAI) X(ADD) X(SUB) X(SLL) X(SLT)                             \
  X(SLTU) X(XOR) X(SRL) X(SRA) X(OR) X(AND) X(ADDIW) X(SLLIW) X(SRLIW) X(SRAIW)                          \
  X(ADDW) X(SUBW) X(SLLW) X(SRLW) X(SRAW) X(MUL) X(MULH) X(MULHSU) X(MULHU) X(DIV)                       \
  X(DIVU) X(REM) X(REMU) X(MULW) X(DIVW) X(DIVUW) X(REMW) X(REMUW) X(LR_W) X(SC_W)                       \
  X(LR_D) X(SC_D) X(AMO_W) X(AMO_D) X(FENCE) X(FENCE_I) X(ECALL) X(EBREAK) X(MRET) X(SRET)               \
  X(WFI) X(SFENCE_VMA) X(CSRRW) X(CSRRS) X(CSRRC) X(CSRRWI) X(CSRRSI) X(CSRRCI) X(FLW) X(FLD)            \
  X(FSW) X(FSD) X(FP) X(SH1ADD) X(SH2ADD) X(SH3ADD) X(ADD_UW) X(SH1ADD_UW) X(SH2ADD_UW) X(SH3ADD_UW)     \
  X(SLLI_UW) X(ANDN) X(ORN) X(XNOR) X(CLZ) X(CTZ) X(CPOP) X(CLZW) X(CTZW) X(CPOPW)                       \
  X(MAX) X(MAXU) X(MIN) X(MINU) X(SEXT_B) X(SEXT_H) X(ZEXT_H) X(ROL) X(ROR) X(RORI)                      \
  X(ROLW) X(RORW) X(RORIW) X(ORC_B) X(REV8) X(BCLR) X(BCLRI) X(BEXT) X(BEXTI) X(BINV)                    \
  X(BINVI) X(BSET) X(BSETI) X(LI) X(MV)
// clang-format on

enum class Op : uint8_t {
#define VESSEL_RV_ENUM(name) name,
  VESSEL_RV_OPS(VESSEL_RV_ENUM)
#undef VESSEL_RV_ENUM
      kCount
};

// AMO sub-operations (funct5 of the A extension) kept in `aux` of AMO_W/AMO_D.
enum class AmoOp : uint8_t { kAdd, kSwap, kXor, kOr, kAnd, kMin, kMax, kMinu, kMaxu };

// Whether a FENCE (its I-type immediate: fm, pred, succ) orders earlier
// stores before later loads, the one order an x86-64 host does not keep by
// itself. FENCE.TSO (fm = 8) does not.
constexpr bool fence_orders_store_load(int32_t imm) {
  const bool pred_w = (imm & 0x10) != 0, succ_r = (imm & 0x02) != 0;
  return pred_w && succ_r && ((imm >> 8) & 0xf) != 8;
}

// Integer register index used as the destination when the instruction's rd
// is x0: writes land in a scratch slot so x[0] stays zero without a check.
inline constexpr uint8_t kZeroSink = 32;

struct DecodedInsn {
  Op op = Op::UNDECODED;
  uint8_t rd = 0;  // destination (kZeroSink for x0)
  uint8_t rs1 = 0;
  uint8_t rs2 = 0;
  uint8_t rs3 = 0;    // FP fused ops; rounding mode for FP
  uint8_t aux = 0;    // FpOp, AmoOp, or flags
  uint8_t len = 4;    // 2 or 4 bytes
  uint8_t flags = 0;  // kInPageTarget for branches and JAL
  int32_t imm = 0;    // immediate, CSR number, or branch/jump offset
  uint32_t raw = 0;   // the instruction bits, for mtval on illegal instructions
};
static_assert(sizeof(DecodedInsn) == 16);

// The branch or jump target lies in the same 4 KiB page as the instruction,
// so the interpreter can follow it without a new TLB lookup.
inline constexpr uint8_t kInPageTarget = 1;

}  // namespace vessel::rv
