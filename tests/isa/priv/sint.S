/* Privileged: supervisor interrupts.  M-mode sets mip.STIP / mip.SSIP;
 * delegated (mideleg) they trap to S with scause = 0x8000000000000005 /
 * ...01, gated by sstatus.SIE in S-mode, always enabled in U-mode, never
 * taken in M-mode; not delegated they trap to M.  S-mode can set sip.SSIP
 * itself.  sie/sip are views of mie/mip for delegated interrupts. */
#include "test.h"

#define WAIT_S_TRAPS(n) li t6, 10000000; 74: la t0, s_trap_info; ld t1, S_COUNT(t0); li t2, n; beq t1, t2, 73f; addi t6, t6, -1; bnez t6, 74b; j fail; 73:

TEST_BEGIN
        /* 1: delegated STI taken in S-mode when sstatus.SIE = 1 */
        TEST_NUM(1)
        S_TRAP_RESET
        M_IRQ_OFF
        li t0, MIP_STIP | MIP_SSIP | MIP_SEIP
        csrw mideleg, t0
        li t0, MIP_STIP
        csrs mie, t0
        csrs mip, t0
        li t0, MSTATUS_SIE | MSTATUS_SPIE
        csrc mstatus, t0
        MRET_TO(PRV_S, 1f)
1:      li t3, 1000                     /* SIE = 0: not taken */
2:      addi t3, t3, -1
        bnez t3, 2b
        la t0, s_trap_info
        ld t1, S_COUNT(t0)
        bnez t1, fail
        csrsi sstatus, MSTATUS_SIE
        WAIT_S_TRAPS(1)
        csrci sstatus, MSTATUS_SIE
        GOTO_M(3f)
3:      CHECK_S_TRAP(1, INTR_CAUSE(IRQ_S_TIMER))
        /* stval = 0; sstatus in the handler: SPP = 1, SPIE = 1, SIE = 0 */
        TEST_NUM(2)
        la t0, s_trap_info
        ld t1, S_TVAL(t0)
        bnez t1, fail
        ld t1, S_STATUS(t0)
        andi t2, t1, MSTATUS_SPP
        beqz t2, fail
        andi t2, t1, MSTATUS_SPIE
        beqz t2, fail
        andi t2, t1, MSTATUS_SIE
        bnez t2, fail
        /* the S handler cleared sie.STIE, which is mie.STIE */
        csrr t1, mie
        andi t1, t1, MIP_STIP
        bnez t1, fail

        /* 3: in U-mode the delegated STI is taken even with SIE = 0 */
        TEST_NUM(3)
        S_TRAP_RESET
        li t0, MIP_STIP
        csrs mie, t0
        li t0, MSTATUS_SIE | MSTATUS_SPIE
        csrc mstatus, t0
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_USER_ECALL, 5f, PRV_M)
        MRET_TO(PRV_U, 4f)
4:      li t6, 10000000
6:      la t0, s_trap_info
        ld t1, S_COUNT(t0)
        bnez t1, 7f
        addi t6, t6, -1
        bnez t6, 6b
7:      ecall                           /* back to M */
5:      CHECK_S_TRAP(1, INTR_CAUSE(IRQ_S_TIMER))
        la t0, s_trap_info
        ld t1, S_STATUS(t0)
        andi t2, t1, MSTATUS_SPP        /* from U */
        bnez t2, fail

        /* 4: a delegated S interrupt is never taken in M-mode */
        TEST_NUM(4)
        S_TRAP_RESET
        TRAP_RESET
        li t0, MIP_STIP
        csrs mie, t0
        li t0, MSTATUS_SIE | MSTATUS_MIE
        csrs mstatus, t0
        li t3, 10000
8:      addi t3, t3, -1
        bnez t3, 8b
        csrci mstatus, MSTATUS_MIE | MSTATUS_SIE
        la t0, s_trap_info
        ld t1, S_COUNT(t0)
        bnez t1, fail
        la t0, trap_info
        ld t1, TI_COUNT(t0)
        bnez t1, fail

        /* 5: not delegated: STI traps to M (from S) with cause 5 */
        TEST_NUM(5)
        csrw mideleg, zero
        S_TRAP_RESET
        TRAP_RESET
        M_IRQ_OFF
        EXPECT_TRAP_MODE(INTR_CAUSE(IRQ_S_TIMER), 10f, PRV_M)
        MRET_TO(PRV_S, 9f)
9:      j 9b
10:     M_IRQ_OFF
        CHECK_TRAP_CAUSE(INTR_CAUSE(IRQ_S_TIMER))
        LOAD_TRAP_MPP(t1)
        CHECK_EQ(t1, PRV_S)
        li t0, MIP_STIP
        csrc mip, t0
        /* 6: with STIP clear, nothing is pending */
        TEST_NUM(6)
        csrr t1, mip
        andi t1, t1, MIP_STIP
        bnez t1, fail

        /* 7: S-mode software interrupt raised by S itself through sip */
        TEST_NUM(7)
        S_TRAP_RESET
        li t0, MIP_SSIP | MIP_STIP | MIP_SEIP
        csrw mideleg, t0
        M_IRQ_OFF
        li t0, MSTATUS_SIE | MSTATUS_SPIE
        csrc mstatus, t0
        MRET_TO(PRV_S, 11f)
11:     csrsi sie, MIP_SSIP
        csrsi sstatus, MSTATUS_SIE
        csrsi sip, MIP_SSIP
        WAIT_S_TRAPS(1)
        csrci sip, MIP_SSIP
        csrci sstatus, MSTATUS_SIE
        GOTO_M(12f)
12:     CHECK_S_TRAP(1, INTR_CAUSE(IRQ_S_SOFT))
        csrr t1, mip
        andi t1, t1, MIP_SSIP
        bnez t1, fail

        /* 8: sie / sip are views of mie / mip for delegated interrupts */
        TEST_NUM(8)
        csrw mie, zero
        li t0, MIP_SSIP | MIP_STIP | MIP_SEIP
        csrw sie, t0
        csrr t1, mie
        CHECK_EQ(t1, MIP_SSIP | MIP_STIP | MIP_SEIP)
        TEST_NUM(9)
        li t0, MIP_MTIP | MIP_MSIP
        csrs sie, t0                    /* M bits are not in sie */
        csrr t1, mie
        CHECK_EQ(t1, MIP_SSIP | MIP_STIP | MIP_SEIP)
        csrr t1, sie
        CHECK_EQ(t1, MIP_SSIP | MIP_STIP | MIP_SEIP)
        TEST_NUM(10)
        li t0, MIP_STIP
        csrs mip, t0
        csrr t1, sip
        andi t1, t1, MIP_STIP
        beqz t1, fail
        csrc mip, t0
        csrw mie, zero
        csrw mideleg, zero
        TEST_PASS
