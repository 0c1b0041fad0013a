/*
 * Harness of the multi-hart litmus programs (tests/smp): every hart of the
 * machine runs litmus_hart() at once, hart 0 then checks the outcome.
 *
 * A program defines
 *   const char litmus_name[];                     "mp", "sb", ... (output prefix)
 *   void litmus_setup(unsigned nharts);           hart 0, before the others start
 *   void litmus_hart(unsigned hart, unsigned nharts);   every hart, after a barrier
 *   void litmus_check(unsigned nharts);           hart 0, after every hart finished:
 *                                                 litmus_expect*() and one summary line
 * and the harness (smp.c, smp_start.S, tests/rt) does the rest: counts the
 * harts in the device tree, releases the others from crt0, waits for all of
 * them with a deadline, and exits 0 or with the number of the first failed
 * check. Only hart 0 prints (picolibc's stdio is not for several harts),
 * except a hart that gives up waiting (smp_spin_check), which prints and exits.
 *
 * Plain shared data is accessed through volatile pointers or inside asm
 * statements that spell out the exact instruction sequence under test, so the
 * compiler neither caches, merges nor reorders what the litmus test is about.
 */
#ifndef VESSEL_SMP_H
#define VESSEL_SMP_H

#include <stdint.h>

#define SMP_MAX_HARTS 8 /* as vessel's --cpus; smp_start.S has the same */
#define SMP_LINE 64     /* shared words sit on cache lines of their own */
#define SMP_ALIGNED __attribute__((aligned(SMP_LINE)))

extern const char litmus_name[];
void litmus_setup(unsigned nharts);
void litmus_hart(unsigned hart, unsigned nharts);
void litmus_check(unsigned nharts);

/* The spin-loop hint (Zihintpause; in the FENCE encoding space, so a no-op
 * for any RV64GC hart). A scheduler that runs harts by turns may take it as
 * the moment to switch; QEMU ends the translation block there. */
static inline void smp_pause(void) {
  __asm__ volatile("pause" ::: "memory");
}

/* Each program does a fixed amount of work in all, shared out among its
 * harts (or pairs of harts): taking turns on one host thread a run costs
 * about the same at every hart count, and with fewer harts each one runs
 * longer, a longer window for them to overlap when they run at once. */
static inline unsigned smp_share(unsigned total, unsigned parts) {
  return parts == 0 ? 0 : total / parts;
}

/* A pseudo-random number (xorshift64) from *state, which must not be 0. */
static inline uint64_t smp_random(uint64_t* state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *state = x;
}

/* A few idle instructions between two iterations: random delays vary how the
 * harts' accesses line up when they run at once (as litmus tools do), so
 * more interleavings get tried. */
static inline void smp_delay(unsigned n) {
  for (unsigned i = 0; i < n; ++i) __asm__ volatile("");
}

/* Every hart waits here until all nharts have arrived (sense-reversing, so it
 * can be used again at once). Each use costs a round of turns when the harts
 * share one host thread, so the litmus loops use it rarely. */
void smp_barrier(unsigned hart, unsigned nharts);

/* Called every so often inside spin-waits: after the harness's deadline
 * (mtime, 60 s after the start) it prints "<name>: FAIL: hart H stuck in
 * WHAT" and exits, so a lost wake-up or a hart that never runs fails with a
 * reason instead of at the test's timeout. */
void smp_spin_check(unsigned hart, const char* what, unsigned* spins);

/* Spins (with the hint and the deadline) until COND holds. */
#define SMP_SPIN_UNTIL(hart, what, cond)       \
  do {                                         \
    unsigned smp_spins_ = 0;                   \
    while (!(cond)) {                          \
      smp_pause();                             \
      smp_spin_check(hart, what, &smp_spins_); \
    }                                          \
  } while (0)

/* Checks for litmus_check(): each call is one numbered check (1, 2, ... in
 * call order); a failure prints "<name>: FAIL check N (WHAT): ..." and the
 * program exits with the number of the first failed check. */
void litmus_expect_eq(const char* what, uint64_t got, uint64_t want);
void litmus_expect_zero(const char* what, uint64_t count); /* a count of forbidden outcomes */

/* Atomic memory operations, exactly the instruction named (".d" or ".w",
 * with ".aq", ".rl" or ".aqrl" where the test wants the ordering); the old
 * value, sign-extended for ".w". */
#define AMO(insn, addr, val)                         \
  ({                                                 \
    uint64_t amo_old_;                               \
    __asm__ volatile(insn " %0, %2, %1"              \
                     : "=r"(amo_old_), "+A"(*(addr)) \
                     : "r"((uint64_t)(val))          \
                     : "memory");                    \
    amo_old_;                                        \
  })

#endif
