/* Privileged: WFI.  It returns once an interrupt is pending and enabled in
 * mie even with mstatus.MIE = 0 (no trap then); with MIE = 1 the interrupt
 * is taken after it.  WFI in S-mode with mstatus.TW = 1 and in U-mode
 * (TW = 1) raises illegal instruction (no interrupt could wake it). */
#include "test.h"

#define MTIMECMP_IN(ticks) li t5, CLINT_MTIME; ld t4, 0(t5); li t5, ticks; add t4, t4, t5; li t5, CLINT_MTIMECMP; sd t4, 0(t5);
#define MTIMECMP_NEVER li t4, -1; li t5, CLINT_MTIMECMP; sd t4, 0(t5);

TEST_BEGIN
        /* 1: wakes on the timer with MIE = 0; no trap */
        TEST_NUM(1)
        TRAP_RESET
        li t0, MIP_MTIP
        csrs mie, t0
        MTIMECMP_IN(1000)               /* 100 us */
        wfi
        /* WFI may also return early: wait for the interrupt to be pending */
        li t6, 10000000
1:      csrr t1, mip
        andi t1, t1, MIP_MTIP
        bnez t1, 2f
        wfi
        addi t6, t6, -1
        bnez t6, 1b
        j fail
2:      la t0, trap_info
        ld t1, TI_COUNT(t0)
        bnez t1, fail
        MTIMECMP_NEVER
        /* 2: with MIE = 1, a software interrupt raised just before the wfi
           is taken (before or at the wfi); execution resumes after it */
        TEST_NUM(2)
        TRAP_RESET
        li t0, MIP_MSIP
        csrs mie, t0
        EXPECT_TRAP(INTR_CAUSE(IRQ_M_SOFT), 3f)
        csrsi mstatus, MSTATUS_MIE
        li t0, CLINT_MSIP
        li t1, 1
        sw t1, 0(t0)
        wfi
3:      csrci mstatus, MSTATUS_MIE
        li t0, CLINT_MSIP
        sw zero, 0(t0)
        CHECK_TRAP_CAUSE(INTR_CAUSE(IRQ_M_SOFT))
        /* 3: with MIE = 1, a timer interrupt arriving during the wfi wakes
           it and is taken; mepc is after the wfi (or at it) */
        TEST_NUM(3)
        TRAP_RESET
        li t0, MIP_MTIP
        csrs mie, t0
        EXPECT_TRAP(INTR_CAUSE(IRQ_M_TIMER), 12f)
        MTIMECMP_IN(1000)
        csrsi mstatus, MSTATUS_MIE
11:     wfi
12:     csrci mstatus, MSTATUS_MIE
        MTIMECMP_NEVER
        CHECK_TRAP_CAUSE(INTR_CAUSE(IRQ_M_TIMER))
        la t0, trap_info
        ld t1, TI_EPC(t0)
        la t2, 11b
        bltu t1, t2, fail
        la t2, 12b
        bgtu t1, t2, fail
        /* 4: a timer interrupt wakes a wfi in S-mode (TW = 0) and traps
           to M; mepc is after the wfi (or at it, if it is re-executed) */
        TEST_NUM(4)
        TRAP_RESET
        M_IRQ_OFF
        li t0, MIP_MTIP
        csrs mie, t0
        MTIMECMP_IN(1000)
        EXPECT_TRAP_MODE(INTR_CAUSE(IRQ_M_TIMER), 5f, PRV_M)
        MRET_TO(PRV_S, 4f)
4:      wfi
        j 4b
5:      M_IRQ_OFF
        MTIMECMP_NEVER
        CHECK_TRAP_CAUSE(INTR_CAUSE(IRQ_M_TIMER))
        LOAD_TRAP_MPP(t1)
        CHECK_EQ(t1, PRV_S)
        /* 5: S-mode wfi with TW = 1: illegal instruction */
        TEST_NUM(5)
        TRAP_RESET
        li t0, MSTATUS_TW
        csrs mstatus, t0
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 7f, PRV_M)
        MRET_TO(PRV_S, 6f)
6:      wfi
        j fail
7:      CHECK_TRAP_CAUSE(CAUSE_ILLEGAL_INSTRUCTION)
        LOAD_TRAP_MPP(t1)
        CHECK_EQ(t1, PRV_S)
        la t0, trap_info
        ld t1, TI_TVAL(t0)
        beqz t1, 8f
        CHECK_EQ(t1, 0x10500073)        /* the wfi encoding */
8:
        /* 6: U-mode wfi with TW = 1: illegal instruction */
        TEST_NUM(6)
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 10f, PRV_M)
        MRET_TO(PRV_U, 9f)
9:      wfi
        j fail
10:     CHECK_TRAP_CAUSE(CAUSE_ILLEGAL_INSTRUCTION)
        LOAD_TRAP_MPP(t1)
        CHECK_EQ(t1, PRV_U)
        /* 7: M-mode wfi ignores TW */
        M_IRQ_OFF
        TEST_NUM(7)
        TRAP_RESET
        li t0, MIP_MTIP
        csrs mie, t0
        MTIMECMP_IN(100)
        wfi
        la t0, trap_info
        ld t1, TI_COUNT(t0)
        bnez t1, fail
        li t0, MSTATUS_TW
        csrc mstatus, t0
        MTIMECMP_NEVER
        csrw mie, zero
        TEST_PASS
