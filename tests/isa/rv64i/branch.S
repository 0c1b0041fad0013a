/* RV64I conditional branches: each taken and not taken, signed/unsigned
 * edge cases, forward and backward targets. */
#include "test.h"
TEST_BEGIN
        TEST_BR2_TAKEN(1, beq, 0, 0)
        TEST_BR2_TAKEN(2, beq, -1, -1)
        TEST_BR2_NOT_TAKEN(3, beq, 0, 1)
        TEST_BR2_NOT_TAKEN(4, beq, 0x100000000, 0)      /* upper bits matter */
        TEST_BR2_TAKEN(5, bne, 0, 1)
        TEST_BR2_TAKEN(6, bne, 0x8000000000000000, 0)
        TEST_BR2_NOT_TAKEN(7, bne, 5, 5)
        TEST_BR2_NOT_TAKEN(8, bne, -1, -1)
        TEST_BR2_TAKEN(9, blt, -1, 0)
        TEST_BR2_TAKEN(10, blt, 0x8000000000000000, 0x7fffffffffffffff)
        TEST_BR2_TAKEN(11, blt, -2, -1)
        TEST_BR2_NOT_TAKEN(12, blt, 0, -1)
        TEST_BR2_NOT_TAKEN(13, blt, 1, 1)
        TEST_BR2_NOT_TAKEN(14, blt, 0x7fffffffffffffff, 0x8000000000000000)
        TEST_BR2_TAKEN(15, bge, 0, -1)
        TEST_BR2_TAKEN(16, bge, 1, 1)
        TEST_BR2_TAKEN(17, bge, 0x7fffffffffffffff, 0x8000000000000000)
        TEST_BR2_NOT_TAKEN(18, bge, -1, 0)
        TEST_BR2_NOT_TAKEN(19, bge, 0x8000000000000000, 0x7fffffffffffffff)
        TEST_BR2_TAKEN(20, bltu, 0, 1)
        TEST_BR2_TAKEN(21, bltu, 0x7fffffffffffffff, 0x8000000000000000)
        TEST_BR2_TAKEN(22, bltu, 1, -1)
        TEST_BR2_NOT_TAKEN(23, bltu, -1, 1)
        TEST_BR2_NOT_TAKEN(24, bltu, 5, 5)
        TEST_BR2_NOT_TAKEN(25, bltu, 0x8000000000000000, 0x7fffffffffffffff)
        TEST_BR2_TAKEN(26, bgeu, -1, 1)
        TEST_BR2_TAKEN(27, bgeu, 5, 5)
        TEST_BR2_TAKEN(28, bgeu, 0x8000000000000000, 0x7fffffffffffffff)
        TEST_BR2_NOT_TAKEN(29, bgeu, 0, 1)
        TEST_BR2_NOT_TAKEN(30, bgeu, 0xfffffffe, 0xffffffff)
        TEST_BR2_NOT_TAKEN(31, bgeu, 1, -1)

        /* x0 operands */
        TEST_NUM(32)
        li x11, 0
        beq x0, x0, 1f
        j fail
1:      bne x0, x11, fail
        li x12, -1
        blt x12, x0, 2f
        j fail
2:      bltu x0, x12, 3f
        j fail
3:      bgeu x0, x12, fail

        /* backward branch: loop counts down */
        TEST_NUM(33)
        li x11, 10
        li x12, 0
4:      addi x12, x12, 3
        addi x11, x11, -1
        bnez x11, 4b
        CHECK_EQ(x12, 30)

        /* a not-taken branch falls through to exactly the next instruction */
        TEST_NUM(34)
        li x13, 0
        li x11, 1
        beq x11, x0, fail
        addi x13, x13, 1
        bne x11, x11, fail
        addi x13, x13, 1
        CHECK_EQ(x13, 2)

        /* long-range branch: +-4 KiB encodings */
        TEST_NUM(35)
        li x11, 1
        .option push
        .option norelax
        .option norvc
        bnez x11, 5f
        j fail
        .fill 1000, 4, 0x00000013       /* nop */
5:      li x13, 7
        j 7f
6:      li x13, 9
        j 8f
        .fill 1000, 4, 0x00000013
7:      bnez x11, 6b                    /* backward, ~4 KiB */
        j fail
8:      .option pop
        CHECK_EQ(x13, 9)
        TEST_PASS
