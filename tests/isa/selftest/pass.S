/* The smallest passing test; also checks the boot arguments and that an
 * armed trap is taken and resumed. */
#include "test.h"
TEST_BEGIN
        TEST_RR_OP(1, add, 3, 1, 2)
        /* a0 = hart id 0 at entry */
        TEST_CASE(2, a0, 0, la t0, boot_args; ld a0, 0(t0))
        /* an expected ecall is recorded and skipped */
        TEST_NUM(3)
        TRAP_RESET
        EXPECT_TRAP_SKIP(CAUSE_MACHINE_ECALL)
        ecall
        CHECK_TRAP_CAUSE(CAUSE_MACHINE_ECALL)
        TEST_PASS
