/* 128-bit integer arithmetic (libgcc __multi3/__udivti3/__umodti3/... on
 * RV64 and x86-64 alike): Fibonacci, factorials, powers, Collatz, modular
 * exponentiation, Miller-Rabin, integer square roots, mixed-sign division. */
#include <stdlib.h>

#include "common.h"

static u128 mulmod(u128 a, u128 b, u128 m) { /* m < 2^127 */
    u128 r = 0;
    a %= m;
    while (b) {
        if (b & 1) { r += a; if (r >= m) r -= m; }
        a <<= 1;
        if (a >= m) a -= m;
        b >>= 1;
    }
    return r;
}
static uint64_t powmod64(uint64_t b, uint64_t e, uint64_t m) {
    u128 r = 1, x = b % m;
    while (e) {
        if (e & 1) r = r * x % m;
        x = x * x % m;
        e >>= 1;
    }
    return (uint64_t)r;
}
static int is_prime64(uint64_t n) {
    if (n < 2) return 0;
    static const uint64_t small[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    for (int i = 0; i < 12; i++) {
        if (n == small[i]) return 1;
        if (n % small[i] == 0) return 0;
    }
    uint64_t d = n - 1;
    int s = 0;
    while (!(d & 1)) { d >>= 1; s++; }
    for (int i = 0; i < 12; i++) {
        uint64_t x = powmod64(small[i], d, n);
        if (x == 1 || x == n - 1) continue;
        int comp = 1;
        for (int k = 1; k < s && comp; k++) {
            x = (uint64_t)((u128)x * x % n);
            if (x == n - 1) comp = 0;
        }
        if (comp) return 0;
    }
    return 1;
}
static u128 isqrt128(u128 n) {
    u128 x = 0, bit = (u128)1 << 126;
    while (bit > n) bit >>= 2;
    while (bit) {
        if (n >= x + bit) { n -= x + bit; x = (x >> 1) + bit; }
        else x >>= 1;
        bit >>= 2;
    }
    return x;
}

int main(void) {
    /* one buffer per argument: argument evaluation order is unspecified */
    char a[64], b[64], c[64], d[64], e[64];
    printf("== fibonacci\n");
    u128 f0 = 0, f1 = 1;
    for (int i = 1; i <= 186; i++) {
        u128 t = f0 + f1;
        f0 = f1;
        f1 = t;
        if (i % 5 == 0 || i > 180) printf("F(%d) = %s = %s\n", i + 1, u128_str(f1, a), u128_hex(f1, b));
    }
    printf("== factorials\n");
    u128 fact = 1;
    for (int i = 1; i <= 34; i++) {
        fact *= (u128)i;
        printf("%d! = %s\n", i, u128_str(fact, a));
    }
    printf("35! mod 2^128 = %s\n", u128_str(fact * 35, a));
    printf("== powers\n");
    u128 p3 = 1;
    for (int i = 0; i <= 80; i++, p3 *= 3)
        if (i % 4 == 0 || i > 76) printf("3^%d = %s\n", i, u128_str(p3, a));
    i128 pm7 = 1;
    for (int i = 0; i <= 45; i++, pm7 *= -7)
        if (i % 3 == 0 || i > 42) printf("(-7)^%d = %s\n", i, i128_str(pm7, a));
    printf("== division\n");
    prng_t r = {128};
    for (int i = 0; i < 60; i++) {
        i128 x = (i128)((u128)prng_next(&r) << 64 | prng_next(&r)) >> (i % 100);
        i128 y = (i128)((u128)prng_next(&r) << 64 | prng_next(&r)) >> (60 + i % 67);
        if (y == 0) y = -3;
        i128 q = x / y, m = x % y;
        printf("%s / %s = %s rem %s %s\n", i128_str(x, a), i128_str(y, b), i128_str(q, c), i128_str(m, d),
               q * y + m == x ? "ok" : "BAD");
        u128 ux = (u128)x, uy = (u128)y | 1;
        printf("  unsigned: %s %% %s = %s, >>%d = %s, <<%d = %s\n", u128_hex(ux, a), u128_hex(uy, b), u128_hex(ux % uy, c),
               i % 128, u128_hex(ux >> (i % 128), d), (i * 7) % 128, u128_hex(ux << ((i * 7) % 128), e));
    }
    printf("== collatz\n");
    for (uint64_t start = 1; start < 3000000; start = start * 3 + 1) {
        u128 n = start, peak = n;
        int steps = 0;
        while (n != 1) {
            n = (n & 1) ? 3 * n + 1 : n >> 1;
            if (n > peak) peak = n;
            steps++;
        }
        printf("collatz(%" PRIu64 "): %d steps, peak %s\n", start, steps, u128_str(peak, a));
    }
    u128 big = ((u128)1 << 100) + 27;
    int steps = 0;
    u128 peak = big;
    while (big != 1) { big = (big & 1) ? 3 * big + 1 : big >> 1; if (big > peak) peak = big; steps++; }
    printf("collatz(2^100+27): %d steps, peak %s\n", steps, u128_str(peak, a));
    printf("== primes near 2^63 and 2^64\n");
    int found = 0;
    for (uint64_t n = (1ull << 63) - 1; found < 8; n -= 2)
        if (is_prime64(n)) { printf("%" PRIu64 "\n", n); found++; }
    found = 0;
    for (uint64_t n = UINT64_MAX; found < 8; n -= 2)
        if (is_prime64(n)) { printf("%" PRIu64 "\n", n); found++; }
    int count = 0;
    for (uint64_t n = 1000000000000ull; n < 1000000000000ull + 20000; n++) count += is_prime64(n);
    printf("primes in [1e12, 1e12+20000): %d\n", count);
    printf("== modular\n");
    u128 m = ((u128)1 << 127) - 1; /* Mersenne prime */
    u128 x = 3, acc = 1;
    for (int i = 0; i < 127; i++) { acc = mulmod(acc, x, m); x = mulmod(x, x, m); }
    printf("3^(2^127-1) mod M127 = %s (Fermat: should be 3)\n", u128_str(acc, a));
    printf("powmod64(2, 1e18, 1e9+7) = %" PRIu64 "\n", powmod64(2, 1000000000000000000ull, 1000000007));
    printf("== isqrt\n");
    u128 v = 1;
    for (int i = 0; i < 40; i++) {
        u128 s = isqrt128(v);
        printf("isqrt(%s) = %s %s\n", u128_str(v, a), u128_str(s, b), s * s <= v && (s + 1) * (s + 1) > v ? "ok" : "BAD");
        v = v * 9 + (u128)i * 12345;
    }
    printf("isqrt(2^128-1) = %s\n", u128_str(isqrt128(~(u128)0), a));
    return 0;
}
