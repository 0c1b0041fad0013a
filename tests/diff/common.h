/* Shared helpers for the differential test programs (tests/diff).
 *
 * Each program is compiled for the host (glibc) and for RISC-V (picolibc +
 * tests/rt) and must print exactly the same bytes. So: no time, no
 * randomness but prng_*, no plain-char signedness dependence, no printf
 * floating-point conversions other than %a (picolibc prints at most 17
 * shortest-round-trip digits, glibc prints exact decimal expansions), and
 * NaNs are printed as "nan" whatever their sign/payload (x86 and RISC-V
 * produce different default NaNs).
 */
#ifndef VESSEL_DIFF_COMMON_H
#define VESSEL_DIFF_COMMON_H

#pragma GCC diagnostic ignored "-Wunused-function"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* splitmix64: a fixed-seed deterministic generator. */
typedef struct {
  uint64_t s;
} prng_t;
static inline uint64_t prng_next(prng_t* r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
/* Uniform in [0, n). */
static inline uint64_t prng_below(prng_t* r, uint64_t n) {
  return prng_next(r) % n;
}
/* Uniform double in [-1, 1), a multiple of 2^-52. */
static inline double prng_unit(prng_t* r) {
  return (double)(int64_t)(prng_next(r) >> 11) * 0x1p-52 - 1.0;
}

static inline uint64_t dbl_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  return u;
}

/* ---- Exact decimal formatting, identical to glibc's "%.17g" ------------- */

#define BN_LIMBS 80 /* 2560 bits: enough for 2^1074 * 10^340 */
typedef struct {
  uint32_t w[BN_LIMBS];
  int n;
} bn_t;

static void bn_set(bn_t* a, uint64_t v) {
  memset(a, 0, sizeof *a);
  a->w[0] = (uint32_t)v;
  a->w[1] = (uint32_t)(v >> 32);
  a->n = a->w[1] ? 2 : (a->w[0] ? 1 : 0);
}
static void bn_mul_small(bn_t* a, uint32_t m) {
  uint64_t carry = 0;
  for (int i = 0; i < a->n; i++) {
    uint64_t t = (uint64_t)a->w[i] * m + carry;
    a->w[i] = (uint32_t)t;
    carry = t >> 32;
  }
  if (carry) a->w[a->n++] = (uint32_t)carry;
}
static void bn_shl(bn_t* a, int bits) {
  int words = bits / 32, b = bits % 32;
  if (a->n == 0) return;
  for (int i = a->n - 1 + words + 1; i >= 0; i--) {
    uint64_t hi = (i - words >= 0 && i - words < a->n) ? a->w[i - words] : 0;
    uint64_t lo = (i - words - 1 >= 0 && i - words - 1 < a->n) ? a->w[i - words - 1] : 0;
    a->w[i] = b ? (uint32_t)((hi << b) | (lo >> (32 - b))) : (uint32_t)hi;
  }
  a->n += words + 1;
  while (a->n > 0 && a->w[a->n - 1] == 0) a->n--;
}
static int bn_cmp(const bn_t* a, const bn_t* b) {
  if (a->n != b->n) return a->n < b->n ? -1 : 1;
  for (int i = a->n - 1; i >= 0; i--)
    if (a->w[i] != b->w[i]) return a->w[i] < b->w[i] ? -1 : 1;
  return 0;
}
static void bn_sub(bn_t* a, const bn_t* b) { /* a -= b, a >= b */
  int64_t borrow = 0;
  for (int i = 0; i < a->n; i++) {
    int64_t t = (int64_t)a->w[i] - (i < b->n ? b->w[i] : 0) - borrow;
    borrow = t < 0;
    a->w[i] = (uint32_t)(t + (borrow ? ((int64_t)1 << 32) : 0));
  }
  while (a->n > 0 && a->w[a->n - 1] == 0) a->n--;
}
static void bn_pow10(bn_t* a, int k) {
  for (; k >= 9; k -= 9) bn_mul_small(a, 1000000000u);
  static const uint32_t p10[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
  if (k > 0) bn_mul_small(a, p10[k]);
}

/* Formats x like printf("%.17g", x) in round-to-nearest-even. */
static char* fmt_g17(double x, char* out) {
  char* p = out;
  uint64_t bits = dbl_bits(x);
  int neg = (int)(bits >> 63);
  int bexp = (int)((bits >> 52) & 0x7ff);
  uint64_t m = bits & 0xfffffffffffffull;
  if (bexp == 0x7ff) {
    strcpy(out, m ? "nan" : (neg ? "-inf" : "inf"));
    return out;
  }
  if (neg) *p++ = '-';
  if (bexp == 0 && m == 0) {
    strcpy(p, "0");
    return out;
  }
  int e;
  if (bexp == 0)
    e = -1074;
  else {
    m |= 1ull << 52;
    e = bexp - 1075;
  }
  /* x = m * 2^e = N / D */
  bn_t N, D, t;
  bn_set(&N, m);
  bn_set(&D, 1);
  if (e >= 0)
    bn_shl(&N, e);
  else
    bn_shl(&D, -e);
  /* k = floor(log10(x)): D*10^k <= N < D*10^(k+1) */
  int k = (int)((e + 63 - __builtin_clzll(m)) * 0.30102999566398120);
  for (;;) {
    bn_t lo = D, hi = N;
    if (k >= 0)
      bn_pow10(&lo, k);
    else
      bn_pow10(&hi, -k);
    if (bn_cmp(&hi, &lo) < 0) {
      k--;
      continue;
    }
    bn_t lo1 = D, hi1 = N;
    if (k + 1 >= 0)
      bn_pow10(&lo1, k + 1);
    else
      bn_pow10(&hi1, -(k + 1));
    if (bn_cmp(&hi1, &lo1) >= 0) {
      k++;
      continue;
    }
    break;
  }
  /* q = round(x * 10^(16-k)), 10^16 <= q <= 10^17 */
  if (16 - k >= 0)
    bn_pow10(&N, 16 - k);
  else
    bn_pow10(&D, k - 16);
  uint64_t q = 0;
  for (int b = 57; b >= 0; b--) {
    t = D;
    bn_shl(&t, b);
    if (bn_cmp(&N, &t) >= 0) {
      bn_sub(&N, &t);
      q |= 1ull << b;
    }
  }
  bn_shl(&N, 1); /* compare 2*remainder with D */
  int c = bn_cmp(&N, &D);
  if (c > 0 || (c == 0 && (q & 1))) q++;
  if (q == 100000000000000000ull) {
    q = 10000000000000000ull;
    k++;
  }
  char dig[18];
  for (int i = 16; i >= 0; i--) {
    dig[i] = (char)('0' + q % 10);
    q /= 10;
  }
  dig[17] = 0;
  int nd = 17;
  while (nd > 1 && dig[nd - 1] == '0') nd--;
  if (k < -4 || k >= 17) {
    *p++ = dig[0];
    if (nd > 1) {
      *p++ = '.';
      memcpy(p, dig + 1, (size_t)nd - 1);
      p += nd - 1;
    }
    sprintf(p, "e%c%02d", k < 0 ? '-' : '+', k < 0 ? -k : k);
  } else if (k >= 0) {
    for (int i = 0; i <= k; i++) *p++ = i < nd ? dig[i] : '0';
    if (nd > k + 1) {
      *p++ = '.';
      memcpy(p, dig + k + 1, (size_t)(nd - k - 1));
      p += nd - k - 1;
    }
    *p = 0;
  } else {
    *p++ = '0';
    *p++ = '.';
    for (int i = 0; i < -k - 1; i++) *p++ = '0';
    memcpy(p, dig, (size_t)nd);
    p += nd;
    *p = 0;
  }
  return out;
}

/* "label = %a (%.17g)", NaN-insensitive. */
static void print_double(const char* label, double x) {
  char g[40];
  if (x != x)
    printf("%s = nan\n", label);
  else
    printf("%s = %a (%s)\n", label, x, fmt_g17(x, g));
}

/* ---- 128-bit integers ---------------------------------------------------- */
typedef __int128 i128;
typedef unsigned __int128 u128;

static char* u128_str(u128 v, char* out) {
  char tmp[48];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + (int)(v % 10));
    v /= 10;
  } while (v);
  for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  out[n] = 0;
  return out;
}
static char* i128_str(i128 v, char* out) {
  if (v < 0) {
    out[0] = '-';
    u128_str(-(u128)v, out + 1);
    return out;
  }
  return u128_str((u128)v, out);
}
static char* u128_hex(u128 v, char* out) {
  sprintf(out, "0x%016" PRIx64 "%016" PRIx64, (uint64_t)(v >> 64), (uint64_t)v);
  return out;
}

/* FNV-1a over the printed output is not needed: compare.sh diffs bytes. */

#endif
