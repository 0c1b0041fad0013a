/*
 * Message passing (MP). Harts pair up, even = writer, odd = reader. The
 * writer publishes i = 1, 2, ... : data1 = i, data2 = i, then flag = i; the
 * reader keeps reading flag, then the data. Values only grow, so a reader
 * that sees flag = f must see both data >= f: anything less is an outcome
 * RVWMO forbids. No per-iteration handshake: the writer never waits, and the
 * reader stops once it has seen the last flag, so the test costs the same
 * whether the harts run by turns or at once.
 *
 * Two phases, the stream continuing from one to the next:
 *   fences: data stores, fence w,w, flag store | flag load, fence r,r, data loads
 *   aq/rl:  data stores, amoswap.d.rl to flag  | lr.d.aq of flag, data loads
 *
 * Only bites with real parallelism: on harts taking turns on one host thread
 * every outcome is sequentially consistent. The flag-changes count says how
 * often a reader saw the writer move on; taking turns it is about one per
 * turn, in parallel many more.
 */
#include <inttypes.h>
#include <stdio.h>

#include "smp.h"

#define MP_WRITES 4000000 /* per phase, shared out among the pairs */

const char litmus_name[] = "mp";

struct mp_pair {
  uint64_t data1 SMP_ALIGNED; /* a line of its own */
  uint64_t flag SMP_ALIGNED;
  uint64_t data2; /* beside the flag: same line, other word */
  /* The reader's tallies, per phase; hart 0 reads them after the done count. */
  uint64_t changes[2] SMP_ALIGNED;
  uint64_t forbidden[2];
  uint64_t backwards; /* flag values out of order: coherence forbids it too */
};
static struct mp_pair pairs[SMP_MAX_HARTS / 2];
static uint64_t writes; /* per pair and phase */

void litmus_setup(unsigned nharts) {
  writes = smp_share(MP_WRITES, nharts / 2);
}

static void write_fences(struct mp_pair* p, uint64_t i) {
  __asm__ volatile(
      "sd %[i], %[d1]\n"
      "sd %[i], %[d2]\n"
      "fence w, w\n"
      "sd %[i], %[f]\n"
      : [d1] "=m"(p->data1), [d2] "=m"(p->data2), [f] "=m"(p->flag)
      : [i] "r"(i)
      : "memory");
}

static void write_release(struct mp_pair* p, uint64_t i) {
  __asm__ volatile(
      "sd %[i], %[d1]\n"
      "sd %[i], %[d2]\n"
      "amoswap.d.rl zero, %[i], (%[f])\n"
      : [d1] "=m"(p->data1), [d2] "=m"(p->data2)
      : [i] "r"(i), [f] "r"(&p->flag)
      : "memory");
}

struct mp_seen {
  uint64_t flag, data1, data2;
};

static struct mp_seen read_fences(struct mp_pair* p) {
  struct mp_seen s;
  __asm__ volatile(
      "ld %[f], %[fm]\n"
      "fence r, r\n"
      "ld %[d1], %[d1m]\n"
      "ld %[d2], %[d2m]\n"
      : [f] "=&r"(s.flag), [d1] "=&r"(s.data1), [d2] "=&r"(s.data2)
      : [fm] "m"(p->flag), [d1m] "m"(p->data1), [d2m] "m"(p->data2)
      : "memory");
  return s;
}

static struct mp_seen read_acquire(struct mp_pair* p) {
  struct mp_seen s;
  __asm__ volatile(
      "lr.d.aq %[f], (%[fa])\n"
      "ld %[d1], %[d1m]\n"
      "ld %[d2], %[d2m]\n"
      : [f] "=&r"(s.flag), [d1] "=&r"(s.data1), [d2] "=&r"(s.data2)
      : [fa] "r"(&p->flag), [d1m] "m"(p->data1), [d2m] "m"(p->data2)
      : "memory");
  return s;
}

static void read_phase(unsigned hart, struct mp_pair* p, int phase, uint64_t last_flag) {
  uint64_t last = phase * writes;
  unsigned spins = 0;
  while (last < last_flag) {
    const struct mp_seen s = phase == 0 ? read_fences(p) : read_acquire(p);
    if (s.flag < last) ++p->backwards;
    if (s.flag > last) {
      ++p->changes[phase];
      last = s.flag;
    }
    if (s.data1 < s.flag || s.data2 < s.flag) ++p->forbidden[phase];
    smp_spin_check(hart, "reading the flag", &spins);
  }
}

void litmus_hart(unsigned hart, unsigned nharts) {
  if (hart / 2 >= nharts / 2) return; /* the odd one out */
  struct mp_pair* p = &pairs[hart / 2];
  if (hart % 2 == 0) {
    uint64_t seed = 0x9e3779b97f4a7c15u * (hart + 1);
    for (uint64_t i = 1; i <= writes; ++i) {
      write_fences(p, i);
      smp_delay(smp_random(&seed) % 8);
    }
    for (uint64_t i = writes + 1; i <= 2 * writes; ++i) {
      write_release(p, i);
      smp_delay(smp_random(&seed) % 8);
    }
  } else {
    read_phase(hart, p, 0, writes);
    read_phase(hart, p, 1, 2 * writes);
  }
}

void litmus_check(unsigned nharts) {
  uint64_t changes = 0, forbidden[2] = {0, 0}, backwards = 0;
  for (unsigned i = 0; i < nharts / 2; ++i) {
    changes += pairs[i].changes[0] + pairs[i].changes[1];
    forbidden[0] += pairs[i].forbidden[0];
    forbidden[1] += pairs[i].forbidden[1];
    backwards += pairs[i].backwards;
  }
  litmus_expect_zero("flag seen before the data, fence w,w / fence r,r", forbidden[0]);
  litmus_expect_zero("flag seen before the data, amoswap.rl / lr.aq", forbidden[1]);
  litmus_expect_zero("flag read going backwards", backwards);
  printf("litmus mp: %u harts, %u pairs x 2 phases x %" PRIu64 " writes, %" PRIu64
         " flag changes seen, %" PRIu64 " forbidden\n",
         nharts, nharts / 2, writes, changes, forbidden[0] + forbidden[1] + backwards);
}
