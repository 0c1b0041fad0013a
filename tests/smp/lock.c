/*
 * Test-and-set spinlocks, each protecting a plain (non-atomic) counter and an
 * owner word, every hart taking each lock many times:
 *   amoswap: the lock Linux used on RISC-V before its generic ticket locks:
 *            amoswap.w then fence r,rw to take it (acquire), fence rw,w + sw
 *            to give it back (a store-release)
 *   lr/sc:   lr.w.aq / sc.w to take it, amoswap.w.rl to give it back
 * (tests/smp/amo.c has a third: amoswap.w.aq / amoswap.w.rl.) The counters
 * must be exact, and no holder may find the owner word taken (two harts
 * inside at once) or changed under it.
 *
 * Lost updates need a turn to end inside the critical section when the harts
 * take turns on one host thread (16384-instruction slices), which happens
 * often over thousands of turns, so a lock that does not exclude fails there
 * too; a missing fence or .aq/.rl only bites with real parallelism.
 *
 * Not a ticket lock: its strict hand-over order makes the run time depend on
 * the host's scheduler once there are more harts than host cores (QEMU
 * -smp 8 on 2 cores did not finish 16000 hand-overs in 60 s), and taking
 * turns it hands over once per turn.
 */
#include <inttypes.h>
#include <stdio.h>

#include "smp.h"

#define LOCK_PASSES 1200000 /* per lock, shared out among the harts */

const char litmus_name[] = "lock";

struct guarded {
  uint64_t counter;
  uint64_t owner; /* holder's hart + 1, 0 when free */
};

static uint32_t swap_lock SMP_ALIGNED;
static struct guarded swap_data SMP_ALIGNED;
static uint32_t lrsc_lock SMP_ALIGNED;
static struct guarded lrsc_data SMP_ALIGNED;

/* Per hart, read by hart 0 at the end: per lock, how often the owner word
 * was not as expected and how often the lock was found taken. */
static struct {
  uint64_t overlaps[2];
  uint64_t busy[2];
} tally[SMP_MAX_HARTS] SMP_ALIGNED;

static unsigned passes; /* per lock and hart */

void litmus_setup(unsigned nharts) {
  passes = smp_share(LOCK_PASSES, nharts);
}

/* The critical section: plain accesses only the lock keeps consistent. */
static uint64_t critical_section(struct guarded* g, unsigned hart) {
  volatile struct guarded* v = g;
  uint64_t overlaps = v->owner != 0;
  v->owner = hart + 1;
  v->counter = v->counter + 1;
  overlaps += v->owner != hart + 1;
  v->owner = 0;
  return overlaps;
}

/* Each trylock returns 0 when it took the lock; else the caller waits until
 * the lock looks free and tries again (test and test-and-set). */
static uint64_t swap_trylock(void) {
  uint64_t v;
  __asm__ volatile(
      "amoswap.w %[v], %[one], (%[l])\n"
      "fence r, rw\n"
      : [v] "=&r"(v)
      : [l] "r"(&swap_lock), [one] "r"(1)
      : "memory");
  return v;
}

static void swap_unlock(void) {
  __asm__ volatile(
      "fence rw, w\n"
      "sw zero, %[l]\n"
      : [l] "=m"(swap_lock)
      :
      : "memory");
}

static uint64_t lrsc_trylock(void) {
  uint64_t v;
  __asm__ volatile(
      "1: lr.w.aq %[v], (%[l])\n"
      "   bnez %[v], 2f\n"
      "   sc.w %[v], %[one], (%[l])\n"
      "   bnez %[v], 1b\n"
      "2:\n"
      : [v] "=&r"(v)
      : [l] "r"(&lrsc_lock), [one] "r"(1)
      : "memory");
  return v;
}

static void lrsc_unlock(void) {
  AMO("amoswap.w.rl", &lrsc_lock, 0);
}

static void run_lock(unsigned hart, int which, uint64_t (*trylock)(void), void (*unlock)(void),
                     uint32_t* lock, struct guarded* data, const char* what) {
  uint64_t overlaps = 0, busy = 0;
  for (unsigned i = 0; i < passes; ++i) {
    while (trylock() != 0) {
      ++busy;
      SMP_SPIN_UNTIL(hart, what, *(volatile uint32_t*)lock == 0);
    }
    overlaps += critical_section(data, hart);
    unlock();
  }
  tally[hart].overlaps[which] = overlaps;
  tally[hart].busy[which] = busy;
}

void litmus_hart(unsigned hart, unsigned nharts) {
  run_lock(hart, 0, swap_trylock, swap_unlock, &swap_lock, &swap_data, "the amoswap lock");
  smp_barrier(hart, nharts); /* all contend for the next lock */
  run_lock(hart, 1, lrsc_trylock, lrsc_unlock, &lrsc_lock, &lrsc_data, "the lr/sc lock");
}

void litmus_check(unsigned nharts) {
  uint64_t overlaps[2] = {0, 0}, busy = 0;
  for (unsigned h = 0; h < nharts; ++h) {
    overlaps[0] += tally[h].overlaps[0];
    overlaps[1] += tally[h].overlaps[1];
    busy += tally[h].busy[0] + tally[h].busy[1];
  }
  const uint64_t want = (uint64_t)nharts * passes;
  litmus_expect_zero("two holders of the amoswap lock", overlaps[0]);
  litmus_expect_eq("counter under the amoswap lock", swap_data.counter, want);
  litmus_expect_zero("two holders of the lr/sc lock", overlaps[1]);
  litmus_expect_eq("counter under the lr/sc lock", lrsc_data.counter, want);
  printf("litmus lock: %u harts, 2 locks x %u passes each, counters %" PRIu64 " %" PRIu64
         " (want %" PRIu64 "), locks busy %" PRIu64 " times, %" PRIu64 " forbidden\n",
         nharts, passes, swap_data.counter, lrsc_data.counter, want, busy,
         overlaps[0] + overlaps[1]);
}
