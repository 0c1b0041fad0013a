/* String and memory functions (picolibc) at all small alignments/lengths,
 * compared against byte-loop references, plus conversions and formatting
 * whose results the C standard fixes. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static unsigned char buf_a[512], buf_b[512], buf_ref[512];

static void fill(unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
}

static void test_mem_sweep(void) {
    int bad_cpy = 0, bad_set = 0, bad_move = 0, bad_cmp = 0, bad_chr = 0;
    for (size_t src_off = 0; src_off < 9; src_off++)
        for (size_t dst_off = 0; dst_off < 9; dst_off++)
            for (size_t len = 0; len < 70; len += (len < 20 ? 1 : 7)) {
                fill(buf_a, sizeof buf_a, (unsigned)(src_off * 131 + dst_off * 17 + len));
                memset(buf_b, 0xa5, sizeof buf_b);
                memcpy(buf_ref, buf_b, sizeof buf_b);
                for (size_t i = 0; i < len; i++) buf_ref[dst_off + i] = buf_a[src_off + i];
                memcpy(OPQ(buf_b + dst_off), OPQ(buf_a + src_off), OPQ(len));
                if (memcmp(buf_b, buf_ref, 200) != 0) bad_cpy++;
                for (size_t i = 0; i < 200; i++) if (buf_b[i] != buf_ref[i]) { bad_cmp += memcmp(buf_b, buf_ref, 200) == 0; break; }

                memset(OPQ(buf_b + dst_off), (int)(0x100 + len), OPQ(len)); /* value converted to unsigned char */
                for (size_t i = 0; i < len; i++) buf_ref[dst_off + i] = (unsigned char)len;
                if (memcmp(buf_b, buf_ref, 200) != 0) bad_set++;

                /* Overlapping move in both directions. */
                fill(buf_b, 200, (unsigned)len);
                memcpy(buf_ref, buf_b, 200);
                unsigned char tmp[100];
                for (size_t i = 0; i < len; i++) tmp[i] = buf_ref[src_off + 20 + i];
                for (size_t i = 0; i < len; i++) buf_ref[dst_off + 20 + (src_off & 3) + i] = tmp[i];
                memmove(OPQ(buf_b + dst_off + 20 + (src_off & 3)), OPQ(buf_b + src_off + 20), OPQ(len));
                if (memcmp(buf_b, buf_ref, 200) != 0) bad_move++;

                if (len > 0) {
                    memcpy(buf_ref, buf_b, 200);
                    buf_ref[dst_off + len - 1] ^= 0x80;
                    int c = memcmp(OPQ(buf_b + dst_off), OPQ(buf_ref + dst_off), OPQ(len));
                    if ((c < 0) != (buf_b[dst_off + len - 1] < buf_ref[dst_off + len - 1]) || c == 0) bad_cmp++;
                    if (memcmp(buf_b + dst_off, buf_ref + dst_off, len - 1) != 0) bad_cmp++;
                    unsigned char needle = 0xfe;
                    buf_b[dst_off + len - 1] = needle;
                    const unsigned char *want = NULL;
                    for (size_t i = 0; i < len; i++) if (buf_b[dst_off + i] == needle) { want = &buf_b[dst_off + i]; break; }
                    if (memchr(OPQ(buf_b + dst_off), needle, OPQ(len)) != want) bad_chr++;
                }
            }
    CHECK_EQ(bad_cpy, 0);
    CHECK_EQ(bad_set, 0);
    CHECK_EQ(bad_move, 0);
    CHECK_EQ(bad_cmp, 0);
    CHECK_EQ(bad_chr, 0);
}

static void test_str(void) {
    char s[64];
    int bad = 0;
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len < 40; len++) {
            memset(s, 'x', sizeof s);
            s[off + len] = 0;
            if (strlen(OPQ(s + off)) != len) bad++;
            if (strnlen(s + off, 5) != (len < 5 ? len : 5)) bad++;
        }
    CHECK_EQ(bad, 0);
    CHECK(strcmp(OPQ("abc"), "abd") < 0);
    CHECK(strcmp(OPQ("abc"), "abc") == 0);
    CHECK(strcmp(OPQ("abcd"), "abc") > 0);
    CHECK(strcmp(OPQ("\xff"), "\x01") > 0); /* compared as unsigned char */
    CHECK(strncmp(OPQ("abcX"), "abcY", 3) == 0);
    CHECK(strncmp(OPQ("abcX"), "abcY", 4) < 0);
    CHECK(memcmp(OPQ("\x80"), "\x7f", 1) > 0);
    char d[16];
    memset(d, 'Z', sizeof d);
    strncpy(d, OPQ("hi"), 6);
    CHECK(memcmp(d, "hi\0\0\0\0ZZ", 8) == 0);
    strncpy(d, OPQ("overflowing"), 4);
    CHECK(memcmp(d, "over\0\0ZZ", 8) == 0);
    strcpy(d, OPQ("foo"));
    strcat(d, OPQ("bar"));
    CHECK_STR(d, "foobar");
    strncat(d, OPQ("bazqux"), 3);
    CHECK_STR(d, "foobarbaz");
    const char *h = OPQ("hello, world");
    CHECK(strchr(h, 'o') == h + 4);
    CHECK(strrchr(h, 'o') == h + 8);
    CHECK(strchr(h, 0) == h + 12);
    CHECK(strchr(h, 'z') == NULL);
    CHECK(strstr(h, "wor") == h + 7);
    CHECK(strstr(h, "") == h);
    CHECK(strstr(h, "worlds") == NULL);
    CHECK_EQ(strspn(h, "hel"), 4);
    CHECK_EQ(strcspn(h, " ,"), 5);
    CHECK(strpbrk(h, "dw") == h + 7);
    char tok[] = "  a,b ,, c  ";
    char *save;
    CHECK_STR(strtok_r(tok, " ,", &save), "a");
    CHECK_STR(strtok_r(NULL, " ,", &save), "b");
    CHECK_STR(strtok_r(NULL, " ,", &save), "c");
    CHECK(strtok_r(NULL, " ,", &save) == NULL);
    char *dup = strdup(OPQ("duplicate"));
    CHECK(dup != NULL && strcmp(dup, "duplicate") == 0);
    free(dup);
    CHECK(toupper('a') == 'A' && tolower('Q') == 'q' && toupper('1') == '1');
    CHECK(isdigit('7') && !isdigit('a') && isspace('\t') && isalpha('z') && !isalnum('_') && isxdigit('F'));
}

static void test_conv(void) {
    char *end;
    errno = 0;
    CHECK_EQ(strtol(OPQ("  -12345xyz"), &end, 10), -12345);
    CHECK_STR(end, "xyz");
    CHECK_EQ(strtol(OPQ("0x7fffffffffffffff"), NULL, 16), INT64_MAX);
    CHECK_EQ(strtol(OPQ("0x1f"), NULL, 0), 31);
    CHECK_EQ(strtol(OPQ("017"), NULL, 0), 15);
    CHECK_EQ(strtol(OPQ("z"), NULL, 36), 35);
    CHECK_EQ(strtol(OPQ("-9223372036854775808"), NULL, 10), INT64_MIN);
    CHECK_EQ(errno, 0);
    CHECK_EQ(strtol(OPQ("9223372036854775808"), NULL, 10), LONG_MAX);
    CHECK_EQ(errno, ERANGE);
    errno = 0;
    CHECK_EQ(strtol(OPQ("-9223372036854775809"), NULL, 10), LONG_MIN);
    CHECK_EQ(errno, ERANGE);
    errno = 0;
    CHECK_EQ(strtoul(OPQ("18446744073709551615"), NULL, 10), ULONG_MAX);
    CHECK_EQ(errno, 0);
    CHECK_EQ(strtoul(OPQ("18446744073709551616"), NULL, 10), ULONG_MAX);
    CHECK_EQ(errno, ERANGE);
    errno = 0;
    CHECK_EQ(strtoul(OPQ("-1"), NULL, 10), ULONG_MAX); /* negated in the return type */
    CHECK_EQ(strtoull(OPQ("1010"), NULL, 2), 10);
    CHECK_EQ(strtol(OPQ("  +0"), &end, 10), 0);
    CHECK_EQ(*end, 0);
    CHECK_EQ(atoi(OPQ("-42")), -42);
    CHECK_F64(strtod(OPQ("0.1"), NULL), 0x3fb999999999999a);
    CHECK_F64(strtod(OPQ("-1e-310"), NULL), 0x800012688b70e62b);
    CHECK_F64(strtod(OPQ("0x1.8p1"), NULL), 0x4008000000000000);
    CHECK_F64(strtod(OPQ("1e400"), NULL), 0x7ff0000000000000);
    CHECK_F64(strtod(OPQ("-inf"), NULL), 0xfff0000000000000);
    CHECK_F64(strtod(OPQ("2.2250738585072014e-308"), NULL), 0x0010000000000000);
    CHECK_F32(strtof(OPQ("3.4028235e38"), NULL), 0x7f7fffff);
}

static void test_format(void) {
    char b[128];
    CHECK_EQ(snprintf(b, sizeof b, "%d|%5d|%-5d|%05d|%+d|% d", 42, 42, 42, -42, 42, 42), 28);
    CHECK_STR(b, "42|   42|42   |-0042|+42| 42");
    snprintf(b, sizeof b, "%x|%X|%#x|%o|%#o|%u", 255u, 255u, 255u, 8u, 8u, 4294967295u);
    CHECK_STR(b, "ff|FF|0xff|10|010|4294967295");
    snprintf(b, sizeof b, "%lld|%llu|%llx", LLONG_MIN, ULLONG_MAX, 0x123456789abcdefull);
    CHECK_STR(b, "-9223372036854775808|18446744073709551615|123456789abcdef");
    snprintf(b, sizeof b, "%.3d|%.0d|%*d|%-*d|%hhd|%hd", 7, 0, 4, 1, 3, 2, 300, 70000);
    CHECK_STR(b, "007||   1|2  |44|4464");
    snprintf(b, sizeof b, "%s|%.2s|%6s|%-6s|%c|%%", "abc", "abc", "ab", "ab", 'q');
    CHECK_STR(b, "abc|ab|    ab|ab    |q|%");
    snprintf(b, sizeof b, "%.2f|%8.3f|%-8.1f|%e|%.0f|%.0f|%g|%g", 3.14159, -2.5, 0.25, 1234.5, 0.75, 1.5, 100000.0, 1e6);
    CHECK_STR(b, "3.14|  -2.500|0.2     |1.234500e+03|1|2|100000|1e+06");
    snprintf(b, sizeof b, "%a|%a|%f|%f|%F", 1.0, -0.375, 1.0 / 0.0, -(0.0 / 0.0) * 0.0 + 0.0 * 0, -1.0 / 0.0);
    CHECK(strncmp(b, "0x1p+0|-0x1.8p-2|inf|", 21) == 0);
    CHECK(strstr(b, "nan|-INF") != NULL);
    CHECK_EQ(snprintf(b, OPQ((size_t)5), "%s", "truncated"), 9);
    CHECK_STR(b, "trun");
    CHECK_EQ(snprintf(NULL, 0, "%d", 123456), 6);
    int n1, n2;
    CHECK_EQ(sscanf(OPQ("12 0x1F rest"), "%d %i%n", &n1, &n2, &(int){0}), 2);
    CHECK_EQ(n1, 12);
    CHECK_EQ(n2, 31);
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void test_sort_alloc(void) {
    enum { N = 1000 };
    int *v = malloc(N * sizeof *v);
    CHECK(v != NULL);
    unsigned seed = 1;
    long sum = 0;
    for (int i = 0; i < N; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (int)(seed >> 8) - (1 << 23);
        sum += v[i];
    }
    qsort(v, N, sizeof *v, cmp_int);
    int sorted = 1;
    long sum2 = 0;
    for (int i = 0; i < N; i++) {
        if (i && v[i - 1] > v[i]) sorted = 0;
        sum2 += v[i];
    }
    CHECK(sorted);
    CHECK_EQ(sum2, sum);
    int key = v[123];
    int *found = bsearch(&key, v, N, sizeof *v, cmp_int);
    CHECK(found != NULL && *found == key);
    v = realloc(v, 2 * N * sizeof *v);
    CHECK(v != NULL && v[123] == key);
    int *z = calloc(100, sizeof *z);
    int zero = 1;
    for (int i = 0; i < 100; i++) zero &= z[i] == 0;
    CHECK(zero);
    free(z);
    free(v);
}

int main(void) {
    test_mem_sweep();
    test_str();
    test_conv();
    test_format();
    test_sort_alloc();
    return check_done("string");
}
