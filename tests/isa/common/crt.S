/* crt.S -- common start, trap handler, pass/fail for the vessel ISA tests.
 * Runs in M-mode from 0x80000000 (a0 = hart id, a1 = device tree). */
#include "test.h"

        .section .text.init, "ax"
        .globl _start
_start:
        /* remember the boot arguments for tests that want them */
        la t0, boot_args
        sd a0, 0(t0)
        sd a1, 8(t0)
        /* trap vector, then probe optional CSRs with a temporary vector */
        la t0, trap_entry
        csrw mtvec, t0
        /* PMP: grant S/U-mode access to everything (skipped if PMP is absent) */
        la t0, 1f
        csrw mtvec, t0
        li t0, -1
        csrw pmpaddr0, t0
        li t0, 0x1f             /* NAPOT, R W X */
        csrw pmpcfg0, t0
        .align 2
1:      la t0, 2f
        csrw mtvec, t0
        csrwi mcounteren, 7
        csrwi scounteren, 7
        .align 2
2:      la t0, trap_entry
        csrw mtvec, t0
        csrwi satp, 0
        csrwi medeleg, 0
        csrwi mideleg, 0
        csrwi mie, 0
        csrwi mip, 0
        csrwi sie, 0
        /* mstatus: FS = Initial, everything else clear (MPP = U) */
        li t0, 0x2000
        csrw mstatus, t0
        csrwi fcsr, 0
        la t0, trap_save
        csrw mscratch, t0
        la t0, s_trap_save
        csrw sscratch, t0
        la sp, _stack_top_bss
        /* zero the FP registers */
        fmv.d.x f0, zero
        fmv.d.x f1, zero
        fmv.d.x f2, zero
        fmv.d.x f3, zero
        fmv.d.x f4, zero
        fmv.d.x f5, zero
        fmv.d.x f6, zero
        fmv.d.x f7, zero
        fmv.d.x f8, zero
        fmv.d.x f9, zero
        fmv.d.x f10, zero
        fmv.d.x f11, zero
        fmv.d.x f12, zero
        fmv.d.x f13, zero
        fmv.d.x f14, zero
        fmv.d.x f15, zero
        fmv.d.x f16, zero
        fmv.d.x f17, zero
        fmv.d.x f18, zero
        fmv.d.x f19, zero
        fmv.d.x f20, zero
        fmv.d.x f21, zero
        fmv.d.x f22, zero
        fmv.d.x f23, zero
        fmv.d.x f24, zero
        fmv.d.x f25, zero
        fmv.d.x f26, zero
        fmv.d.x f27, zero
        fmv.d.x f28, zero
        fmv.d.x f29, zero
        fmv.d.x f30, zero
        fmv.d.x f31, zero
        /* zero the integer registers (except sp) */
        li x1, 0
        li x3, 0
        li x4, 0
        li x5, 0
        li x6, 0
        li x7, 0
        li x8, 0
        li x9, 0
        li x10, 0
        li x11, 0
        li x12, 0
        li x13, 0
        li x14, 0
        li x15, 0
        li x16, 0
        li x17, 0
        li x18, 0
        li x19, 0
        li x20, 0
        li x21, 0
        li x22, 0
        li x23, 0
        li x24, 0
        li x25, 0
        li x26, 0
        li x27, 0
        li x28, 0
        li x29, 0
        li x30, 0
        li x31, 0
        j test_main

/* ------------------------------------------------------------------ */
/* M-mode trap handler                                                 */

        .align 6
        .globl trap_entry
trap_entry:
        csrrw sp, mscratch, sp
        sd t0, 0(sp)
        sd t1, 8(sp)
        sd t2, 16(sp)
        sd t3, 24(sp)
        csrr t0, mcause
        /* GOTO_M: ecall with a7 = GOTO_M_MAGIC, target in a0 (not recorded) */
        li t3, GOTO_M_MAGIC
        bne a7, t3, 1f
        li t3, CAUSE_USER_ECALL
        beq t0, t3, goto_m
        li t3, CAUSE_SUPERVISOR_ECALL
        beq t0, t3, goto_m
        li t3, CAUSE_MACHINE_ECALL
        beq t0, t3, goto_m
1:      la t1, trap_info
        sd t0, TI_CAUSE(t1)
        csrr t2, mtval
        sd t2, TI_TVAL(t1)
        csrr t2, mepc
        sd t2, TI_EPC(t1)
        csrr t3, mstatus
        sd t3, TI_MSTATUS(t1)
        ld t3, TI_COUNT(t1)
        addi t3, t3, 1
        sd t3, TI_COUNT(t1)
        /* pass/fail reached in S- or U-mode: finish in M-mode */
        la t3, fail_probe
        beq t2, t3, fail_m
        la t3, pass_probe
        beq t2, t3, pass_m
        ld t2, TI_ARMED(t1)
        beqz t2, unexpected_trap
        li t3, 2
        beq t2, t3, expected_trap
        ld t2, TI_EXPECT(t1)
        bne t2, t0, unexpected_trap
expected_trap:
        sd zero, TI_ARMED(t1)
        bgez t0, 2f
        /* interrupt: mask it in mie so that it is not taken again */
        li t2, 1
        sll t2, t2, t0
        csrc mie, t2
2:      ld t2, TI_RESUME(t1)
        bnez t2, 4f
        csrr t2, mepc
        bltz t0, 4f
        /* exception: skip the trapping instruction (2 or 4 bytes) */
        lhu t3, 0(t2)
        andi t3, t3, 3
        addi t2, t2, 2
        li t0, 3
        bne t3, t0, 4f
        addi t2, t2, 2
4:      csrw mepc, t2
        sd zero, TI_RESUME(t1)
        ld t2, TI_RESUME_MODE(t1)
        beqz t2, 5f
        sd zero, TI_RESUME_MODE(t1)
        addi t2, t2, -1
        slli t2, t2, 11
        li t3, MSTATUS_MPP
        csrc mstatus, t3
        csrs mstatus, t2
5:      ld t0, 0(sp)
        ld t1, 8(sp)
        ld t2, 16(sp)
        ld t3, 24(sp)
        csrrw sp, mscratch, sp
        mret

goto_m:
        li a7, 0                        /* consume the magic */
        csrw mepc, a0
        li t3, MSTATUS_MPP
        csrs mstatus, t3
        j 5b

unexpected_trap:
        csrrw sp, mscratch, sp
        li t0, MSTATUS_MPRV
        csrc mstatus, t0
        la a0, msg_unexpected
        call uart_puts
        csrr a0, mcause
        call uart_puthex
        la a0, msg_mepc
        call uart_puts
        csrr a0, mepc
        call uart_puthex
        la a0, msg_mtval
        call uart_puts
        csrr a0, mtval
        call uart_puthex
        li a0, '\n'
        call uart_putc
        j fail_m

/* ------------------------------------------------------------------ */
/* S-mode trap handler (tests install it with `csrw stvec`): records    */
/* scause/sepc/stval/sstatus in s_trap_info and resumes at             */
/* S_RESUME if set (one-shot), else after the trapping instruction     */
/* (exceptions; identity-mapped code) or at sepc (interrupts, whose     */
/* sie bit is cleared).                                                 */

        .align 6
        .globl s_trap_entry
s_trap_entry:
        csrrw sp, sscratch, sp
        sd t0, 0(sp)
        sd t1, 8(sp)
        sd t2, 16(sp)
        la t1, s_trap_info
        csrr t0, scause
        sd t0, S_CAUSE(t1)
        csrr t2, stval
        sd t2, S_TVAL(t1)
        csrr t2, sstatus
        sd t2, S_STATUS(t1)
        ld t2, S_COUNT(t1)
        addi t2, t2, 1
        sd t2, S_COUNT(t1)
        csrr t2, sepc
        sd t2, S_EPC(t1)
        bgez t0, 1f
        li t2, 1                        /* interrupt: mask it in sie */
        sll t2, t2, t0
        csrc sie, t2
        csrr t2, sepc
        j 2f
1:      lhu t0, 0(t2)                   /* exception: skip the instruction */
        andi t0, t0, 3
        addi t2, t2, 2
        xori t0, t0, 3
        bnez t0, 2f
        addi t2, t2, 2
2:      ld t0, S_RESUME(t1)
        beqz t0, 3f
        mv t2, t0
        sd zero, S_RESUME(t1)
3:      csrw sepc, t2
        ld t0, 0(sp)
        ld t1, 8(sp)
        ld t2, 16(sp)
        csrrw sp, sscratch, sp
        sret

/* ------------------------------------------------------------------ */
/* pass / fail                                                         */

        .align 2
        .globl fail
fail:
fail_probe:
        csrr t0, mscratch       /* traps in S/U-mode -> handler -> fail_m */
fail_m:
        li t0, MSTATUS_MPRV
        csrc mstatus, t0
        la sp, _stack_top_bss
        la a0, msg_fail
        call uart_puts
        mv a0, TESTNUM
        call uart_putdec
        li a0, '\n'
        call uart_putc
        /* exit code = test number (never 0 modulo 256) */
        li t0, 0xffff
        and t0, TESTNUM, t0
        andi t1, t0, 0xff
        bnez t1, 1f
        ori t0, t0, 0xff
1:      slli t0, t0, 16
        li t1, 0x3333
        or t0, t0, t1
        li t1, FINISHER_BASE
        sw t0, 0(t1)
2:      wfi
        j 2b

        .align 2
        .globl pass
pass:
pass_probe:
        csrr t0, mscratch
pass_m:
        li t0, MSTATUS_MPRV
        csrc mstatus, t0
        la a0, msg_pass
        call uart_puts
        li t0, 0x5555
        li t1, FINISHER_BASE
        sw t0, 0(t1)
1:      wfi
        j 1b

/* ------------------------------------------------------------------ */
/* UART helpers (leaf functions; clobber a0-a5 only)                   */

        .globl uart_putc
uart_putc:
        li a1, UART_BASE
1:      lbu a2, 5(a1)
        andi a2, a2, 0x20
        beqz a2, 1b
        sb a0, 0(a1)
        ret

        .globl uart_puts
uart_puts:
        mv a3, a0
        mv a4, ra
1:      lbu a0, 0(a3)
        beqz a0, 2f
        call uart_putc
        addi a3, a3, 1
        j 1b
2:      mv ra, a4
        ret

        .globl uart_puthex
uart_puthex:
        mv a3, a0
        mv a4, ra
        li a0, '0'
        call uart_putc
        li a0, 'x'
        call uart_putc
        li a5, 60
1:      srl a0, a3, a5
        andi a0, a0, 0xf
        addi a0, a0, '0'
        li a2, '9'
        ble a0, a2, 2f
        addi a0, a0, 'a' - '0' - 10
2:      call uart_putc
        addi a5, a5, -4
        bgez a5, 1b
        mv ra, a4
        ret

        .globl uart_putdec
uart_putdec:                    /* unsigned decimal, up to 20 digits */
        mv a4, ra
        la a3, dec_buf + 24
        sb zero, 0(a3)
        li a5, 10
1:      addi a3, a3, -1
        remu a2, a0, a5
        addi a2, a2, '0'
        sb a2, 0(a3)
        divu a0, a0, a5
        bnez a0, 1b
        mv a5, a4
        mv a0, a3
        call uart_puts
        mv ra, a5
        ret

        .section .rodata
msg_unexpected: .string "unexpected trap: mcause="
msg_mepc:       .string " mepc="
msg_mtval:      .string " mtval="
msg_fail:       .string "FAIL test "
msg_pass:       .string "PASS\n"

        .data
        .align 3
        .globl trap_info
trap_info:      .fill 16, 8, 0
        .globl s_trap_info
s_trap_info:    .fill 8, 8, 0
        .globl boot_args
boot_args:      .dword 0, 0
dec_buf:        .fill 32, 1, 0

        .bss
        .align 4
trap_save:      .fill 32, 8, 0
s_trap_save:    .fill 32, 8, 0
        .align 12
        .fill 16384, 1, 0
        .globl _stack_top_bss
_stack_top_bss:
