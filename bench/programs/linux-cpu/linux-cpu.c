/* vessel Linux CPU benchmark: a CPU-bound user program for the default Linux
 * guest (bench/linux-cpu.sh). Three phases of deterministic work, each folded
 * into one checksum:
 *   int  xorshift/multiply/divide hashing, a byte sieve up to 2M, a 64-bit
 *        Collatz-style branchy loop: ALU, multiply/divide, branches
 *   mem  fresh 4 MiB allocations (guest page faults), Sattolo random cycle and
 *        pointer chase over it (load latency, guest TLB misses), strided
 *        copies, libc qsort of 256k keys
 *   fp   double matrix multiply, a Mandelbrot grid, sqrt/divide in an n-body
 *        style loop
 * The work is timed inside the guest with clock_gettime(CLOCK_MONOTONIC), so
 * boot and power-off are not counted. Output (last line is what the runner
 * parses):
 *   linux-cpu: int  checksum 0x... 0.123 s
 *   linux-cpu: mem  checksum 0x... 0.456 s
 *   linux-cpu: fp   checksum 0x... 0.789 s
 *   linux-cpu: checksum=0x<16 hex> elapsed=<seconds>
 * Portable C (also builds natively for a reference checksum). Build with
 * -ffp-contract=off on every side so the floating-point results agree.
 * argv[1] (optional): scale, a positive integer multiplying every phase. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t scale = 1;

static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}
static uint64_t dbits(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- int ------------------------------------------------------------- */
static uint64_t phase_int(void) {
    uint64_t h = 0;
    /* xorshift64 + multiply/divide hashing */
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (uint64_t i = 0; i < 12000000 * scale; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t d = (x >> 40) | 1;
        h += (x * 0x9e3779b97f4a7c15ull) ^ (x / d) ^ (x % 1000003u);
    }
    h = mix(h, x);
    /* byte sieve up to 2M, several sizes */
    size_t n_max = 2 * 1024 * 1024;
    uint8_t *s = malloc(n_max);
    if (!s) abort();
    for (uint64_t rep = 0; rep < 6 * scale; rep++) {
        size_t n = n_max - (size_t)rep * 4096;
        memset(s, 1, n);
        s[0] = s[1] = 0;
        for (size_t i = 2; i * i < n; i++)
            if (s[i])
                for (size_t j = i * i; j < n; j += i) s[j] = 0;
        uint64_t count = 0, sum = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i]) { count++; sum += i; }
        h = mix(mix(h, count), sum);
    }
    free(s);
    /* Collatz stopping times: data-dependent branches */
    uint64_t steps = 0;
    for (uint64_t start = 1; start < 300000 * scale; start++) {
        uint64_t v = start;
        while (v != 1) {
            v = (v & 1) ? 3 * v + 1 : v >> 1;
            steps++;
        }
    }
    return mix(h, steps);
}

/* ---- mem ------------------------------------------------------------- */
static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t phase_mem(void) {
    uint64_t h = 0;
    const size_t n = 1024 * 1024; /* uint32_t slots: 4 MiB */
    uint32_t *next = malloc(n * sizeof *next);
    if (!next) abort();
    /* Sattolo's algorithm: one random cycle through every slot. Touching the
     * fresh allocation faults its pages in. */
    for (size_t i = 0; i < n; i++) next[i] = (uint32_t)i;
    uint64_t r = 0x9e3779b97f4a7c15ull;
    for (size_t i = n - 1; i > 0; i--) {
        r ^= r << 13; r ^= r >> 7; r ^= r << 17;
        size_t j = (size_t)(r % i);
        uint32_t t = next[i]; next[i] = next[j]; next[j] = t;
    }
    uint32_t p = 0;
    for (uint64_t i = 0; i < 2000000 * scale; i++) {
        p = next[p];
        h += p;
    }
    h = mix(h, p);
    /* strided read-modify-write and block copies */
    uint32_t *copy = malloc(n * sizeof *copy);
    if (!copy) abort();
    for (uint64_t rep = 0; rep < 2 * scale; rep++) {
        memcpy(copy, next, n * sizeof *copy);
        size_t stride = 1021 + rep * 2;
        for (size_t i = 0, k = 0; k < n; k++) {
            copy[i] += (uint32_t)k;
            i += stride;
            if (i >= n) i -= n;
        }
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i += 7) sum += copy[i];
        h = mix(h, sum);
        memmove(next + 1, next, (n - 1) * sizeof *next);
        next[0] = (uint32_t)sum;
    }
    free(copy);
    free(next);
    /* qsort */
    const size_t m = 256 * 1024;
    uint64_t *keys = malloc(m * sizeof *keys);
    if (!keys) abort();
    for (uint64_t rep = 0; rep < 2 * scale; rep++) {
        for (size_t i = 0; i < m; i++) {
            r ^= r << 13; r ^= r >> 7; r ^= r << 17;
            keys[i] = r;
        }
        qsort(keys, m, sizeof *keys, cmp_u64);
        for (size_t i = 0; i < m; i += 97) h = mix(h, keys[i]);
    }
    free(keys);
    return h;
}

/* ---- fp -------------------------------------------------------------- */
static uint64_t phase_fp(void) {
    uint64_t h = 0;
    /* matrix multiply */
    const int n = 160;
    double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n),
           *c = malloc(sizeof(double) * n * n);
    if (!a || !b || !c) abort();
    for (int i = 0; i < n * n; i++) {
        a[i] = (double)((i * 7) % 13) * 0.25 - 1.5;
        b[i] = (double)((i * 11) % 17) * 0.125 + 0.5;
    }
    for (uint64_t rep = 0; rep < 4 * scale; rep++) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int k = 0; k < n; k++) sum += a[i * n + k] * b[k * n + j];
                c[i * n + j] = sum;
            }
        double tr = 0;
        for (int i = 0; i < n; i++) tr += c[i * n + i];
        h = mix(h, dbits(tr));
        a[rep % (n * n)] += 1.0 / (double)(rep + 3);
    }
    free(a); free(b); free(c);
    /* Mandelbrot grid */
    uint64_t iters = 0;
    const int w = 320 * (int)scale, hgt = 240;
    for (int y = 0; y < hgt; y++)
        for (int x = 0; x < w; x++) {
            double cr = -2.0 + 2.6 * x / w, ci = -1.2 + 2.4 * y / hgt;
            double zr = 0, zi = 0;
            int k = 0;
            while (k < 256 && zr * zr + zi * zi < 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                k++;
            }
            iters += (uint64_t)k;
        }
    h = mix(h, iters);
    /* n-body style: sqrt, divide */
    enum { bodies = 48 };
    double px[bodies], py[bodies], vx[bodies], vy[bodies];
    for (int i = 0; i < bodies; i++) {
        px[i] = (double)(i % 7) - 3.0 + i * 0.01;
        py[i] = (double)(i % 5) - 2.0 - i * 0.02;
        vx[i] = vy[i] = 0;
    }
    for (uint64_t step = 0; step < 1000 * scale; step++) {
        for (int i = 0; i < bodies; i++) {
            double fx = 0, fy = 0;
            for (int j = 0; j < bodies; j++) {
                if (j == i) continue;
                double dx = px[j] - px[i], dy = py[j] - py[i];
                double d2 = dx * dx + dy * dy + 0.01;
                double inv = 1.0 / (d2 * __builtin_sqrt(d2));
                fx += dx * inv;
                fy += dy * inv;
            }
            vx[i] += fx * 1e-4;
            vy[i] += fy * 1e-4;
        }
        for (int i = 0; i < bodies; i++) {
            px[i] += vx[i] * 1e-2;
            py[i] += vy[i] * 1e-2;
        }
    }
    for (int i = 0; i < bodies; i++) h = mix(mix(h, dbits(px[i])), dbits(vy[i]));
    return h;
}

int main(int argc, char **argv) {
    if (argc > 1) {
        char *end;
        unsigned long long v = strtoull(argv[1], &end, 10);
        if (*end || v == 0) {
            fprintf(stderr, "usage: %s [SCALE]\n", argv[0]);
            return 2;
        }
        scale = v;
    }
    static const struct { const char *name; uint64_t (*fn)(void); } phases[] = {
        {"int", phase_int}, {"mem", phase_mem}, {"fp", phase_fp}};
    uint64_t total = 0;
    double t0 = now();
    for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++) {
        double t = now();
        uint64_t h = phases[i].fn();
        printf("linux-cpu: %-4s checksum 0x%016" PRIx64 " %.3f s\n", phases[i].name, h, now() - t);
        fflush(stdout);
        total = mix(total, h);
    }
    double elapsed = now() - t0;
    printf("linux-cpu: checksum=0x%016" PRIx64 " elapsed=%.3f\n", total, elapsed);
    return 0;
}
