/* Privileged: exception delegation with medeleg.  Delegated exceptions
 * from S/U go to the S-mode handler with scause/sepc/stval and sstatus
 * (SPP, SPIE, SIE) set; non-delegated ones and any trap taken in M-mode go
 * to M; the M-mode state (mcause/mepc) is untouched by delegated traps. */
#include "test.h"

/* leave U- or S-mode for M through a non-delegated illegal instruction */
#define TO_M_VIA_ILLEGAL(label) \
        csrr t3, mscratch; j fail; label:

#define ARM_ILLEGAL_TO_M(label) \
        TRAP_RESET; EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, label, PRV_M)

TEST_BEGIN
        /* 1: U-mode ecall delegated to S */
        TEST_NUM(1)
        S_TRAP_RESET
        li t0, 1 << CAUSE_USER_ECALL
        csrw medeleg, t0
        csrw mcause, zero
        ARM_ILLEGAL_TO_M(2f)
        li t0, MSTATUS_SIE | MSTATUS_SPIE
        csrs mstatus, t0                /* SIE = 1 before the trap */
        MRET_TO(PRV_U, 1f)
1:      li s2, 5
        .option push
        .option norvc
10:     ecall
        .option pop
        addi s2, s2, 1                  /* resumed in U-mode */
        TO_M_VIA_ILLEGAL(2)
        CHECK_S_TRAP(1, CAUSE_USER_ECALL)
        CHECK_EQ(s2, 6)
        la t0, s_trap_info
        ld t1, S_EPC(t0)
        la t2, 10b
        bne t1, t2, fail
        ld t1, S_TVAL(t0)
        bnez t1, fail
        TEST_NUM(2)
        /* sstatus in the handler: SPP = 0 (from U), SPIE = 1 (old SIE), SIE = 0 */
        ld t1, S_STATUS(t0)
        andi t2, t1, MSTATUS_SPP
        bnez t2, fail
        andi t2, t1, MSTATUS_SPIE
        beqz t2, fail
        andi t2, t1, MSTATUS_SIE
        bnez t2, fail
        /* mcause was not written by the delegated trap (the illegal
           instruction that brought us back to M wrote 2) */
        csrr t1, mcause
        CHECK_EQ(t1, CAUSE_ILLEGAL_INSTRUCTION)
        li t0, MSTATUS_SIE | MSTATUS_SPIE
        csrc mstatus, t0

        /* 3: illegal instruction delegated: stval = instruction bits or 0 */
        TEST_NUM(3)
        S_TRAP_RESET
        li t0, 1 << CAUSE_ILLEGAL_INSTRUCTION
        csrw medeleg, t0
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_USER_ECALL, 4f, PRV_M)
        MRET_TO(PRV_U, 3f)
        .option push
        .option norvc
3:      csrr t3, mscratch               /* illegal in U: delegated to S */
        .option pop
        ecall                           /* not delegated: to M */
        j fail
4:      CHECK_TRAP_CAUSE(CAUSE_USER_ECALL)
        CHECK_S_TRAP(1, CAUSE_ILLEGAL_INSTRUCTION)
        TEST_NUM(4)
        la t0, s_trap_info
        ld t1, S_EPC(t0)
        la t2, 3b
        bne t1, t2, fail
        ld t1, S_TVAL(t0)
        beqz t1, 5f
        lwu t2, 0(t2)
        bne t1, t2, fail
5:      csrw medeleg, zero
        TEST_NUM(5)
        /* S-mode breakpoint delegated: SPP = 1 */
        S_TRAP_RESET
        li t0, 1 << CAUSE_BREAKPOINT
        csrw medeleg, t0
        MRET_TO(PRV_S, 6f)
6:      .option push
        .option norvc
11:     ebreak
        .option pop
        GOTO_M(7f)
7:      CHECK_S_TRAP(1, CAUSE_BREAKPOINT)
        la t0, s_trap_info
        ld t1, S_STATUS(t0)
        andi t2, t1, MSTATUS_SPP
        beqz t2, fail
        ld t1, S_EPC(t0)
        la t2, 11b
        bne t1, t2, fail

        /* 6: a delegated exception raised in M-mode is taken in M */
        TEST_NUM(6)
        S_TRAP_RESET
        TRAP_RESET
        EXPECT_TRAP_SKIP(CAUSE_BREAKPOINT)
        ebreak
        CHECK_TRAP_CAUSE(CAUSE_BREAKPOINT)
        la t0, s_trap_info
        ld t1, S_COUNT(t0)
        bnez t1, fail

        /* 7: a non-delegated exception from S goes to M */
        TEST_NUM(7)
        S_TRAP_RESET
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_SUPERVISOR_ECALL, 9f, PRV_M)
        MRET_TO(PRV_S, 8f)
8:      ecall
        j fail
9:      CHECK_TRAP_CAUSE(CAUSE_SUPERVISOR_ECALL)
        la t0, s_trap_info
        ld t1, S_COUNT(t0)
        bnez t1, fail

        /* 8: S-mode ecall delegated to S */
        TEST_NUM(8)
        S_TRAP_RESET
        li t0, 1 << CAUSE_SUPERVISOR_ECALL
        csrw medeleg, t0
        ARM_ILLEGAL_TO_M(13f)
        MRET_TO(PRV_S, 12f)
12:     ecall
        TO_M_VIA_ILLEGAL(13)
        CHECK_S_TRAP(1, CAUSE_SUPERVISOR_ECALL)

        /* 9: delegated load access fault: stval = address */
        TEST_NUM(9)
        S_TRAP_RESET
        li t0, 1 << CAUSE_LOAD_ACCESS
        csrw medeleg, t0
        MRET_TO(PRV_S, 14f)
14:     li t4, 0x8
        ld t5, 0(t4)
        GOTO_M(15f)
15:     CHECK_S_TRAP(1, CAUSE_LOAD_ACCESS)
        la t0, s_trap_info
        ld t1, S_TVAL(t0)
        CHECK_EQ(t1, 0x8)
        csrw medeleg, zero
        TEST_PASS
