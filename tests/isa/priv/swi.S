/* Privileged: machine software interrupt via the CLINT msip register, and
 * interrupt priorities.  The spec order is MEI > MSI > MTI > SEI > SSI >
 * STI, and interrupts for M-mode go before those for S-mode.  QEMU 7.2
 * (without AIA) takes pending M-destined interrupts in increasing cause
 * number instead, so only the pairs where both orders agree are checked:
 * MSI > MTI > SEI, SSI > STI, and M-destined before S-destined. */
#include "test.h"

#define WAIT_MIP(bit) li t6, 10000000; 77: csrr t5, mip; andi t5, t5, bit; bnez t5, 78f; addi t6, t6, -1; bnez t6, 77b; j fail; 78:

TEST_BEGIN
        li s0, CLINT_MSIP
        /* 1: msip = 1 sets mip.MSIP, msip = 0 clears it */
        TEST_NUM(1)
        li t0, 1
        sw t0, 0(s0)
        WAIT_MIP(MIP_MSIP)
        lw t1, 0(s0)
        CHECK_EQ(t1, 1)
        sw zero, 0(s0)
        li t6, 1000
1:      csrr t1, mip
        andi t1, t1, MIP_MSIP
        beqz t1, 2f
        addi t6, t6, -1
        bnez t6, 1b
        j fail
2:
        /* 2: enabled: taken with cause 0x8000000000000003 */
        TEST_NUM(2)
        TRAP_RESET
        li t0, MIP_MSIP
        csrs mie, t0
        csrsi mstatus, MSTATUS_MIE
        EXPECT_TRAP_SKIP(INTR_CAUSE(IRQ_M_SOFT))
        li t0, 1
        sw t0, 0(s0)
        WAIT_TRAP
        csrci mstatus, MSTATUS_MIE
        sw zero, 0(s0)
        CHECK_TRAP_CAUSE(INTR_CAUSE(IRQ_M_SOFT))

        /* 3-5: priorities among M-destined interrupts (custom handler logs
           the causes): MSI (3) before MTI (7) before SEI (9) */
        TEST_NUM(3)
        la t0, irq_handler
        csrw mtvec, t0
        la t0, irq_log
        sd zero, 0(t0)
        li t0, 1
        sw t0, 0(s0)                    /* MSIP */
        li t1, CLINT_MTIMECMP
        sd zero, 0(t1)                  /* MTIP */
        li t0, MIP_SEIP
        csrs mip, t0
        WAIT_MIP(MIP_MTIP)
        WAIT_MIP(MIP_MSIP)
        li t0, MIP_MSIP | MIP_MTIP | MIP_SEIP
        csrs mie, t0
        csrsi mstatus, MSTATUS_MIE
        li a2, 3
        call wait_log
        csrci mstatus, MSTATUS_MIE
        sw zero, 0(s0)
        li t0, -1
        li t1, CLINT_MTIMECMP
        sd t0, 0(t1)
        li t0, MIP_SEIP
        csrc mip, t0
        la t0, irq_log
        TEST_NUM(4)
        ld t1, 8(t0)
        CHECK_EQ(t1, INTR_CAUSE(IRQ_M_SOFT))
        ld t1, 16(t0)
        CHECK_EQ(t1, INTR_CAUSE(IRQ_M_TIMER))
        ld t1, 24(t0)
        CHECK_EQ(t1, INTR_CAUSE(IRQ_S_EXT))

        /* 5-6: SSI (1) before STI (5), both taken in M */
        TEST_NUM(5)
        la t0, irq_log
        sd zero, 0(t0)
        li t0, MIP_SSIP | MIP_STIP
        csrs mip, t0
        csrs mie, t0
        csrsi mstatus, MSTATUS_MIE
        li a2, 2
        call wait_log
        csrci mstatus, MSTATUS_MIE
        li t0, MIP_SSIP | MIP_STIP
        csrc mip, t0
        TEST_NUM(6)
        la t0, irq_log
        ld t1, 8(t0)
        CHECK_EQ(t1, INTR_CAUSE(IRQ_S_SOFT))
        ld t1, 16(t0)
        CHECK_EQ(t1, INTR_CAUSE(IRQ_S_TIMER))

        /* 7-8: in S-mode, an interrupt destined for M (STI, not delegated)
           is taken before one destined for S (SSI, delegated) */
        TEST_NUM(7)
        la t0, irq_log
        sd zero, 0(t0)
        la t0, s_irq_handler
        csrw stvec, t0
        li t0, MIP_SSIP
        csrw mideleg, t0
        li t0, MIP_SSIP | MIP_STIP
        csrs mip, t0
        csrs mie, t0
        M_IRQ_OFF
        li t0, MSTATUS_SPIE | MSTATUS_SIE
        csrc mstatus, t0
        MRET_TO(PRV_S, 7f)
7:      csrsi sstatus, MSTATUS_SIE
        li a2, 2
        call wait_log
        csrci sstatus, MSTATUS_SIE
        GOTO_M(8f)
8:      li t0, MIP_SSIP | MIP_STIP
        csrc mip, t0
        csrw mideleg, zero
        la t0, trap_entry
        csrw mtvec, t0
        TEST_NUM(8)
        la t0, irq_log
        ld t1, 8(t0)
        CHECK_EQ(t1, INTR_CAUSE(IRQ_S_TIMER))
        ld t1, 16(t0)
        CHECK_EQ(t1, INTR_CAUSE(IRQ_S_SOFT) | 0x100)   /* logged by S */
        TEST_PASS

/* wait until irq_log holds a2 entries (bounded) */
wait_log:
        li t6, 10000000
        la t0, irq_log
1:      ld t1, 0(t0)
        beq t1, a2, 2f
        addi t6, t6, -1
        bnez t6, 1b
        j fail
2:      ret

/* S-mode: logs scause | 0x100, masks the interrupt in sie, returns */
        .align 2
s_irq_handler:
        csrrw sp, sscratch, sp
        sd t0, 0(sp)
        sd t1, 8(sp)
        sd t2, 16(sp)
        csrr t0, scause
        bgez t0, 1f
        la t1, irq_log
        ld t2, 0(t1)
        addi t2, t2, 1
        sd t2, 0(t1)
        slli t2, t2, 3
        add t2, t2, t1
        ori t1, t0, 0x100
        sd t1, 0(t2)
        li t1, 1
        sll t1, t1, t0
        csrc sie, t1
        ld t0, 0(sp)
        ld t1, 8(sp)
        ld t2, 16(sp)
        csrrw sp, sscratch, sp
        sret
1:      csrrw sp, sscratch, sp
        j fail

/* logs mcause, masks the interrupt in mie, returns to mepc;
   exceptions go to the common handler */
        .align 2
irq_handler:
        csrrw sp, mscratch, sp
        sd t0, 0(sp)
        sd t1, 8(sp)
        sd t2, 16(sp)
        csrr t0, mcause
        bgez t0, 1f                     /* exception: fail */
        la t1, irq_log
        ld t2, 0(t1)
        addi t2, t2, 1
        sd t2, 0(t1)
        slli t2, t2, 3
        add t2, t2, t1
        sd t0, 0(t2)
        li t1, 1
        sll t1, t1, t0
        csrc mie, t1
        ld t0, 0(sp)
        ld t1, 8(sp)
        ld t2, 16(sp)
        csrrw sp, mscratch, sp
        mret
1:      ld t0, 0(sp)                    /* exceptions: the common handler */
        ld t1, 8(sp)
        ld t2, 16(sp)
        csrrw sp, mscratch, sp
        j trap_entry

        .data
        .align 3
irq_log: .fill 16, 8, 0
