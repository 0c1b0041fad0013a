/* Recursion-heavy kernels: Ackermann, naive Fibonacci, N-queens, Hanoi,
 * mutual recursion, recursive-descent parsing, deep non-tail recursion.
 * The expected results are mathematical facts. */
#include <stdint.h>

#include "check.h"

static __attribute__((noinline)) uint64_t ack(uint64_t m, uint64_t n) {
    if (m == 0) return n + 1;
    if (n == 0) return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

static __attribute__((noinline)) uint64_t fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static int queens(int n, int row, uint32_t cols, uint32_t d1, uint32_t d2) {
    if (row == n) return 1;
    int count = 0;
    for (int c = 0; c < n; c++) {
        uint32_t a = 1u << c, b = 1u << (row + c), e = 1u << (row - c + n - 1);
        if ((cols & a) || (d1 & b) || (d2 & e)) continue;
        count += queens(n, row + 1, cols | a, d1 | b, d2 | e);
    }
    return count;
}

static uint64_t hanoi_moves;
static int pegs[3];
static void hanoi(int n, int from, int to, int via) {
    if (n == 0) return;
    hanoi(n - 1, from, via, to);
    pegs[from]--;
    pegs[to]++;
    hanoi_moves++;
    hanoi(n - 1, via, to, from);
}

static int is_odd(unsigned n);
static __attribute__((noinline)) int is_even(unsigned n) { return n == 0 ? 1 : is_odd(n - 1); }
static __attribute__((noinline)) int is_odd(unsigned n) { return n == 0 ? 0 : is_even(n - 1); }

/* expr := term (('+'|'-') term)*; term := factor (('*'|'/') factor)*;
 * factor := number | '(' expr ')' | '-' factor */
static const char *pp;
static int64_t parse_expr(void);
static int64_t parse_factor(void) {
    if (*pp == '(') {
        pp++;
        int64_t v = parse_expr();
        pp++; /* ')' */
        return v;
    }
    if (*pp == '-') {
        pp++;
        return -parse_factor();
    }
    int64_t v = 0;
    while (*pp >= '0' && *pp <= '9') v = v * 10 + (*pp++ - '0');
    return v;
}
static int64_t parse_term(void) {
    int64_t v = parse_factor();
    while (*pp == '*' || *pp == '/') {
        char op = *pp++;
        int64_t r = parse_factor();
        v = op == '*' ? v * r : v / r;
    }
    return v;
}
static int64_t parse_expr(void) {
    int64_t v = parse_term();
    while (*pp == '+' || *pp == '-') {
        char op = *pp++;
        int64_t r = parse_term();
        v = op == '+' ? v + r : v - r;
    }
    return v;
}
static int64_t eval(const char *s) {
    pp = s;
    return parse_expr();
}

static __attribute__((noinline)) uint64_t deep_sum(uint64_t n) {
    volatile uint64_t keep = n; /* forces a real frame */
    return n == 0 ? 0 : keep + deep_sum(n - 1);
}

static void merge_sort(int32_t *a, int32_t *tmp, int n) {
    if (n < 2) return;
    int h = n / 2;
    merge_sort(a, tmp, h);
    merge_sort(a + h, tmp, n - h);
    int i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
    while (i < h) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    for (k = 0; k < n; k++) a[k] = tmp[k];
}

static int32_t arr[4096], tmp[4096];

int main(void) {
    CHECK_EQ(ack(OPQ(2u), 3), 9);
    CHECK_EQ(ack(OPQ(3u), 3), 61);
    CHECK_EQ(ack(OPQ(3u), 6), 509);
    CHECK_EQ(fib(OPQ(25u)), 75025);
    CHECK_EQ(fib(OPQ(30u)), 832040);
    CHECK_EQ(queens(OPQ(8), 0, 0, 0, 0), 92);
    CHECK_EQ(queens(OPQ(10), 0, 0, 0, 0), 724);
    pegs[0] = 18;
    hanoi(OPQ(18), 0, 2, 1);
    CHECK_EQ(hanoi_moves, (1u << 18) - 1);
    CHECK(pegs[0] == 0 && pegs[1] == 0 && pegs[2] == 18);
    CHECK(is_even(OPQ(10000u)) && is_odd(OPQ(7777u)) && !is_even(OPQ(3u)));
    CHECK_EQ(eval(OPQ("((2+3)*4-5)/3")), 5);
    CHECK_EQ(eval(OPQ("1-2-3*-4+100/7/2")), 18);
    CHECK_EQ(eval(OPQ("-(((((((((((1+1)))))))))))*-(9-10)")), -2);
    CHECK_EQ(deep_sum(OPQ(20000u)), 200010000u);
    uint32_t s = 12345;
    for (int i = 0; i < 4096; i++) {
        s = s * 1103515245u + 12345u;
        arr[i] = (int32_t)s;
    }
    merge_sort(arr, tmp, 4096);
    int ok = 1;
    for (int i = 1; i < 4096; i++) ok &= arr[i - 1] <= arr[i];
    CHECK(ok);
    return check_done("recursion");
}
