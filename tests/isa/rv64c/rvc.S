/* RV64C: every compressed instruction, results checked (including the
 * 2-byte link of c.jalr, c.addi16sp/c.addi4spn scaling, sign extension of
 * c.addiw/c.lw, shifts by up to 63, and c.ebreak -> breakpoint trap). */
#include "test.h"

#define TEST_C(n, reg, expected, code...) \
        TEST_NUM(n); .option push; .option rvc; code; .option pop; CHECK_EQ(reg, expected)

TEST_BEGIN
        .option push
        .option rvc
        /* CI / CR integer ops */
        TEST_C(1, a0, 31, c.li a0, 31)
        TEST_C(2, a0, -32, c.li a0, -32)
        TEST_C(3, a0, 42, c.li a0, 10; c.addi a0, 31; c.addi a0, 1)
        TEST_C(4, a0, -22, c.li a0, 10; c.addi a0, -32)
        TEST_C(5, a0, 0xffffffff80000000, li a0, 0x7fffffff; c.addiw a0, 1)
        TEST_C(6, a0, 0x0000000000000005, li a0, 0x100000004; c.addiw a0, 1)
        TEST_C(7, a0, 0xffffffffffffffff, c.li a0, 0; c.addiw a0, -1)
        TEST_C(8, a0, 0x1f000, c.lui a0, 0x1f)
        TEST_C(9, a0, 0xfffffffffffe0000, c.lui a0, 0xfffe0)
        TEST_C(10, a0, 0xfffffffffffff000, c.lui a0, 0xfffff)
        TEST_C(11, a0, 0x0123456789abcdef, li a1, 0x0123456789abcdef; c.mv a0, a1)
        TEST_C(12, a0, 30, c.li a0, 10; c.li a1, 20; c.add a0, a1)
        TEST_C(13, s0, 0xfffffffffffffff6, c.li s0, 10; c.li s1, 20; c.sub s0, s1)
        TEST_C(14, s0, 0x1e, c.li s0, 10; c.li s1, 20; c.xor s0, s1)
        TEST_C(15, s0, 0x1e, c.li s0, 10; c.li s1, 20; c.or s0, s1)
        TEST_C(16, s0, 0x4, li s0, 0xc; li s1, 0x6; c.and s0, s1)
        TEST_C(17, s0, 0xffffffff80000000, li s0, 0x7fffffff; c.li s1, 1; c.addw s0, s1)
        TEST_C(18, s0, 0x000000007fffffff, li s0, 0x80000000; c.li s1, 1; c.subw s0, s1)
        TEST_C(19, a5, 0xffffffff00000000, li a5, 0x123456700000000; li a4, 0xfffffffff0000000; li a5, -1; slli a5, a5, 32; c.and a5, a4)
        TEST_C(20, a0, 0x8000000000000000, c.li a0, 1; c.slli a0, 63)
        TEST_C(21, a0, 0x0123456789abcdef << 4 & 0xffffffffffffffff, li a0, 0x0123456789abcdef; c.slli a0, 4)
        TEST_C(22, s0, 1, li s0, 0x8000000000000000; c.srli s0, 63)
        TEST_C(23, s0, 0xffffffffffffffff, li s0, 0x8000000000000000; c.srai s0, 63)
        TEST_C(24, s0, 0x0000000080000000, li s0, 0x8000000000000000; c.srli s0, 32)
        TEST_C(25, s0, 0xffffffff80000000, li s0, 0x8000000000000000; c.srai s0, 32)
        TEST_C(26, s0, 0x7ffffffffffffff0 >> 1, li s0, 0x7ffffffffffffff0; c.srai s0, 1)
        TEST_C(27, s0, 0x0000000000000010, li s0, 0x0123456789abcdf0; c.andi s0, 0x1f)
        TEST_C(28, s0, 0x0123456789abcde0, li s0, 0x0123456789abcdef; c.andi s0, -32)
        TEST_C(29, a0, 5, c.li a0, 5; c.nop)

        /* stack-pointer based: c.addi16sp, c.addi4spn, c.lwsp/ldsp/swsp/sdsp */
        TEST_NUM(30)
        mv s11, sp
        la sp, cbuf + 512
        c.addi16sp sp, -496
        la t3, cbuf + 16
        bne sp, t3, fail
        c.addi16sp sp, 496
        la t3, cbuf + 512
        bne sp, t3, fail
        c.addi16sp sp, 16
        c.addi16sp sp, -32
        la t3, cbuf + 496
        bne sp, t3, fail
        TEST_NUM(31)
        la sp, cbuf
        c.addi4spn a0, sp, 4
        c.addi4spn a1, sp, 1020
        la t3, cbuf + 4
        bne a0, t3, fail
        la t3, cbuf + 1020
        bne a1, t3, fail
        TEST_NUM(32)
        li a2, 0x1122334455667788
        c.sdsp a2, 504(sp)
        c.ldsp a3, 504(sp)
        bne a2, a3, fail
        li a2, 0x88776655cafef00d
        c.sdsp a2, 0(sp)
        c.lwsp a3, 0(sp)
        CHECK_EQ(a3, 0xffffffffcafef00d)
        c.lwsp a3, 4(sp)
        CHECK_EQ(a3, 0xffffffff88776655)
        TEST_NUM(33)
        li a2, 0x12345678
        c.swsp a2, 252(sp)
        lwu a3, 252(sp)
        CHECK_EQ(a3, 0x12345678)
        c.lwsp a4, 252(sp)
        CHECK_EQ(a4, 0x12345678)
        /* FP stack-relative */
        TEST_NUM(34)
        li a2, 0x400921fb54442d18
        fmv.d.x f8, a2
        c.fsdsp f8, 64(sp)
        c.fldsp f9, 64(sp)
        fmv.x.d a3, f9
        bne a2, a3, fail
        ld a3, 64(sp)
        bne a2, a3, fail
        mv sp, s11

        /* register based loads/stores (x8..x15) */
        TEST_NUM(35)
        la s0, cbuf
        li a2, 0xfedcba9876543210
        c.sd a2, 248(s0)
        c.ld a3, 248(s0)
        bne a2, a3, fail
        c.sd a2, 112(s0)
        c.lw a4, 112(s0)
        CHECK_EQ(a4, 0x0000000076543210)
        c.lw a4, 116(s0)
        CHECK_EQ(a4, 0xfffffffffedcba98)
        TEST_NUM(36)
        li a2, 0xdeadbeef
        c.sw a2, 124(s0)
        lwu a3, 124(s0)
        CHECK_EQ(a3, 0xdeadbeef)
        TEST_NUM(37)
        li a2, 0xc00921fb54442d18
        fmv.d.x fa0, a2
        c.fsd fa0, 8(s0)
        c.fld fa1, 8(s0)
        fmv.x.d a3, fa1
        bne a2, a3, fail

        /* control transfer */
        TEST_NUM(38)
        c.j 1f
        j fail
1:      c.li a0, 0
        c.beqz a0, 2f
        j fail
2:      c.li a0, 1
        c.beqz a0, fail_c
        c.bnez a0, 3f
        j fail
3:      c.li a0, 0
        c.bnez a0, fail_c
        li s1, 0x100000000              /* only the full register counts */
        c.beqz s1, fail_c
        TEST_NUM(39)
        la a1, 4f
        c.jr a1
        j fail
4:      la a1, 5f
        c.jalr a1                       /* link = pc + 2 */
6:      j fail
5:      la t3, 6b
        bne ra, t3, fail
        TEST_NUM(40)
        call cfunc                      /* cfunc returns with c.jr ra */
        CHECK_EQ(a0, 77)
        /* c.jalr with the link register as target register */
        TEST_NUM(41)
        la ra, 7f
        c.jalr ra
8:      j fail
7:      la t3, 8b
        bne ra, t3, fail
        /* backward c.j and c.bnez loop */
        TEST_NUM(42)
        li a0, 5
        li a1, 0
9:      c.addi a1, 3
        c.addi a0, -1
        c.bnez a0, 9b
        CHECK_EQ(a1, 15)

        /* c.ebreak -> breakpoint exception, mepc = its address */
        TEST_NUM(43)
        TRAP_RESET
        EXPECT_TRAP_SKIP(CAUSE_BREAKPOINT)
10:     c.ebreak
        la t0, trap_info
        ld t1, TI_ARMED(t0)
        bnez t1, fail
        ld t1, TI_CAUSE(t0)
        CHECK_EQ(t1, CAUSE_BREAKPOINT)
        ld t1, TI_EPC(t0)
        la t2, 10b
        bne t1, t2, fail
        /* mtval is 0 or the address of the breakpoint */
        ld t1, TI_TVAL(t0)
        beqz t1, 11f
        bne t1, t2, fail
11:
        /* a 32-bit instruction at a 2-byte aligned address */
        TEST_NUM(44)
        c.nop
        li a0, 0x12345
        addi a0, a0, 1
        CHECK_EQ(a0, 0x12346)
        .option pop
        TEST_PASS

fail_c: j fail

        .option push
        .option rvc
cfunc:  c.li a0, 7
        c.slli a0, 3
        c.addi a0, 7
        c.addi a0, 14
        c.jr ra
        .option pop

        .data
        .align 4
cbuf:   .fill 1040, 1, 0
