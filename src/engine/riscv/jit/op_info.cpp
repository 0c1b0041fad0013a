#include "engine/riscv/jit/op_info.hpp"

#include "engine/riscv/csr_numbers.hpp"
#include "engine/riscv/fpu.hpp"

namespace vessel::rv::jit {

// Whether `d` writes x[rd] (as opposed to an f register, memory or nothing).
bool writes_x(const DecodedInsn& d) {
  switch (d.op) {
    case Op::NOP:
    case Op::FENCE:
    case Op::FENCE_I:
    case Op::SB:
    case Op::SH:
    case Op::SW:
    case Op::SD:
    case Op::FSW:
    case Op::FSD:
    case Op::FLW:
    case Op::FLD:
    case Op::BEQ:
    case Op::BNE:
    case Op::BLT:
    case Op::BGE:
    case Op::BLTU:
    case Op::BGEU: return false;
    case Op::FP: return fp_writes_x(static_cast<FpOp>(d.aux));
    default: return true;
  }
}

uint32_t f_reads(const DecodedInsn& d) {
  const auto bit = [](unsigned r) { return r < 32 ? 1u << r : 0u; };
  switch (d.op) {
    case Op::FSW:
    case Op::FSD: return bit(d.rs2);
    case Op::FP: return bit(d.rs1) | bit(d.rs2) | bit(d.rs3);
    default: return 0;
  }
}

bool writes_f(const DecodedInsn& d) {
  switch (d.op) {
    case Op::FLW:
    case Op::FLD: return d.rd < 32;
    case Op::FP: return d.rd < 32 && !fp_writes_x(static_cast<FpOp>(d.aux));
    default: return false;
  }
}

// Which of x[rs1], x[rs2] `d` reads, as a mask of register numbers. The
// fields also hold immediate bits in some formats, so this must not just
// take both (it decides which registers a block keeps in host registers).
uint32_t x_reads(const DecodedInsn& d) {
  const uint32_t rs1 = d.rs1 < 32 ? 1u << d.rs1 : 0;
  const uint32_t rs2 = d.rs2 < 32 ? 1u << d.rs2 : 0;
  uint32_t mask = 0;
  switch (d.op) {
    case Op::LUI:
    case Op::AUIPC:
    case Op::LI:
    case Op::JAL:
    case Op::NOP:
    case Op::FENCE:
    case Op::FENCE_I: break;
    case Op::ADDI:
    case Op::SLTI:
    case Op::SLTIU:
    case Op::XORI:
    case Op::ORI:
    case Op::ANDI:
    case Op::SLLI:
    case Op::SRLI:
    case Op::SRAI:
    case Op::ADDIW:
    case Op::SLLIW:
    case Op::SRLIW:
    case Op::SRAIW:
    case Op::LB:
    case Op::LH:
    case Op::LW:
    case Op::LD:
    case Op::LBU:
    case Op::LHU:
    case Op::LWU:
    case Op::FLW:
    case Op::FLD:
    case Op::FSW:
    case Op::FSD:
    case Op::JALR:
    case Op::MV:
    case Op::CLZ:
    case Op::CTZ:
    case Op::CPOP:
    case Op::CLZW:
    case Op::CTZW:
    case Op::CPOPW:
    case Op::SEXT_B:
    case Op::SEXT_H:
    case Op::ZEXT_H:
    case Op::RORI:
    case Op::RORIW:
    case Op::ORC_B:
    case Op::REV8:
    case Op::BCLRI:
    case Op::BEXTI:
    case Op::BINVI:
    case Op::BSETI:
    case Op::SLLI_UW: mask = rs1; break;
    case Op::CSRRW:
    case Op::CSRRS:
    case Op::CSRRC: mask = rs1; break;
    case Op::CSRRWI:
    case Op::CSRRSI:
    case Op::CSRRCI: break;  // rs1 holds the immediate
    case Op::FP:
      switch (static_cast<FpOp>(d.aux)) {
        case FpOp::FMV_D_X:
        case FpOp::FMV_W_X:
        case FpOp::FCVT_S_W:
        case FpOp::FCVT_S_WU:
        case FpOp::FCVT_S_L:
        case FpOp::FCVT_S_LU:
        case FpOp::FCVT_D_W:
        case FpOp::FCVT_D_WU:
        case FpOp::FCVT_D_L:
        case FpOp::FCVT_D_LU: mask = rs1; break;
        default: break;
      }
      break;
    default: mask = rs1 | rs2; break;  // register-register ops, branches, stores
  }
  return mask & ~1u;
}

bool is_conditional_branch(Op op) {
  switch (op) {
    case Op::BEQ:
    case Op::BNE:
    case Op::BLT:
    case Op::BGE:
    case Op::BLTU:
    case Op::BGEU: return true;
    default: return false;
  }
}

bool result_is_sext32(const DecodedInsn& d, uint32_t known) {
  const auto has = [&](uint8_t r) { return r < 32 && ((known >> r) & 1) != 0; };
  switch (d.op) {
    // Sign- or zero-extended narrow loads, and the W forms (RV64I defines
    // their results as sign-extended).
    case Op::LB:
    case Op::LH:
    case Op::LW:
    case Op::LBU:
    case Op::LHU:
    case Op::ADDIW:
    case Op::SLLIW:
    case Op::SRLIW:
    case Op::SRAIW:
    case Op::ADDW:
    case Op::SUBW:
    case Op::SLLW:
    case Op::SRLW:
    case Op::SRAW:
    case Op::MULW:
    case Op::DIVW:
    case Op::DIVUW:
    case Op::REMW:
    case Op::REMUW:
    // Immediates are sign-extended 32-bit values; comparisons give 0 or 1.
    case Op::LUI:
    case Op::LI:
    case Op::SLT:
    case Op::SLTU:
    case Op::SLTI:
    case Op::SLTIU:
    case Op::SEXT_B:
    case Op::SEXT_H:
    case Op::ZEXT_H: return true;
    // Bitwise operations keep bits 63..31 equal if both operands have them
    // equal (12-bit immediates are sign-extended, so they do).
    case Op::MV:
    case Op::XORI:
    case Op::ORI: return has(d.rs1);
    case Op::ANDI: return has(d.rs1) || d.imm >= 0;
    case Op::XOR:
    case Op::OR:
    case Op::AND: return has(d.rs1) && has(d.rs2);
    case Op::SRLI: return (d.imm & 63) >= 33;
    case Op::SRAI: return has(d.rs1) || (d.imm & 63) >= 32;
    default: return false;
  }
}

// Instructions the translator leaves to the interpreter: they change
// privilege, translation or interrupt state, talk to the SBI, or are rare
// enough that a call into the interpreter costs nothing that matters.
bool translatable(Op op) {
  switch (op) {
    case Op::UNDECODED:
    case Op::PAGE_END:
    case Op::SCRATCH_END:
    case Op::CROSS_PAGE:
    case Op::ILLEGAL:
    case Op::ECALL:
    case Op::EBREAK:
    case Op::MRET:
    case Op::SRET:
    case Op::WFI:
    case Op::SFENCE_VMA:
    case Op::FENCE_I:  // code_cache.hpp: the interpreter's, with the fetch path
    case Op::CSRRW:
    case Op::CSRRS:
    case Op::CSRRC:
    case Op::CSRRWI:
    case Op::CSRRSI:
    case Op::CSRRCI: return false;
    default: return true;
  }
}

bool csr_write_keeps_block(uint16_t number) {
  switch (number) {
    case csr::kSscratch:
    case csr::kSepc:
    case csr::kScause:
    case csr::kStval:
    case csr::kStvec:
    case csr::kMscratch:
    case csr::kMepc:
    case csr::kMcause:
    case csr::kMtval:
    case csr::kMtvec: return true;
    default: return false;
  }
}

bool csr_translatable(uint16_t number) {
  switch (number) {
    case csr::kSstatus:
    case csr::kSie:
    case csr::kSip:
    case csr::kSatp:
    case csr::kMstatus:
    case csr::kMie:
    case csr::kMip:
    case csr::kMhartid: return true;
    default: return csr_write_keeps_block(number);
  }
}

bool translatable(const DecodedInsn& d) {
  switch (d.op) {
    case Op::CSRRW:
    case Op::CSRRS:
    case Op::CSRRC:
    case Op::CSRRWI:
    case Op::CSRRSI:
    case Op::CSRRCI: return csr_translatable(static_cast<uint16_t>(d.imm & 0xfff));
    default: return translatable(d.op);
  }
}

}  // namespace vessel::rv::jit
