/* Atomic memory operations: GCC __atomic builtins (AMOs, LR/SC loops for
 * compare-exchange) and, under __riscv, every AMO directly
 * (old value returned sign-extended for .w) and LR/SC reservation rules.
 * (GCC 12 has no inline 8/16-bit atomics for RISC-V and there is no
 * libatomic for this target, so only 32/64-bit objects are used.) */
#include <stdint.h>

#include "check.h"

static uint64_t m64;
static uint32_t m32;

static void test_builtins(void) {
    m64 = 10;
    CHECK_EQ(__atomic_fetch_add(&m64, 5, __ATOMIC_SEQ_CST), 10);
    CHECK_EQ(__atomic_fetch_sub(&m64, 20, __ATOMIC_SEQ_CST), 15);
    CHECK_EQ(m64, (uint64_t)-5);
    CHECK_EQ(__atomic_fetch_and(&m64, 0xff0, __ATOMIC_ACQUIRE), (uint64_t)-5);
    CHECK_EQ(__atomic_fetch_or(&m64, 0x1, __ATOMIC_RELEASE), 0xff0);
    CHECK_EQ(__atomic_fetch_xor(&m64, 0xfff, __ATOMIC_ACQ_REL), 0xff1);
    CHECK_EQ(__atomic_exchange_n(&m64, 0x123456789abcdef0ull, __ATOMIC_SEQ_CST), 0x00e);
    uint64_t expected = 1;
    CHECK(!__atomic_compare_exchange_n(&m64, &expected, 2, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    CHECK_EQ(expected, 0x123456789abcdef0ull);
    CHECK(__atomic_compare_exchange_n(&m64, &expected, 2, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    CHECK_EQ(m64, 2);
    CHECK_EQ(__atomic_add_fetch(&m64, 40, __ATOMIC_RELAXED), 42);
    CHECK_EQ(__atomic_load_n(&m64, __ATOMIC_ACQUIRE), 42);

    m32 = 0xfffffffeu;
    CHECK_EQ(__atomic_fetch_add(&m32, 3, __ATOMIC_SEQ_CST), 0xfffffffeu);
    CHECK_EQ(m32, 1);
    uint32_t e32 = 1;
    CHECK(__atomic_compare_exchange_n(&m32, &e32, 0x80000000u, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    CHECK_EQ(__atomic_exchange_n(&m32, 7, __ATOMIC_SEQ_CST), 0x80000000u);

    uint64_t sum = 0;
    m64 = 0;
    for (int i = 1; i <= 1000; i++) {
        sum += __atomic_fetch_add(&m64, (uint64_t)i, __ATOMIC_SEQ_CST);
    }
    CHECK_EQ(m64, 500500);
    CHECK_EQ(sum, 166666500); /* sum over i of (i-1)i/2 */
}

#ifdef __riscv
#define AMO(op, addr, val) ({ uint64_t r_; __asm__ volatile(op " %0, %2, %1" : "=r"(r_), "+A"(*(addr)) : "r"((uint64_t)(val)) : "memory"); r_; })

static void test_amo(void) {
    static uint64_t d;
    static uint32_t w[2];
    d = 5;
    CHECK_EQ(AMO("amoswap.d", &d, -1), 5);
    CHECK_EQ(AMO("amoadd.d", &d, 2), UINT64_MAX);
    CHECK_EQ(d, 1);
    CHECK_EQ(AMO("amoxor.d", &d, 3), 1);
    CHECK_EQ(AMO("amoand.d", &d, 6), 2);
    CHECK_EQ(AMO("amoor.d", &d, 8), 2);
    CHECK_EQ(d, 10);
    CHECK_EQ(AMO("amomax.d", &d, -3), 10);
    CHECK_EQ(d, 10);
    CHECK_EQ(AMO("amomaxu.d", &d, -3), 10);
    CHECK_EQ(d, (uint64_t)-3);
    CHECK_EQ(AMO("amomin.d", &d, 4), (uint64_t)-3);
    CHECK_EQ(d, (uint64_t)-3);
    CHECK_EQ(AMO("amominu.d", &d, 4), (uint64_t)-3);
    CHECK_EQ(d, 4);
    CHECK_EQ(AMO("amoadd.d.aqrl", &d, 1), 4);

    w[0] = 0xffffffffu;
    w[1] = 0x12345678u;
    CHECK_EQ(AMO("amoadd.w", &w[0], 1), UINT64_MAX); /* sign-extended old value */
    CHECK_EQ(w[0], 0);
    CHECK_EQ(w[1], 0x12345678u);
    w[0] = 0x80000000u;
    CHECK_EQ(AMO("amomax.w", &w[0], 1), 0xffffffff80000000ull);
    CHECK_EQ(w[0], 1);
    CHECK_EQ(AMO("amomaxu.w", &w[0], 0xfffffff0u), 1);
    CHECK_EQ(w[0], 0xfffffff0u);
    CHECK_EQ(AMO("amomin.w", &w[0], 0x7fffffff), 0xfffffffffffffff0ull);
    CHECK_EQ(w[0], 0xfffffff0u);
    CHECK_EQ(AMO("amominu.w", &w[0], 0x7fffffff), 0xfffffffffffffff0ull);
    CHECK_EQ(w[0], 0x7fffffffu);
    CHECK_EQ(AMO("amoswap.w", &w[0], 0xffffffff00000001ull), 0x7fffffff);
    CHECK_EQ(w[0], 1);
    CHECK_EQ(AMO("amoxor.w.aq", &w[0], 3), 1);
    CHECK_EQ(AMO("amoor.w.rl", &w[0], 0x80), 2);
    CHECK_EQ(AMO("amoand.w", &w[0], 0xf0), 0x82);
    CHECK_EQ(w[0], 0x80);
    CHECK_EQ(w[1], 0x12345678u);

    /* LR/SC: success writes 0 and stores; a second SC has no reservation. */
    uint64_t v, fail;
    d = 100;
    __asm__ volatile("lr.d %0, (%2)\n sc.d %1, %3, (%2)" : "=&r"(v), "=&r"(fail) : "r"(&d), "r"(200ull) : "memory");
    CHECK_EQ(v, 100);
    CHECK_EQ(fail, 0);
    CHECK_EQ(d, 200);
    __asm__ volatile("sc.d %0, %2, (%1)" : "=&r"(fail) : "r"(&d), "r"(300ull) : "memory");
    CHECK(fail != 0);
    CHECK_EQ(d, 200);
    w[0] = 0x80000001u;
    __asm__ volatile("lr.w %0, (%2)\n sc.w %1, %3, (%2)" : "=&r"(v), "=&r"(fail) : "r"(&w[0]), "r"(5ull) : "memory");
    CHECK_EQ(v, 0xffffffff80000001ull);
    CHECK_EQ(fail, 0);
    CHECK_EQ(w[0], 5);
    /* SC to another address than the reservation fails. */
    __asm__ volatile("lr.w %0, (%2)\n sc.w %1, %3, (%4)" : "=&r"(v), "=&r"(fail) : "r"(&w[0]), "r"(9ull), "r"(&w[1]) : "memory");
    CHECK(fail != 0);
    CHECK_EQ(w[1], 0x12345678u);
    /* With acquire/release bits. */
    __asm__ volatile("lr.d.aq %0, (%2)\n sc.d.rl %1, %3, (%2)" : "=&r"(v), "=&r"(fail) : "r"(&d), "r"(7ull) : "memory");
    CHECK_EQ(fail, 0);
    CHECK_EQ(d, 7);
}
#endif

int main(void) {
    test_builtins();
#ifdef __riscv
    test_amo();
#endif
    return check_done("atomics");
}
