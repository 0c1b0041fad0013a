/* Zicntr: instret counts retired instructions exactly.  The value read by
 * a csrr counts every instruction retired before it, so two back-to-back
 * reads differ by 1, and N instructions between them give N + 1.  A
 * trapping instruction does not retire; ecall and ebreak do not retire
 * either (they raise exceptions).  Under QEMU this needs -icount shift=0
 * (run-on-qemu.sh passes it for tests named *instret*). */
#include "test.h"
TEST_BEGIN
        .option push
        .option norvc
        TEST_NUM(1)
        csrr s0, minstret
        csrr s1, minstret
        sub a0, s1, s0
        CHECK_EQ(a0, 1)
        TEST_NUM(2)
        rdinstret s0
        nop
        nop
        nop
        rdinstret s1
        sub a0, s1, s0
        CHECK_EQ(a0, 4)
        /* 3: a loop of 100 iterations x 2 instructions */
        TEST_NUM(3)
        li t3, 100
        rdinstret s0
1:      addi t3, t3, -1
        bnez t3, 1b
        rdinstret s1
        sub a0, s1, s0
        CHECK_EQ(a0, 201)
        /* 4: taken and not-taken branches, jumps, loads, stores, mul/div */
        TEST_NUM(4)
        la t4, scratch
        rdinstret s0
        beq x0, x0, 2f                  /* 1 */
        nop
2:      bne x0, x0, fail                /* 2 */
        jal x0, 3f                      /* 3 */
        nop
3:      sd t4, 0(t4)                    /* 4 */
        ld t5, 0(t4)                    /* 5 */
        mul t5, t5, t5                  /* 6 */
        div t5, t5, t4                  /* 7 */
        fadd.d f1, f2, f3               /* 8 */
        amoadd.d x0, t4, (t4)           /* 9 */
        rdinstret s1
        sub a0, s1, s0
        CHECK_EQ(a0, 10)
        /* 5: compressed instructions count as one each */
        TEST_NUM(5)
        rdinstret s0
        .option rvc
        c.nop
        c.addi t3, 1
        c.mv t4, t3
        .option norvc
        rdinstret s1
        sub a0, s1, s0
        CHECK_EQ(a0, 4)
        /* 6: an instruction that traps does not retire; the handler's
           instructions (M-mode) are counted like any others, so count
           with the counter read inside the trap path: an ecall at the
           point between the two reads adds 0 for itself */
        TEST_NUM(6)
        TRAP_RESET
        EXPECT_TRAP(CAUSE_MACHINE_ECALL, 4f)
        csrr s0, minstret
        ecall
4:      csrr s1, minstret
        sub a0, s1, s0
        /* the handler ran in between: expect more than 1 (ecall itself
           does not count, but the handler's instructions do) */
        li t2, 2
        bltu a0, t2, fail
        /* 7: writing minstret.  The spec (Zicsr, CSR side effects): "a value
           written to instret by one instruction will be the value read by
           the following instruction".  QEMU 7.2 also counts the writing
           csrw, reading value + 1; both are accepted.  After that the
           counting must be exact again. */
        TEST_NUM(7)
        li t3, 1000
        csrw minstret, t3
        csrr a0, minstret
        addi a0, a0, -1000
        li t2, 1
        bgtu a0, t2, fail
        TEST_NUM(8)
        li t3, 5000
        csrw minstret, t3
        csrr s0, minstret
        nop
        nop
        csrr s1, minstret
        sub a0, s1, s0
        CHECK_EQ(a0, 3)
        .option pop
        TEST_PASS

        .data
        .align 3
scratch: .dword 0
