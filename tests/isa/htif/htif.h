/* htif.h -- tiny harness for the HTIF group (vessel only; QEMU's virt board
 * has no HTIF).  Programs define `tohost` / `fromhost` (8-byte aligned, in
 * section .tohost) and finish with tohost = 1 (pass) or (n << 1) | 1
 * (fail test n), the riscv-tests convention. */
#ifndef VESSEL_HTIF_H
#define VESSEL_HTIF_H

#define HTIF_DEFINE_SYMBOLS \
        .section .tohost, "aw", @progbits; \
        .align 6; .globl tohost; .type tohost, @object; .size tohost, 8; tohost: .dword 0; \
        .align 6; .globl fromhost; .type fromhost, @object; .size fromhost, 8; fromhost: .dword 0;

#define HTIF_START \
        .section .text.init, "ax"; .globl _start; _start: \
        la t0, htif_trap; csrw mtvec, t0; li gp, 0;

/* tohost = value, then spin */
#define HTIF_EXIT(value) \
        li t0, value; la t1, tohost; sd t0, 0(t1); 1: j 1b;

#define HTIF_PASS HTIF_EXIT(1)

/* fail with test number gp: tohost = (gp << 1) | 1 */
#define HTIF_FAIL_GP \
        slli t0, gp, 1; ori t0, t0, 1; la t1, tohost; sd t0, 0(t1); 1: j 1b;

/* any trap fails the current test */
#define HTIF_TRAP_HANDLER \
        .align 2; htif_trap: HTIF_FAIL_GP

#endif
