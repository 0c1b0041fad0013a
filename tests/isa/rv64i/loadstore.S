/* RV64I loads and stores of every width: sign/zero extension, offsets
 * (positive, negative, +-2047/2048), x0 destination, store widths only
 * touching their bytes, load after store forwarding. */
#include "test.h"
TEST_BEGIN
        /* loads from the pattern table */
        TEST_LD_OP(1, lb, 0xffffffffffffffef, 0, pattern)
        TEST_LD_OP(2, lb, 0x0000000000000001, 7, pattern)
        TEST_LD_OP(3, lbu, 0x00000000000000ef, 0, pattern)
        TEST_LD_OP(4, lbu, 0x0000000000000080, 8, pattern)
        TEST_LD_OP(5, lb, 0xffffffffffffff80, 8, pattern)
        TEST_LD_OP(6, lh, 0xffffffffffffcdef, 0, pattern)
        TEST_LD_OP(7, lh, 0x0000000000000123, 6, pattern)
        TEST_LD_OP(8, lhu, 0x000000000000cdef, 0, pattern)
        TEST_LD_OP(9, lhu, 0x0000000000007f80, 8, pattern)
        TEST_LD_OP(10, lw, 0xffffffff89abcdef, 0, pattern)
        TEST_LD_OP(11, lw, 0x0000000001234567, 4, pattern)
        TEST_LD_OP(12, lwu, 0x0000000089abcdef, 0, pattern)
        TEST_LD_OP(13, lwu, 0x0000000001234567, 4, pattern)
        TEST_LD_OP(14, ld, 0x0123456789abcdef, 0, pattern)
        TEST_LD_OP(15, ld, 0xfedcba9876547f80, 8, pattern)
        TEST_LD_OP(16, lw, 0xfffffffffedcba98, 12, pattern)
        TEST_LD_OP(17, lwu, 0x00000000fedcba98, 12, pattern)
        TEST_LD_OP(18, lh, 0x0000000000007f80, 8, pattern)
        TEST_LD_OP(19, lh, 0xfffffffffffffedc, 14, pattern)
        /* negative offsets */
        TEST_LD_OP(20, ld, 0x0123456789abcdef, -16, pattern + 16)
        TEST_LD_OP(21, lbu, 0x00000000000000fe, -1, pattern + 16)
        TEST_LD_OP(22, lw, 0x0000000001234567, -12, pattern + 16)
        /* large offsets */
        TEST_LD_OP(23, ld, 0x1111111111111111, 2040, big)
        TEST_LD_OP(24, ld, 0x2222222222222222, -2048, big + 4096)
        TEST_LD_OP(25, lbu, 0x0000000000000022, 2047, big + 2048)

        /* stores of every width; read back with every load */
        TEST_ST_OP(26, lb, sb, 0xffffffffffffffaa, 0, buf)
        TEST_ST_OP(27, lbu, sb, 0x0000000000000055, 1, buf)
        TEST_ST_OP(28, lh, sh, 0xffffffffffffaa55, 2, buf)
        TEST_ST_OP(29, lhu, sh, 0x000000000000beef, 4, buf)
        TEST_ST_OP(30, lw, sw, 0xffffffffdeadbeef, 8, buf)
        TEST_ST_OP(31, lwu, sw, 0x00000000cafebabe, 12, buf)
        TEST_ST_OP(32, ld, sd, 0x0123456789abcdef, 16, buf)
        TEST_ST_OP(33, ld, sd, 0xfedcba9876543210, -8, buf + 32)

        /* narrow stores touch only their bytes */
        TEST_NUM(34)
        la x11, buf
        li x12, -1
        sd x12, 32(x11)
        sb zero, 33(x11)
        ld x14, 32(x11)
        CHECK_EQ(x14, 0xffffffffffff00ff)
        TEST_NUM(35)
        sh zero, 36(x11)
        ld x14, 32(x11)
        CHECK_EQ(x14, 0xffff0000ffff00ff)
        TEST_NUM(36)
        li x12, 0x1234567887654321
        sw x12, 32(x11)                 /* only the low word */
        ld x14, 32(x11)
        CHECK_EQ(x14, 0xffff000087654321)
        TEST_NUM(37)
        sh x12, 38(x11)
        ld x14, 32(x11)
        CHECK_EQ(x14, 0x4321000087654321)

        /* little-endian byte order */
        TEST_NUM(38)
        li x12, 0x0807060504030201
        sd x12, 40(x11)
        lbu x14, 40(x11)
        CHECK_EQ(x14, 1)
        lbu x14, 47(x11)
        CHECK_EQ(x14, 8)
        lhu x14, 42(x11)
        CHECK_EQ(x14, 0x0403)
        lwu x14, 44(x11)
        CHECK_EQ(x14, 0x08070605)

        /* loads into x0 are discarded (and still legal) */
        TEST_NUM(39)
        la x11, pattern
        ld x0, 0(x11)
        lw x0, 0(x11)
        lbu x0, 0(x11)
        bnez x0, fail

        /* base register == destination */
        TEST_NUM(40)
        la x14, pattern
        ld x14, 0(x14)
        CHECK_EQ(x14, 0x0123456789abcdef)

        /* store then load through a different base with the same address */
        TEST_NUM(41)
        la x11, buf
        addi x13, x11, 64
        li x12, 0x55aa55aa
        sw x12, 64(x11)
        lw x14, 0(x13)
        CHECK_EQ(x14, 0x55aa55aa)

        /* store source == base register */
        TEST_NUM(42)
        la x11, buf + 72
        sd x11, 0(x11)
        ld x14, 0(x11)
        bne x14, x11, fail

        /* fence / fence.i / fence.tso / pause are accepted as no-ops here */
        TEST_NUM(43)
        fence
        fence rw, rw
        fence iorw, iorw
        fence.i
        fence r, r
        .word 0x8330000f                /* fence.tso */
        .word 0x0100000f                /* pause (fence w, 0) */
        TEST_PASS

        .data
        .align 4
pattern:
        .dword 0x0123456789abcdef
        .dword 0xfedcba9876547f80
        .align 12
big:
        .fill 255, 8, 0
        .dword 0x1111111111111111       /* big + 2040 */
        .fill 2048, 1, 0x22             /* big + 2048 .. 4095: bytes 0x22 */
        .bss
        .align 4
buf:    .fill 128, 1, 0
