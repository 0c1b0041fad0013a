/* setjmp/longjmp: return values, volatile locals, jumps out of deep
 * recursion, nested buffers, callee-saved integer and FP registers. */
/* dive() only ever leaves through longjmp. */
#pragma GCC diagnostic ignored "-Winfinite-recursion"

#include <setjmp.h>
#include <stdint.h>

#include "check.h"

static jmp_buf env_main, env_inner;
static int depth_reached;

static __attribute__((noinline)) int dive(int depth, int target) {
    volatile char pad[64];
    pad[0] = (char)depth;
    depth_reached = depth;
    if (depth >= target) longjmp(env_main, depth);
    return dive(depth + 1, target) + pad[0]; /* not a tail call */
}

static __attribute__((noinline)) void jump_zero(void) { longjmp(env_main, 0); }

static __attribute__((noinline)) int inner(int x) {
    int r = setjmp(env_inner);
    if (r == 0) {
        if (x > 0) longjmp(env_inner, x * 2);
        return -1;
    }
    return r;
}

/* Keeps values in callee-saved registers (s*, fs*) across setjmp; after
 * longjmp they must be restored from the jmp_buf (clobber_all trashes them
 * all, including s0/fp, and never returns normally). */
static __attribute__((noinline)) void clobber_all(void) {
#ifdef __riscv
    __asm__ volatile(
        "li s1, -1\n li s2, -1\n li s3, -1\n li s4, -1\n li s5, -1\n li s6, -1\n"
        "li s7, -1\n li s8, -1\n li s9, -1\n li s10, -1\n li s11, -1\n li s0, -1\n"
        "fmv.d.x fs0, s1\n fmv.d.x fs1, s1\n fmv.d.x fs2, s1\n fmv.d.x fs3, s1\n"
        "fmv.d.x fs4, s1\n fmv.d.x fs5, s1\n fmv.d.x fs6, s1\n fmv.d.x fs7, s1\n"
        "fmv.d.x fs8, s1\n fmv.d.x fs9, s1\n fmv.d.x fs10, s1\n fmv.d.x fs11, s1\n"
        ::: "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
            "fs0", "fs1", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11");
#endif
    longjmp(env_main, 7);
}

static __attribute__((noinline)) int setjmp_then_clobber(void) {
    volatile int count = 0;
    if (setjmp(env_main) == 0) {
        count++;
        clobber_all();
    }
    return count;
}

/* Values live across the call sit in callee-saved registers (s*, fs*); they
 * survive only if longjmp restores those registers from the jmp_buf. */
static __attribute__((noinline)) int saved_regs(int seed) {
    uint64_t a = OPQ((uint64_t)seed * 3), b = OPQ(a ^ 0x5555), c = OPQ(b + 17), d = OPQ(c * 5), e = OPQ(d - a);
    double fa = OPQ(seed * 0.5), fb = OPQ(fa + 1.25), fc = OPQ(fb * fa), fd = OPQ(fc - 3);
    int count = setjmp_then_clobber();
    return count == 1 && a == (uint64_t)seed * 3 && b == (a ^ 0x5555) && c == b + 17 && d == c * 5 &&
           e == d - a && fa == seed * 0.5 && fb == fa + 1.25 && fc == fb * fa && fd == fc - 3;
}

int main(void) {
    volatile int local = 1;
    int r = setjmp(env_main);
    if (r == 0) {
        local = 2;
        dive(0, 1000);
    }
    CHECK_EQ(r, 1000);
    CHECK_EQ(depth_reached, 1000);
    CHECK_EQ(local, 2);

    r = setjmp(env_main);
    if (r == 0) jump_zero();
    CHECK_EQ(r, 1); /* longjmp(env, 0) makes setjmp return 1 */

    CHECK_EQ(inner(21), 42);
    CHECK_EQ(inner(0), -1);

    volatile int iterations = 0;
    r = setjmp(env_main);
    if (iterations < 5) {
        iterations++;
        longjmp(env_main, iterations + 100);
    }
    CHECK_EQ(r, 105);
    CHECK_EQ(iterations, 5);

    CHECK(saved_regs(12345));
    CHECK(saved_regs(-7));
    return check_done("setjmp");
}
