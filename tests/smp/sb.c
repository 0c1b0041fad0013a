/*
 * Store buffering (SB) with full fences. Harts pair up; in iteration i the
 * even hart runs  x = i; fence rw,rw; a[i] = y  and the odd one
 * y = i; fence rw,rw; b[i] = x.  The classic forbidden outcome is both loads
 * reading 0 (the stores sat in store buffers past the fences); in this
 * stream of iterations it generalises to: no i, j with a[i] < j and b[j] < i.
 * (a[i] < j: the even hart's load in iteration i came before the odd hart's
 * store y = j; b[j] < i: the odd hart's load in iteration j came before the
 * store x = i; with each store before its own hart's load, that is a cycle.)
 * The harts never wait for each other, so the test costs the same whether
 * they run by turns or at once, and hart 0 looks for such a pair afterwards
 * in O(n) with the suffix minima of a.
 *
 * Only bites with real parallelism (and an x86-64 host lets exactly this
 * reordering through unless fence rw,rw becomes a full barrier there): harts
 * taking turns on one host thread are sequentially consistent. The
 * value-changes count says how often a load saw the other hart move on.
 */
#include <inttypes.h>
#include <stdio.h>

#include "smp.h"

#define SB_ITERATIONS 2000000 /* per side, shared out among the pairs */

const char litmus_name[] = "sb";

struct sb_pair {
  uint64_t x SMP_ALIGNED;
  uint64_t y SMP_ALIGNED;
};
static struct sb_pair pairs[SMP_MAX_HARTS / 2];
static uint32_t iterations; /* per pair */
/* What the loads read: seen[0] the even harts' (a), seen[1] the odd harts'
 * (b). Pair p's iteration i (1..iterations; values fit in 32 bits) is at
 * [p * (iterations + 2) + i]; one more slot at the end for the check. */
static uint32_t seen[2][SB_ITERATIONS + SMP_MAX_HARTS];

static uint32_t* seen_by(unsigned pair, unsigned side) {
  return &seen[side][pair * (iterations + 2)];
}

void litmus_setup(unsigned nharts) {
  iterations = smp_share(SB_ITERATIONS, nharts / 2);
}

static uint64_t store_fence_load(uint64_t* store, const uint64_t* load, uint64_t i) {
  uint64_t v;
  __asm__ volatile(
      "sd %[i], %[s]\n"
      "fence rw, rw\n"
      "ld %[v], %[l]\n"
      : [v] "=&r"(v), [s] "=m"(*store)
      : [i] "r"(i), [l] "m"(*load)
      : "memory");
  return v;
}

void litmus_hart(unsigned hart, unsigned nharts) {
  if (hart / 2 >= nharts / 2) return; /* the odd one out */
  struct sb_pair* p = &pairs[hart / 2];
  uint64_t* mine = hart % 2 == 0 ? &p->x : &p->y;
  const uint64_t* theirs = hart % 2 == 0 ? &p->y : &p->x;
  uint32_t* out = seen_by(hart / 2, hart % 2);
  uint64_t seed = 0x9e3779b97f4a7c15u * (hart + 1);
  for (uint32_t i = 1; i <= iterations; ++i) {
    out[i] = (uint32_t)store_fence_load(mine, theirs, i);
    smp_delay(smp_random(&seed) % 8);
  }
}

/* The number of j with min(a[b[j] + 1 ..]) < j, turning a into its suffix
 * minima; *changes gets the number of times a or b moved from one iteration
 * to the next. */
static uint64_t count_forbidden(uint32_t* a, const uint32_t* b, uint64_t* changes) {
  for (uint32_t i = 2; i <= iterations; ++i) {
    *changes += (a[i] != a[i - 1]) + (b[i] != b[i - 1]);
  }
  a[iterations + 1] = UINT32_MAX; /* no i past the end */
  for (uint32_t i = iterations; i >= 1; --i) {
    if (a[i + 1] < a[i]) a[i] = a[i + 1];
  }
  uint64_t forbidden = 0;
  for (uint32_t j = 1; j <= iterations; ++j) {
    const uint32_t first_i = b[j] + 1; /* the first store x = i that b[j] missed */
    if (first_i <= iterations && a[first_i] < j) ++forbidden;
  }
  return forbidden;
}

void litmus_check(unsigned nharts) {
  uint64_t forbidden = 0, changes = 0;
  for (unsigned p = 0; p < nharts / 2; ++p) {
    forbidden += count_forbidden(seen_by(p, 0), seen_by(p, 1), &changes);
  }
  litmus_expect_zero("both loads missed the other hart's store, fence rw,rw", forbidden);
  printf("litmus sb: %u harts, %u pairs x %" PRIu32 " iterations, %" PRIu64
         " value changes seen, %" PRIu64 " forbidden\n",
         nharts, nharts / 2, iterations, changes, forbidden);
}
