/* Privileged: ecall from M, S and U mode gives causes 11, 9, 8 with
 * mepc = the ecall, mtval = 0, mstatus.MPP = the calling mode; ebreak gives
 * cause 3 with mepc = the ebreak. */
#include "test.h"

#define CHECK_INFO(cause, epc_label, mpp) \
        la t0, trap_info; ld t1, TI_ARMED(t0); bnez t1, fail; \
        ld t1, TI_CAUSE(t0); li t2, cause; bne t1, t2, fail; \
        ld t1, TI_EPC(t0); la t2, epc_label; bne t1, t2, fail; \
        ld t1, TI_TVAL(t0); bnez t1, fail; \
        LOAD_TRAP_MPP(t1); li t2, mpp; bne t1, t2, fail;

TEST_BEGIN
        /* 1: M-mode ecall */
        TEST_NUM(1)
        TRAP_RESET
        EXPECT_TRAP_SKIP(CAUSE_MACHINE_ECALL)
1:      ecall
        CHECK_INFO(CAUSE_MACHINE_ECALL, 1b, PRV_M)
        /* the handler resumed at the next instruction in M-mode */
        csrr t3, mscratch

        /* 2: S-mode ecall */
        TEST_NUM(2)
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_SUPERVISOR_ECALL, 3f, PRV_M)
        MRET_TO(PRV_S, 2f)
2:      ecall
        j fail
3:      CHECK_INFO(CAUSE_SUPERVISOR_ECALL, 2b, PRV_S)

        /* 3: U-mode ecall */
        TEST_NUM(3)
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_USER_ECALL, 5f, PRV_M)
        MRET_TO(PRV_U, 4f)
4:      ecall
        j fail
5:      CHECK_INFO(CAUSE_USER_ECALL, 4b, PRV_U)

        /* 4: S-mode ecall resumes in S-mode after the ecall */
        TEST_NUM(4)
        TRAP_RESET
        MRET_TO(PRV_S, 6f)
6:      la t0, trap_info                /* arm from S-mode */
        li t1, CAUSE_SUPERVISOR_ECALL
        sd t1, TI_EXPECT(t0)
        sd zero, TI_RESUME(t0)
        sd zero, TI_RESUME_MODE(t0)
        li t1, 1
        sd t1, TI_ARMED(t0)
        li s2, 11
        ecall
        addi s2, s2, 1                  /* executed in S-mode */
        csrr t3, sstatus                /* legal in S */
        GOTO_M(7f)
7:      CHECK_EQ(s2, 12)
        CHECK_TRAP_CAUSE(CAUSE_SUPERVISOR_ECALL)

        /* 5-7: ebreak from each mode */
        TEST_NUM(5)
        TRAP_RESET
        EXPECT_TRAP_SKIP(CAUSE_BREAKPOINT)
        .option push
        .option norvc
8:      ebreak
        .option pop
        la t0, trap_info
        ld t1, TI_ARMED(t0)
        bnez t1, fail
        ld t1, TI_CAUSE(t0)
        CHECK_EQ(t1, CAUSE_BREAKPOINT)
        ld t1, TI_EPC(t0)
        la t2, 8b
        bne t1, t2, fail
        TEST_NUM(6)
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_BREAKPOINT, 10f, PRV_M)
        MRET_TO(PRV_S, 9f)
9:      ebreak
        j fail
10:     CHECK_TRAP_CAUSE(CAUSE_BREAKPOINT)
        LOAD_TRAP_MPP(t1)
        CHECK_EQ(t1, PRV_S)
        TEST_NUM(7)
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_BREAKPOINT, 12f, PRV_M)
        MRET_TO(PRV_U, 11f)
11:     ebreak
        j fail
12:     CHECK_TRAP_CAUSE(CAUSE_BREAKPOINT)
        LOAD_TRAP_MPP(t1)
        CHECK_EQ(t1, PRV_U)

        /* 8: trap entry: MPIE = old MIE, MIE = 0 */
        TEST_NUM(8)
        TRAP_RESET
        csrsi mstatus, MSTATUS_MIE
        EXPECT_TRAP_SKIP(CAUSE_MACHINE_ECALL)
        ecall
        la t0, trap_info
        ld t1, TI_MSTATUS(t0)           /* mstatus as seen by the handler */
        andi t2, t1, MSTATUS_MIE
        bnez t2, fail
        andi t2, t1, MSTATUS_MPIE
        beqz t2, fail
        /* mret restored MIE from MPIE */
        csrr t1, mstatus
        andi t2, t1, MSTATUS_MIE
        beqz t2, fail
        csrci mstatus, MSTATUS_MIE
        TEST_PASS
