/* String functions and text processing: tokenising, a word-frequency hash
 * table, searching (strstr, KMP), edit distance, base64, run-length
 * encoding, conversions (strtol/strtoul/atoi), case mapping, memmove. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "common.h"

static const char *const corpus[] = {
    "It was the best of times, it was the worst of times, it was the age of wisdom,",
    "it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity,",
    "it was the season of Light, it was the season of Darkness, it was the spring of hope,",
    "it was the winter of despair, we had everything before us, we had nothing before us,",
    "we were all going direct to Heaven, we were all going direct the other way -- in short,",
    "the period was so far like the present period, that some of its noisiest authorities",
    "insisted on its being received, for good or for evil, in the superlative degree of comparison only.",
};
#define NLINES (sizeof corpus / sizeof corpus[0])

/* ---- word frequency (open addressing) ---- */
#define TAB 512
static struct { char word[32]; int count; } tab[TAB];
static uint32_t hash_str(const char *s) {
    uint32_t h = 2166136261u;
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}
static void add_word(const char *w) {
    uint32_t i = hash_str(w) % TAB;
    while (tab[i].count && strcmp(tab[i].word, w) != 0) i = (i + 1) % TAB;
    if (!tab[i].count) strcpy(tab[i].word, w);
    tab[i].count++;
}
static int cmp_freq(const void *a, const void *b) {
    const int *x = a, *y = b;
    if (tab[*x].count != tab[*y].count) return tab[*y].count - tab[*x].count;
    return strcmp(tab[*x].word, tab[*y].word);
}

/* ---- KMP ---- */
static int kmp_count(const char *text, const char *pat) {
    int m = (int)strlen(pat), fail[64], k = 0, count = 0;
    fail[0] = 0;
    for (int i = 1; i < m; i++) {
        while (k && pat[i] != pat[k]) k = fail[k - 1];
        if (pat[i] == pat[k]) k++;
        fail[i] = k;
    }
    k = 0;
    for (const char *t = text; *t; t++) {
        while (k && *t != pat[k]) k = fail[k - 1];
        if (*t == pat[k]) k++;
        if (k == m) { count++; k = fail[k - 1]; }
    }
    return count;
}
static int naive_count(const char *text, const char *pat) {
    int count = 0;
    for (const char *p = text; (p = strstr(p, pat)) != NULL; p++) count++;
    return count;
}

static int edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    static int d[128][128];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static size_t base64_encode(const unsigned char *in, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = 0;
    return o;
}
static size_t base64_decode(const char *in, unsigned char *out) {
    size_t o = 0;
    uint32_t v = 0;
    int bits = 0;
    for (; *in && *in != '='; in++) {
        v = v << 6 | (uint32_t)(strchr(b64, *in) - b64);
        bits += 6;
        if (bits >= 8) { bits -= 8; out[o++] = (unsigned char)(v >> bits); }
    }
    return o;
}

static size_t rle(const char *in, char *out) {
    size_t o = 0;
    while (*in) {
        const char *s = in;
        while (*in == *s) in++;
        o += (size_t)sprintf(out + o, "%d%c", (int)(in - s), *s);
    }
    return o;
}

int main(void) {
    static char text[4096];
    text[0] = 0;
    for (size_t i = 0; i < NLINES; i++) { strcat(text, corpus[i]); strcat(text, "\n"); }
    printf("text: %zu bytes, %zu lines\n", strlen(text), NLINES);

    printf("== tokens\n");
    static char work[4096];
    strcpy(work, text);
    int ntok = 0;
    for (char *save, *t = strtok_r(work, " ,.-\n", &save); t; t = strtok_r(NULL, " ,.-\n", &save)) {
        char lower[32];
        size_t k = 0;
        for (; t[k] && k < 31; k++) lower[k] = (char)tolower((unsigned char)t[k]);
        lower[k] = 0;
        add_word(lower);
        ntok++;
    }
    int idx[TAB], nw = 0;
    for (int i = 0; i < TAB; i++) if (tab[i].count) idx[nw++] = i;
    qsort(idx, (size_t)nw, sizeof idx[0], cmp_freq);
    printf("%d tokens, %d distinct\n", ntok, nw);
    for (int i = 0; i < nw; i++) printf("%-14s %3d%s", tab[idx[i]].word, tab[idx[i]].count, i % 5 == 4 ? "\n" : " | ");
    printf("\n");

    printf("== search\n");
    const char *pats[] = {"it was", "the", "of", "e", "times", "season of", "xyz", "was the epoch", "  "};
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++)
        printf("\"%s\": kmp %d strstr %d first at %ld\n", pats[i], kmp_count(text, pats[i]), naive_count(text, pats[i]),
               strstr(text, pats[i]) ? (long)(strstr(text, pats[i]) - text) : -1L);
    printf("strchr 'L' at %ld, strrchr 'o' at %ld, strpbrk \"HD\" at %ld, strspn %zu, strcspn %zu\n",
           (long)(strchr(text, 'L') - text), (long)(strrchr(text, 'o') - text), (long)(strpbrk(text, "HD") - text),
           strspn(text, "Iatw s"), strcspn(text, ",;"));

    printf("== edit distance\n");
    for (size_t i = 0; i < NLINES; i++)
        for (size_t j = i + 1; j < NLINES; j++) {
            char a[128], b[128];
            snprintf(a, sizeof a, "%.100s", corpus[i]);
            snprintf(b, sizeof b, "%.100s", corpus[j]);
            printf("d(%zu,%zu)=%d%s", i, j, edit_distance(a, b), j + 1 == NLINES ? "\n" : " ");
        }

    printf("== base64 / rle\n");
    static char enc[8192];
    static unsigned char dec[8192];
    for (size_t len = 0; len < 12; len++) {
        base64_encode((const unsigned char *)corpus[0], len, enc);
        size_t dl = base64_decode(enc, dec);
        printf("%2zu: %-16s -> %2zu %s\n", len, enc, dl, memcmp(dec, corpus[0], len) == 0 ? "ok" : "BAD");
    }
    size_t el = base64_encode((const unsigned char *)text, strlen(text), enc);
    printf("text base64 (%zu): %.76s...\n", el, enc);
    printf("round trip: %s\n", base64_decode(enc, dec) == strlen(text) && memcmp(dec, text, strlen(text)) == 0 ? "ok" : "BAD");
    char rl[256];
    rle("aaabccddddde  fffffffffffffgh", rl);
    printf("rle: %s\n", rl);

    printf("== conversions\n");
    const char *nums[] = {"0", "-0", "42", "  -17xyz", "+99", "0x1F", "0777", "9223372036854775807", "9223372036854775808",
                          "-9223372036854775808", "-9223372036854775809", "18446744073709551615", "18446744073709551616",
                          "zz", "1e5", "0b101", "   ", "-", "0x", "12345678901234567890123"};
    int bases[] = {0, 2, 8, 10, 16, 36};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        printf("%-24s", nums[i]);
        for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
            char *end;
            errno = 0;
            long v = strtol(nums[i], &end, bases[b]);
            int e1 = errno;
            errno = 0;
            unsigned long u = strtoul(nums[i], NULL, bases[b]);
            printf(" b%d:%ld/%lu/%ld%s%s", bases[b], v, u, (long)(end - nums[i]), e1 == ERANGE ? "R" : "", errno == ERANGE ? "r" : "");
        }
        printf(" atoi:%d\n", atoi(nums[i]));
    }

    printf("== case / classify\n");
    for (int c = 0; c < 128; c++) {
        printf("%c", isprint(c) ? c : '.');
        printf("%d%d%d%d%d%d", !!isalpha(c), !!isdigit(c), !!isspace(c), !!ispunct(c), !!isupper(c), !!isxdigit(c));
        printf("%c", toupper(c) != c ? toupper(c) : (tolower(c) != c ? tolower(c) : '_'));
        printf("%s", c % 8 == 7 ? "\n" : " ");
    }

    printf("== memmove\n");
    char mm[64];
    for (int shift = -5; shift <= 5; shift++) {
        strcpy(mm, "0123456789abcdefghijklmnopqrstuvwxyz");
        memmove(mm + 10 + shift, mm + 10, 16);
        printf("%+d: %s\n", shift, mm);
    }
    char rev[128];
    strcpy(rev, corpus[6]);
    size_t L = strlen(rev);
    for (size_t i = 0; i < L / 2; i++) { char t = rev[i]; rev[i] = rev[L - 1 - i]; rev[L - 1 - i] = t; }
    printf("reversed: %s\n", rev);
    printf("strcmp/strncmp/memcmp signs:");
    for (size_t i = 0; i + 1 < NLINES; i++) {
        int a = strcmp(corpus[i], corpus[i + 1]), b = strncmp(corpus[i], corpus[i + 1], 3), c = memcmp(corpus[i], corpus[i + 1], 5);
        printf(" %d%d%d", (a > 0) - (a < 0), (b > 0) - (b < 0), (c > 0) - (c < 0));
    }
    printf("\n");
    return 0;
}
