/* HTIF: a few checks, then tohost = 1. */
#include "htif.h"
HTIF_DEFINE_SYMBOLS
HTIF_START
        li gp, 1
        li a0, 40
        addi a0, a0, 2
        li a1, 42
        bne a0, a1, fail
        li gp, 2
        li a0, 6
        li a1, 7
        mul a0, a0, a1
        li a1, 42
        bne a0, a1, fail
        /* fromhost starts at zero */
        li gp, 3
        la t0, fromhost
        ld a0, 0(t0)
        bnez a0, fail
        HTIF_PASS
fail:   HTIF_FAIL_GP
HTIF_TRAP_HANDLER
