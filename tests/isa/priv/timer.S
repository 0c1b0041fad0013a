/* Privileged: machine timer interrupt through the CLINT.  mip.MTIP follows
 * mtime >= mtimecmp; the interrupt is taken when mie.MTIE and mstatus.MIE
 * (in M-mode) are set, with mcause = 0x8000000000000007 and mepc pointing
 * at an instruction not yet executed; in S/U-mode it is taken whatever
 * mstatus.MIE says. */
#include "test.h"

#define SET_MTIMECMP(reg) li t5, CLINT_MTIMECMP; sd reg, 0(t5);
#define MTIMECMP_NEVER li t4, -1; SET_MTIMECMP(t4)
#define MTIMECMP_IN(ticks) li t5, CLINT_MTIME; ld t4, 0(t5); li t5, ticks; add t4, t4, t5; SET_MTIMECMP(t4)
/* spin until mip has `bit` (fail after ~10M iterations) */
#define WAIT_MIP(bit) li t6, 10000000; 77: csrr t5, mip; andi t5, t5, bit; bnez t5, 78f; addi t6, t6, -1; bnez t6, 77b; j fail; 78:

TEST_BEGIN
        /* 1: no interrupt pending with mtimecmp in the far future */
        TEST_NUM(1)
        MTIMECMP_NEVER
        csrr t0, mip
        andi t0, t0, MIP_MTIP
        bnez t0, fail
        /* 2: mtime advances */
        TEST_NUM(2)
        li t5, CLINT_MTIME
        ld s0, 0(t5)
        li t3, 100000
1:      addi t3, t3, -1
        bnez t3, 1b
        ld s1, 0(t5)
        bgeu s0, s1, fail
        /* 3: MTIP becomes pending without a trap while disabled */
        TEST_NUM(3)
        TRAP_RESET
        MTIMECMP_IN(100)
        WAIT_MIP(MIP_MTIP)
        /* 4: writing mtimecmp into the future clears MTIP */
        TEST_NUM(4)
        MTIMECMP_NEVER
        csrr t0, mip
        andi t0, t0, MIP_MTIP
        bnez t0, fail
        /* 5: mip.MTIP is read-only: csrs does not set it */
        TEST_NUM(5)
        li t0, MIP_MTIP
        csrs mip, t0
        csrr t0, mip
        andi t0, t0, MIP_MTIP
        bnez t0, fail
        /* 6: pending + mie.MTIE but mstatus.MIE = 0 in M-mode: not taken */
        TEST_NUM(6)
        TRAP_RESET
        li t0, MIP_MTIP
        csrs mie, t0
        MTIMECMP_IN(10)
        WAIT_MIP(MIP_MTIP)
        li t3, 1000
2:      addi t3, t3, -1
        bnez t3, 2b
        la t0, trap_info
        ld t1, TI_COUNT(t0)
        bnez t1, fail
        /* 7: setting mstatus.MIE takes it: cause, mepc in the nop sled */
        TEST_NUM(7)
        EXPECT_TRAP_SKIP(INTR_CAUSE(IRQ_M_TIMER))
3:      csrsi mstatus, MSTATUS_MIE
        WAIT_TRAP
4:      csrci mstatus, MSTATUS_MIE
        CHECK_TRAP_CAUSE(INTR_CAUSE(IRQ_M_TIMER))
        la t0, trap_info
        ld t1, TI_COUNT(t0)
        CHECK_EQ(t1, 1)
        ld t1, TI_EPC(t0)
        la t2, 3b
        bltu t1, t2, fail
        la t2, 4b
        bgtu t1, t2, fail
        /* mstatus in the handler: MIE = 0, MPIE = 1, MPP = M */
        TEST_NUM(8)
        ld t1, TI_MSTATUS(t0)
        andi t2, t1, MSTATUS_MIE
        bnez t2, fail
        andi t2, t1, MSTATUS_MPIE
        beqz t2, fail
        LOAD_TRAP_MPP(t1)
        CHECK_EQ(t1, PRV_M)
        /* mtval is 0 for interrupts */
        ld t1, TI_TVAL(t0)
        bnez t1, fail
        /* the handler cleared mie.MTIE */
        csrr t1, mie
        andi t1, t1, MIP_MTIP
        bnez t1, fail

        /* 9: in U-mode the timer interrupt is taken with mstatus.MIE = 0 */
        TEST_NUM(9)
        M_IRQ_OFF
        TRAP_RESET
        MTIMECMP_IN(200)
        li t0, MIP_MTIP
        csrs mie, t0
        EXPECT_TRAP_MODE(INTR_CAUSE(IRQ_M_TIMER), 6f, PRV_M)
        MRET_TO(PRV_U, 5f)
5:      j 5b                            /* spin in U-mode */
6:      M_IRQ_OFF
        CHECK_TRAP_CAUSE(INTR_CAUSE(IRQ_M_TIMER))
        LOAD_TRAP_MPP(t1)
        CHECK_EQ(t1, PRV_U)
        la t0, trap_info
        ld t1, TI_EPC(t0)
        la t2, 5b
        bne t1, t2, fail
        /* 10: and in S-mode */
        TEST_NUM(10)
        TRAP_RESET
        MTIMECMP_IN(200)
        li t0, MIP_MTIP
        csrs mie, t0
        EXPECT_TRAP_MODE(INTR_CAUSE(IRQ_M_TIMER), 8f, PRV_M)
        MRET_TO(PRV_S, 7f)
7:      j 7b
8:      M_IRQ_OFF
        CHECK_TRAP_CAUSE(INTR_CAUSE(IRQ_M_TIMER))
        LOAD_TRAP_MPP(t1)
        CHECK_EQ(t1, PRV_S)
        /* 11: time keeps counting: a second interrupt after re-arming */
        TEST_NUM(11)
        TRAP_RESET
        MTIMECMP_IN(1000)
        li t0, MIP_MTIP
        csrs mie, t0
        EXPECT_TRAP_SKIP(INTR_CAUSE(IRQ_M_TIMER))
        csrsi mstatus, MSTATUS_MIE
        WAIT_TRAP
        csrci mstatus, MSTATUS_MIE
        MTIMECMP_NEVER
        TEST_PASS
