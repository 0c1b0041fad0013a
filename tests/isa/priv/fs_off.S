/* Privileged: with mstatus.FS = Off every FP instruction and FP CSR access
 * is illegal (cause 2, mtval = instruction bits or 0); mstatus.SD is clear;
 * the FP state is kept and usable again once FS is turned back on. */
#include "test.h"

#define FP_ILLEGAL(n, insn...) \
        TEST_NUM(n); TRAP_RESET; EXPECT_TRAP_SKIP(CAUSE_ILLEGAL_INSTRUCTION); \
        .option push; .option norvc; 98: insn; .option pop; \
        la t0, trap_info; ld t1, TI_ARMED(t0); bnez t1, fail; \
        ld t1, TI_CAUSE(t0); li t2, CAUSE_ILLEGAL_INSTRUCTION; bne t1, t2, fail; \
        ld t1, TI_TVAL(t0); beqz t1, 99f; la t2, 98b; lwu t2, 0(t2); bne t1, t2, fail; 99: ;

TEST_BEGIN
        la s0, fbuf
        li t0, 0x400921fb54442d18
        fmv.d.x f1, t0
        li t0, 0x41                     /* frm = 2, NX */
        csrw fcsr, t0
        /* FS = Off */
        li t0, MSTATUS_FS
        csrc mstatus, t0
        TEST_NUM(1)
        csrr t1, mstatus
        bltz t1, fail                   /* SD = 0 */
        srli t1, t1, 13
        andi t1, t1, 3
        bnez t1, fail
        FP_ILLEGAL(2, fadd.s f2, f1, f1)
        FP_ILLEGAL(3, fadd.d f2, f1, f1)
        FP_ILLEGAL(4, flw f2, 0(s0))
        FP_ILLEGAL(5, fld f2, 0(s0))
        FP_ILLEGAL(6, fsw f1, 0(s0))
        FP_ILLEGAL(7, fsd f1, 0(s0))
        FP_ILLEGAL(8, fmv.x.d a0, f1)
        FP_ILLEGAL(9, fmv.w.x f2, a0)
        FP_ILLEGAL(10, fcvt.w.s a0, f1)
        FP_ILLEGAL(11, fcvt.d.l f2, a0)
        FP_ILLEGAL(12, fmadd.d f2, f1, f1, f1)
        FP_ILLEGAL(13, feq.d a0, f1, f1)
        FP_ILLEGAL(14, fclass.d a0, f1)
        FP_ILLEGAL(15, fsgnj.d f2, f1, f1)
        FP_ILLEGAL(16, csrr a0, fcsr)
        FP_ILLEGAL(17, csrr a0, fflags)
        FP_ILLEGAL(18, csrw frm, zero)
        FP_ILLEGAL(19, csrwi fflags, 1)
        /* compressed FP loads/stores too */
        TEST_NUM(20)
        TRAP_RESET
        EXPECT_TRAP_SKIP(CAUSE_ILLEGAL_INSTRUCTION)
        .option push
        .option rvc
        c.fld fa0, 0(s0)
        .option pop
        CHECK_TRAP_CAUSE(CAUSE_ILLEGAL_INSTRUCTION)
        TEST_NUM(21)
        TRAP_RESET
        EXPECT_TRAP_SKIP(CAUSE_ILLEGAL_INSTRUCTION)
        .option push
        .option rvc
        c.fsdsp fa0, 0(sp)
        .option pop
        CHECK_TRAP_CAUSE(CAUSE_ILLEGAL_INSTRUCTION)
        /* also from S- and U-mode */
        TEST_NUM(22)
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 2f, PRV_M)
        MRET_TO(PRV_U, 1f)
1:      fmv.x.d a0, f1
        j fail
2:      CHECK_TRAP_CAUSE(CAUSE_ILLEGAL_INSTRUCTION)
        TEST_NUM(23)
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 4f, PRV_M)
        MRET_TO(PRV_S, 3f)
3:      frcsr a0
        j fail
4:      CHECK_TRAP_CAUSE(CAUSE_ILLEGAL_INSTRUCTION)
        /* back on: the registers and fcsr kept their values */
        TEST_NUM(24)
        li t0, 0x2000
        csrs mstatus, t0
        fmv.x.d a0, f1
        CHECK_EQ(a0, 0x400921fb54442d18)
        TEST_NUM(25)
        frcsr a0
        CHECK_EQ(a0, 0x41)
        csrwi fcsr, 0
        TEST_PASS

        .data
        .align 3
fbuf:   .dword 0x3ff0000000000000
