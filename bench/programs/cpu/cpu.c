/* vessel CPU benchmark: CPU-bound kernels, deterministic, one checksum per
 * kernel plus a total. Portable C: the same source runs natively (host gcc),
 * bare-metal under vessel and under QEMU (tests/rt runtime). Build with
 * -ffp-contract=off on every side so the floating-point checksums agree.
 * CPU_SCALE (default 1) multiplies every kernel's repetition count.
 * After each kernel's checksum line it prints that kernel's time in
 * microseconds (`cpu: NAME time N us`): natively from CLOCK_MONOTONIC,
 * bare-metal from the CLINT's mtime (10 MHz; QEMU and vessel both drive it
 * from the host clock). The timing does not touch the checksums. */
#if !defined(__riscv) || defined(__linux__)
#define _POSIX_C_SOURCE 200809L /* clock_gettime, also under -std=c11 */
#endif
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__riscv) && !defined(__linux__)
#include "vessel_rt.h"
static uint64_t now_us(void) { return vrt_mtime() / (VRT_MTIME_HZ / 1000000); }
#else
#include <time.h>
static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
#endif

#ifndef CPU_SCALE
#define CPU_SCALE 1
#endif

static uint64_t rng_state = 0x853c49e6748fea9bull;
static uint64_t rng(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull + (h >> 29); }
static uint64_t dbits(double d) { uint64_t u; memcpy(&u, &d, sizeof u); return u; }

/* ---- integer: CRC32 (table-driven) over a 256 KiB buffer ---- */
static uint8_t buf[256 * 1024];
static uint32_t crc_tab[256];
static uint64_t k_crc32(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_tab[i] = c;
    }
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)rng();
    uint64_t h = 0;
    for (int rep = 0; rep < 360 * CPU_SCALE; rep++) {
        uint32_t c = 0xffffffffu;
        for (size_t i = 0; i < sizeof buf; i++) c = crc_tab[(c ^ buf[i]) & 0xff] ^ (c >> 8);
        h = mix(h, c ^ 0xffffffffu);
        buf[rep % sizeof buf] ^= (uint8_t)c;
    }
    return h;
}

/* ---- integer: sieve of Eratosthenes up to 4M ---- */
static uint8_t sieve[4 * 1024 * 1024];
static uint64_t k_sieve(void) {
    uint64_t h = 0;
    for (int rep = 0; rep < 12 * CPU_SCALE; rep++) {
        size_t n = sizeof sieve - (size_t)rep * 1000;
        memset(sieve, 1, n);
        sieve[0] = sieve[1] = 0;
        for (size_t i = 2; i * i < n; i++)
            if (sieve[i]) for (size_t j = i * i; j < n; j += i) sieve[j] = 0;
        uint64_t count = 0, sum = 0;
        for (size_t i = 0; i < n; i++) if (sieve[i]) { count++; sum += i; }
        h = mix(mix(h, count), sum);
    }
    return h;
}

/* ---- integer: quicksort of 200k 64-bit keys ---- */
static uint64_t keys[200000];
static void quicksort(uint64_t *a, long lo, long hi) {
    while (hi - lo > 16) {
        uint64_t p = a[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i <= j) { uint64_t t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; }
        else { quicksort(a, i, hi); hi = j; }
    }
    for (long i = lo + 1; i <= hi; i++) {
        uint64_t t = a[i];
        long j = i - 1;
        while (j >= lo && a[j] > t) { a[j + 1] = a[j]; j--; }
        a[j + 1] = t;
    }
}
static uint64_t k_sort(void) {
    uint64_t h = 0;
    const long n = sizeof keys / sizeof keys[0];
    for (int rep = 0; rep < 27 * CPU_SCALE; rep++) {
        for (long i = 0; i < n; i++) keys[i] = rng() >> (rep % 3 * 20);
        quicksort(keys, 0, n - 1);
        for (long i = 0; i < n; i += 1000) h = mix(h, keys[i]);
        for (long i = 1; i < n; i++) if (keys[i - 1] > keys[i]) h = mix(h, 0xbad);
    }
    return h;
}

/* ---- integer: open-addressing hash table, 2^18 slots ---- */
#define HT_BITS 18
static uint64_t ht_key[1u << HT_BITS];
static uint32_t ht_val[1u << HT_BITS];
static uint64_t k_hash(void) {
    uint64_t h = 0;
    const uint32_t mask = (1u << HT_BITS) - 1;
    for (int rep = 0; rep < 6 * CPU_SCALE; rep++) {
        memset(ht_key, 0, sizeof ht_key);
        uint64_t seed = 0x1234567ull + (uint64_t)rep;
        uint32_t inserted = 0;
        for (uint32_t i = 0; i < 150000; i++) { /* ~57% load */
            uint64_t k = (seed + i * 0x9e3779b97f4a7c15ull) | 1;
            uint32_t s = (uint32_t)((k * 0xff51afd7ed558ccdull) >> (64 - HT_BITS));
            while (ht_key[s] && ht_key[s] != k) s = (s + 1) & mask;
            if (!ht_key[s]) { ht_key[s] = k; inserted++; }
            ht_val[s] = i;
        }
        uint64_t found = 0, vsum = 0;
        for (uint32_t i = 0; i < 300000; i++) { /* half hits, half misses */
            uint64_t k = (seed + (i >> 1) * 0x9e3779b97f4a7c15ull + (i & 1) * 0x5555) | 1;
            uint32_t s = (uint32_t)((k * 0xff51afd7ed558ccdull) >> (64 - HT_BITS));
            while (ht_key[s] && ht_key[s] != k) s = (s + 1) & mask;
            if (ht_key[s]) { found++; vsum += ht_val[s]; }
        }
        h = mix(mix(mix(h, inserted), found), vsum);
    }
    return h;
}

/* ---- memory: random pointer chase over 8 MiB and strided walks ---- */
static uint32_t chain[2 * 1024 * 1024];
static uint64_t k_walk(void) {
    const uint32_t n = sizeof chain / sizeof chain[0];
    /* Sattolo's algorithm: a single random cycle. */
    for (uint32_t i = 0; i < n; i++) chain[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(rng() % i);
        uint32_t t = chain[i]; chain[i] = chain[j]; chain[j] = t;
    }
    uint64_t h = 0;
    uint32_t p = 0;
    for (uint32_t i = 0; i < 2000000u * CPU_SCALE; i++) p = chain[p];
    h = mix(h, p);
    for (int rep = 0; rep < CPU_SCALE; rep++)
        for (uint32_t stride = 1; stride <= 4096; stride *= 4) {
            uint64_t s = 0;
            for (uint32_t start = 0; start < stride; start += (stride + 7) / 8)
                for (uint32_t i = start; i < n; i += stride) s += chain[i];
            h = mix(h, s);
        }
    return h;
}

/* ---- memory: memcpy/memset/memmove between 2 MiB buffers ---- */
static uint8_t src[2 * 1024 * 1024], dst[2 * 1024 * 1024 + 64];
static uint64_t k_memcpy(void) {
    for (size_t i = 0; i < sizeof src; i += 8) { uint64_t v = rng(); memcpy(src + i, &v, 8); }
    uint64_t h = 0;
    for (int rep = 0; rep < 15 * CPU_SCALE; rep++) {
        size_t off = (size_t)rep % 17;
        memcpy(dst + off, src, sizeof src - 64);
        memmove(dst + 1, dst, 4096 * (size_t)(rep + 1));
        memset(dst + 1000 * (size_t)rep, rep, 30000);
        for (size_t i = 0; i < sizeof dst; i += 4093) h = mix(h, dst[i]);
    }
    /* small copies of every size */
    for (int rep = 0; rep < 20 * CPU_SCALE; rep++)
        for (size_t len = 1; len <= 256; len++) {
            memcpy(dst + (len * 7 + (size_t)rep) % 1024, src + len, len);
            h = mix(h, dst[(len * 7 + (size_t)rep) % 1024]);
        }
    return h;
}

/* ---- floating point: dense matrix multiply (double, 160x160) ---- */
#define MN 160
static double ma[MN][MN], mb[MN][MN], mc[MN][MN];
static uint64_t k_matmul(void) {
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) {
            ma[i][j] = (double)(int64_t)(rng() >> 40) * 0x1p-24 - 0.5;
            mb[i][j] = (double)(int64_t)(rng() >> 40) * 0x1p-20;
        }
    uint64_t h = 0;
    for (int rep = 0; rep < 14 * CPU_SCALE; rep++) {
        for (int i = 0; i < MN; i++) {
            for (int j = 0; j < MN; j++) mc[i][j] = 0;
            for (int k = 0; k < MN; k++) {
                double a = ma[i][k];
                for (int j = 0; j < MN; j++) mc[i][j] += a * mb[k][j];
            }
        }
        double tr = 0;
        for (int i = 0; i < MN; i++) tr += mc[i][i] + mc[i][MN - 1 - i];
        h = mix(h, dbits(tr));
        ma[rep % MN][rep % MN] += 1.0;
    }
    return h;
}

/* ---- floating point: 2D 5-point Jacobi stencil (256x256) and sqrt/div ---- */
#define SN 256
static double g0[SN][SN], g1[SN][SN];
static uint64_t k_stencil(void) {
    for (int i = 0; i < SN; i++)
        for (int j = 0; j < SN; j++) g0[i][j] = (i == 0 || j == 0) ? 100.0 : (double)((i * 31 + j * 17) % 13);
    memcpy(g1, g0, sizeof g1);
    for (int it = 0; it < 450 * CPU_SCALE; it++) {
        double (*a)[SN] = (it & 1) ? g1 : g0, (*b)[SN] = (it & 1) ? g0 : g1;
        for (int i = 1; i < SN - 1; i++)
            for (int j = 1; j < SN - 1; j++) b[i][j] = 0.25 * (a[i - 1][j] + a[i + 1][j] + a[i][j - 1] + a[i][j + 1]);
    }
    double s = 0, q = 0;
    for (int i = 0; i < SN; i++)
        for (int j = 0; j < SN; j++) {
            s += g0[i][j];
            q += __builtin_sqrt(g0[i][j] + 1.0) / (1.0 + (double)j);
        }
    float fs = 0; /* single precision too */
    for (int i = 0; i < 300000 * CPU_SCALE; i++) fs += 1.0f / (float)(1 + i % 1000) - 0.001f * (float)(i & 7);
    return mix(mix(mix(0, dbits(s)), dbits(q)), (uint64_t)dbits((double)fs));
}

struct kernel {
    const char *name;
    uint64_t (*fn)(void);
};

int main(void) {
    static const struct kernel kernels[] = {
        {"crc32", k_crc32}, {"sieve", k_sieve}, {"sort", k_sort}, {"hash", k_hash},
        {"walk", k_walk}, {"memcpy", k_memcpy}, {"matmul", k_matmul}, {"stencil", k_stencil},
    };
    uint64_t total = 0;
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
        uint64_t t0 = now_us();
        uint64_t c = kernels[i].fn();
        uint64_t t1 = now_us();
        printf("cpu: %-8s checksum 0x%016" PRIx64 "\n", kernels[i].name, c);
        printf("cpu: %-8s time %" PRIu64 " us\n", kernels[i].name, t1 - t0);
        total = mix(total, c);
    }
    printf("cpu: total    checksum 0x%08" PRIx32 "\n", (uint32_t)(total ^ (total >> 32)));
    return 0;
}
