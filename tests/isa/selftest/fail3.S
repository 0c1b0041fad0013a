/* Deliberately fails test case 3: proves the harness can fail.
 * Expected: exit status 3 and "FAIL test 3" on the UART. */
#include "test.h"
TEST_BEGIN
        TEST_RR_OP(1, add, 3, 1, 2)
        TEST_RR_OP(2, sub, 1, 3, 2)
        TEST_RR_OP(3, add, 5, 2, 2)     /* wrong on purpose: 2 + 2 != 5 */
        TEST_RR_OP(4, add, 4, 2, 2)
        TEST_PASS
