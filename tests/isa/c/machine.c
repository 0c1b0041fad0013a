/* Machine mode (RISC-V privileged spec): CSRs, synchronous exceptions
 * (ecall, ebreak, illegal instruction, access fault), mret to U-mode,
 * CLINT timer and software interrupts, wfi. Uses the runtime's
 * vrt_handle_trap hook. RISC-V only; a native build just passes. */
#include <stdint.h>

#include "check.h"

#ifdef __riscv
#include "vessel_rt.h"

#define MCAUSE_INT (1ull << 63)
#define MSTATUS_MIE (1ull << 3)
#define MSTATUS_MPIE (1ull << 7)
#define MSTATUS_MPP (3ull << 11)
#define MSTATUS_FS (3ull << 13)
#define MSTATUS_SD (1ull << 63)
#define MIP_MSIP (1ull << 3)
#define MIP_MTIP (1ull << 7)

static volatile uint64_t trap_count, last_cause, last_epc, last_tval, last_mstatus;
static volatile uint64_t timer_irqs, soft_irqs;
static volatile int return_to_m; /* on the next U-mode ecall, continue in M-mode */

static volatile uint64_t *const mtimecmp = (volatile uint64_t *)VRT_MTIMECMP0;
static volatile uint32_t *const msip = (volatile uint32_t *)VRT_CLINT_BASE;

int vrt_handle_trap(struct vrt_trap_frame *f) {
    trap_count++;
    last_cause = f->mcause;
    last_epc = f->mepc;
    last_tval = f->mtval;
    last_mstatus = f->mstatus;
    if (f->mcause == (MCAUSE_INT | 7)) {
        timer_irqs++;
        *mtimecmp = UINT64_MAX; /* clears MTIP */
        return 1;
    }
    if (f->mcause == (MCAUSE_INT | 3)) {
        soft_irqs++;
        *msip = 0;
        return 1;
    }
    if (f->mcause & MCAUSE_INT) return 0;
    /* Synchronous: skip the instruction (16 or 32 bits). */
    uint16_t low = *(volatile uint16_t *)f->mepc;
    f->mepc += (low & 3) == 3 ? 4 : 2;
    if (f->mcause == 8 && return_to_m) {
        return_to_m = 0;
        vrt_csr_write(mstatus, vrt_csr_read(mstatus) | MSTATUS_MPP); /* mret -> M */
    }
    return 1;
}

static void test_csrs(void) {
    CHECK_EQ(vrt_boot_hartid, 0);
    CHECK_EQ(vrt_csr_read(mhartid), 0);
    uint64_t misa = vrt_csr_read(misa);
    CHECK_EQ(misa >> 62, 2); /* MXL = 64 */
    for (const char *e = "IMAFDC"; *e; e++) {
        check_count_++;
        if (!(misa & (1ull << (*e - 'A')))) {
            check_failures_++;
            printf("FAIL misa lacks %c: 0x%016" PRIx64 "\n", *e, misa);
        }
    }
    /* mstatus.FS: crt0 set Initial; FP writes make it Dirty, and SD follows. */
    volatile double x = 1.5;
    x = x * 3;
    uint64_t ms = vrt_csr_read(mstatus);
    CHECK_EQ(ms & MSTATUS_FS, MSTATUS_FS);
    CHECK_EQ(ms & MSTATUS_SD, MSTATUS_SD);
    uint64_t saved = vrt_csr_read(mscratch);
    vrt_csr_write(mscratch, 0x0123456789abcdefull);
    CHECK_EQ(vrt_csr_read(mscratch), 0x0123456789abcdefull);
    uint64_t old;
    __asm__ volatile("csrrw %0, mscratch, %1" : "=r"(old) : "r"(saved));
    CHECK_EQ(old, 0x0123456789abcdefull);
    __asm__ volatile("csrrs %0, mscratch, zero" : "=r"(old));
    CHECK_EQ(old, saved);
    CHECK_EQ(vrt_csr_read(mtvec) & 3, 0); /* direct mode, as set by crt0 */
    uint64_t i0 = vrt_rdinstret();
    for (volatile int i = 0; i < 1000; i++) {
    }
    uint64_t i1 = vrt_rdinstret();
    CHECK(i1 > i0);
    uint64_t c0 = vrt_rdcycle();
    for (volatile int i = 0; i < 1000; i++) {
    }
    CHECK(vrt_rdcycle() > c0);
    uint64_t t0 = vrt_mtime();
    for (volatile int i = 0; i < 200000; i++) {
    }
    CHECK(vrt_mtime() > t0);
}

static void test_exceptions(void) {
    uint64_t pc;
    trap_count = 0;
    __asm__ volatile(".option push\n .option norvc\n 1: auipc %0, 0\n ecall\n .option pop" : "=r"(pc));
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(last_cause, 11); /* environment call from M-mode */
    CHECK_EQ(last_epc, pc + 4);
    CHECK_EQ(last_mstatus & MSTATUS_MPP, MSTATUS_MPP); /* previous privilege M */

    __asm__ volatile(".option push\n .option norvc\n auipc %0, 0\n ebreak\n .option pop" : "=r"(pc));
    CHECK_EQ(trap_count, 2);
    CHECK_EQ(last_cause, 3);
    CHECK_EQ(last_epc, pc + 4);
    CHECK(last_tval == 0 || last_tval == pc + 4);

    __asm__ volatile("auipc %0, 0\n c.ebreak" : "=r"(pc));
    CHECK_EQ(trap_count, 3);
    CHECK_EQ(last_cause, 3);
    CHECK_EQ(last_epc, pc + 4);

    __asm__ volatile("auipc %0, 0\n .4byte 0xc0001073" : "=r"(pc)); /* unimp: csrrw x0, cycle, x0 */
    CHECK_EQ(trap_count, 4);
    CHECK_EQ(last_cause, 2);
    CHECK_EQ(last_epc, pc + 4);
    CHECK(last_tval == 0 || last_tval == 0xc0001073);

    __asm__ volatile("auipc %0, 0\n .2byte 0" : "=r"(pc)); /* all-zero 16-bit: illegal */
    CHECK_EQ(trap_count, 5);
    CHECK_EQ(last_cause, 2);
    CHECK_EQ(last_epc, pc + 4);

    __asm__ volatile("auipc %0, 0\n csrw mhartid, zero" : "=r"(pc)); /* read-only CSR */
    CHECK_EQ(trap_count, 6);
    CHECK_EQ(last_cause, 2);

    /* Unmapped physical address (a hole in the virt memory map). */
    volatile uint32_t *hole = (volatile uint32_t *)0x08000000ul;
    (void)*hole;
    CHECK_EQ(trap_count, 7);
    CHECK_EQ(last_cause, 5); /* load access fault */
    CHECK(last_tval == 0 || last_tval == 0x08000000ul);
    *hole = 1;
    CHECK_EQ(trap_count, 8);
    CHECK_EQ(last_cause, 7); /* store/AMO access fault */
    CHECK(last_tval == 0 || last_tval == 0x08000000ul);
}

static void test_user_mode(void) {
    /* Give U-mode access to everything if PMP exists (else the write traps
     * as illegal and there is no PMP to configure). */
    trap_count = 0;
    vrt_csr_write(pmpaddr0, UINT64_MAX >> 10);
    vrt_csr_write(pmpcfg0, 0x1f); /* NAPOT, R W X */
    uint64_t pmp_traps = trap_count;
    CHECK(pmp_traps == 0 || pmp_traps == 2);
    trap_count = 0;
    return_to_m = 1;
    uint64_t ms_after;
    __asm__ volatile(
        "li t0, %1\n csrc mstatus, t0\n" /* MPP = U */
        "la t0, 1f\n csrw mepc, t0\n mret\n"
        "1: csrr t0, mstatus\n"           /* U-mode: illegal instruction */
        "ecall\n"                         /* U-mode ecall: handler returns to M */
        "csrr %0, mstatus\n"
        : "=r"(ms_after) : "i"(MSTATUS_MPP) : "t0", "memory");
    CHECK_EQ(trap_count, 2);
    CHECK_EQ(last_cause, 8); /* environment call from U-mode */
    CHECK_EQ(last_mstatus & MSTATUS_MPP, 0);
    CHECK(ms_after != 0);
}

static void test_interrupts(void) {
    vrt_csr_write(mie, 0);
    *mtimecmp = UINT64_MAX;
    CHECK_EQ(vrt_csr_read(mip) & MIP_MTIP, 0);
    /* Timer pending with MIE off: wfi still wakes up, nothing is taken. */
    trap_count = 0;
    __asm__ volatile("csrc mstatus, %0" :: "r"(MSTATUS_MIE));
    vrt_csr_write(mie, MIP_MTIP);
    *mtimecmp = vrt_mtime() + 1000; /* 100 us */
    for (int i = 0; i < 1000000 && !(vrt_csr_read(mip) & MIP_MTIP); i++) __asm__ volatile("wfi");
    CHECK(vrt_csr_read(mip) & MIP_MTIP);
    CHECK_EQ(trap_count, 0);
    /* Enabling MIE takes it at once. */
    __asm__ volatile("csrs mstatus, %0\n nop\n csrc mstatus, %0" :: "r"(MSTATUS_MIE) : "memory");
    CHECK_EQ(timer_irqs, 1);
    CHECK_EQ(last_cause, MCAUSE_INT | 7);
    CHECK_EQ(last_mstatus & (MSTATUS_MIE | MSTATUS_MPIE), MSTATUS_MPIE);
    CHECK_EQ(vrt_csr_read(mip) & MIP_MTIP, 0);
    /* A timer interrupt while spinning with interrupts enabled. */
    *mtimecmp = vrt_mtime() + 2000;
    __asm__ volatile("csrs mstatus, %0" :: "r"(MSTATUS_MIE));
    for (int i = 0; i < 10000000 && timer_irqs < 2; i++) {
    }
    __asm__ volatile("csrc mstatus, %0" :: "r"(MSTATUS_MIE));
    CHECK_EQ(timer_irqs, 2);
    CHECK(vrt_csr_read(mstatus) & MSTATUS_MPIE);
    /* Software interrupt through the CLINT msip register. */
    vrt_csr_write(mie, MIP_MSIP);
    *msip = 1;
    CHECK(vrt_csr_read(mip) & MIP_MSIP);
    __asm__ volatile("csrs mstatus, %0\n nop\n csrc mstatus, %0" :: "r"(MSTATUS_MIE) : "memory");
    CHECK_EQ(soft_irqs, 1);
    CHECK_EQ(last_cause, MCAUSE_INT | 3);
    CHECK_EQ(vrt_csr_read(mip) & MIP_MSIP, 0);
    vrt_csr_write(mie, 0);
}
#endif

int main(void) {
#ifdef __riscv
    test_csrs();
    test_exceptions();
    test_user_mode();
    test_interrupts();
#endif
    return check_done("machine");
}
