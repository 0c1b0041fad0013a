/* qsort and bsearch on several element types and sizes. All comparators are
 * total orders (ties broken on a unique key), so the sorted result does not
 * depend on the (unstable, library-specific) algorithm. */
#include <stdlib.h>

#include "common.h"

struct rec {
    int32_t key;
    uint16_t id;
    char name[10];
    double weight;
};

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}
static int cmp_u64_desc(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x < y) - (x > y);
}
static int cmp_double(const void *a, const void *b) { /* no NaNs in the data */
    double x = *(const double *)a, y = *(const double *)b;
    if (x != y) return x < y ? -1 : 1;
    return (dbl_bits(x) > dbl_bits(y)) - (dbl_bits(x) < dbl_bits(y)); /* -0 vs +0 */
}
static int cmp_rec(const void *a, const void *b) {
    const struct rec *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return (int)x->id - (int)y->id;
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int cmp_byte(const void *a, const void *b) { return (int)*(const unsigned char *)a - (int)*(const unsigned char *)b; }

static int32_t ai[30000];
static uint64_t au[5000];
static double ad[5000];
static struct rec ar[3000];
static char names[2000][12];
static char *ps[2000];
static unsigned char bytes[10000];

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull; }

int main(void) {
    prng_t r = {31337};
    /* ints with many duplicates, already-sorted and reversed runs */
    for (int i = 0; i < 30000; i++) ai[i] = i < 10000 ? (int32_t)prng_below(&r, 1000) - 500 : i < 20000 ? i : 30000 - i;
    qsort(ai, 30000, sizeof ai[0], cmp_i32);
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < 30000; i++) h = mix(h, (uint64_t)(uint32_t)ai[i]);
    printf("int32 x30000: first %d last %d median %d hash %016" PRIx64 "\n", ai[0], ai[29999], ai[15000], h);
    for (int i = 0; i < 30000; i += 1499) printf("%d ", ai[i]);
    printf("\n");
    int32_t keys[] = {-500, -1, 0, 499, 500, 12345, 29999, 30000, -501};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        int32_t *f = bsearch(&keys[k], ai, 30000, sizeof ai[0], cmp_i32);
        printf("bsearch %d: %s\n", keys[k], f ? (*f == keys[k] ? "found" : "WRONG") : "absent");
    }

    for (int i = 0; i < 5000; i++) au[i] = prng_next(&r) >> prng_below(&r, 64);
    qsort(au, 5000, sizeof au[0], cmp_u64_desc);
    h = 0;
    for (int i = 0; i < 5000; i++) h = mix(h, au[i]);
    printf("uint64 desc: %016" PRIx64 " .. %016" PRIx64 " hash %016" PRIx64 "\n", au[0], au[4999], h);

    for (int i = 0; i < 5000; i++) {
        ad[i] = prng_unit(&r) * (double)(1 << (i % 20));
        if (i % 97 == 0) ad[i] = (i & 1) ? -0.0 : 0.0;
    }
    qsort(ad, 5000, sizeof ad[0], cmp_double);
    h = 0;
    for (int i = 0; i < 5000; i++) h = mix(h, dbl_bits(ad[i]));
    printf("double: %a .. %a, hash %016" PRIx64 "\n", ad[0], ad[4999], h);
    for (int i = 0; i < 5000; i += 250) printf("%a ", ad[i]);
    printf("\n");

    for (int i = 0; i < 3000; i++) {
        ar[i].key = (int32_t)prng_below(&r, 50);
        ar[i].id = (uint16_t)i;
        for (int k = 0; k < 3; k++) ar[i].name[k] = (char)('a' + prng_below(&r, 4));
        ar[i].name[3] = 0;
        ar[i].weight = (double)i / 7;
    }
    qsort(ar, 3000, sizeof ar[0], cmp_rec);
    h = 0;
    for (int i = 0; i < 3000; i++) h = mix(mix(h, (uint64_t)ar[i].key), ar[i].id);
    printf("records (%zu bytes each): hash %016" PRIx64 "\n", sizeof ar[0], h);
    for (int i = 0; i < 3000; i += 150) printf("{%d %s %u %a} ", ar[i].key, ar[i].name, ar[i].id, ar[i].weight);
    printf("\n");

    for (int i = 0; i < 2000; i++) {
        int len = 1 + (int)prng_below(&r, 10);
        for (int k = 0; k < len; k++) names[i][k] = (char)('A' + prng_below(&r, 26) + (prng_below(&r, 2) ? 32 : 0));
        names[i][len] = 0;
        ps[i] = names[i];
    }
    qsort(ps, 2000, sizeof ps[0], cmp_str);
    int dups = 0;
    for (int i = 1; i < 2000; i++) dups += strcmp(ps[i - 1], ps[i]) == 0;
    printf("strings: first %s last %s dups %d\n", ps[0], ps[1999], dups);
    for (int i = 0; i < 2000; i += 40) printf("%s ", ps[i]);
    printf("\n");

    for (int i = 0; i < 10000; i++) bytes[i] = (unsigned char)prng_next(&r);
    qsort(bytes, 10000, 1, cmp_byte);
    int hist[8] = {0};
    for (int i = 0; i < 10000; i++) hist[bytes[i] >> 5]++;
    printf("bytes: %u..%u hist", bytes[0], bytes[9999]);
    for (int i = 0; i < 8; i++) printf(" %d", hist[i]);
    printf("\n");
    /* tiny and degenerate inputs */
    for (int n = 0; n <= 6; n++) {
        int32_t t[6] = {5, -3, 5, 0, -3, 2};
        qsort(t, (size_t)n, sizeof t[0], cmp_i32);
        printf("n=%d:", n);
        for (int i = 0; i < n; i++) printf(" %d", t[i]);
        printf("\n");
    }
    return 0;
}
