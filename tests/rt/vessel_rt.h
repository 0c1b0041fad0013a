/*
 * vessel bare-metal runtime for RISC-V test programs (M-mode, QEMU `virt`).
 *
 * Programs are ordinary C programs with `int main(void)` (or
 * `int main(int argc, char **argv)`, argc = 0) using picolibc: printf & co.
 * write to the 16550 UART, exit(code) / returning from main stops the machine
 * through the SiFive test finisher (exit status = code). An unexpected trap
 * prints mcause/mepc/mtval and exits with status 99 (VRT_TRAP_EXIT_CODE).
 */
#ifndef VESSEL_RT_H
#define VESSEL_RT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* QEMU `virt` physical memory map (hw/riscv/virt.c). */
#define VRT_TEST_BASE 0x00100000UL /* SiFive test finisher */
#define VRT_CLINT_BASE 0x02000000UL
#define VRT_MTIME_ADDR (VRT_CLINT_BASE + 0xbff8UL)
#define VRT_MTIMECMP0 (VRT_CLINT_BASE + 0x4000UL)
#define VRT_UART0_BASE 0x10000000UL
#define VRT_RAM_BASE 0x80000000UL
#define VRT_MTIME_HZ 10000000UL /* CLINT timebase: 10 MHz */

#define VRT_FINISHER_PASS 0x5555u
#define VRT_FINISHER_FAIL 0x3333u /* (code << 16) | FAIL */
#define VRT_TRAP_EXIT_CODE 99

/* Boot arguments saved by crt0 (a0, a1 at entry). */
extern uint64_t vrt_boot_hartid;
extern uint64_t vrt_boot_dtb;

/* Register frame handed to vrt_handle_trap(). x[2] is the interrupted sp. */
struct vrt_trap_frame {
  uint64_t x[32];
  uint64_t mepc;
  uint64_t mcause;
  uint64_t mtval;
  uint64_t mstatus;
};

/*
 * Weak hook: called for every trap. Return non-zero to resume (at
 * frame->mepc, with the frame's registers; e.g. frame->mepc += 4 to skip the
 * trapping instruction) or 0 for the default: print the trap and exit 99.
 */
int vrt_handle_trap(struct vrt_trap_frame* frame);

/* Raw console output, independent of stdio. */
void vrt_putc(char c);
void vrt_puts(const char* s); /* no newline added */
void vrt_put_hex(uint64_t v); /* 0x%016llx */

/* Stop the machine: status 0 = pass, else fail with status (1..0xffff). */
__attribute__((noreturn)) void vrt_exit(int status);

static inline uint64_t vrt_mtime(void) {
  return *(volatile uint64_t*)VRT_MTIME_ADDR;
}

#define vrt_csr_read(csr)                                     \
  ({                                                          \
    uint64_t __v;                                             \
    __asm__ volatile("csrr %0, " #csr : "=r"(__v)::"memory"); \
    __v;                                                      \
  })
#define vrt_csr_write(csr, val) \
  __asm__ volatile("csrw " #csr ", %0" ::"rK"((uint64_t)(val)) : "memory")

static inline uint64_t vrt_rdcycle(void) {
  return vrt_csr_read(mcycle);
}
static inline uint64_t vrt_rdinstret(void) {
  return vrt_csr_read(minstret);
}

#ifdef __cplusplus
}
#endif

#endif /* VESSEL_RT_H */
