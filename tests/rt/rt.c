/* vessel bare-metal runtime: console, exit, trap reporting, picolibc hooks. */
#include "vessel_rt.h"

#include <stdio.h>
#include <stdlib.h>

uint64_t vrt_boot_hartid;
uint64_t vrt_boot_dtb;

#define UART_THR 0
#define UART_RBR 0
#define UART_LSR 5
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20

static inline volatile uint8_t *uart_reg(unsigned off) {
    return (volatile uint8_t *)(VRT_UART0_BASE + off);
}

void vrt_putc(char c) {
    while ((*uart_reg(UART_LSR) & UART_LSR_THRE) == 0) {
    }
    *uart_reg(UART_THR) = (uint8_t)c;
}

void vrt_puts(const char *s) {
    while (*s) vrt_putc(*s++);
}

void vrt_put_hex(uint64_t v) {
    static const char digits[] = "0123456789abcdef";
    vrt_puts("0x");
    for (int i = 60; i >= 0; i -= 4) vrt_putc(digits[(v >> i) & 0xf]);
}

__attribute__((noreturn)) void vrt_exit(int status) {
    volatile uint32_t *finisher = (volatile uint32_t *)VRT_TEST_BASE;
    uint32_t code = (uint32_t)status & 0xffffu;
    *finisher = code == 0 ? VRT_FINISHER_PASS : (code << 16) | VRT_FINISHER_FAIL;
    /* No finisher: stop here. */
    for (;;) __asm__ volatile("wfi");
}

/* picolibc: exit() runs atexit handlers and destructors, then _exit(). */
__attribute__((noreturn)) void _exit(int status) { vrt_exit(status); }

/* picolibc tinystdio: stdin/stdout/stderr are one unbuffered UART stream. */
static int uart_put(char c, FILE *f) {
    (void)f;
    vrt_putc(c);
    return (unsigned char)c;
}

static int uart_get(FILE *f) {
    (void)f;
    while ((*uart_reg(UART_LSR) & UART_LSR_DR) == 0) {
    }
    return *uart_reg(UART_RBR);
}

static FILE uart_file = FDEV_SETUP_STREAM(uart_put, uart_get, NULL, _FDEV_SETUP_RW);
FILE *const stdin = &uart_file;
FILE *const stdout = &uart_file;
FILE *const stderr = &uart_file;

__attribute__((weak)) int vrt_handle_trap(struct vrt_trap_frame *frame) {
    (void)frame;
    return 0;
}

static void put_field(const char *name, uint64_t v) {
    vrt_puts(name);
    vrt_put_hex(v);
}

/* Called from vrt_trap_entry (crt0.S). */
void vrt_trap(struct vrt_trap_frame *frame) {
    if (vrt_handle_trap(frame)) return;
    vrt_puts("\n*** vessel rt: unexpected trap:");
    put_field(" mcause=", frame->mcause);
    put_field(" mepc=", frame->mepc);
    put_field(" mtval=", frame->mtval);
    put_field(" ra=", frame->x[1]);
    put_field(" sp=", frame->x[2]);
    vrt_puts("\n");
    vrt_exit(VRT_TRAP_EXIT_CODE);
}

int main(int argc, char **argv);

/* Called by crt0 after .bss/TLS setup and constructors. */
__attribute__((noreturn)) void vrt_main(uint64_t hartid, uint64_t dtb) {
    (void)hartid;
    (void)dtb;
    static char *argv[] = {NULL};
    exit(main(0, argv));
}
