/*
 * Start of the harts other than 0 for the multi-hart litmus programs
 * (tests/smp). crt0 (tests/rt) sends them here with a0 = hart id and
 * a1 = device tree while hart 0 clears .bss and runs the constructors; each
 * waits for hart 0 to release it (smp_release, kept in .data so that the
 * clearing does not touch it), then takes its own stack and trap stack and
 * calls smp_secondary_main(hart id), which never returns.
 */
#define SMP_MAX_HARTS 8
#define SMP_STACK_SHIFT 14      /* 16 KiB per hart: the litmus loops are shallow */
#define SMP_TRAP_STACK_SHIFT 12 /* 4 KiB per hart: a trap frame and the report */

    .text
    .globl vrt_secondary_entry
    .type vrt_secondary_entry, @function
vrt_secondary_entry:
    csrw    mie, zero
    /* Harts the program has no room for stay parked. */
    li      t0, SMP_MAX_HARTS
    bgeu    a0, t0, .Lpark
    la      t0, smp_release
1:  lw      t1, 0(t0)
    bnez    t1, 2f
    pause
    j       1b
    /* Acquire: hart 0's .bss clearing and set-up are visible from here on. */
2:  fence   r, rw

    /* sp = top of smp_stacks[hart]; mscratch = top of smp_trap_stacks[hart]. */
    addi    t0, a0, 1
    slli    t1, t0, SMP_STACK_SHIFT
    la      sp, smp_stacks
    add     sp, sp, t1
    slli    t1, t0, SMP_TRAP_STACK_SHIFT
    la      t2, smp_trap_stacks
    add     t2, t2, t1
    csrw    mscratch, t2
    la      t0, vrt_trap_entry
    csrw    mtvec, t0
    /* The FPU as on hart 0: mstatus.FS = Initial, fcsr clear. */
    li      t0, (1 << 13)
    csrs    mstatus, t0
    fscsr   zero
    /* The one static TLS block (the litmus code uses no thread-local data). */
    la      tp, __tls_base
    call    smp_secondary_main
.Lpark:
1:  wfi
    j       1b
    .size vrt_secondary_entry, . - vrt_secondary_entry

    .bss
    .balign 16
    .globl smp_stacks
smp_stacks:
    .space  SMP_MAX_HARTS << SMP_STACK_SHIFT
    .balign 16
    .globl smp_trap_stacks
smp_trap_stacks:
    .space  SMP_MAX_HARTS << SMP_TRAP_STACK_SHIFT
