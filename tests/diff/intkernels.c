/* Integer kernels: hashing, sorting, big-number arithmetic, CRC32, a prime
 * sieve. Deterministic; prints a lot. */
#include <stdlib.h>

#include "common.h"

/* ---- hashing ---- */
static uint64_t fnv1a64(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}
static uint32_t murmur3_32(const uint8_t *p, size_t n, uint32_t seed) {
    uint32_t h = seed;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t k = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 | (uint32_t)p[i + 3] << 24;
        k *= 0xcc9e2d51u; k = (k << 15) | (k >> 17); k *= 0x1b873593u;
        h ^= k; h = (h << 13) | (h >> 19); h = h * 5 + 0xe6546b64u;
    }
    uint32_t k = 0;
    switch (n & 3) {
    case 3: k ^= (uint32_t)p[i + 2] << 16; /* fallthrough */
    case 2: k ^= (uint32_t)p[i + 1] << 8; /* fallthrough */
    case 1: k ^= p[i]; k *= 0xcc9e2d51u; k = (k << 15) | (k >> 17); k *= 0x1b873593u; h ^= k;
    }
    h ^= (uint32_t)n;
    h ^= h >> 16; h *= 0x85ebca6bu; h ^= h >> 13; h *= 0xc2b2ae35u; h ^= h >> 16;
    return h;
}
static uint32_t adler32(const uint8_t *p, size_t n) {
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) { a = (a + p[i]) % 65521u; b = (b + a) % 65521u; }
    return b << 16 | a;
}

/* ---- CRC32 (IEEE 802.3, reflected) ---- */
static uint32_t crc_table[256];
static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}
static uint32_t crc32_table(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}
static uint32_t crc32_bitwise(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

/* ---- sorting ---- */
static void heap_sift(int64_t *a, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && a[l] > a[m]) m = l;
        if (r < n && a[r] > a[m]) m = r;
        if (m == i) return;
        int64_t t = a[i]; a[i] = a[m]; a[m] = t;
        i = m;
    }
}
static void heap_sort(int64_t *a, size_t n) {
    for (size_t i = n / 2; i-- > 0;) heap_sift(a, n, i);
    for (size_t end = n; end-- > 1;) {
        int64_t t = a[0]; a[0] = a[end]; a[end] = t;
        heap_sift(a, end, 0);
    }
}
static void merge_sort(uint32_t *a, uint32_t *tmp, size_t n) {
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
            while (i < mid) tmp[k++] = a[i++];
            while (j < hi) tmp[k++] = a[j++];
        }
        memcpy(a, tmp, n * sizeof *a);
    }
}
static void shell_sort(int16_t *a, size_t n) {
    static const size_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++)
        for (size_t i = gaps[g]; i < n; i++) {
            int16_t t = a[i];
            size_t j = i;
            for (; j >= gaps[g] && a[j - gaps[g]] > t; j -= gaps[g]) a[j] = a[j - gaps[g]];
            a[j] = t;
        }
}
static void radix_sort(uint64_t *a, uint64_t *tmp, size_t n) {
    for (int shift = 0; shift < 64; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++) count[((a[i] >> shift) & 0xff) + 1]++;
        for (int b = 0; b < 256; b++) count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++) tmp[count[(a[i] >> shift) & 0xff]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
    }
}

/* ---- big numbers: little-endian base 10^9 ---- */
#define BIG 1200
typedef struct { uint32_t d[BIG]; int n; } big_t;
static void big_set(big_t *a, uint32_t v) { memset(a, 0, sizeof *a); a->d[0] = v; a->n = 1; }
static void big_mul_small(big_t *a, uint32_t m) {
    uint64_t carry = 0;
    for (int i = 0; i < a->n; i++) {
        uint64_t t = (uint64_t)a->d[i] * m + carry;
        a->d[i] = (uint32_t)(t % 1000000000u);
        carry = t / 1000000000u;
    }
    while (carry) { a->d[a->n++] = (uint32_t)(carry % 1000000000u); carry /= 1000000000u; }
}
static void big_mul(const big_t *a, const big_t *b, big_t *r) {
    static uint64_t acc[2 * BIG];
    memset(acc, 0, sizeof(uint64_t) * (size_t)(a->n + b->n + 1));
    for (int i = 0; i < a->n; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < b->n; j++) {
            uint64_t t = acc[i + j] + (uint64_t)a->d[i] * b->d[j] + carry;
            acc[i + j] = t % 1000000000u;
            carry = t / 1000000000u;
        }
        for (int k = i + b->n; carry; k++) {
            uint64_t t = acc[k] + carry;
            acc[k] = t % 1000000000u;
            carry = t / 1000000000u;
        }
    }
    memset(r, 0, sizeof *r);
    r->n = a->n + b->n;
    for (int i = 0; i < r->n; i++) r->d[i] = (uint32_t)acc[i];
    while (r->n > 1 && r->d[r->n - 1] == 0) r->n--;
}
static void big_print(const char *label, const big_t *a) {
    printf("%s = %" PRIu32, label, a->d[a->n - 1]);
    int col = 0;
    for (int i = a->n - 2; i >= 0; i--) {
        printf("%09" PRIu32, a->d[i]);
        if (++col % 8 == 0) printf("\n    ");
    }
    printf("\n");
}
static uint64_t big_digit_sum(const big_t *a) {
    uint64_t s = 0;
    for (int i = 0; i < a->n; i++) for (uint32_t v = a->d[i]; v; v /= 10) s += v % 10;
    return s;
}

static uint8_t data[1 << 16];
static int64_t arr64[20000];
static uint32_t arr32[20000], tmp32[20000];
static int16_t arr16[5000];
static uint64_t arru[20000], tmpu[20000];
static uint8_t sieve[3000000];

int main(void) {
    prng_t r = {2024};
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)prng_next(&r);

    printf("== hashing\n");
    for (size_t len = 0; len <= 4096; len = len ? len * 2 + 1 : 1) {
        printf("len %5zu fnv1a64 %016" PRIx64 " murmur3 %08" PRIx32 " adler32 %08" PRIx32 "\n", len,
               fnv1a64(data, len), murmur3_32(data + 1, len, (uint32_t)len), adler32(data + 3, len));
    }
    const char *words[] = {"", "a", "abc", "message digest", "The quick brown fox jumps over the lazy dog"};
    for (int i = 0; i < 5; i++)
        printf("\"%s\": fnv1a64 %016" PRIx64 " murmur3 %08" PRIx32 "\n", words[i],
               fnv1a64((const uint8_t *)words[i], strlen(words[i])), murmur3_32((const uint8_t *)words[i], strlen(words[i]), 0));

    printf("== crc32\n");
    crc_init();
    printf("crc32(\"123456789\") = %08" PRIx32 "\n", crc32_table((const uint8_t *)"123456789", 9));
    uint32_t all = 0;
    for (size_t off = 0; off < sizeof data; off += 4096) {
        uint32_t a = crc32_table(data + off, 4096), b = crc32_bitwise(data + off, 4096);
        printf("block %3zu crc %08" PRIx32 " %s\n", off / 4096, a, a == b ? "ok" : "MISMATCH");
        all ^= a;
    }
    printf("crc32 whole %08" PRIx32 " xor-of-blocks %08" PRIx32 "\n", crc32_table(data, sizeof data), all);

    printf("== sorting\n");
    for (size_t i = 0; i < 20000; i++) {
        arr64[i] = (int64_t)prng_next(&r) >> (i % 40);
        arr32[i] = (uint32_t)prng_next(&r) % 100000u;
        arru[i] = prng_next(&r);
    }
    for (size_t i = 0; i < 5000; i++) arr16[i] = (int16_t)(prng_next(&r) & 0xffff);
    heap_sort(arr64, 20000);
    merge_sort(arr32, tmp32, 20000);
    shell_sort(arr16, 5000);
    radix_sort(arru, tmpu, 20000);
    int ok = 1;
    for (size_t i = 1; i < 20000; i++) ok &= arr64[i - 1] <= arr64[i] && arr32[i - 1] <= arr32[i] && arru[i - 1] <= arru[i];
    for (size_t i = 1; i < 5000; i++) ok &= arr16[i - 1] <= arr16[i];
    printf("sorted: %s\n", ok ? "yes" : "NO");
    for (size_t i = 0; i < 20000; i += 997)
        printf("[%5zu] %20" PRId64 " %6" PRIu32 " %016" PRIx64 " %6d\n", i, arr64[i], arr32[i], arru[i], arr16[i / 4]);
    uint64_t h = 0;
    for (size_t i = 0; i < 20000; i++) h = h * 31 + (uint64_t)arr64[i] + arr32[i] + arru[i];
    printf("sort checksum %016" PRIx64 "\n", h);

    printf("== big numbers\n");
    static big_t f, p2, a, b, c;
    big_set(&f, 1);
    for (uint32_t i = 2; i <= 450; i++) {
        big_mul_small(&f, i);
        if (i % 50 == 0) printf("%u! has %d limbs, digit sum %" PRIu64 "\n", i, f.n, big_digit_sum(&f));
    }
    big_print("450!", &f);
    big_set(&p2, 1);
    for (int i = 0; i < 3000; i++) big_mul_small(&p2, 2);
    big_print("2^3000", &p2);
    big_set(&a, 1);
    big_set(&b, 1);
    for (int i = 0; i < 60; i++) { big_mul_small(&a, (uint32_t)(prng_next(&r) % 999999999u) + 1); big_mul_small(&b, 3u + (uint32_t)i); }
    big_mul(&a, &b, &c);
    big_print("a", &a);
    big_print("b", &b);
    big_print("a*b", &c);
    big_mul(&f, &p2, &c);
    printf("450! * 2^3000: %d limbs, digit sum %" PRIu64 "\n", c.n, big_digit_sum(&c));
    big_mul(&c, &c, &a);
    printf("(450! * 2^3000)^2: %d limbs, digit sum %" PRIu64 ", top limb %" PRIu32 "\n", a.n, big_digit_sum(&a), a.d[a.n - 1]);

    printf("== sieve\n");
    size_t N = sizeof sieve;
    memset(sieve, 1, N);
    sieve[0] = sieve[1] = 0;
    for (size_t i = 2; i * i < N; i++)
        if (sieve[i]) for (size_t j = i * i; j < N; j += i) sieve[j] = 0;
    size_t count = 0, twins = 0, last = 0;
    uint64_t psum = 0;
    for (size_t i = 2; i < N; i++) {
        if (!sieve[i]) continue;
        count++;
        psum += i;
        if (last && i - last == 2) twins++;
        last = i;
        if (count % 5000 == 0) printf("prime #%zu = %zu\n", count, i);
    }
    printf("primes below %zu: %zu, twin pairs %zu, sum %" PRIu64 ", largest %zu\n", N, count, twins, psum, last);
    return 0;
}
