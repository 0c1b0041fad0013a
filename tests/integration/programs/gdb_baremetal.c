/* A bare-metal program for test_gdb.sh (vessel run --bios, M-mode, one
 * hart): functions to break on, a variable to read, a store to watch. Built
 * by the test with riscv64-unknown-elf-gcc and tests/isa/common/link.ld. */
#include <stdint.h>

volatile uint64_t counter;
volatile uint64_t watched;
volatile uint64_t sink;

void poke(void);  /* below, in assembly: its store has a label */

__attribute__((noinline)) void bump(uint64_t i) { counter += i; }

__attribute__((noinline, noreturn)) void finish(void) {
  *(volatile uint32_t *)0x100000 = 0x5555; /* the SiFive test finisher: pass */
  for (;;) {
  }
}

void main_c(void) {
  for (uint64_t i = 0; i < 1000; ++i) bump(i);
  sink = counter;
  poke();
  finish();
}

/* poke_store is the store a write watchpoint on `watched` must stop at;
 * poke_after is where gdb shows the stop (it steps over the store). */
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
    "  li t1, 0x1234\n"
    "poke_store:\n"
    "  sd t1, 0(t0)\n"
    "poke_after:\n"
    "  ret\n"
    "  .popsection\n"
    "  .pushsection .bss.stack, \"aw\", @nobits\n"
    "  .balign 16\n"
    "  .space 8192\n"
    "stack_top:\n"
    "  .popsection\n");
