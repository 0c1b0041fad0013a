/*
 * AMOs from every hart at once, each hart its share of AMO_ITERATIONS:
 *   - amoadd.d on a counter, amoadd.w on both halves of one doubleword:
 *     exact totals;
 *   - amoor.w / amoand.w: hart h sets, then clears, its own bit h in words
 *     every hart works on; the old value each returns must show the bit
 *     clear before the OR and set before the AND (a lost update shows there
 *     at once, even if a later one hides it from the final value);
 *   - amomax.d / amomin.d / amomaxu.w / amominu.w with the values
 *     i * nharts + h (and their negations or complements): the final values
 *     are the extremes, and the old values a hart gets never go back;
 *   - a test-and-set spinlock (amoswap.w.aq to take it, amoswap.w.rl to give
 *     it back) around plain, non-atomic updates of a two-word structure with
 *     the invariant a + b == AMO_LOCK_SUM, checked by every holder: a + b
 *     must always hold, and a must count every pass through the lock.
 *
 * Lost updates need another hart's store between an access and its write
 * back. AMOs are single instructions, so harts taking turns on one host
 * thread never split one: every check here but the lock's only bites with
 * real parallelism. The lock's checks bite taking turns too, whenever a turn
 * ends inside the critical section (they do: see tests/smp/README.md).
 */
#include <inttypes.h>
#include <stdio.h>

#include "smp.h"

#define AMO_ITERATIONS 800000  /* shared out among the harts */
#define AMO_BIT_WORDS 16       /* the or/and words the harts share */
#define AMO_LOCK_PASSES 400000 /* shared out among the harts */
#define AMO_LOCK_SUM 1000000000u

const char litmus_name[] = "amo";

static uint64_t add_d SMP_ALIGNED;
static struct { uint32_t lo, hi; } add_w SMP_ALIGNED;
static uint32_t bits[AMO_BIT_WORDS] SMP_ALIGNED;
static int64_t max_d SMP_ALIGNED;
static int64_t min_d SMP_ALIGNED;
static uint32_t maxu_w SMP_ALIGNED;
static uint32_t minu_w SMP_ALIGNED;
static uint32_t lock SMP_ALIGNED;
static struct {
  uint64_t a, b; /* a + b == AMO_LOCK_SUM whenever the lock is free */
} guarded SMP_ALIGNED;

/* Per hart, read by hart 0 at the end. */
static struct {
  uint64_t bit_errors;  /* or/and old values that miss the hart's own update */
  uint64_t backwards;   /* a max/min old value behind an earlier one */
  uint64_t broken_sums; /* a + b != AMO_LOCK_SUM seen while holding the lock */
  uint64_t lock_spins;  /* how often the lock was busy */
} tally[SMP_MAX_HARTS] SMP_ALIGNED;

static unsigned iterations, passes; /* per hart */

void litmus_setup(unsigned nharts) {
  iterations = smp_share(AMO_ITERATIONS, nharts);
  passes = smp_share(AMO_LOCK_PASSES, nharts);
  max_d = INT64_MIN;
  min_d = INT64_MAX;
  maxu_w = 0;
  minu_w = UINT32_MAX;
  guarded.b = AMO_LOCK_SUM;
}

static void counters_and_bits(unsigned hart, unsigned nharts) {
  const uint32_t mine = 1u << hart;
  uint64_t bit_errors = 0, backwards = 0;
  int64_t last_max = INT64_MIN, last_min = INT64_MAX;
  uint32_t last_maxu = 0, last_minu = UINT32_MAX;
  for (unsigned i = 0; i < iterations; ++i) {
    AMO("amoadd.d", &add_d, 1);
    AMO("amoadd.w", &add_w.lo, 1);
    AMO("amoadd.w", &add_w.hi, 1);

    uint32_t* word = &bits[i % AMO_BIT_WORDS];
    if (AMO("amoor.w", word, mine) & mine) ++bit_errors;
    if (!(AMO("amoand.w", word, ~mine) & mine)) ++bit_errors;

    const uint64_t v = (uint64_t)i * nharts + hart;
    const int64_t old_max = (int64_t)AMO("amomax.d", &max_d, v);
    const int64_t old_min = (int64_t)AMO("amomin.d", &min_d, -(int64_t)v);
    const uint32_t old_maxu = (uint32_t)AMO("amomaxu.w", &maxu_w, v);
    const uint32_t old_minu = (uint32_t)AMO("amominu.w", &minu_w, UINT32_MAX - v);
    backwards += (old_max < last_max) + (old_min > last_min) + (old_maxu < last_maxu) +
                 (old_minu > last_minu);
    last_max = old_max;
    last_min = old_min;
    last_maxu = old_maxu;
    last_minu = old_minu;
  }
  tally[hart].bit_errors = bit_errors;
  tally[hart].backwards = backwards;
}

static void locked_updates(unsigned hart) {
  uint64_t broken = 0, spins = 0;
  volatile uint64_t* a = &guarded.a;
  volatile uint64_t* b = &guarded.b;
  for (unsigned i = 0; i < passes; ++i) {
    /* Test and test-and-set: spin reading, swap only when it looks free. */
    while (AMO("amoswap.w.aq", &lock, 1) != 0) {
      ++spins;
      SMP_SPIN_UNTIL(hart, "the amoswap lock", __atomic_load_n(&lock, __ATOMIC_RELAXED) == 0);
    }
    /* Plain loads and stores: only the lock keeps them consistent. */
    const uint64_t va = *a, vb = *b;
    if (va + vb != AMO_LOCK_SUM) ++broken;
    *a = va + 1;
    *b = vb - 1;
    AMO("amoswap.w.rl", &lock, 0);
  }
  tally[hart].broken_sums = broken;
  tally[hart].lock_spins = spins;
}

void litmus_hart(unsigned hart, unsigned nharts) {
  counters_and_bits(hart, nharts);
  smp_barrier(hart, nharts); /* all contend for the lock */
  locked_updates(hart);
}

void litmus_check(unsigned nharts) {
  const uint64_t n = (uint64_t)nharts * iterations;
  uint64_t bit_errors = 0, backwards = 0, broken = 0, spins = 0;
  for (unsigned h = 0; h < nharts; ++h) {
    bit_errors += tally[h].bit_errors;
    backwards += tally[h].backwards;
    broken += tally[h].broken_sums;
    spins += tally[h].lock_spins;
  }
  litmus_expect_eq("amoadd.d counter", add_d, n);
  litmus_expect_eq("amoadd.w counter, low half", add_w.lo, (uint32_t)n);
  litmus_expect_eq("amoadd.w counter, high half", add_w.hi, (uint32_t)n);
  litmus_expect_zero("amoor.w/amoand.w old value missing the hart's own bit", bit_errors);
  uint32_t leftover = 0;
  for (unsigned i = 0; i < AMO_BIT_WORDS; ++i) leftover |= bits[i];
  litmus_expect_eq("amoor.w/amoand.w bits left set", leftover, 0);
  litmus_expect_eq("amomax.d final value", (uint64_t)max_d, n - 1);
  litmus_expect_eq("amomin.d final value", (uint64_t)min_d, (uint64_t)(-(int64_t)(n - 1)));
  litmus_expect_eq("amomaxu.w final value", maxu_w, (uint32_t)(n - 1));
  litmus_expect_eq("amominu.w final value", minu_w, UINT32_MAX - (uint32_t)(n - 1));
  litmus_expect_zero("amomax/amomin old values going back", backwards);
  litmus_expect_zero("a + b broken inside the amoswap lock", broken);
  litmus_expect_eq("passes through the amoswap lock", guarded.a, (uint64_t)nharts * passes);
  litmus_expect_eq("a + b after the amoswap lock", guarded.a + guarded.b, AMO_LOCK_SUM);
  printf("litmus amo: %u harts, %u iterations + %u lock passes each, amoadd %" PRIu64
         ", lock busy %" PRIu64 " times, %" PRIu64 " forbidden\n",
         nharts, iterations, passes, add_d, spins, bit_errors + backwards + broken);
}
