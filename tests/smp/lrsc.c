/*
 * LR/SC counters: every hart adds 1 to shared counters, its share of
 * LRSC_INCREMENTS times, with lr/sc retry loops; the totals must be exact.
 *   c64:   lr.d/sc.d by every hart
 *   mixed: lr.d/sc.d by the even harts, amoadd.d by the odd ones: an SC must
 *          fail when another hart's store (here an AMO) hit the reserved
 *          address after the LR, or that hart's increment is lost
 *   w.lo:  lr.w/sc.w by every hart, while every hart also amoadd.w's w.hi,
 *          the other half of the same doubleword: sc.w writes 32 bits only
 *
 * Lost updates need a store landing between an LR and its SC. Harts taking
 * turns on one host thread (16384-instruction slices) get one only when a
 * turn ends between the two, and vessel drops every reservation at a turn
 * (so the retry is what is tested there); in parallel they collide all the
 * time. The SC-failure count says how often a retry happened.
 */
#include <inttypes.h>
#include <stdio.h>

#include "smp.h"

#define LRSC_INCREMENTS 2000000 /* per counter, shared out among the harts */

const char litmus_name[] = "lrsc";

static uint64_t c64 SMP_ALIGNED;
static uint64_t mixed SMP_ALIGNED;
static struct { uint32_t lo, hi; } w SMP_ALIGNED;
static uint64_t sc_failures[SMP_MAX_HARTS] SMP_ALIGNED;
static unsigned iterations; /* per hart */

void litmus_setup(unsigned nharts) {
  iterations = smp_share(LRSC_INCREMENTS, nharts);
}

/* *p += 1 with an lr/sc retry loop, SIZE "d" or "w" (a constrained loop:
 * LR, add, SC, branch back; the low 32 bits of the sum are right for .w
 * too); the number of failed SCs. */
#define LRSC_INC(p, size)                                                    \
  ({                                                                         \
    uint64_t v_, failed_, retries_ = 0;                                      \
    __asm__ volatile("1: lr." size                                           \
                     " %[v], (%[a])\n"                                       \
                     "   addi %[v], %[v], 1\n"                               \
                     "   sc." size                                           \
                     " %[f], %[v], (%[a])\n"                                 \
                     "   beqz %[f], 2f\n"                                    \
                     "   addi %[r], %[r], 1\n"                               \
                     "   j 1b\n"                                             \
                     "2:\n"                                                  \
                     : [v] "=&r"(v_), [f] "=&r"(failed_), [r] "+r"(retries_) \
                     : [a] "r"(p)                                            \
                     : "memory");                                            \
    retries_;                                                                \
  })

void litmus_hart(unsigned hart, unsigned nharts) {
  uint64_t failures = 0;
  for (unsigned i = 0; i < iterations; ++i) {
    failures += LRSC_INC(&c64, "d");
    if (hart % 2 == 0) {
      failures += LRSC_INC(&mixed, "d");
    } else {
      AMO("amoadd.d", &mixed, 1);
    }
    failures += LRSC_INC(&w.lo, "w");
    AMO("amoadd.w", &w.hi, 1);
  }
  sc_failures[hart] = failures;
}

void litmus_check(unsigned nharts) {
  const uint64_t want = (uint64_t)nharts * iterations;
  litmus_expect_eq("lr.d/sc.d counter", c64, want);
  litmus_expect_eq("lr.d/sc.d counter beside amoadd.d", mixed, want);
  litmus_expect_eq("lr.w/sc.w counter", w.lo, (uint32_t)want);
  litmus_expect_eq("amoadd.w on the other half of the sc.w doubleword", w.hi, (uint32_t)want);
  uint64_t failures = 0;
  for (unsigned h = 0; h < nharts; ++h) failures += sc_failures[h];
  printf("litmus lrsc: %u harts, %u iterations each, counters %" PRIu64 " %" PRIu64 " %" PRIu32
         " %" PRIu32 " (want %" PRIu64 "), %" PRIu64 " SC failures\n",
         nharts, iterations, c64, mixed, w.lo, w.hi, want, failures);
}
