#include "engine/riscv/decoder.hpp"

#include "engine/riscv/fpu.hpp"

namespace vessel::rv {
namespace {

constexpr uint32_t bits(uint32_t v, unsigned hi, unsigned lo) {
  return (v >> lo) & ((1u << (hi - lo + 1)) - 1);
}
constexpr uint32_t bit(uint32_t v, unsigned n) {
  return (v >> n) & 1;
}
constexpr int32_t sext(uint32_t v, unsigned width) {
  const unsigned shift = 32 - width;
  return static_cast<int32_t>(v << shift) >> shift;
}

// Encoders for the 32-bit forms that compressed instructions expand to.
constexpr uint32_t enc_i(uint32_t opc, uint32_t f3, uint32_t rd, uint32_t rs1, int32_t imm) {
  return (static_cast<uint32_t>(imm) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
}
constexpr uint32_t enc_s(uint32_t opc, uint32_t f3, uint32_t rs1, uint32_t rs2, int32_t imm) {
  const auto u = static_cast<uint32_t>(imm);
  return (bits(u, 11, 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (bits(u, 4, 0) << 7) |
         opc;
}
constexpr uint32_t enc_r(uint32_t opc, uint32_t f3, uint32_t f7, uint32_t rd, uint32_t rs1,
                         uint32_t rs2) {
  return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
}
constexpr uint32_t enc_b(uint32_t f3, uint32_t rs1, uint32_t rs2, int32_t imm) {
  const auto u = static_cast<uint32_t>(imm);
  return (bit(u, 12) << 31) | (bits(u, 10, 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
         (bits(u, 4, 1) << 8) | (bit(u, 11) << 7) | 0x63;
}
constexpr uint32_t enc_j(uint32_t rd, int32_t imm) {
  const auto u = static_cast<uint32_t>(imm);
  return (bit(u, 20) << 31) | (bits(u, 10, 1) << 21) | (bit(u, 11) << 20) |
         (bits(u, 19, 12) << 12) | (rd << 7) | 0x6f;
}
constexpr uint32_t enc_u(uint32_t opc, uint32_t rd, int32_t imm) {
  return (static_cast<uint32_t>(imm) & 0xfffff000u) | (rd << 7) | opc;
}

constexpr uint32_t kOpLoad = 0x03, kOpLoadFp = 0x07, kOpImm = 0x13, kOpImm32 = 0x1b,
                   kOpStore = 0x23, kOpStoreFp = 0x27, kOpReg = 0x33, kOpReg32 = 0x3b,
                   kOpLui = 0x37, kOpJalr = 0x67;

}  // namespace

uint32_t expand_compressed(uint16_t c) {
  const uint32_t f3 = bits(c, 15, 13);
  const uint32_t rd = bits(c, 11, 7);  // also rs1 in the full-register forms
  const uint32_t rs2 = bits(c, 6, 2);
  const uint32_t rdp = bits(c, 4, 2) + 8;   // rd' / rs2'
  const uint32_t rs1p = bits(c, 9, 7) + 8;  // rs1' / rd'
  const int32_t imm6 = sext((bit(c, 12) << 5) | bits(c, 6, 2), 6);
  const uint32_t uimm_d = (bits(c, 12, 10) << 3) | (bits(c, 6, 5) << 6);  // C.LD/FLD/SD/FSD
  const uint32_t uimm_w = (bits(c, 12, 10) << 3) | (bit(c, 6) << 2) | (bit(c, 5) << 6);

  switch (c & 3) {
    case 0:
      switch (f3) {
        case 0: {  // C.ADDI4SPN
          const uint32_t imm =
              (bits(c, 12, 11) << 4) | (bits(c, 10, 7) << 6) | (bit(c, 6) << 2) | (bit(c, 5) << 3);
          if (imm == 0) return 0;
          return enc_i(kOpImm, 0, rdp, 2, static_cast<int32_t>(imm));
        }
        case 1: return enc_i(kOpLoadFp, 3, rdp, rs1p, static_cast<int32_t>(uimm_d));   // C.FLD
        case 2: return enc_i(kOpLoad, 2, rdp, rs1p, static_cast<int32_t>(uimm_w));     // C.LW
        case 3: return enc_i(kOpLoad, 3, rdp, rs1p, static_cast<int32_t>(uimm_d));     // C.LD
        case 5: return enc_s(kOpStoreFp, 3, rs1p, rdp, static_cast<int32_t>(uimm_d));  // C.FSD
        case 6: return enc_s(kOpStore, 2, rs1p, rdp, static_cast<int32_t>(uimm_w));    // C.SW
        case 7: return enc_s(kOpStore, 3, rs1p, rdp, static_cast<int32_t>(uimm_d));    // C.SD
        default: return 0;
      }
    case 1:
      switch (f3) {
        case 0: return enc_i(kOpImm, 0, rd, rd, imm6);  // C.ADDI (C.NOP)
        case 1:                                         // C.ADDIW
          if (rd == 0) return 0;
          return enc_i(kOpImm32, 0, rd, rd, imm6);
        case 2: return enc_i(kOpImm, 0, rd, 0, imm6);  // C.LI
        case 3:
          if (rd == 2) {  // C.ADDI16SP
            const int32_t imm = sext((bit(c, 12) << 9) | (bit(c, 6) << 4) | (bit(c, 5) << 6) |
                                         (bits(c, 4, 3) << 7) | (bit(c, 2) << 5),
                                     10);
            if (imm == 0) return 0;
            return enc_i(kOpImm, 0, 2, 2, imm);
          }
          if (imm6 == 0) return 0;                // C.LUI with nzimm = 0
          return enc_u(kOpLui, rd, imm6 * 4096);  // C.LUI
        case 4: {
          const uint32_t shamt = (bit(c, 12) << 5) | bits(c, 6, 2);
          switch (bits(c, 11, 10)) {
            case 0: return enc_i(kOpImm, 5, rs1p, rs1p, static_cast<int32_t>(shamt));  // C.SRLI
            case 1: return enc_i(kOpImm, 5, rs1p, rs1p, static_cast<int32_t>(shamt | 0x400));
            case 2: return enc_i(kOpImm, 7, rs1p, rs1p, imm6);  // C.ANDI
            default: {
              const uint32_t sel = bits(c, 6, 5);
              if (bit(c, 12) == 0) {
                static constexpr uint32_t kF3[4] = {0, 4, 6, 7};  // SUB XOR OR AND
                return enc_r(kOpReg, kF3[sel], sel == 0 ? 0x20 : 0, rs1p, rs1p, rdp);
              }
              if (sel == 0) return enc_r(kOpReg32, 0, 0x20, rs1p, rs1p, rdp);  // C.SUBW
              if (sel == 1) return enc_r(kOpReg32, 0, 0, rs1p, rs1p, rdp);     // C.ADDW
              return 0;
            }
          }
        }
        case 5: {  // C.J
          const int32_t imm = sext((bit(c, 12) << 11) | (bit(c, 11) << 4) | (bits(c, 10, 9) << 8) |
                                       (bit(c, 8) << 10) | (bit(c, 7) << 6) | (bit(c, 6) << 7) |
                                       (bits(c, 5, 3) << 1) | (bit(c, 2) << 5),
                                   12);
          return enc_j(0, imm);
        }
        default: {  // C.BEQZ, C.BNEZ
          const int32_t imm =
              sext((bit(c, 12) << 8) | (bits(c, 11, 10) << 3) | (bits(c, 6, 5) << 6) |
                       (bits(c, 4, 3) << 1) | (bit(c, 2) << 5),
                   9);
          return enc_b(f3 == 6 ? 0 : 1, rs1p, 0, imm);
        }
      }
    case 2:
      switch (f3) {
        case 0: {  // C.SLLI
          const uint32_t shamt = (bit(c, 12) << 5) | bits(c, 6, 2);
          return enc_i(kOpImm, 1, rd, rd, static_cast<int32_t>(shamt));
        }
        case 1: {  // C.FLDSP
          const uint32_t imm = (bit(c, 12) << 5) | (bits(c, 6, 5) << 3) | (bits(c, 4, 2) << 6);
          return enc_i(kOpLoadFp, 3, rd, 2, static_cast<int32_t>(imm));
        }
        case 2: {  // C.LWSP
          if (rd == 0) return 0;
          const uint32_t imm = (bit(c, 12) << 5) | (bits(c, 6, 4) << 2) | (bits(c, 3, 2) << 6);
          return enc_i(kOpLoad, 2, rd, 2, static_cast<int32_t>(imm));
        }
        case 3: {  // C.LDSP
          if (rd == 0) return 0;
          const uint32_t imm = (bit(c, 12) << 5) | (bits(c, 6, 5) << 3) | (bits(c, 4, 2) << 6);
          return enc_i(kOpLoad, 3, rd, 2, static_cast<int32_t>(imm));
        }
        case 4:
          if (bit(c, 12) == 0) {
            if (rs2 == 0) {  // C.JR
              if (rd == 0) return 0;
              return enc_i(kOpJalr, 0, 0, rd, 0);
            }
            return enc_r(kOpReg, 0, 0, rd, 0, rs2);  // C.MV
          }
          if (rd == 0 && rs2 == 0) return 0x00100073;        // C.EBREAK
          if (rs2 == 0) return enc_i(kOpJalr, 0, 1, rd, 0);  // C.JALR
          return enc_r(kOpReg, 0, 0, rd, rd, rs2);           // C.ADD
        case 5: {                                            // C.FSDSP
          const uint32_t imm = (bits(c, 12, 10) << 3) | (bits(c, 9, 7) << 6);
          return enc_s(kOpStoreFp, 3, 2, rs2, static_cast<int32_t>(imm));
        }
        case 6: {  // C.SWSP
          const uint32_t imm = (bits(c, 12, 9) << 2) | (bits(c, 8, 7) << 6);
          return enc_s(kOpStore, 2, 2, rs2, static_cast<int32_t>(imm));
        }
        default: {  // C.SDSP
          const uint32_t imm = (bits(c, 12, 10) << 3) | (bits(c, 9, 7) << 6);
          return enc_s(kOpStore, 3, 2, rs2, static_cast<int32_t>(imm));
        }
      }
    default: return 0;
  }
}

namespace {

Op decode_op_imm(uint32_t f3, uint32_t inst, uint32_t rs1_field) {
  const uint32_t f6 = bits(inst, 31, 26);
  const uint32_t imm12 = bits(inst, 31, 20);
  switch (f3) {
    case 0: return Op::ADDI;
    case 2: return Op::SLTI;
    case 3: return Op::SLTIU;
    case 4: return Op::XORI;
    case 6: return Op::ORI;
    case 7: return Op::ANDI;
    case 1:
      if (f6 == 0) return Op::SLLI;
      if (f6 == 0x12) return Op::BCLRI;
      if (f6 == 0x1a) return Op::BINVI;
      if (f6 == 0x0a) return Op::BSETI;
      switch (imm12) {
        case 0x600: return Op::CLZ;
        case 0x601: return Op::CTZ;
        case 0x602: return Op::CPOP;
        case 0x604: return Op::SEXT_B;
        case 0x605: return Op::SEXT_H;
        default: return Op::ILLEGAL;
      }
    default:  // 5
      if (f6 == 0) return Op::SRLI;
      if (f6 == 0x10) return Op::SRAI;
      if (f6 == 0x18) return Op::RORI;
      if (f6 == 0x12) return Op::BEXTI;
      if (imm12 == 0x287) return Op::ORC_B;
      if (imm12 == 0x6b8) return Op::REV8;
      return Op::ILLEGAL;
  }
}

Op decode_op_imm32(uint32_t f3, uint32_t inst) {
  const uint32_t f7 = bits(inst, 31, 25);
  const uint32_t rs2 = bits(inst, 24, 20);
  if (f3 == 0) return Op::ADDIW;
  if (f3 == 1) {
    if (f7 == 0) return Op::SLLIW;
    if (bits(inst, 31, 26) == 0x02) return Op::SLLI_UW;
    if (f7 == 0x30 && rs2 == 0) return Op::CLZW;
    if (f7 == 0x30 && rs2 == 1) return Op::CTZW;
    if (f7 == 0x30 && rs2 == 2) return Op::CPOPW;
    return Op::ILLEGAL;
  }
  if (f3 == 5) {
    if (f7 == 0) return Op::SRLIW;
    if (f7 == 0x20) return Op::SRAIW;
    if (f7 == 0x30) return Op::RORIW;
  }
  return Op::ILLEGAL;
}

Op decode_op_reg(uint32_t f3, uint32_t f7) {
  switch (f7) {
    case 0x00: {
      static constexpr Op kOps[8] = {Op::ADD, Op::SLL, Op::SLT, Op::SLTU,
                                     Op::XOR, Op::SRL, Op::OR,  Op::AND};
      return kOps[f3];
    }
    case 0x01: {
      static constexpr Op kOps[8] = {Op::MUL, Op::MULH, Op::MULHSU, Op::MULHU,
                                     Op::DIV, Op::DIVU, Op::REM,    Op::REMU};
      return kOps[f3];
    }
    case 0x20:
      if (f3 == 0) return Op::SUB;
      if (f3 == 5) return Op::SRA;
      if (f3 == 7) return Op::ANDN;
      if (f3 == 6) return Op::ORN;
      if (f3 == 4) return Op::XNOR;
      return Op::ILLEGAL;
    case 0x10:
      if (f3 == 2) return Op::SH1ADD;
      if (f3 == 4) return Op::SH2ADD;
      if (f3 == 6) return Op::SH3ADD;
      return Op::ILLEGAL;
    case 0x05:
      if (f3 == 4) return Op::MIN;
      if (f3 == 5) return Op::MINU;
      if (f3 == 6) return Op::MAX;
      if (f3 == 7) return Op::MAXU;
      return Op::ILLEGAL;
    case 0x30:
      if (f3 == 1) return Op::ROL;
      if (f3 == 5) return Op::ROR;
      return Op::ILLEGAL;
    case 0x24:
      if (f3 == 1) return Op::BCLR;
      if (f3 == 5) return Op::BEXT;
      return Op::ILLEGAL;
    case 0x34: return f3 == 1 ? Op::BINV : Op::ILLEGAL;
    case 0x14: return f3 == 1 ? Op::BSET : Op::ILLEGAL;
    default: return Op::ILLEGAL;
  }
}

Op decode_op_reg32(uint32_t f3, uint32_t f7, uint32_t rs2) {
  switch (f7) {
    case 0x00:
      if (f3 == 0) return Op::ADDW;
      if (f3 == 1) return Op::SLLW;
      if (f3 == 5) return Op::SRLW;
      return Op::ILLEGAL;
    case 0x20:
      if (f3 == 0) return Op::SUBW;
      if (f3 == 5) return Op::SRAW;
      return Op::ILLEGAL;
    case 0x01: {
      static constexpr Op kOps[8] = {Op::MULW, Op::ILLEGAL, Op::ILLEGAL, Op::ILLEGAL,
                                     Op::DIVW, Op::DIVUW,   Op::REMW,    Op::REMUW};
      return kOps[f3];
    }
    case 0x04:
      if (f3 == 0) return Op::ADD_UW;
      if (f3 == 4 && rs2 == 0) return Op::ZEXT_H;
      return Op::ILLEGAL;
    case 0x10:
      if (f3 == 2) return Op::SH1ADD_UW;
      if (f3 == 4) return Op::SH2ADD_UW;
      if (f3 == 6) return Op::SH3ADD_UW;
      return Op::ILLEGAL;
    case 0x30:
      if (f3 == 1) return Op::ROLW;
      if (f3 == 5) return Op::RORW;
      return Op::ILLEGAL;
    default: return Op::ILLEGAL;
  }
}

// OP-FP (opcode 0x53): returns false for reserved encodings.
bool decode_op_fp(uint32_t inst, FpOp& out) {
  const uint32_t f7 = bits(inst, 31, 25);
  const uint32_t f3 = bits(inst, 14, 12);
  const uint32_t rs2 = bits(inst, 24, 20);
  const bool dbl = (f7 & 1) != 0;
  auto pick = [&](FpOp s, FpOp d) {
    out = dbl ? d : s;
    return true;
  };
  switch (f7 & ~1u) {
    case 0x00: return pick(FpOp::FADD_S, FpOp::FADD_D);
    case 0x04: return pick(FpOp::FSUB_S, FpOp::FSUB_D);
    case 0x08: return pick(FpOp::FMUL_S, FpOp::FMUL_D);
    case 0x0c: return pick(FpOp::FDIV_S, FpOp::FDIV_D);
    case 0x2c:
      if (rs2 != 0) return false;
      return pick(FpOp::FSQRT_S, FpOp::FSQRT_D);
    case 0x10:
      if (f3 == 0) return pick(FpOp::FSGNJ_S, FpOp::FSGNJ_D);
      if (f3 == 1) return pick(FpOp::FSGNJN_S, FpOp::FSGNJN_D);
      if (f3 == 2) return pick(FpOp::FSGNJX_S, FpOp::FSGNJX_D);
      return false;
    case 0x14:
      if (f3 == 0) return pick(FpOp::FMIN_S, FpOp::FMIN_D);
      if (f3 == 1) return pick(FpOp::FMAX_S, FpOp::FMAX_D);
      return false;
    case 0x20:
      if (!dbl && rs2 == 1) return pick(FpOp::FCVT_S_D, FpOp::FCVT_S_D);
      if (dbl && rs2 == 0) return pick(FpOp::FCVT_D_S, FpOp::FCVT_D_S);
      return false;
    case 0x50:
      if (f3 == 0) return pick(FpOp::FLE_S, FpOp::FLE_D);
      if (f3 == 1) return pick(FpOp::FLT_S, FpOp::FLT_D);
      if (f3 == 2) return pick(FpOp::FEQ_S, FpOp::FEQ_D);
      return false;
    case 0x60: {
      static constexpr FpOp kS[4] = {FpOp::FCVT_W_S, FpOp::FCVT_WU_S, FpOp::FCVT_L_S,
                                     FpOp::FCVT_LU_S};
      static constexpr FpOp kD[4] = {FpOp::FCVT_W_D, FpOp::FCVT_WU_D, FpOp::FCVT_L_D,
                                     FpOp::FCVT_LU_D};
      if (rs2 > 3) return false;
      return pick(kS[rs2], kD[rs2]);
    }
    case 0x68: {
      static constexpr FpOp kS[4] = {FpOp::FCVT_S_W, FpOp::FCVT_S_WU, FpOp::FCVT_S_L,
                                     FpOp::FCVT_S_LU};
      static constexpr FpOp kD[4] = {FpOp::FCVT_D_W, FpOp::FCVT_D_WU, FpOp::FCVT_D_L,
                                     FpOp::FCVT_D_LU};
      if (rs2 > 3) return false;
      return pick(kS[rs2], kD[rs2]);
    }
    case 0x70:
      if (rs2 != 0) return false;
      if (f3 == 0) return pick(FpOp::FMV_X_W, FpOp::FMV_X_D);
      if (f3 == 1) return pick(FpOp::FCLASS_S, FpOp::FCLASS_D);
      return false;
    case 0x78:
      if (rs2 != 0 || f3 != 0) return false;
      return pick(FpOp::FMV_W_X, FpOp::FMV_D_X);
    default: return false;
  }
}

bool writes_rd_only(Op op) {
  // Pure register computations: with rd = x0 they are no-ops.
  switch (op) {
    case Op::LUI:
    case Op::AUIPC:
    case Op::ADDI:
    case Op::SLTI:
    case Op::SLTIU:
    case Op::XORI:
    case Op::ORI:
    case Op::ANDI:
    case Op::SLLI:
    case Op::SRLI:
    case Op::SRAI:
    case Op::ADD:
    case Op::SUB:
    case Op::SLL:
    case Op::SLT:
    case Op::SLTU:
    case Op::XOR:
    case Op::SRL:
    case Op::SRA:
    case Op::OR:
    case Op::AND:
    case Op::ADDIW:
    case Op::SLLIW:
    case Op::SRLIW:
    case Op::SRAIW:
    case Op::ADDW:
    case Op::SUBW:
    case Op::SLLW:
    case Op::SRLW:
    case Op::SRAW:
    case Op::MUL:
    case Op::MULH:
    case Op::MULHSU:
    case Op::MULHU:
    case Op::DIV:
    case Op::DIVU:
    case Op::REM:
    case Op::REMU:
    case Op::MULW:
    case Op::DIVW:
    case Op::DIVUW:
    case Op::REMW:
    case Op::REMUW: return true;
    default: return false;
  }
}

}  // namespace

DecodedInsn decode(uint32_t raw, unsigned page_offset) {
  DecodedInsn d;
  d.raw = raw;
  d.len = static_cast<uint8_t>(insn_length(static_cast<uint16_t>(raw)));
  d.op = Op::ILLEGAL;
  uint32_t inst = raw;
  if (d.len == 2) {
    inst = expand_compressed(static_cast<uint16_t>(raw));
    d.raw = raw & 0xffff;
    if (inst == 0) return d;
  }

  const uint32_t opcode = bits(inst, 6, 0);
  const uint32_t rd = bits(inst, 11, 7);
  const uint32_t f3 = bits(inst, 14, 12);
  const uint32_t rs1 = bits(inst, 19, 15);
  const uint32_t rs2 = bits(inst, 24, 20);
  const uint32_t f7 = bits(inst, 31, 25);
  const int32_t imm_i = static_cast<int32_t>(inst) >> 20;
  const int32_t imm_s = ((static_cast<int32_t>(inst) >> 25) << 5) | static_cast<int32_t>(rd);

  d.rd = static_cast<uint8_t>(rd == 0 ? kZeroSink : rd);
  d.rs1 = static_cast<uint8_t>(rs1);
  d.rs2 = static_cast<uint8_t>(rs2);
  d.imm = imm_i;

  auto set_branch_target = [&](int32_t offset) {
    d.imm = offset;
    const int64_t target = static_cast<int64_t>(page_offset) + offset;
    if (target >= 0 && target < 4096) d.flags |= kInPageTarget;
  };

  switch (opcode) {
    case kOpLui:
      d.op = Op::LUI;
      d.imm = static_cast<int32_t>(inst & 0xfffff000u);
      break;
    case 0x17:
      d.op = Op::AUIPC;
      d.imm = static_cast<int32_t>(inst & 0xfffff000u);
      break;
    case 0x6f: {
      d.op = Op::JAL;
      set_branch_target(sext((bit(inst, 31) << 20) | (bits(inst, 19, 12) << 12) |
                                 (bit(inst, 20) << 11) | (bits(inst, 30, 21) << 1),
                             21));
      break;
    }
    case kOpJalr:
      if (f3 == 0) d.op = Op::JALR;
      break;
    case 0x63: {
      static constexpr Op kOps[8] = {Op::BEQ, Op::BNE, Op::ILLEGAL, Op::ILLEGAL,
                                     Op::BLT, Op::BGE, Op::BLTU,    Op::BGEU};
      d.op = kOps[f3];
      set_branch_target(sext((bit(inst, 31) << 12) | (bit(inst, 7) << 11) |
                                 (bits(inst, 30, 25) << 5) | (bits(inst, 11, 8) << 1),
                             13));
      break;
    }
    case kOpLoad: {
      static constexpr Op kOps[8] = {Op::LB,  Op::LH,  Op::LW,  Op::LD,
                                     Op::LBU, Op::LHU, Op::LWU, Op::ILLEGAL};
      d.op = kOps[f3];
      break;
    }
    case kOpStore: {
      static constexpr Op kOps[8] = {Op::SB,      Op::SH,      Op::SW,      Op::SD,
                                     Op::ILLEGAL, Op::ILLEGAL, Op::ILLEGAL, Op::ILLEGAL};
      d.op = kOps[f3];
      d.imm = imm_s;
      break;
    }
    case kOpImm:
      d.op = decode_op_imm(f3, inst, rs1);
      if (d.op == Op::SLLI || d.op == Op::SRLI || d.op == Op::SRAI || d.op == Op::RORI ||
          d.op == Op::BCLRI || d.op == Op::BINVI || d.op == Op::BSETI || d.op == Op::BEXTI) {
        d.imm = static_cast<int32_t>(bits(inst, 25, 20));
      }
      break;
    case kOpImm32:
      d.op = decode_op_imm32(f3, inst);
      if (d.op == Op::SLLIW || d.op == Op::SRLIW || d.op == Op::SRAIW || d.op == Op::RORIW) {
        d.imm = static_cast<int32_t>(bits(inst, 24, 20));
      } else if (d.op == Op::SLLI_UW) {
        d.imm = static_cast<int32_t>(bits(inst, 25, 20));
      }
      break;
    case kOpReg: d.op = decode_op_reg(f3, f7); break;
    case kOpReg32: d.op = decode_op_reg32(f3, f7, rs2); break;
    case 0x0f:
      if (f3 == 0) d.op = Op::FENCE;
      if (f3 == 1) d.op = Op::FENCE_I;
      break;
    case 0x73:
      if (f3 == 0) {
        switch (inst) {
          case 0x00000073: d.op = Op::ECALL; break;
          case 0x00100073: d.op = Op::EBREAK; break;
          case 0x30200073: d.op = Op::MRET; break;
          case 0x10200073: d.op = Op::SRET; break;
          case 0x10500073: d.op = Op::WFI; break;
          default:
            if (f7 == 0x09 && rd == 0) d.op = Op::SFENCE_VMA;
        }
      } else if (f3 != 4) {
        static constexpr Op kOps[8] = {Op::ILLEGAL, Op::CSRRW,  Op::CSRRS,  Op::CSRRC,
                                       Op::ILLEGAL, Op::CSRRWI, Op::CSRRSI, Op::CSRRCI};
        d.op = kOps[f3];
        d.imm = static_cast<int32_t>(bits(inst, 31, 20));
      }
      break;
    case 0x2f: {
      if (f3 != 2 && f3 != 3) break;
      const bool dbl = f3 == 3;
      const uint32_t f5 = bits(inst, 31, 27);
      d.imm = 0;
      switch (f5) {
        case 0x02:
          if (rs2 == 0) d.op = dbl ? Op::LR_D : Op::LR_W;
          break;
        case 0x03: d.op = dbl ? Op::SC_D : Op::SC_W; break;
        default: {
          AmoOp amo;
          switch (f5) {
            case 0x00: amo = AmoOp::kAdd; break;
            case 0x01: amo = AmoOp::kSwap; break;
            case 0x04: amo = AmoOp::kXor; break;
            case 0x08: amo = AmoOp::kOr; break;
            case 0x0c: amo = AmoOp::kAnd; break;
            case 0x10: amo = AmoOp::kMin; break;
            case 0x14: amo = AmoOp::kMax; break;
            case 0x18: amo = AmoOp::kMinu; break;
            case 0x1c: amo = AmoOp::kMaxu; break;
            default: return d;
          }
          d.op = dbl ? Op::AMO_D : Op::AMO_W;
          d.aux = static_cast<uint8_t>(amo);
        }
      }
      break;
    }
    case kOpLoadFp:
      if (f3 == 2) d.op = Op::FLW;
      if (f3 == 3) d.op = Op::FLD;
      d.rd = static_cast<uint8_t>(rd);  // an FP register: f0 is a real register
      break;
    case kOpStoreFp:
      if (f3 == 2) d.op = Op::FSW;
      if (f3 == 3) d.op = Op::FSD;
      d.imm = imm_s;
      break;
    case 0x43:
    case 0x47:
    case 0x4b:
    case 0x4f: {
      const uint32_t fmt = bits(inst, 26, 25);
      if (fmt > 1) break;
      static constexpr FpOp kS[4] = {FpOp::FMADD_S, FpOp::FMSUB_S, FpOp::FNMSUB_S, FpOp::FNMADD_S};
      static constexpr FpOp kD[4] = {FpOp::FMADD_D, FpOp::FMSUB_D, FpOp::FNMSUB_D, FpOp::FNMADD_D};
      const unsigned which = (opcode - 0x43) >> 2;
      d.op = Op::FP;
      d.aux = static_cast<uint8_t>(fmt == 0 ? kS[which] : kD[which]);
      d.rs3 = static_cast<uint8_t>(bits(inst, 31, 27));
      d.imm = static_cast<int32_t>(f3);  // rounding mode
      d.rd = static_cast<uint8_t>(rd);
      break;
    }
    case 0x53: {
      FpOp fop;
      if (!decode_op_fp(inst, fop)) break;
      d.op = Op::FP;
      d.aux = static_cast<uint8_t>(fop);
      d.imm = static_cast<int32_t>(f3);
      // Integer destinations use the zero sink for x0; FP destinations are f-registers.
      if (!fp_writes_x(fop)) d.rd = static_cast<uint8_t>(rd);
      break;
    }
    default: break;
  }

  // Cheaper forms of common cases.
  if (d.rd == kZeroSink && writes_rd_only(d.op)) {
    d.op = Op::NOP;
  } else if (d.op == Op::ADDI && rs1 == 0) {
    d.op = Op::LI;
  } else if (d.op == Op::ADDI && d.imm == 0) {
    d.op = Op::MV;
  }
  return d;
}

}  // namespace vessel::rv
