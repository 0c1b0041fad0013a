/*
 * crt0 for vessel bare-metal test programs: M-mode, QEMU `virt` layout.
 * Entry (at 0x80000000): a0 = hart id, a1 = device tree pointer.
 */
#define REGBYTES 8
#define FRAME_WORDS 36              /* x0..x31, mepc, mcause, mtval, mstatus */
#define FRAME_BYTES (FRAME_WORDS * REGBYTES)

    .section .text.init.enter, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    /* Every hart but 0 goes to vrt_secondary_entry (a0, a1 as at entry;
       `tail` reaches it wherever the linker put it). */
    beqz    a0, 1f
    tail    vrt_secondary_entry
1:

    la      sp, __stack
    /* Trap vector (direct mode) and its private stack in mscratch. */
    la      t0, vrt_trap_entry
    csrw    mtvec, t0
    la      t0, __trap_stack_top
    csrw    mscratch, t0
    /* No interrupts. */
    csrw    mie, zero
    /* Enable the FPU: mstatus.FS = Initial (01); clear rounding mode/flags. */
    li      t0, (1 << 13)
    csrs    mstatus, t0
    fscsr   zero

    /* Keep the boot arguments. */
    mv      s0, a0
    mv      s1, a1

    /* Clear .tbss and .bss. */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:
    /* Only now: vrt_boot_hartid and vrt_boot_dtb live in .bss. */
    la      t0, vrt_boot_hartid
    sd      s0, 0(t0)
    la      t0, vrt_boot_dtb
    sd      s1, 0(t0)
    /* The thread pointer: static TLS block of the single thread. */
    la      tp, __tls_base

    call    __libc_init_array
    mv      a0, s0
    mv      a1, s1
    call    vrt_main
    /* vrt_main calls exit() and never returns. */
    j       vrt_halt

    .size _start, . - _start

/*
 * Harts other than 0 come here with a0 = hart id, a1 = device tree, before
 * hart 0 has cleared .bss. This default parks them; a multi-hart program
 * (tests/smp) links a strong definition that gives each its own stack.
 */
    .weak vrt_secondary_entry
    .type vrt_secondary_entry, @function
vrt_secondary_entry:
    csrw    mie, zero
1:  wfi
    j       1b
    .size vrt_secondary_entry, . - vrt_secondary_entry

    .text
    .globl vrt_halt
    .type vrt_halt, @function
vrt_halt:
1:  wfi
    j       1b
    .size vrt_halt, . - vrt_halt

/*
 * Trap entry. Saves all registers in a frame on the trap stack (its top is in
 * mscratch) and calls vrt_trap(frame). If that returns, the (possibly edited)
 * frame is restored, mepc taken from it, and mret resumes. Not reentrant.
 */
    .balign 4
    .globl vrt_trap_entry
    .type vrt_trap_entry, @function
vrt_trap_entry:
    csrrw   sp, mscratch, sp
    addi    sp, sp, -FRAME_BYTES
    sd      x1, 1*REGBYTES(sp)
    sd      x3, 3*REGBYTES(sp)
    sd      x4, 4*REGBYTES(sp)
    sd      x5, 5*REGBYTES(sp)
    sd      x6, 6*REGBYTES(sp)
    sd      x7, 7*REGBYTES(sp)
    sd      x8, 8*REGBYTES(sp)
    sd      x9, 9*REGBYTES(sp)
    sd      x10, 10*REGBYTES(sp)
    sd      x11, 11*REGBYTES(sp)
    sd      x12, 12*REGBYTES(sp)
    sd      x13, 13*REGBYTES(sp)
    sd      x14, 14*REGBYTES(sp)
    sd      x15, 15*REGBYTES(sp)
    sd      x16, 16*REGBYTES(sp)
    sd      x17, 17*REGBYTES(sp)
    sd      x18, 18*REGBYTES(sp)
    sd      x19, 19*REGBYTES(sp)
    sd      x20, 20*REGBYTES(sp)
    sd      x21, 21*REGBYTES(sp)
    sd      x22, 22*REGBYTES(sp)
    sd      x23, 23*REGBYTES(sp)
    sd      x24, 24*REGBYTES(sp)
    sd      x25, 25*REGBYTES(sp)
    sd      x26, 26*REGBYTES(sp)
    sd      x27, 27*REGBYTES(sp)
    sd      x28, 28*REGBYTES(sp)
    sd      x29, 29*REGBYTES(sp)
    sd      x30, 30*REGBYTES(sp)
    sd      x31, 31*REGBYTES(sp)
    csrr    t0, mscratch            /* the interrupted sp */
    sd      t0, 2*REGBYTES(sp)
    sd      zero, 0(sp)
    csrr    t0, mepc
    sd      t0, 32*REGBYTES(sp)
    csrr    t0, mcause
    sd      t0, 33*REGBYTES(sp)
    csrr    t0, mtval
    sd      t0, 34*REGBYTES(sp)
    csrr    t0, mstatus
    sd      t0, 35*REGBYTES(sp)
    /* mscratch = trap stack top again (for a trap inside the handler). */
    addi    t0, sp, FRAME_BYTES
    csrw    mscratch, t0
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    mv      a0, sp
    call    vrt_trap
    ld      t0, 32*REGBYTES(sp)
    csrw    mepc, t0
    ld      x1, 1*REGBYTES(sp)
    ld      x3, 3*REGBYTES(sp)
    ld      x4, 4*REGBYTES(sp)
    ld      x5, 5*REGBYTES(sp)
    ld      x6, 6*REGBYTES(sp)
    ld      x7, 7*REGBYTES(sp)
    ld      x8, 8*REGBYTES(sp)
    ld      x9, 9*REGBYTES(sp)
    ld      x10, 10*REGBYTES(sp)
    ld      x11, 11*REGBYTES(sp)
    ld      x12, 12*REGBYTES(sp)
    ld      x13, 13*REGBYTES(sp)
    ld      x14, 14*REGBYTES(sp)
    ld      x15, 15*REGBYTES(sp)
    ld      x16, 16*REGBYTES(sp)
    ld      x17, 17*REGBYTES(sp)
    ld      x18, 18*REGBYTES(sp)
    ld      x19, 19*REGBYTES(sp)
    ld      x20, 20*REGBYTES(sp)
    ld      x21, 21*REGBYTES(sp)
    ld      x22, 22*REGBYTES(sp)
    ld      x23, 23*REGBYTES(sp)
    ld      x24, 24*REGBYTES(sp)
    ld      x25, 25*REGBYTES(sp)
    ld      x26, 26*REGBYTES(sp)
    ld      x27, 27*REGBYTES(sp)
    ld      x28, 28*REGBYTES(sp)
    ld      x29, 29*REGBYTES(sp)
    ld      x30, 30*REGBYTES(sp)
    ld      x31, 31*REGBYTES(sp)
    ld      sp, 2*REGBYTES(sp)
    mret
    .size vrt_trap_entry, . - vrt_trap_entry
