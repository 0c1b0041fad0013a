// IEEE 754 single and double precision for the F and D extensions: every
// computational instruction, all five rounding modes, the five exception
// flags, NaN boxing and RISC-V's canonical NaN.
//
// The interpreter handles FP loads and stores itself; everything else with an
// FP opcode comes here, already decoded.
#pragma once

#include <cstdint>

namespace vessel::rv {

// The F/D register file and fcsr. f[] holds raw bits; a single-precision value
// lives NaN-boxed in the low 32 bits (upper 32 bits all ones).
struct FpState {
  uint64_t f[32] = {};
  uint32_t fflags = 0;  // NV=16 DZ=8 OF=4 UF=2 NX=1
  uint32_t frm = 0;     // 0 RNE, 1 RTZ, 2 RDN, 3 RUP, 4 RMM
};

// Ops by mnemonic; _S single, _D double. Operand roles follow the ISA:
// f[rd] or x[rd] = op(f[rs1] or x[rs1], f[rs2], f[rs3]).
// clang-format off
#define VESSEL_FP_OPS(X)                                                            \
  X(FMADD_S) X(FMSUB_S) X(FNMSUB_S) X(FNMADD_S) X(FADD_S) X(FSUB_S) X(FMUL_S)       \
  X(FDIV_S) X(FSQRT_S) X(FSGNJ_S) X(FSGNJN_S) X(FSGNJX_S) X(FMIN_S) X(FMAX_S)       \
  X(FCVT_W_S) X(FCVT_WU_S) X(FCVT_L_S) X(FCVT_LU_S) X(FMV_X_W) X(FEQ_S) X(FLT_S)    \
  X(FLE_S) X(FCLASS_S) X(FCVT_S_W) X(FCVT_S_WU) X(FCVT_S_L) X(FCVT_S_LU) X(FMV_W_X) \
  X(FMADD_D) X(FMSUB_D) X(FNMSUB_D) X(FNMADD_D) X(FADD_D) X(FSUB_D) X(FMUL_D)       \
  X(FDIV_D) X(FSQRT_D) X(FSGNJ_D) X(FSGNJN_D) X(FSGNJX_D) X(FMIN_D) X(FMAX_D)       \
  X(FCVT_W_D) X(FCVT_WU_D) X(FCVT_L_D) X(FCVT_LU_D) X(FMV_X_D) X(FEQ_D) X(FLT_D)    \
  X(FLE_D) X(FCLASS_D) X(FCVT_D_W) X(FCVT_D_WU) X(FCVT_D_L) X(FCVT_D_LU) X(FMV_D_X) \
  X(FCVT_S_D) X(FCVT_D_S)
// clang-format on

enum class FpOp : uint8_t {
#define VESSEL_FP_ENUM(name) name,
  VESSEL_FP_OPS(VESSEL_FP_ENUM)
#undef VESSEL_FP_ENUM
      kCount
};

// Executes one computational F/D instruction. `rm` is the instruction's
// rounding-mode field (7 = dynamic, use fp.frm). Integer sources are read from
// x[rs1]; integer results are written to x[rd] (the caller maps rd = 0 to a
// scratch slot, so writing is always safe). Returns false when the
// instruction is illegal: a reserved static rounding mode (5, 6) or dynamic
// rounding with frm holding a reserved value (5, 6, 7).
bool fp_execute(FpOp op, unsigned rm, FpState& fp, uint64_t* x, unsigned rd, unsigned rs1,
                unsigned rs2, unsigned rs3);

// True if `op` writes an integer register (compares, fclass, fcvt to int, fmv.x).
bool fp_writes_x(FpOp op);

}  // namespace vessel::rv
