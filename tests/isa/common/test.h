/* test.h -- assembly test harness for the vessel ISA tests.
 *
 * Every test program is one .S file that includes this header, defines the
 * global label `test_main` (entered in M-mode from common/crt.S with a stack,
 * zeroed registers, FP enabled, mtvec = trap_entry) and ends with TEST_PASS.
 *
 * Register conventions: gp (x3) holds the current test-case number
 * (TESTNUM); a failing check jumps to `fail`, which prints "FAIL test N" on
 * the UART and writes (N << 16) | 0x3333 to the SiFive test finisher.  The
 * check macros use t2 (x7) for the expected value and x11..x14 as operands.
 *
 * Traps: the M-mode handler in crt.S fails the test on any trap that has not
 * been armed with EXPECT_TRAP... or EXPECT_ANY_TRAP....  An armed trap is recorded
 * in `trap_info` (cause, tval, epc, mstatus at trap, count) and disarmed;
 * execution resumes at the given label, or, with resume 0, after the
 * trapping instruction (exceptions; the instruction is read from mepc,
 * so code must be identity-mapped) or at mepc (interrupts; the
 * interrupt's mie bit is cleared so that it does not trap again).
 *
 * `fail` and `pass` may be reached from S- or U-mode: they first read an
 * M-mode CSR, and the handler finishes the test in M-mode when that traps
 * (as long as illegal-instruction traps are not delegated to S-mode).
 * GOTO_M(label) returns to M-mode at `label` from any mode through ecall.
 */
#ifndef VESSEL_ISA_TEST_H
#define VESSEL_ISA_TEST_H

#define TESTNUM gp

/* trap_info layout (crt.S) */
#define TI_ARMED        0   /* 0 = no trap expected, 1 = TI_EXPECT only, 2 = any cause */
#define TI_EXPECT       8
#define TI_RESUME       16  /* 0 = default (skip instruction / stay for interrupts) */
#define TI_RESUME_MODE  24  /* 0 = return to trapping mode, else privilege + 1 */
#define TI_CAUSE        32
#define TI_TVAL         40
#define TI_EPC          48
#define TI_MSTATUS      56
#define TI_COUNT        64

/* s_trap_info layout (crt.S, S-mode handler s_trap_entry) */
#define S_CAUSE         0
#define S_EPC           8
#define S_TVAL          16
#define S_STATUS        24
#define S_COUNT         32
#define S_RESUME        40      /* 0 = default, else resume address (one-shot) */

#define GOTO_M_MAGIC    0x6d6d

/* CSR bits */
#define MSTATUS_SIE     0x2
#define MSTATUS_MIE     0x8
#define MSTATUS_SPIE    0x20
#define MSTATUS_MPIE    0x80
#define MSTATUS_SPP     0x100
#define MSTATUS_MPP     0x1800
#define MSTATUS_FS      0x6000
#define MSTATUS_MPRV    0x20000
#define MSTATUS_SUM     0x40000
#define MSTATUS_MXR     0x80000
#define MSTATUS_TVM     0x100000
#define MSTATUS_TW      0x200000
#define MSTATUS_TSR     0x400000
#define MSTATUS_SD      0x8000000000000000

#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

#define IRQ_S_SOFT   1
#define IRQ_M_SOFT   3
#define IRQ_S_TIMER  5
#define IRQ_M_TIMER  7
#define IRQ_S_EXT    9
#define IRQ_M_EXT    11
#define MIP_SSIP (1 << IRQ_S_SOFT)
#define MIP_MSIP (1 << IRQ_M_SOFT)
#define MIP_STIP (1 << IRQ_S_TIMER)
#define MIP_MTIP (1 << IRQ_M_TIMER)
#define MIP_SEIP (1 << IRQ_S_EXT)
#define MIP_MEIP (1 << IRQ_M_EXT)
#define INTR_CAUSE(n) (0x8000000000000000 | (n))

#define CAUSE_MISALIGNED_FETCH    0
#define CAUSE_FETCH_ACCESS        1
#define CAUSE_ILLEGAL_INSTRUCTION 2
#define CAUSE_BREAKPOINT          3
#define CAUSE_MISALIGNED_LOAD     4
#define CAUSE_LOAD_ACCESS         5
#define CAUSE_MISALIGNED_STORE    6
#define CAUSE_STORE_ACCESS        7
#define CAUSE_USER_ECALL          8
#define CAUSE_SUPERVISOR_ECALL    9
#define CAUSE_MACHINE_ECALL       11
#define CAUSE_FETCH_PAGE_FAULT    12
#define CAUSE_LOAD_PAGE_FAULT     13
#define CAUSE_STORE_PAGE_FAULT    15

/* Devices of the QEMU virt board */
#define UART_BASE     0x10000000
#define FINISHER_BASE 0x100000
#define CLINT_BASE    0x2000000
#define CLINT_MSIP    (CLINT_BASE + 0x0)
#define CLINT_MTIMECMP (CLINT_BASE + 0x4000)
#define CLINT_MTIME   (CLINT_BASE + 0xbff8)

/* Page-table entry bits */
#define PTE_V 0x1
#define PTE_R 0x2
#define PTE_W 0x4
#define PTE_X 0x8
#define PTE_U 0x10
#define PTE_G 0x20
#define PTE_A 0x40
#define PTE_D 0x80
#define SATP_SV39 (8 << 60)
#define SATP_SV48 (9 << 60)

#define SEXT32(x) ((((x) & 0xffffffff) ^ 0x80000000) - 0x80000000)

/* ------------------------------------------------------------------ */
/* Program structure                                                   */

#define TEST_BEGIN \
        .text; .globl test_main; .align 2; test_main:

#define TEST_PASS  j pass
#define TEST_FAIL  j fail

/* Put a test number in gp (for checks written by hand). */
#define TEST_NUM(n) li TESTNUM, n

/* Generic: run `code`, then compare register `reg` with `expected`. */
#define TEST_CASE(n, reg, expected, code...) \
test_ ## n: \
        li TESTNUM, n; \
        code; \
        li t2, expected; \
        bne reg, t2, fail;

/* Compare two registers (no number change). */
#define CHECK_EQ(reg, expected) li t2, expected; bne reg, t2, fail;
#define CHECK_REG_EQ(r1, r2) bne r1, r2, fail;

/* ------------------------------------------------------------------ */
/* Integer arithmetic                                                  */

#define TEST_IMM_OP(n, inst, result, val1, imm) \
    TEST_CASE(n, x14, result, li x11, val1; inst x14, x11, imm)

#define TEST_IMM_SRC1_EQ_DEST(n, inst, result, val1, imm) \
    TEST_CASE(n, x11, result, li x11, val1; inst x11, x11, imm)

#define TEST_IMM_ZERODEST(n, inst, val1, imm) \
    TEST_CASE(n, x0, 0, li x11, val1; inst x0, x11, imm)

#define TEST_IMM_ZEROSRC1(n, inst, result, imm) \
    TEST_CASE(n, x14, result, inst x14, x0, imm)

#define TEST_RR_OP(n, inst, result, val1, val2) \
    TEST_CASE(n, x14, result, li x11, val1; li x12, val2; inst x14, x11, x12)

#define TEST_RR_SRC1_EQ_DEST(n, inst, result, val1, val2) \
    TEST_CASE(n, x11, result, li x11, val1; li x12, val2; inst x11, x11, x12)

#define TEST_RR_SRC2_EQ_DEST(n, inst, result, val1, val2) \
    TEST_CASE(n, x12, result, li x11, val1; li x12, val2; inst x12, x11, x12)

#define TEST_RR_SRC12_EQ_DEST(n, inst, result, val1) \
    TEST_CASE(n, x11, result, li x11, val1; inst x11, x11, x11)

#define TEST_RR_ZERODEST(n, inst, val1, val2) \
    TEST_CASE(n, x0, 0, li x11, val1; li x12, val2; inst x0, x11, x12)

#define TEST_RR_ZEROSRC1(n, inst, result, val) \
    TEST_CASE(n, x14, result, li x12, val; inst x14, x0, x12)

#define TEST_RR_ZEROSRC2(n, inst, result, val) \
    TEST_CASE(n, x14, result, li x11, val; inst x14, x11, x0)

#define TEST_RR_ZEROSRC12(n, inst, result) \
    TEST_CASE(n, x14, result, inst x14, x0, x0)

/* ------------------------------------------------------------------ */
/* Loads and stores (base is a label)                                  */

#define TEST_LD_OP(n, inst, result, offset, base) \
    TEST_CASE(n, x14, result, la x11, base; inst x14, offset(x11))

#define TEST_ST_OP(n, load_inst, store_inst, result, offset, base) \
    TEST_CASE(n, x14, result, \
        la x11, base; li x12, result; \
        store_inst x12, offset(x11); \
        load_inst x14, offset(x11))

/* ------------------------------------------------------------------ */
/* Branches                                                            */

#define TEST_BR2_TAKEN(n, inst, val1, val2) \
test_ ## n: \
        li TESTNUM, n; li x11, val1; li x12, val2; \
        inst x11, x12, 2f; j fail; \
2:      ;

#define TEST_BR2_NOT_TAKEN(n, inst, val1, val2) \
test_ ## n: \
        li TESTNUM, n; li x11, val1; li x12, val2; \
        inst x11, x12, 1f; j 2f; \
1:      j fail; \
2:      ;

/* ------------------------------------------------------------------ */
/* Traps                                                               */

/* Expect a trap with `cause`; resume at label `resume`. Clobbers t0, t1. */
#define EXPECT_TRAP(cause, resume) \
        la t0, trap_info; li t1, cause; sd t1, TI_EXPECT(t0); \
        la t1, resume; sd t1, TI_RESUME(t0); \
        sd zero, TI_RESUME_MODE(t0); \
        li t1, 1; sd t1, TI_ARMED(t0);

/* Expect a trap with `cause`; resume after the trapping instruction. */
#define EXPECT_TRAP_SKIP(cause) \
        la t0, trap_info; li t1, cause; sd t1, TI_EXPECT(t0); \
        sd zero, TI_RESUME(t0); sd zero, TI_RESUME_MODE(t0); \
        li t1, 1; sd t1, TI_ARMED(t0);

/* Expect a trap with `cause`; resume at `resume` in privilege mode `mode`. */
#define EXPECT_TRAP_MODE(cause, resume, mode) \
        la t0, trap_info; li t1, cause; sd t1, TI_EXPECT(t0); \
        la t1, resume; sd t1, TI_RESUME(t0); \
        li t1, (mode) + 1; sd t1, TI_RESUME_MODE(t0); \
        li t1, 1; sd t1, TI_ARMED(t0);

/* Accept a trap of any cause (or none); resume after the instruction. */
#define EXPECT_ANY_TRAP_SKIP \
        la t0, trap_info; sd zero, TI_RESUME(t0); sd zero, TI_RESUME_MODE(t0); \
        li t1, 2; sd t1, TI_ARMED(t0);

/* Reset the trap count and disarm. */
#define TRAP_RESET \
        la t0, trap_info; sd zero, TI_ARMED(t0); sd zero, TI_COUNT(t0); \
        li t1, -1; sd t1, TI_CAUSE(t0); sd zero, TI_TVAL(t0); sd zero, TI_EPC(t0);

/* Fail unless the armed trap was taken (handler disarms). */
#define CHECK_TRAP_TAKEN \
        la t0, trap_info; ld t1, TI_ARMED(t0); bnez t1, fail;

/* Fail unless the armed trap was taken with this cause and tval. */
#define CHECK_TRAP(cause, tval) \
        la t0, trap_info; ld t1, TI_ARMED(t0); bnez t1, fail; \
        ld t1, TI_CAUSE(t0); li t2, cause; bne t1, t2, fail; \
        ld t1, TI_TVAL(t0); li t2, tval; bne t1, t2, fail;

#define CHECK_TRAP_CAUSE(cause) \
        la t0, trap_info; ld t1, TI_ARMED(t0); bnez t1, fail; \
        ld t1, TI_CAUSE(t0); li t2, cause; bne t1, t2, fail;

/* Spin (bounded, ~10M iterations) until the armed trap has been taken,
   e.g. an interrupt; fails on timeout.  Clobbers t0, t1, t6. */
#define WAIT_TRAP \
        li t6, 10000000; \
    76: la t0, trap_info; ld t1, TI_ARMED(t0); beqz t1, 75f; \
        addi t6, t6, -1; bnez t6, 76b; j fail; \
    75: ;

/* Clear mstatus.MIE and MPIE (e.g. after returning to M-mode from a
   lower mode, where mret may have set MIE from MPIE). */
#define M_IRQ_OFF \
        csrci mstatus, MSTATUS_MIE; li t0, MSTATUS_MPIE; csrc mstatus, t0;

/* Fail if the armed trap was taken (and disarm). */
#define CHECK_NO_TRAP \
        la t0, trap_info; ld t1, TI_ARMED(t0); beqz t1, fail; sd zero, TI_ARMED(t0);

/* Reset the S-mode handler's record and point stvec at it. */
#define S_TRAP_RESET \
        la t0, s_trap_info; sd zero, S_COUNT(t0); li t1, -1; sd t1, S_CAUSE(t0); \
        sd zero, S_TVAL(t0); sd zero, S_EPC(t0); sd zero, S_RESUME(t0); \
        la t1, s_trap_entry; csrw stvec, t1;

/* Fail unless the S-mode handler saw exactly `count` traps, the last with
   this cause. */
#define CHECK_S_TRAP(count, cause) \
        la t0, s_trap_info; ld t1, S_COUNT(t0); li t2, count; bne t1, t2, fail; \
        ld t1, S_CAUSE(t0); li t2, cause; bne t1, t2, fail;

/* The privilege mode the last trap came from (mstatus.MPP at trap). */
#define LOAD_TRAP_MPP(reg) \
        la reg, trap_info; ld reg, TI_MSTATUS(reg); srli reg, reg, 11; andi reg, reg, 3;

/* Enter privilege `mode` at `label` from M-mode (clobbers t0). */
#define MRET_TO(mode, label) \
        li t0, MSTATUS_MPP; csrc mstatus, t0; \
        li t0, ((mode) << 11); csrs mstatus, t0; \
        la t0, label; csrw mepc, t0; mret;

/* Return to M-mode at `label` from any mode (clobbers a0; a7 = 0 after). */
#define GOTO_M(label) \
        li a7, GOTO_M_MAGIC; la a0, label; ecall;

/* ------------------------------------------------------------------ */
/* Floating point (operands from a data table; results via fmv.x)      */

#define TEST_FP_FLAGS(flags) \
        fsflags a1, x0; li t2, flags; bne a1, t2, fail;

/* single: op rd, rs1, rs2[, rs3] ; compare result bits and fflags */
#define TEST_FP_OP_S_INTERNAL(n, flags, result, val1, val2, val3, code...) \
test_ ## n: \
        li TESTNUM, n; \
        la a0, test_ ## n ## _data; \
        flw f10, 0(a0); flw f11, 4(a0); flw f12, 8(a0); ld a3, 16(a0); \
        fsflags x0; \
        code; \
        fsflags a1, x0; li t2, flags; bne a1, t2, fail; \
        bne a0, a3, fail; \
        .pushsection .data; .align 3; \
test_ ## n ## _data: .word val1; .word val2; .word val3; .word 0; .dword result; \
        .popsection

#define TEST_FP_OP_D_INTERNAL(n, flags, result, val1, val2, val3, code...) \
test_ ## n: \
        li TESTNUM, n; \
        la a0, test_ ## n ## _data; \
        fld f10, 0(a0); fld f11, 8(a0); fld f12, 16(a0); ld a3, 24(a0); \
        fsflags x0; \
        code; \
        fsflags a1, x0; li t2, flags; bne a1, t2, fail; \
        bne a0, a3, fail; \
        .pushsection .data; .align 3; \
test_ ## n ## _data: .dword val1; .dword val2; .dword val3; .dword result; \
        .popsection

#define TEST_FP_OP1_S(n, inst, flags, result, val1) \
    TEST_FP_OP_S_INTERNAL(n, flags, SEXT32(result), val1, 0, 0, inst f13, f10; fmv.x.w a0, f13)
#define TEST_FP_OP2_S(n, inst, flags, result, val1, val2) \
    TEST_FP_OP_S_INTERNAL(n, flags, SEXT32(result), val1, val2, 0, inst f13, f10, f11; fmv.x.w a0, f13)
#define TEST_FP_OP3_S(n, inst, flags, result, val1, val2, val3) \
    TEST_FP_OP_S_INTERNAL(n, flags, SEXT32(result), val1, val2, val3, inst f13, f10, f11, f12; fmv.x.w a0, f13)
/* with a static rounding mode */
#define TEST_FP_OP1_S_RM(n, inst, rm, flags, result, val1) \
    TEST_FP_OP_S_INTERNAL(n, flags, SEXT32(result), val1, 0, 0, inst f13, f10, rm; fmv.x.w a0, f13)
#define TEST_FP_OP2_S_RM(n, inst, rm, flags, result, val1, val2) \
    TEST_FP_OP_S_INTERNAL(n, flags, SEXT32(result), val1, val2, 0, inst f13, f10, f11, rm; fmv.x.w a0, f13)
#define TEST_FP_OP3_S_RM(n, inst, rm, flags, result, val1, val2, val3) \
    TEST_FP_OP_S_INTERNAL(n, flags, SEXT32(result), val1, val2, val3, inst f13, f10, f11, f12, rm; fmv.x.w a0, f13)
/* result in an integer register (compares, fclass, fcvt to int) */
#define TEST_FP_INT_OP1_S(n, inst, flags, result, val1) \
    TEST_FP_OP_S_INTERNAL(n, flags, SEXT32(result), val1, 0, 0, inst a0, f10)
#define TEST_FP_INT_OP1_S_RM(n, inst, rm, flags, result, val1) \
    TEST_FP_OP_S_INTERNAL(n, flags, SEXT32(result), val1, 0, 0, inst a0, f10, rm)
/* 64-bit integer results (fcvt.l.s / fcvt.lu.s) */
#define TEST_FP_LONG_OP1_S_RM(n, inst, rm, flags, result, val1) \
    TEST_FP_OP_S_INTERNAL(n, flags, result, val1, 0, 0, inst a0, f10, rm)
#define TEST_FP_CMP_OP_S(n, inst, flags, result, val1, val2) \
    TEST_FP_OP_S_INTERNAL(n, flags, SEXT32(result), val1, val2, 0, inst a0, f10, f11)

#define TEST_FP_OP1_D(n, inst, flags, result, val1) \
    TEST_FP_OP_D_INTERNAL(n, flags, result, val1, 0, 0, inst f13, f10; fmv.x.d a0, f13)
#define TEST_FP_OP2_D(n, inst, flags, result, val1, val2) \
    TEST_FP_OP_D_INTERNAL(n, flags, result, val1, val2, 0, inst f13, f10, f11; fmv.x.d a0, f13)
#define TEST_FP_OP3_D(n, inst, flags, result, val1, val2, val3) \
    TEST_FP_OP_D_INTERNAL(n, flags, result, val1, val2, val3, inst f13, f10, f11, f12; fmv.x.d a0, f13)
#define TEST_FP_OP1_D_RM(n, inst, rm, flags, result, val1) \
    TEST_FP_OP_D_INTERNAL(n, flags, result, val1, 0, 0, inst f13, f10, rm; fmv.x.d a0, f13)
#define TEST_FP_OP2_D_RM(n, inst, rm, flags, result, val1, val2) \
    TEST_FP_OP_D_INTERNAL(n, flags, result, val1, val2, 0, inst f13, f10, f11, rm; fmv.x.d a0, f13)
#define TEST_FP_OP3_D_RM(n, inst, rm, flags, result, val1, val2, val3) \
    TEST_FP_OP_D_INTERNAL(n, flags, result, val1, val2, val3, inst f13, f10, f11, f12, rm; fmv.x.d a0, f13)
#define TEST_FP_INT_OP1_D(n, inst, flags, result, val1) \
    TEST_FP_OP_D_INTERNAL(n, flags, result, val1, 0, 0, inst a0, f10)
#define TEST_FP_INT_OP1_D_RM(n, inst, rm, flags, result, val1) \
    TEST_FP_OP_D_INTERNAL(n, flags, result, val1, 0, 0, inst a0, f10, rm)
#define TEST_FP_CMP_OP_D(n, inst, flags, result, val1, val2) \
    TEST_FP_OP_D_INTERNAL(n, flags, result, val1, val2, 0, inst a0, f10, f11)

/* integer -> FP conversions: source in a0 (64-bit), result bits compared */
#define TEST_INT_FP_OP_S(n, inst, rm, flags, result, val) \
test_ ## n: \
        li TESTNUM, n; li a0, val; fsflags x0; \
        inst f13, a0, rm; fmv.x.w a0, f13; \
        fsflags a1, x0; li t2, flags; bne a1, t2, fail; \
        li t2, SEXT32(result); bne a0, t2, fail;

#define TEST_INT_FP_OP_D(n, inst, rm, flags, result, val) \
test_ ## n: \
        li TESTNUM, n; li a0, val; fsflags x0; \
        inst f13, a0, rm; fmv.x.d a0, f13; \
        fsflags a1, x0; li t2, flags; bne a1, t2, fail; \
        li t2, result; bne a0, t2, fail;

/* exact conversions (fcvt.d.w / fcvt.d.wu take no rounding mode) */
#define TEST_INT_FP_OP_D_EXACT(n, inst, flags, result, val) \
test_ ## n: \
        li TESTNUM, n; li a0, val; fsflags x0; \
        inst f13, a0; fmv.x.d a0, f13; \
        fsflags a1, x0; li t2, flags; bne a1, t2, fail; \
        li t2, result; bne a0, t2, fail;

/* FP flag bits */
#define FFLAG_NX 0x01
#define FFLAG_UF 0x02
#define FFLAG_OF 0x04
#define FFLAG_DZ 0x08
#define FFLAG_NV 0x10

#endif
