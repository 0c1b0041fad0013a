/*
 * The harness must be able to fail: hart 0 reads a counter, waits until
 * every other hart has added 1 to it (amoadd.d), then writes back its stale
 * value + 1, losing their updates whatever the schedule. The count check
 * must fail (check 1, exit status 1); CTest expects exactly that.
 */
#include <inttypes.h>
#include <stdio.h>

#include "smp.h"

const char litmus_name[] = "selftest";

static uint64_t counter SMP_ALIGNED;
static uint32_t read_done SMP_ALIGNED;
static uint32_t others_done SMP_ALIGNED;

void litmus_setup(unsigned nharts) {}

void litmus_hart(unsigned hart, unsigned nharts) {
  if (hart == 0) {
    const uint64_t stale = *(volatile uint64_t*)&counter;
    __atomic_store_n(&read_done, 1, __ATOMIC_RELEASE);
    SMP_SPIN_UNTIL(hart, "waiting for the increments",
                   __atomic_load_n(&others_done, __ATOMIC_ACQUIRE) == nharts - 1);
    *(volatile uint64_t*)&counter = stale + 1;
  } else {
    SMP_SPIN_UNTIL(hart, "waiting for hart 0's read",
                   __atomic_load_n(&read_done, __ATOMIC_ACQUIRE) != 0);
    AMO("amoadd.d", &counter, 1);
    __atomic_fetch_add(&others_done, 1, __ATOMIC_RELEASE);
  }
}

void litmus_check(unsigned nharts) {
  litmus_expect_eq("counter after a stale write-back", counter, nharts);
  printf("litmus selftest: %u harts, counter %" PRIu64 "\n", nharts, counter);
}
