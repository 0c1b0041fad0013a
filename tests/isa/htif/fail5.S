/* HTIF: deliberately fails test 5 (tohost = (5 << 1) | 1 = 11), proving the
 * HTIF failure path: vessel must exit non-zero and report test 5. */
#include "htif.h"
HTIF_DEFINE_SYMBOLS
HTIF_START
        li gp, 4
        li a0, 1
        beqz a0, fail
        li gp, 5
        li a0, 1
        bnez a0, fail                   /* fails on purpose */
        HTIF_PASS
fail:   HTIF_FAIL_GP
HTIF_TRAP_HANDLER
