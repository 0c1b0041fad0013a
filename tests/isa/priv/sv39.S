/* Privileged: Sv39 paging built by the test.  Translation of 4 KiB, 2 MiB
 * and 1 GiB pages; misaligned superpages; R/W/X/U permissions with page
 * faults 12/13/15 and mtval = the faulting virtual address; the reserved
 * W-without-R encoding; invalid PTEs; non-leaf PTE at level 0; non-canonical
 * addresses; A/D bits (either set by hardware or a page fault); SUM; MXR;
 * MPRV with MPP = S / U; sfence.vma after changing a PTE; U-mode execution;
 * page faults delegated to S-mode (scause/stval).
 *
 * Virtual layout (root = l2):
 *   l2[1] 0x0040000000 -> l1;  l1[0] -> l0 (4 KiB pages at 0x40000000 + i * 4K)
 *   l1[1] 0x0040200000  2M RW  -> PA 0x80200000
 *   l1[2] 0x0040400000  2M RW  -> PA 0x80201000 (misaligned)
 *   l2[2] 0x0080000000  1G RWX -> PA 0x80000000 (identity: code, data, tables)
 *   l2[3] 0x00c0000000  1G R   -> PA 0x80000000 (read-only alias)
 *   l2[4] 0x0100000000  1G RW  -> PA 0x80200000 (misaligned)
 *   l2[5] 0x0140000000  1G URWX-> PA 0x80000000 (user alias)
 *   l0[0] RW  l0[1] R  l0[2] X (pg_xcode)  l0[3] W-only  l0[4] invalid
 *   l0[5] RW, A=0 D=0  l0[6] RW, A=1 D=0  l0[7] U RW  l0[8] RW (remapped)
 *   l0[9] non-leaf  l0[10] U X (pg_xcode)  l0[11] X (pg_cross_a), l0[12] invalid
 *   l0[13] X (pg_cross_a)  l0[14] X (pg_cross_b, not physically adjacent)
 * Also: instructions crossing page boundaries; AMO/LR page faults.
 */
#include "test.h"
#include "vm.h"

#define VA(i, off) (0x40000000 + (i) * 0x1000 + (off))
#define UALIAS 0xc0000000               /* user alias VA - PA */

/* S-mode access at constant VA that must page fault with `cause` */
#define FAULT_LOAD(n, va) \
        TEST_NUM(n); EXPECT_TRAP_SKIP(CAUSE_LOAD_PAGE_FAULT); li s1, va; li a0, 0x77; \
        ld a0, 0(s1); CHECK_TRAP_REG(CAUSE_LOAD_PAGE_FAULT, s1); CHECK_EQ(a0, 0x77)
#define FAULT_STORE(n, va) \
        TEST_NUM(n); EXPECT_TRAP_SKIP(CAUSE_STORE_PAGE_FAULT); li s1, va; \
        sd zero, 0(s1); CHECK_TRAP_REG(CAUSE_STORE_PAGE_FAULT, s1)
#define FAULT_FETCH(n, va) \
        TEST_NUM(n); EXPECT_TRAP(CAUSE_FETCH_PAGE_FAULT, 95f); li s1, va; \
        jalr ra, 0(s1); j fail; \
    95: CHECK_TRAP_REG(CAUSE_FETCH_PAGE_FAULT, s1); \
        la t0, trap_info; ld t1, TI_EPC(t0); bne t1, s1, fail;

TEST_BEGIN
        /* physical set-up (M-mode) */
        li t0, 0x80200000
        li t1, 0x2020202020202020
        sd t1, 0(t0)
        li t1, 0x123456789abcdef0
        li t2, 0x1238
        add t0, t0, t2
        sd t1, 0(t0)
        /* page tables */
        SET_PTE(l2, 1, l1, PTE_V)
        SET_PTE_PA(l2, 2, 0x80000000, PTE_RWX)
        SET_PTE_PA(l2, 3, 0x80000000, PTE_V | PTE_R | PTE_A)
        SET_PTE_PA(l2, 4, 0x80200000, PTE_RW)
        SET_PTE_PA(l2, 5, 0x80000000, PTE_RWX | PTE_U)
        SET_PTE(l1, 0, l0, PTE_V)
        SET_PTE_PA(l1, 1, 0x80200000, PTE_RW)
        SET_PTE_PA(l1, 2, 0x80201000, PTE_RW)
        SET_PTE(l0, 0, pg_data, PTE_RW)
        SET_PTE(l0, 1, pg_data, PTE_V | PTE_R | PTE_A)
        SET_PTE(l0, 2, pg_xcode, PTE_V | PTE_X | PTE_A)
        SET_PTE(l0, 3, pg_data, PTE_V | PTE_W | PTE_AD)
        SET_PTE(l0, 4, pg_data, PTE_R | PTE_W | PTE_AD)          /* V = 0 */
        SET_PTE(l0, 5, pg_data, PTE_V | PTE_R | PTE_W)
        SET_PTE(l0, 6, pg_data, PTE_V | PTE_R | PTE_W | PTE_A)
        SET_PTE(l0, 7, pg_data, PTE_RW | PTE_U)
        SET_PTE(l0, 8, pg_data, PTE_RW)
        SET_PTE(l0, 9, pg_data, PTE_V)                           /* non-leaf at level 0 */
        SET_PTE(l0, 10, pg_xcode, PTE_V | PTE_X | PTE_A | PTE_U)
        SET_PTE(l0, 11, pg_cross_a, PTE_V | PTE_X | PTE_A)       /* l0[12] invalid */
        SET_PTE(l0, 13, pg_cross_a, PTE_V | PTE_X | PTE_A)
        SET_PTE(l0, 14, pg_cross_b, PTE_V | PTE_X | PTE_A)       /* not adjacent in PA */
        SET_SATP(SATP_SV39, l2)

        /* 1: satp reads back with mode Sv39 */
        TEST_NUM(1)
        csrr t3, satp
        srli t3, t3, 60
        CHECK_EQ(t3, 8)

        /* enter S-mode: code runs through the identity gigapage */
        TRAP_RESET
        MRET_TO(PRV_S, s_mode)
s_mode:
        /* 2-4: 4 KiB page */
        TEST_CASE(2, a0, 0x1111111111111111, li s1, VA(0, 0); ld a0, 0(s1))
        TEST_CASE(3, a0, 0x3333333333333333, li s1, VA(0, 0x10); ld a0, 0(s1))
        TEST_CASE(4, a0, 0x4444, li s1, VA(0, 0xff8); li a1, 0x4444; sd a1, 0(s1); la s2, pg_data + 0xff8; ld a0, 0(s2))
        /* 5: the same physical page through the read-only mapping */
        TEST_CASE(5, a0, 0x4444, li s1, VA(1, 0xff8); ld a0, 0(s1))
        /* 6-7: 2 MiB page */
        TEST_CASE(6, a0, 0x2020202020202020, li s1, 0x40200000; ld a0, 0(s1))
        TEST_CASE(7, a0, 0x123456789abcdef0, li s1, 0x40201238; ld a0, 0(s1))
        /* 8: 1 GiB read-only alias */
        TEST_CASE(8, a0, 0x1111111111111111, la s1, pg_data; li t3, 0x40000000; add s1, s1, t3; ld a0, 0(s1))
        TEST_NUM(9)
        EXPECT_TRAP_SKIP(CAUSE_STORE_PAGE_FAULT)
        sd zero, 0(s1)
        CHECK_TRAP_REG(CAUSE_STORE_PAGE_FAULT, s1)
        /* 10-11: misaligned superpages */
        FAULT_LOAD(10, 0x40400000)
        FAULT_LOAD(11, 0x100000000)
        /* 12: store to a read-only 4K page */
        FAULT_STORE(12, VA(1, 8))
        /* 13: store through the 1G alias at an offset */
        FAULT_STORE(13, 0xc0000ff0)
        /* 14: load from an execute-only page (MXR = 0) */
        FAULT_LOAD(14, VA(2, 0))
        /* 15: execute from it works */
        TEST_CASE(15, a0, 0x5a, li s1, VA(2, 0); jalr ra, 0(s1))
        /* 16: MXR = 1 makes it readable */
        TEST_NUM(16)
        li t3, MSTATUS_MXR
        csrs sstatus, t3
        li s1, VA(2, 0)
        lw a0, 0(s1)
        la t3, pg_xcode
        lw t4, 0(t3)
        bne a0, t4, fail
        /* 17: MXR does not make it writable */
        FAULT_STORE(17, VA(2, 0))
        li t3, MSTATUS_MXR
        csrc sstatus, t3
        /* 18: fetch from a non-executable page */
        FAULT_FETCH(18, VA(0, 0))
        /* 19-20: W without R is reserved: faults */
        FAULT_LOAD(19, VA(3, 0))
        FAULT_STORE(20, VA(3, 0))
        /* 21-23: invalid PTE */
        FAULT_LOAD(21, VA(4, 0x18))
        FAULT_STORE(22, VA(4, 0x18))
        FAULT_FETCH(23, VA(4, 0))
        /* 24: non-leaf PTE at level 0 */
        FAULT_LOAD(24, VA(9, 0))
        /* 25: unmapped (zero) root entries */
        FAULT_LOAD(25, 0x7000000000)
        FAULT_FETCH(26, 0x200000000)
        /* 27-28: non-canonical addresses (bits 63:39 != bit 38) */
        FAULT_LOAD(27, 0x0000008000000000)
        FAULT_STORE(28, 0xffff000040000000)

        /* 29: A = 0: either a load page fault, or A gets set */
        TEST_NUM(29)
        TRAP_RESET
        EXPECT_ANY_TRAP_SKIP
        li s1, VA(5, 0)
        li a0, 0x77
        ld a0, 0(s1)
        la t0, trap_info
        ld t1, TI_ARMED(t0)
        beqz t1, 1f
        sd zero, TI_ARMED(t0)           /* no trap: A must now be set */
        CHECK_EQ(a0, 0x1111111111111111)
        la t3, l0
        ld t4, 5 * 8(t3)
        andi t4, t4, PTE_A
        beqz t4, fail
        j 2f
1:      CHECK_TRAP_REG(CAUSE_LOAD_PAGE_FAULT, s1)
2:
        /* 30: D = 0: either a store page fault, or D gets set */
        TEST_NUM(30)
        sfence.vma
        TRAP_RESET
        EXPECT_ANY_TRAP_SKIP
        li s1, VA(6, 0x20)
        li a1, 0x6666
        sd a1, 0(s1)
        la t0, trap_info
        ld t1, TI_ARMED(t0)
        beqz t1, 3f
        sd zero, TI_ARMED(t0)
        la t3, pg_data
        ld t4, 0x20(t3)
        CHECK_EQ(t4, 0x6666)
        la t3, l0
        ld t4, 6 * 8(t3)
        andi t4, t4, PTE_D
        beqz t4, fail
        j 4f
3:      CHECK_TRAP_REG(CAUSE_STORE_PAGE_FAULT, s1)
4:
        /* 31: loads from a D = 0 page are fine */
        TEST_CASE(31, a0, 0x1111111111111111, li s1, VA(6, 0); ld a0, 0(s1))

        /* 32-34: SUM: S-mode access to a U page */
        FAULT_LOAD(32, VA(7, 0))
        FAULT_STORE(33, VA(7, 0))
        TEST_NUM(34)
        li t3, MSTATUS_SUM
        csrs sstatus, t3
        li s1, VA(7, 0)
        ld a0, 0(s1)
        CHECK_EQ(a0, 0x1111111111111111)
        li a1, 0x7777
        sd a1, 0x28(s1)
        la t3, pg_data
        ld a0, 0x28(t3)
        CHECK_EQ(a0, 0x7777)
        /* 35: S-mode never executes a U page, even with SUM */
        FAULT_FETCH(35, VA(10, 0))
        li t3, MSTATUS_SUM
        csrc sstatus, t3

        /* 36-37: sfence.vma makes a changed PTE visible */
        TEST_CASE(36, a0, 0x1111111111111111, li s1, VA(8, 0); ld a0, 0(s1))
        TEST_NUM(37)
        la t3, l0
        la t4, pg_data2
        srli t4, t4, 12
        slli t4, t4, 10
        ori t4, t4, PTE_RW
        sd t4, 8 * 8(t3)
        sfence.vma s1, zero
        ld a0, 0(s1)
        CHECK_EQ(a0, 0x2222222222222222)
        /* 38: and back, with a global sfence.vma */
        TEST_NUM(38)
        la t4, pg_data
        srli t4, t4, 12
        slli t4, t4, 10
        ori t4, t4, PTE_RW
        sd t4, 8 * 8(t3)
        sfence.vma
        ld a0, 0(s1)
        CHECK_EQ(a0, 0x1111111111111111)
        /* 39: invalidate a PTE: the access now faults */
        TEST_NUM(39)
        sd zero, 8 * 8(t3)
        sfence.vma
        FAULT_LOAD(40, VA(8, 0))

        /* 49: an instruction crossing from an executable page into an
           invalid one: fetch page fault, mepc = its start, mtval = the
           address of the faulting part (the second page) */
        TEST_NUM(49)
        EXPECT_TRAP(CAUSE_FETCH_PAGE_FAULT, 11f)
        li s1, VA(11, 0xffe)
        jalr ra, 0(s1)
        j fail
11:     li s2, VA(12, 0)
        CHECK_TRAP_REG(CAUSE_FETCH_PAGE_FAULT, s2)
        la t0, trap_info
        ld t1, TI_EPC(t0)
        bne t1, s1, fail
        /* 50: an instruction split across two virtually adjacent pages
           mapped to non-adjacent physical pages executes correctly */
        TEST_CASE(50, a0, 0x123, li s1, VA(13, 0xffe); li a0, 0; jalr ra, 0(s1))
        /* 51-53: AMOs / LR on faulting pages: AMO to a read-only page is a
           store page fault, LR from an invalid page a load page fault */
        TEST_NUM(51)
        EXPECT_TRAP_SKIP(CAUSE_STORE_PAGE_FAULT)
        li s1, VA(1, 0x40)
        amoadd.d a0, a0, (s1)
        CHECK_TRAP_REG(CAUSE_STORE_PAGE_FAULT, s1)
        TEST_NUM(52)
        EXPECT_TRAP_SKIP(CAUSE_STORE_PAGE_FAULT)
        amoswap.w a0, a0, (s1)
        CHECK_TRAP_REG(CAUSE_STORE_PAGE_FAULT, s1)
        TEST_NUM(53)
        EXPECT_TRAP_SKIP(CAUSE_LOAD_PAGE_FAULT)
        li s1, VA(4, 0x40)
        lr.d a0, (s1)
        CHECK_TRAP_REG(CAUSE_LOAD_PAGE_FAULT, s1)
        GOTO_M(m_mode_1)

m_mode_1:
        /* 41: page faults delegated to S: scause / stval */
        TEST_NUM(41)
        S_TRAP_RESET
        li t0, (1 << CAUSE_LOAD_PAGE_FAULT) | (1 << CAUSE_STORE_PAGE_FAULT) | (1 << CAUSE_FETCH_PAGE_FAULT)
        csrw medeleg, t0
        MRET_TO(PRV_S, 5f)
5:      li s1, VA(4, 0x30)
        ld a0, 0(s1)
        li s2, VA(1, 0x38)
        sd zero, 0(s2)
        GOTO_M(6f)
6:      csrw medeleg, zero
        CHECK_S_TRAP(2, CAUSE_STORE_PAGE_FAULT)
        la t0, s_trap_info
        ld t1, S_TVAL(t0)
        bne t1, s2, fail

        /* 42-44: U-mode through the user alias */
        TEST_NUM(42)
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_USER_ECALL, 7f, PRV_M)
        la t3, u_code
        li t4, UALIAS
        add t3, t3, t4
        li t0, MSTATUS_MPP
        csrc mstatus, t0
        csrw mepc, t3
        mret
7:      CHECK_TRAP_CAUSE(CAUSE_USER_ECALL)
        CHECK_EQ(s3, 0x1111111111111111 + 0x5a)
        /* 43: U-mode load from a supervisor page faults */
        TEST_NUM(43)
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_LOAD_PAGE_FAULT, 8f, PRV_M)
        la t3, u_code_bad
        li t4, UALIAS
        add t3, t3, t4
        csrw mepc, t3
        li s1, VA(0, 0)
        mret
8:      CHECK_TRAP_REG(CAUSE_LOAD_PAGE_FAULT, s1)
        LOAD_TRAP_MPP(t1)
        CHECK_EQ(t1, PRV_U)
        /* 44: U-mode fetch from a supervisor page faults */
        TEST_NUM(44)
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_FETCH_PAGE_FAULT, 9f, PRV_M)
        MRET_TO(PRV_U, u_code)          /* identity VA: not a U page */
9:      la s1, u_code
        CHECK_TRAP_REG(CAUSE_FETCH_PAGE_FAULT, s1)

        /* 45-48: MPRV in M-mode */
        TEST_NUM(45)
        TRAP_RESET
        li t0, MSTATUS_MPP
        csrc mstatus, t0
        li t0, (PRV_S << 11) | MSTATUS_MPRV
        csrs mstatus, t0
        li s1, VA(0, 0)
        ld a0, 0(s1)                    /* translated as S */
        li t0, MSTATUS_MPRV
        csrc mstatus, t0
        CHECK_EQ(a0, 0x1111111111111111)
        /* 46: MPRV with MPP = U: a supervisor page faults (load 13) */
        TEST_NUM(46)
        EXPECT_TRAP(CAUSE_LOAD_PAGE_FAULT, 10f)
        li t0, MSTATUS_MPP
        csrc mstatus, t0
        li t0, MSTATUS_MPRV
        csrs mstatus, t0
        li s1, VA(0, 0)
        ld a0, 0(s1)
        j fail
10:     li t0, MSTATUS_MPRV
        csrc mstatus, t0
        CHECK_TRAP_REG(CAUSE_LOAD_PAGE_FAULT, s1)
        LOAD_TRAP_MPP(t1)
        CHECK_EQ(t1, PRV_M)
        /* 47: MPRV with MPP = U: a user page works */
        TEST_NUM(47)
        li t0, MSTATUS_MPP
        csrc mstatus, t0
        li t0, MSTATUS_MPRV
        csrs mstatus, t0
        li s1, VA(7, 0)
        ld a0, 0(s1)
        li t0, MSTATUS_MPRV
        csrc mstatus, t0
        CHECK_EQ(a0, 0x1111111111111111)
        /* 48: MPRV = 0 / MPP = M: M-mode accesses are not translated */
        TEST_NUM(48)
        li t0, MSTATUS_MPP | MSTATUS_MPRV
        csrs mstatus, t0
        la s1, pg_data2
        ld a0, 0(s1)
        li t0, MSTATUS_MPRV
        csrc mstatus, t0
        CHECK_EQ(a0, 0x2222222222222222)
        SATP_OFF
        TEST_PASS

/* runs in U-mode at its user alias: reads a U page and calls U code */
        .align 2
u_code:
        li s1, VA(7, 0)
        ld s3, 0(s1)
        li s1, VA(10, 0)
        jalr ra, 0(s1)
        add s3, s3, a0
        ecall
u_code_bad:
        ld a0, 0(s1)
        ecall

        .text
        .align 12
pg_xcode:
        li a0, 0x5a
        ret
        .align 12

        /* pg_cross_a ends with the low half of addi a0, x0, 0x123;
           pg_cross_b (two pages further) starts with its high half, then ret */
        .align 12
pg_cross_a:
        .fill 2047, 2, 0x0001           /* c.nop */
        .half 0x0513
        .align 12
        .fill 2048, 2, 0x0001
pg_cross_b:
        .half 0x1230
        .half 0x8082                    /* c.jr ra */
        .align 12

        .data
        .align 12
pg_data:
        .dword 0x1111111111111111, 0
        .dword 0x3333333333333333
        .fill 509, 8, 0
pg_data2:
        .dword 0x2222222222222222
        .fill 511, 8, 0

        .bss
        .align 12
l2:     .fill 512, 8, 0
l1:     .fill 512, 8, 0
l0:     .fill 512, 8, 0
