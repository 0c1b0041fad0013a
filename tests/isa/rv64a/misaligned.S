/* RV64A misaligned LR/SC/AMO.  The spec (A extension): "If the address is
 * not naturally aligned, an address-misaligned exception or an access-fault
 * exception will be generated."  Accepted causes:
 *   LR:      4 (load misaligned) or 5 (load access fault)
 *   SC/AMO:  6 (store/AMO misaligned) or 7 (store/AMO access fault);
 *            also 4 for AMOs, because QEMU 7.2 reports AMO misalignment
 *            as a load-address-misaligned exception.
 *   SC without a reservation may instead simply fail (QEMU checks the
 *   reservation first); it must then not write memory.
 * mtval must hold the misaligned address; memory must be unchanged. */
#include "test.h"

#define MISALIGNED_AMO(n, code...) \
        TEST_NUM(n); TRAP_RESET; la s0, buf; li t3, -1; sd t3, 0(s0); sd t3, 8(s0); \
        EXPECT_ANY_TRAP_SKIP; li a0, 0x1234; li a1, 0x7777; code; \
        la t0, trap_info; ld t1, TI_ARMED(t0); bnez t1, fail; \
        ld t1, TI_CAUSE(t0); li t2, 6; beq t1, t2, 1f; li t2, 7; beq t1, t2, 1f; \
        li t2, 4; bne t1, t2, fail; \
1:      ld t1, TI_TVAL(t0); bne t1, s1, fail; \
        ld t1, 0(s0); li t2, -1; bne t1, t2, fail; ld t1, 8(s0); bne t1, t2, fail; \
        li t2, 0x7777; bne a1, t2, fail;

TEST_BEGIN
        /* lr.w at +2 */
        TEST_NUM(1)
        TRAP_RESET
        la s0, buf
        addi s1, s0, 2
        li a1, 0x7777
        EXPECT_ANY_TRAP_SKIP
        lr.w a1, (s1)
        la t0, trap_info
        ld t1, TI_ARMED(t0)
        bnez t1, fail
        ld t1, TI_CAUSE(t0)
        li t2, 4
        beq t1, t2, 1f
        li t2, 5
        bne t1, t2, fail
1:      ld t1, TI_TVAL(t0)
        bne t1, s1, fail
        CHECK_EQ(a1, 0x7777)

        /* lr.d at +4 */
        TEST_NUM(2)
        TRAP_RESET
        addi s1, s0, 4
        EXPECT_ANY_TRAP_SKIP
        lr.d a1, (s1)
        la t0, trap_info
        ld t1, TI_ARMED(t0)
        bnez t1, fail
        ld t1, TI_CAUSE(t0)
        li t2, 4
        beq t1, t2, 2f
        li t2, 5
        bne t1, t2, fail
2:      ld t1, TI_TVAL(t0)
        bne t1, s1, fail
        CHECK_EQ(a1, 0x7777)

        la s0, buf
        addi s1, s0, 1
        MISALIGNED_AMO(3, amoadd.w a1, a0, (s1))
        la s0, buf
        addi s1, s0, 2
        MISALIGNED_AMO(4, amoswap.w a1, a0, (s1))
        la s0, buf
        addi s1, s0, 4
        MISALIGNED_AMO(5, amoadd.d a1, a0, (s1))
        la s0, buf
        addi s1, s0, 6
        MISALIGNED_AMO(6, amomaxu.d a1, a0, (s1))
        la s0, buf
        addi s1, s0, 3
        MISALIGNED_AMO(7, amoor.w.aqrl a1, a0, (s1))

        /* sc.w / sc.d misaligned: trap (6/7) or fail without writing */
        TEST_NUM(8)
        TRAP_RESET
        la s0, buf
        li t3, -1
        sd t3, 0(s0)
        sd t3, 8(s0)
        addi s1, s0, 2
        li a0, 0x1234
        li a1, 0
        EXPECT_ANY_TRAP_SKIP
        sc.w a1, a0, (s1)
        la t0, trap_info
        ld t1, TI_ARMED(t0)
        beqz t1, 3f
        /* no trap: the sc must have failed */
        sd zero, TI_ARMED(t0)
        beqz a1, fail
        j 4f
3:      ld t1, TI_CAUSE(t0)
        li t2, 6
        beq t1, t2, 5f
        li t2, 7
        bne t1, t2, fail
5:      ld t1, TI_TVAL(t0)
        bne t1, s1, fail
4:      ld t1, 0(s0)
        li t2, -1
        bne t1, t2, fail

        TEST_NUM(9)
        TRAP_RESET
        addi s1, s0, 4
        li a1, 0
        EXPECT_ANY_TRAP_SKIP
        sc.d a1, a0, (s1)
        la t0, trap_info
        ld t1, TI_ARMED(t0)
        beqz t1, 6f
        sd zero, TI_ARMED(t0)
        beqz a1, fail
        j 7f
6:      ld t1, TI_CAUSE(t0)
        li t2, 6
        beq t1, t2, 8f
        li t2, 7
        bne t1, t2, fail
8:      ld t1, TI_TVAL(t0)
        bne t1, s1, fail
7:      ld t1, 0(s0)
        li t2, -1
        bne t1, t2, fail
        ld t1, 8(s0)
        bne t1, t2, fail
        TEST_PASS

        .data
        .align 4
buf:    .dword -1, -1
