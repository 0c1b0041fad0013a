/* Privileged: vectored trap mode.  With mtvec.MODE = 1, exceptions go to
 * BASE and interrupt i to BASE + 4 * i; likewise for stvec in S-mode. */
#include "test.h"

TEST_BEGIN
        /* 1: mtvec keeps MODE = 1 */
        TEST_NUM(1)
        la t0, mvec
        ori t0, t0, 1
        csrw mtvec, t0
        csrr t1, mtvec
        bne t0, t1, fail
        la s0, hits
        /* 2: machine software interrupt -> entry 3 */
        TEST_NUM(2)
        li t0, MIP_MSIP
        csrs mie, t0
        li t0, CLINT_MSIP
        li t1, 1
        sw t1, 0(t0)
        csrsi mstatus, MSTATUS_MIE
        li t6, 10000000
1:      ld t1, 3 * 8(s0)
        bnez t1, 2f
        addi t6, t6, -1
        bnez t6, 1b
        j fail
2:      csrci mstatus, MSTATUS_MIE
        /* 3: machine timer interrupt -> entry 7 */
        TEST_NUM(3)
        li t0, MIP_MTIP
        csrs mie, t0
        li t0, CLINT_MTIMECMP
        sd zero, 0(t0)
        csrsi mstatus, MSTATUS_MIE
        li t6, 10000000
3:      ld t1, 7 * 8(s0)
        bnez t1, 4f
        addi t6, t6, -1
        bnez t6, 3b
        j fail
4:      csrci mstatus, MSTATUS_MIE
        li t0, -1
        li t1, CLINT_MTIMECMP
        sd t0, 0(t1)
        /* 4: an exception goes to BASE (entry 0): the common handler */
        TEST_NUM(4)
        TRAP_RESET
        EXPECT_TRAP_SKIP(CAUSE_MACHINE_ECALL)
        ecall
        CHECK_TRAP_CAUSE(CAUSE_MACHINE_ECALL)
        ld t1, 3 * 8(s0)
        CHECK_EQ(t1, 1)
        ld t1, 7 * 8(s0)
        CHECK_EQ(t1, 1)
        /* 5: stvec vectored: delegated STI -> stvec entry 5 */
        TEST_NUM(5)
        la t0, svec
        ori t0, t0, 1
        csrw stvec, t0
        li t0, MIP_STIP
        csrw mideleg, t0
        csrs mie, t0
        csrs mip, t0
        M_IRQ_OFF
        MRET_TO(PRV_S, 5f)
5:      csrsi sstatus, MSTATUS_SIE
        li t6, 10000000
6:      ld t1, 16 * 8(s0)
        bnez t1, 7f
        addi t6, t6, -1
        bnez t6, 6b
7:      csrci sstatus, MSTATUS_SIE
        la t0, trap_entry
        GOTO_M(8f)
8:      li t0, MIP_STIP
        csrc mip, t0
        csrw mideleg, zero
        la t0, trap_entry
        csrw mtvec, t0
        ld t1, 16 * 8(s0)
        CHECK_EQ(t1, 5)
        TEST_PASS

/* M vector table: entry 0 -> the common handler; entries 3 and 7 record
   which entry was used (not mcause), mask the interrupt and return */
        .option push
        .option norvc
        .align 8
mvec:   j trap_entry
        j fail
        j fail
        j m_irq3
        j fail
        j fail
        j fail
        j m_irq7
        .rept 8
        j fail
        .endr
m_irq3: csrrw sp, mscratch, sp
        sd t0, 0(sp)
        sd t1, 8(sp)
        li t0, 3
        j m_irq
m_irq7: csrrw sp, mscratch, sp
        sd t0, 0(sp)
        sd t1, 8(sp)
        li t0, 7
m_irq:  li t1, 1
        sll t1, t1, t0
        csrc mie, t1
        li t1, CLINT_MSIP
        sw zero, 0(t1)
        la t1, hits
        slli t0, t0, 3
        add t1, t1, t0
        ld t0, 0(t1)
        addi t0, t0, 1
        sd t0, 0(t1)
        ld t0, 0(sp)
        ld t1, 8(sp)
        csrrw sp, mscratch, sp
        mret

/* S vector table: only entry 5 is expected */
        .align 8
svec:   j fail
        .rept 4
        j fail
        .endr
        j s_sti
        .rept 10
        j fail
        .endr
s_sti:  csrrw sp, sscratch, sp
        sd t0, 0(sp)
        sd t1, 8(sp)
        li t0, MIP_STIP
        csrc sie, t0
        csrr t0, scause
        slli t0, t0, 1
        srli t0, t0, 1
        la t1, hits
        sd t0, 16 * 8(t1)
        ld t0, 0(sp)
        ld t1, 8(sp)
        csrrw sp, sscratch, sp
        sret
        .option pop

        .data
        .align 3
hits:   .fill 20, 8, 0
