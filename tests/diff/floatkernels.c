/* Floating-point kernels using only + - * / sqrt fma and conversions (all
 * correctly rounded in IEEE 754, so host and guest must agree bit for bit;
 * both sides are built with -ffp-contract=off). Results are printed with
 * %a and an exact %.17g (common.h). */
#include <math.h>
#include <stdlib.h>

#include "common.h"

#define N 40
static double A[N][N], B[N][N], C[N][N], LU[N][N];

static void matmul(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < N; k++) s += A[i][k] * B[k][j];
            C[i][j] = s;
        }
}

/* Gaussian elimination with partial pivoting; solves A x = b. */
static void solve(double *b, double *x) {
    int piv[N];
    memcpy(LU, A, sizeof LU);
    for (int i = 0; i < N; i++) piv[i] = i;
    for (int k = 0; k < N; k++) {
        int p = k;
        for (int i = k + 1; i < N; i++) if (fabs(LU[i][k]) > fabs(LU[p][k])) p = i;
        if (p != k) {
            for (int j = 0; j < N; j++) { double t = LU[k][j]; LU[k][j] = LU[p][j]; LU[p][j] = t; }
            double t = b[k]; b[k] = b[p]; b[p] = t;
            int ti = piv[k]; piv[k] = piv[p]; piv[p] = ti;
        }
        for (int i = k + 1; i < N; i++) {
            double f = LU[i][k] / LU[k][k];
            LU[i][k] = f;
            for (int j = k + 1; j < N; j++) LU[i][j] -= f * LU[k][j];
            b[i] -= f * b[k];
        }
    }
    for (int i = N - 1; i >= 0; i--) {
        double s = b[i];
        for (int j = i + 1; j < N; j++) s -= LU[i][j] * x[j];
        x[i] = s / LU[i][i];
    }
}

static double newton_sqrt(double a, int *iters) {
    double x = a > 1 ? a / 2 : 1;
    for (*iters = 0; *iters < 200; ++*iters) {
        double nx = 0.5 * (x + a / x);
        if (nx == x) break;
        x = nx;
    }
    return x;
}
static double newton_recip(double a) { /* x <- x (2 - a x) */
    double x = 1.0 / 64;
    for (int i = 0; i < 60; i++) x = x * (2 - a * x);
    return x;
}

static int mandel(double cr, double ci, int max) {
    double zr = 0, zi = 0;
    int n = 0;
    while (n < max && zr * zr + zi * zi <= 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        n++;
    }
    return n;
}

int main(void) {
    prng_t r = {7};
    char label[64];

    printf("== basic\n");
    print_double("0.1+0.2", 0.1 + 0.2);
    print_double("1/3", 1.0 / 3);
    print_double("2/3 (float)", (double)(2.0f / 3.0f));
    print_double("sqrt(2)", sqrt(2.0));
    print_double("sqrtf(2)", (double)sqrtf(2.0f));
    print_double("fma(0.1,10,-1)", fma(0.1, 10, -1));
    print_double("DBL_MAX", 1.7976931348623157e308);
    print_double("DBL_MIN/3", 2.2250738585072014e-308 / 3);
    print_double("denorm min", 4.9406564584124654e-324);
    print_double("-0.0", -0.0);
    print_double("1/-inf", 1 / -INFINITY);
    print_double("1e308*10", 1e308 * 10);
    print_double("1e23", 1e23);
    print_double("2^-1074*0.5", 0x1p-1074 * 0.5);

    printf("== conversions\n");
    for (int i = 0; i < 40; i++) {
        uint64_t u = prng_next(&r) >> (i % 64);
        int64_t s = (int64_t)prng_next(&r) >> (i % 50);
        double du = (double)u, ds = (double)s;
        float fu = (float)u, fs = (float)s;
        printf("u=%" PRIu64 " -> %a %a; s=%" PRId64 " -> %a %a; back %" PRIu64 " %" PRId64 " %" PRId64 "\n", u, du,
               (double)fu, s, ds, (double)fs, du < 18446744073709551616.0 ? (uint64_t)du : 0, (int64_t)ds,
               (int64_t)(fs / 4));
    }
    for (int i = 0; i < 30; i++) {
        double x = prng_unit(&r) * 1e6;
        float f = (float)x;
        sprintf(label, "x%d", i);
        print_double(label, x);
        printf("  (float) %a (int32) %" PRId32 " (int64)(x*1e9) %" PRId64 " trunc %a floor %a ceil %a round %a\n",
               (double)f, (int32_t)x, (int64_t)(x * 1e9), trunc(x), floor(x), ceil(x), round(x));
    }

    printf("== matmul %dx%d\n", N, N);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) { A[i][j] = prng_unit(&r); B[i][j] = prng_unit(&r) * 100; }
    matmul();
    double trace = 0;
    for (int i = 0; i < N; i++) {
        double rs = 0;
        for (int j = 0; j < N; j++) rs += C[i][j];
        trace += C[i][i];
        sprintf(label, "row %2d sum", i);
        print_double(label, rs);
    }
    print_double("trace", trace);

    printf("== linear solve\n");
    double b[N], x[N], want[N];
    for (int i = 0; i < N; i++) want[i] = (double)(i + 1) / 8;
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int j = 0; j < N; j++) s += A[i][j] * want[j];
        b[i] = s;
    }
    solve(b, x);
    double err = 0;
    for (int i = 0; i < N; i++) {
        err += fabs(x[i] - want[i]);
        if (i % 4 == 0) { sprintf(label, "x[%d]", i); print_double(label, x[i]); }
    }
    print_double("sum |x - want|", err);

    printf("== newton\n");
    for (int i = 0; i < 40; i++) {
        double a = (prng_unit(&r) + 1.5) * (double)(1ull << (i % 40)), v;
        int it;
        v = newton_sqrt(a, &it);
        sprintf(label, "sqrt(%a) newton(%d it)", a, it);
        print_double(label, v);
        printf("  libm %a diff %a recip %a a*recip-1 %a\n", sqrt(a), v - sqrt(a), newton_recip(a / (double)(1ull << (i % 40))),
               fma(a / (double)(1ull << (i % 40)), newton_recip(a / (double)(1ull << (i % 40))), -1));
    }

    printf("== sums\n");
    double naive = 0, kahan = 0, comp = 0;
    float fsum = 0;
    for (int i = 1; i <= 200000; i++) {
        double term = 1.0 / i;
        naive += term;
        double y = term - comp, t = kahan + y;
        comp = (t - kahan) - y;
        kahan = t;
        fsum += 1.0f / (float)i;
    }
    print_double("harmonic(200000) naive", naive);
    print_double("harmonic(200000) kahan", kahan);
    print_double("harmonic(200000) float", fsum);
    double poly = 0;
    for (int i = 0; i < 1000; i++) {
        double t = (double)i / 1000;
        poly += ((((t * 0.5 - 1.25) * t + 3.5) * t - 0.125) * t + 2) * t - 7;
    }
    print_double("horner sum", poly);
    double f64 = 1;
    for (int i = 1; i <= 170; i++) f64 *= i;
    print_double("170!", f64);
    print_double("171!", f64 * 171);

    printf("== heat stencil\n");
    static double u[2][256];
    for (int i = 0; i < 256; i++) u[0][i] = (i > 100 && i < 156) ? 100.0 : 0.0;
    for (int step = 0; step < 2000; step++) {
        double *src = u[step & 1], *dst = u[(step + 1) & 1];
        dst[0] = dst[255] = 0;
        for (int i = 1; i < 255; i++) dst[i] = src[i] + 0.25 * (src[i - 1] - 2 * src[i] + src[i + 1]);
    }
    for (int i = 0; i < 256; i += 16) { sprintf(label, "u[%d]", i); print_double(label, u[0][i]); }

    printf("== mandelbrot\n");
    long total = 0;
    for (int y = 0; y < 24; y++) {
        char line[80];
        for (int xx = 0; xx < 72; xx++) {
            int n = mandel(-2.2 + xx * (3.2 / 72), -1.2 + y * (2.4 / 24), 500);
            total += n;
            line[xx] = " .:-=+*#%@"[n >= 500 ? 9 : n % 9];
        }
        line[72] = 0;
        printf("%s\n", line);
    }
    printf("mandelbrot iterations %ld\n", total);
    return 0;
}
