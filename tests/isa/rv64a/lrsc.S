/* RV64A LR/SC: success, failure without a reservation, failure after a
 * completed SC, failure on a different address, sign extension of lr.w,
 * ordering variants, an LR/SC increment loop, and AMO register aliasing. */
#include "test.h"
TEST_BEGIN
        la s0, buf
        /* 1: lr.w / sc.w succeed */
        TEST_NUM(1)
        li t0, 0x11111111
        sw t0, 0(s0)
        lr.w a0, (s0)
        li a1, 0x22222222
        sc.w a2, a1, (s0)
        bnez a2, fail
        CHECK_EQ(a0, 0x11111111)
        lw a3, 0(s0)
        CHECK_EQ(a3, 0x22222222)

        /* 2: a second sc.w (reservation consumed) fails and does not write */
        TEST_NUM(2)
        li a1, 0x33333333
        sc.w a2, a1, (s0)
        beqz a2, fail
        lw a3, 0(s0)
        CHECK_EQ(a3, 0x22222222)

        /* 3: lr.w sign-extends */
        TEST_NUM(3)
        li t0, 0x80000000
        sw t0, 4(s0)
        addi t1, s0, 4
        lr.w a0, (t1)
        CHECK_EQ(a0, 0xffffffff80000000)
        sc.w a2, t0, (t1)               /* clear the reservation */
        bnez a2, fail

        /* 4: lr.d / sc.d */
        TEST_NUM(4)
        li t0, 0x0123456789abcdef
        sd t0, 8(s0)
        addi t1, s0, 8
        lr.d a0, (t1)
        CHECK_REG_EQ(a0, t0)
        li a1, 0xfedcba9876543210
        sc.d a2, a1, (t1)
        bnez a2, fail
        ld a3, 8(s0)
        CHECK_REG_EQ(a3, a1)

        /* 5: sc.d without any reservation fails */
        TEST_NUM(5)
        li a1, 0x5555
        sc.d a2, a1, (t1)
        beqz a2, fail
        ld a3, 8(s0)
        CHECK_EQ(a3, 0xfedcba9876543210)

        /* 6: sc to an address far from the reserved one fails */
        TEST_NUM(6)
        la t2, far
        sd zero, 0(t2)
        lr.d a0, (s0)
        li a1, 77
        sc.d a2, a1, (t2)
        beqz a2, fail
        ld a3, 0(t2)
        bnez a3, fail
        sc.d a2, a1, (s0)               /* clear any reservation */

        /* 7: aq/rl variants */
        TEST_NUM(7)
        sd zero, 16(s0)
        addi t1, s0, 16
        lr.d.aq a0, (t1)
        li a1, 7
        sc.d.rl a2, a1, (t1)
        bnez a2, fail
        lr.w.aqrl a0, (t1)
        CHECK_EQ(a0, 7)
        li a1, 9
        sc.w.aqrl a2, a1, (t1)
        bnez a2, fail
        lr.d.rl a0, (t1)
        li a1, 11
        sc.d.aq a2, a1, (t1)
        bnez a2, fail
        ld a3, 16(s0)
        CHECK_EQ(a3, 11)

        /* 8: LR/SC increment loop (retries until success) */
        TEST_NUM(8)
        sd zero, 24(s0)
        addi t1, s0, 24
        li s1, 100
1:      lr.d a0, (t1)
        addi a0, a0, 1
        sc.d a2, a0, (t1)
        bnez a2, 1b
        addi s1, s1, -1
        bnez s1, 1b
        ld a3, 24(s0)
        CHECK_EQ(a3, 100)

        /* 9: sc.w to x0 still stores */
        TEST_NUM(9)
        sw zero, 32(s0)
        addi t1, s0, 32
        lr.w a0, (t1)
        li a1, 0x1234
        sc.w x0, a1, (t1)
        lw a3, 32(s0)
        CHECK_EQ(a3, 0x1234)

        /* 10: AMO with rd == rs2 returns the old value, stores the operand */
        TEST_NUM(10)
        li t0, 5
        sd t0, 40(s0)
        addi t1, s0, 40
        li a0, 3
        amoadd.d a0, a0, (t1)
        CHECK_EQ(a0, 5)
        ld a3, 40(s0)
        CHECK_EQ(a3, 8)

        /* 11: AMO with rd == x0 updates memory */
        TEST_NUM(11)
        li a0, 0x10
        amoor.d x0, a0, (t1)
        ld a3, 40(s0)
        CHECK_EQ(a3, 0x18)

        /* 12: amoadd.w wraps in 32 bits and sign-extends the old value */
        TEST_NUM(12)
        li t0, 0x7fffffff
        sw t0, 48(s0)
        li t0, 0x77777777
        sw t0, 52(s0)
        addi t1, s0, 48
        li a0, 1
        amoadd.w a1, a0, (t1)
        CHECK_EQ(a1, 0x7fffffff)
        amoadd.w a1, a0, (t1)
        CHECK_EQ(a1, 0xffffffff80000000)
        ld a3, 48(s0)
        CHECK_EQ(a3, 0x7777777780000001)

        /* 13: amoswap as a lock: acquire/release */
        TEST_NUM(13)
        sd zero, 56(s0)
        addi t1, s0, 56
        li a0, 1
        amoswap.d.aq a1, a0, (t1)
        bnez a1, fail
        amoswap.d.aq a1, a0, (t1)       /* already held */
        CHECK_EQ(a1, 1)
        amoswap.d.rl x0, x0, (t1)
        ld a3, 56(s0)
        bnez a3, fail

        /* 14: a regular store between lr and sc to another location
           does not prevent sc from succeeding */
        TEST_NUM(14)
        addi t1, s0, 64
        sd zero, 0(t1)
        lr.d a0, (t1)
        li a1, 1
        sd a1, 128(s0)
        li a1, 42
        sc.d a2, a1, (t1)
        bnez a2, fail
        ld a3, 0(t1)
        CHECK_EQ(a3, 42)
        TEST_PASS

        .data
        .align 6
buf:    .fill 32, 8, 0
        .align 13
far:    .dword 0
