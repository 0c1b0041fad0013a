/* Privileged: Sv48 paging.  4 KiB, 2 MiB, 1 GiB and 512 GiB pages, a
 * misaligned 512 GiB page, read-only faults, Sv48 canonical-address checks,
 * an access fault (5, mtval = VA) for a valid mapping to a physical hole,
 * and switching between Sv39 and Sv48 root tables.
 *
 *   l3[0] -> l2: l2[1] -> l1 (l1[0] -> l0: 4K pages; l1[1] 2M -> 0x80200000)
 *               l2[2] 1G RWX identity; l2[3] 1G R alias of 0x80000000
 *   l3[1] 0x0080_0000_0000 512G RW -> PA 0
 *   l3[2] 0x0100_0000_0000 512G RW -> PA 0x80000000 (misaligned)
 */
#include "test.h"
#include "vm.h"

#define VA(i, off) (0x40000000 + (i) * 0x1000 + (off))
#define TERA 0x8000000000

#define FAULT_LOAD(n, va, cause) \
        TEST_NUM(n); EXPECT_TRAP_SKIP(cause); li s1, va; li a0, 0x77; \
        ld a0, 0(s1); CHECK_TRAP_REG(cause, s1); CHECK_EQ(a0, 0x77)
#define FAULT_STORE(n, va) \
        TEST_NUM(n); EXPECT_TRAP_SKIP(CAUSE_STORE_PAGE_FAULT); li s1, va; \
        sd zero, 0(s1); CHECK_TRAP_REG(CAUSE_STORE_PAGE_FAULT, s1)

TEST_BEGIN
        li t0, 0x80200000
        li t1, 0x2020202020202020
        sd t1, 0x18(t0)
        SET_PTE(l3, 0, l2, PTE_V)
        SET_PTE_PA(l3, 1, 0, PTE_RW)
        SET_PTE_PA(l3, 2, 0x80000000, PTE_RW)
        SET_PTE(l2, 1, l1, PTE_V)
        SET_PTE_PA(l2, 2, 0x80000000, PTE_RWX)
        SET_PTE_PA(l2, 3, 0x80000000, PTE_V | PTE_R | PTE_A)
        SET_PTE(l1, 0, l0, PTE_V)
        SET_PTE_PA(l1, 1, 0x80200000, PTE_RW)
        SET_PTE(l0, 0, pg_data, PTE_RW)
        SET_PTE(l0, 1, pg_data, PTE_V | PTE_R | PTE_A)
        /* an Sv39 root with only the identity gigapage and a 4K page */
        SET_PTE_PA(s39, 2, 0x80000000, PTE_RWX)
        SET_PTE(s39, 1, l1, PTE_V)
        SET_SATP(SATP_SV48, l3)
        /* 1: satp mode reads back as Sv48 (9) */
        TEST_NUM(1)
        csrr t3, satp
        srli t3, t3, 60
        CHECK_EQ(t3, 9)
        TRAP_RESET
        MRET_TO(PRV_S, s_mode)
s_mode:
        TEST_CASE(2, a0, 0x1111111111111111, li s1, VA(0, 0); ld a0, 0(s1))
        TEST_CASE(3, a0, 0x1111111111111111, li s1, VA(1, 0); ld a0, 0(s1))
        TEST_CASE(4, a0, 0x2020202020202020, li s1, 0x40200018; ld a0, 0(s1))
        TEST_CASE(5, a0, 0x1111111111111111, la s1, pg_data; li t3, 0x40000000; add s1, s1, t3; ld a0, 0(s1))
        /* 6: 512 GiB page: VA TERA + PA */
        TEST_CASE(6, a0, 0x1111111111111111, la s1, pg_data; li t3, TERA; add s1, s1, t3; ld a0, 0(s1))
        TEST_NUM(7)
        li a1, 0x5555
        sd a1, 8(s1)                    /* write through the terapage */
        la t3, pg_data
        ld a0, 8(t3)
        CHECK_EQ(a0, 0x5555)
        /* 8: store to read-only pages */
        FAULT_STORE(8, VA(1, 0))
        FAULT_STORE(9, 0xc0000100)
        /* 10: misaligned 512 GiB page */
        FAULT_LOAD(10, 0x10080000000, CAUSE_LOAD_PAGE_FAULT)
        /* 11: non-canonical for Sv48 (bit 47 set, upper bits clear) */
        FAULT_LOAD(11, 0x0000800000000000, CAUSE_LOAD_PAGE_FAULT)
        FAULT_LOAD(12, 0xfff0000080000000, CAUSE_LOAD_PAGE_FAULT)
        /* 13: unmapped l3 entry */
        FAULT_LOAD(13, 0x7f0000000000, CAUSE_LOAD_PAGE_FAULT)
        /* 14: a valid mapping to a physical hole: access fault, mtval = VA */
        FAULT_LOAD(14, TERA + 0x10, CAUSE_LOAD_ACCESS)
        /* 15: 0x80_0000_0000 + x is canonical in Sv48 (not in Sv39) */
        TEST_CASE(15, a0, 0x2020202020202020, li s1, TERA + 0x80200018; ld a0, 0(s1))

        /* 16: switch to Sv39 from S-mode: the terapage VA is now
           non-canonical, the 4K page still works */
        TEST_NUM(16)
        la t3, s39
        srli t3, t3, 12
        li t4, SATP_SV39
        or t3, t3, t4
        csrw satp, t3
        sfence.vma
        li s1, VA(0, 0)
        ld a0, 0(s1)
        CHECK_EQ(a0, 0x1111111111111111)
        FAULT_LOAD(17, TERA + 0x80200018, CAUSE_LOAD_PAGE_FAULT)
        /* 18: and back to Sv48 */
        TEST_NUM(18)
        la t3, l3
        srli t3, t3, 12
        li t4, SATP_SV48
        or t3, t3, t4
        csrw satp, t3
        sfence.vma
        li s1, TERA + 0x80200018
        ld a0, 0(s1)
        CHECK_EQ(a0, 0x2020202020202020)
        GOTO_M(m_mode)
m_mode:
        SATP_OFF
        TEST_PASS

        .data
        .align 12
pg_data:
        .dword 0x1111111111111111
        .fill 511, 8, 0

        .bss
        .align 12
l3:     .fill 512, 8, 0
l2:     .fill 512, 8, 0
l1:     .fill 512, 8, 0
l0:     .fill 512, 8, 0
s39:    .fill 512, 8, 0
