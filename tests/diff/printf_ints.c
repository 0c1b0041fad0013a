/* printf integer formatting: every conversion (d i u o x X c s and %%),
 * flags (- + space # 0), widths and precisions (literal and *), length
 * modifiers (hh h l ll j z t), applied to edge values and PRNG values. */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

static const char *const sfmts[] = {
    "%d", "%i", "%5d", "%-5d|", "%05d", "%+d", "% d", "%+05d", "%-+7d|", "% 06d", "%.3d", "%8.3d", "%-8.3d|",
    "%08.3d", "%.0d", "%+.0d", "% .0d", "%3.0d",
};
static const char *const ufmts[] = {
    "%u", "%o", "%x", "%X", "%#o", "%#x", "%#X", "%10x", "%-10X|", "%010o", "%#010x", "%#.6x", "%.0u",
    "%#.0x", "%12.10u", "%#5o",
    /* not "%#.0o": for 0, C requires "0", picolibc 1.8 prints "" */
};

static void ints(int v) {
    char b[64];
    printf("int %d:", v);
    for (size_t i = 0; i < sizeof sfmts / sizeof sfmts[0]; i++) {
        snprintf(b, sizeof b, sfmts[i], v);
        printf(" [%s]", b);
    }
    printf("\n");
}
static void uints(unsigned v) {
    char b[64];
    printf("uint %u:", v);
    for (size_t i = 0; i < sizeof ufmts / sizeof ufmts[0]; i++) {
        snprintf(b, sizeof b, ufmts[i], v);
        printf(" [%s]", b);
    }
    printf("\n");
}

int main(void) {
    static const int iv[] = {0, 1, -1, 7, -7, 42, 99, 100, -100, 12345, -12345, 999999, INT_MAX, INT_MIN, INT_MAX - 1, INT_MIN + 1};
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++) ints(iv[i]);
    static const unsigned uv[] = {0, 1, 7, 8, 15, 16, 255, 256, 4095, 65535, 65536, 0x7fffffffu, 0x80000000u, UINT_MAX, 0xdeadbeefu};
    for (size_t i = 0; i < sizeof uv / sizeof uv[0]; i++) uints(uv[i]);

    printf("== long long\n");
    static const long long lv[] = {0, 1, -1, LLONG_MAX, LLONG_MIN, 1000000000000ll, -999999999999999999ll, 4294967296ll, -4294967296ll};
    for (size_t i = 0; i < sizeof lv / sizeof lv[0]; i++) {
        long long v = lv[i];
        printf("[%lld] [%25lld] [%-25lld] [%+lld] [%025lld] [%.20lld] [%llx] [%#llo] [%llu] [%ld] [%lX]\n", v, v, v, v, v,
               v, (unsigned long long)v, (unsigned long long)v, (unsigned long long)v, (long)v, (unsigned long)v);
    }
    printf("== length modifiers\n");
    for (int v = -300; v <= 300; v += 37) {
        printf("[%hhd] [%hhu] [%hhx] [%hd] [%hu] [%hx] [%jd] [%ju] [%zd] [%zu] [%td]\n", (signed char)v, (unsigned char)v,
               (unsigned char)v, (short)(v * 200), (unsigned short)(v * 200), (unsigned short)(v * 200), (intmax_t)v * 1000000007,
               (uintmax_t)v * 1000000007u, (ptrdiff_t)v * 3, (size_t)(v + 300), (ptrdiff_t)-v);
    }
    printf("== star width/precision\n");
    for (int w = -12; w <= 12; w += 3)
        for (int p = -1; p <= 8; p += 3) printf("[%*.*d] [%*.*x] [%-*d] [%.*s]\n", w, p, w * 1234, w, p, (unsigned)(w * 4321), w, p, p, "abcdefgh");
    printf("== c s %%\n");
    for (int c = 32; c < 127; c++) printf("%c", c);
    printf("\n[%5c] [%-5c] [%c%c%c]\n", 'x', 'y', 'a', 0x7e, '0');
    printf("[%s] [%10s] [%-10s] [%.3s] [%10.3s] [%-10.3s] [%s] [%%]\n", "hello", "hello", "hello", "hello", "hello", "hello", "");
    printf("== prng values\n");
    prng_t r = {99};
    uint64_t acc = 0;
    for (int i = 0; i < 2000; i++) {
        uint64_t u = prng_next(&r) >> prng_below(&r, 64);
        int64_t s = (int64_t)prng_next(&r) >> prng_below(&r, 64);
        int n = printf("%" PRIu64 " %" PRId64 " %" PRIx64 " %" PRIo64 " %#" PRIX64 " %d %u %hd|", u, s, u, u, (uint64_t)s,
                       (int)s, (unsigned)u, (short)u);
        acc = acc * 31 + (uint64_t)n;
        if (i % 4 == 3) printf("\n");
    }
    printf("printf returned-length checksum %016" PRIx64 "\n", acc);
    char buf[32];
    volatile size_t lim = 10; /* intentional truncation */
    int n = snprintf(buf, lim, "%d-%d-%d", 123456, 789012, 345678);
    printf("snprintf truncation: %d [%s]\n", n, buf);
    n = snprintf(NULL, 0, "%lld", LLONG_MIN);
    printf("snprintf(NULL,0): %d\n", n);
    return 0;
}
