/* HTIF console: prints "hello from HTIF" through device 1 (bcd), command 1
 * (putchar): tohost = (1 << 56) | (1 << 48) | ch, then wait for the host's
 * response in fromhost and clear it; finally tohost = 1. */
#include "htif.h"
HTIF_DEFINE_SYMBOLS
HTIF_START
        li gp, 1
        la s0, message
        la s1, tohost
        la s2, fromhost
        li s3, (1 << 56) | (1 << 48)
next:   lbu a0, 0(s0)
        beqz a0, done
        or t0, s3, a0
        sd t0, 0(s1)
        li t6, 10000000                 /* bounded wait for the response */
wait:   ld t1, 0(s2)
        bnez t1, got
        addi t6, t6, -1
        bnez t6, wait
        j fail
got:    sd zero, 0(s2)
        addi s0, s0, 1
        j next
done:   HTIF_PASS
fail:   HTIF_FAIL_GP
HTIF_TRAP_HANDLER

        .data
message: .string "hello from HTIF\n"
