/* A bare-metal program for test_reverse_debug.sh (recorded with vessel run
 * --record --bios, replayed under gdb, M-mode, one hart): a loop long enough
 * for many in-memory checkpoints, and a variable written twice, far apart,
 * by the same store (poke_store), so that reverse-continue with a write
 * watchpoint must find the later write first, then the earlier one, then
 * the start of the recording. Built by the test with riscv64-unknown-elf-gcc
 * and tests/isa/common/link.ld. */
#include <stdint.h>

volatile uint64_t counter;
volatile uint64_t watched;
volatile uint64_t ring[64];

void poke(uint64_t value); /* below, in assembly: its store has a label */

__attribute__((noinline)) void bump(uint64_t i) {
  counter += i;
  ring[i & 63] = counter;
}

__attribute__((noinline, noreturn)) void finish(void) {
  *(volatile uint32_t*)0x100000 = 0x5555; /* the SiFive test finisher: pass */
  for (;;) {
  }
}

void main_c(void) {
  for (uint64_t i = 0; i < 200000; ++i) {
    bump(i);
    if (i == 50000) poke(0x1111);
    if (i == 150000) poke(0x1234);
  }
  finish();
}

__asm__(
    "  .pushsection .text.init, \"ax\"\n"
    "  .globl _start\n"
    "_start:\n"
    "  la sp, stack_top\n"
    "  call main_c\n"
    "1: j 1b\n"
    "  .popsection\n"
    "  .pushsection .text.poke, \"ax\"\n"
    "  .globl poke, poke_store, poke_after\n"
    "poke:\n"
    "  la t0, watched\n"
    "poke_store:\n"
    "  sd a0, 0(t0)\n"
    "poke_after:\n"
    "  ret\n"
    "  .popsection\n"
    "  .pushsection .bss.stack, \"aw\", @nobits\n"
    "  .balign 16\n"
    "  .space 8192\n"
    "stack_top:\n"
    "  .popsection\n");
