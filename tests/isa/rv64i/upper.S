/* RV64I lui / auipc: sign extension of the 32-bit result, x0 dest. */
#include "test.h"
TEST_BEGIN
        TEST_CASE(1, x14, 0x0000000000000000, lui x14, 0x00000)
        TEST_CASE(2, x14, 0x0000000000001000, lui x14, 0x00001)
        TEST_CASE(3, x14, 0x000000007ffff000, lui x14, 0x7ffff)
        TEST_CASE(4, x14, 0xffffffff80000000, lui x14, 0x80000)
        TEST_CASE(5, x14, 0xfffffffffffff000, lui x14, 0xfffff)
        TEST_CASE(6, x14, 0x0000000012345000, lui x14, 0x12345)
        TEST_CASE(7, x14, 0xffffffffabcde000, lui x14, 0xabcde)
        TEST_CASE(8, x0, 0, lui x0, 0x80000)
        /* lui + addi composes constants */
        TEST_CASE(9, x14, 0x0000000012345678, lui x14, 0x12345; addi x14, x14, 0x678)
        TEST_CASE(10, x14, 0x000000007fffffff, lui x14, 0x80000; addiw x14, x14, -1)

        /* auipc: pc + (imm << 12), sign-extended imm */
        TEST_NUM(11)
1:      auipc x14, 0
        la x13, 1b
        bne x13, x14, fail
        TEST_NUM(12)
2:      auipc x14, 1
        la x13, 2b
        sub x14, x14, x13
        CHECK_EQ(x14, 0x1000)
        TEST_NUM(13)
3:      auipc x14, 0xfffff          /* -4096 */
        la x13, 3b
        sub x14, x14, x13
        CHECK_EQ(x14, -4096)
        TEST_NUM(14)
4:      auipc x14, 0x80000          /* -2 GiB: pc - 0x80000000 = 0 here */
        la x13, 4b
        sub x14, x14, x13
        CHECK_EQ(x14, 0xffffffff80000000)
        TEST_NUM(15)
5:      auipc x14, 0x7ffff
        la x13, 5b
        sub x14, x14, x13
        CHECK_EQ(x14, 0x7ffff000)
        TEST_CASE(16, x0, 0, auipc x0, 0x12345)
        TEST_PASS
