/* RV64I jal / jalr: link values, targets, x0 link, jalr clearing bit 0,
 * jalr with rs1 == rd, negative offsets. */
#include "test.h"
TEST_BEGIN
        .option push
        .option norvc
        /* jal links pc+4 */
        TEST_NUM(1)
        la x12, 1f
        jal x11, 2f
1:      j fail
2:      bne x11, x12, fail

        /* jal x0 (j) does not write */
        TEST_NUM(2)
        jal x0, 3f
        j fail
3:      bnez x0, fail

        /* jalr: target = rs1 + imm, link = pc + 4 */
        TEST_NUM(3)
        la x13, 5f
        la x12, 4f
        jalr x11, 0(x13)
4:      j fail
5:      bne x11, x12, fail

        /* jalr with an offset (negative and positive) */
        TEST_NUM(4)
        la x13, 6f + 16
        jalr x11, -16(x13)
        j fail
6:      la x13, 7f - 8
        jalr x0, 8(x13)
        j fail
7:
        /* jalr clears bit 0 of the target */
        TEST_NUM(5)
        la x13, 8f
        addi x13, x13, 1
        jalr x0, 0(x13)
        j fail
8:
        /* jalr with rd == rs1: target uses the old value */
        TEST_NUM(6)
        la x11, 9f
        la x12, 10f
        jalr x11, 0(x11)
10:     j fail
9:      bne x11, x12, fail

        /* call / ret through a function, nested */
        TEST_NUM(7)
        li a0, 5
        call func_double
        call func_double
        CHECK_EQ(a0, 20)

        /* jal backwards */
        TEST_NUM(8)
        j 12f
11:     li x14, 42
        j 13f
12:     jal x0, 11b
13:     CHECK_EQ(x14, 42)

        /* jalr to an address computed by auipc (pc-relative) */
        TEST_NUM(9)
14:     auipc x13, 0
        jalr x11, 16(x13)           /* jumps to 14b + 16 */
        j fail
        j fail
        la x12, 14b + 8
        bne x11, x12, fail

        /* the link register is written even if it is also the base (x1) */
        TEST_NUM(10)
        la ra, 15f
        jalr ra, 0(ra)
16:     j fail
15:     la x12, 16b
        bne ra, x12, fail
        .option pop
        TEST_PASS

func_double:
        add a0, a0, a0
        ret
