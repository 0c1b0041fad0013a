/* Self-modifying code: stores over instructions, fence.i, then execute.
 * Each patch must be visible after fence.i: twice on the same function;
 * on a page whose code was executed (many times) just before the write;
 * in a loop that re-patches an immediate each iteration; and an
 * instruction patched just ahead in the same straight-line block. */
#include "test.h"

#define LI_A0(imm) (0x00000513 | (((imm) & 0xfff) << 20))   /* addi a0, x0, imm */

TEST_BEGIN
        /* 1: original behaviour */
        TEST_NUM(1)
        call patch_fn
        CHECK_EQ(a0, 1)
        /* 2: first patch */
        TEST_NUM(2)
        la t3, patch_fn
        li t4, LI_A0(2)
        sw t4, 0(t3)
        fence.i
        call patch_fn
        CHECK_EQ(a0, 2)
        /* 3: second patch of the same code */
        TEST_NUM(3)
        li t4, LI_A0(3)
        sw t4, 0(t3)
        fence.i
        call patch_fn
        CHECK_EQ(a0, 3)
        /* 4: patch with byte and halfword stores */
        TEST_NUM(4)
        li t4, LI_A0(0x7ff)
        sh t4, 0(t3)
        srli t4, t4, 16
        sb t4, 2(t3)
        srli t4, t4, 8
        sb t4, 3(t3)
        fence.i
        call patch_fn
        CHECK_EQ(a0, 0x7ff)

        /* 5: the code page is hot (executed many times) before the write */
        TEST_NUM(5)
        li s2, 1000
        li s3, 0
1:      call hot_fn                     /* hot_fn and hot_target share a page */
        add s3, s3, a0
        call hot_target
        add s3, s3, a0
        addi s2, s2, -1
        bnez s2, 1b
        CHECK_EQ(s3, 1000 * (10 + 20))
        la t3, hot_target
        li t4, LI_A0(21)
        sw t4, 0(t3)
        fence.i
        call hot_target
        CHECK_EQ(a0, 21)
        call hot_fn                     /* the rest of the page is unchanged */
        CHECK_EQ(a0, 10)

        /* 6: re-patch an immediate on every iteration of a loop */
        TEST_NUM(6)
        la t3, loop_fn
        li s2, 0
        li s3, 0
2:      slli t4, s2, 20
        li t5, 0x00000513
        or t4, t4, t5
        sw t4, 0(t3)
        fence.i
        call loop_fn
        bne a0, s2, fail
        add s3, s3, a0
        addi s2, s2, 1
        li t5, 200
        blt s2, t5, 2b
        CHECK_EQ(s3, 199 * 200 / 2)

        /* 7: patch an instruction ahead in the same straight-line code */
        TEST_NUM(7)
        li s4, 3
        .rept 2
        la t3, 3f
        li t4, LI_A0(55)
        sw t4, 0(t3)
        fence.i
        .option push
        .option norvc
3:      addi a0, x0, 44                 /* replaced by addi a0, x0, 55 */
        .option pop
        CHECK_EQ(a0, 55)
        .endr

        /* 8: replace a whole function body with new code (copied) */
        TEST_NUM(8)
        la t3, patch_fn
        la t4, new_body
        lw t5, 0(t4)
        sw t5, 0(t3)
        lw t5, 4(t4)
        sw t5, 4(t3)
        lw t5, 8(t4)
        sw t5, 8(t3)
        lw t5, 12(t4)
        sw t5, 12(t3)
        fence.i
        li a0, 20
        call patch_fn
        CHECK_EQ(a0, 61)                /* a0 * 3 + 1 */
        TEST_PASS

        .option push
        .option norvc
        .align 4
patch_fn:
        addi a0, x0, 1
        ret
        nop
        nop

        .align 12
hot_fn:
        addi a0, x0, 10
        ret
hot_target:
        addi a0, x0, 20
        ret

        .align 4
loop_fn:
        addi a0, x0, 0
        ret

        .align 4
new_body:                               /* a0 = a0 * 3 + 1 */
        slli t6, a0, 1
        add a0, a0, t6
        addi a0, a0, 1
        ret
        .option pop
