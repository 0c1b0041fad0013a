// RISC-V F/D arithmetic.
//
// Two implementations live here:
//
//  * A software one ("soft_*"): IEEE 754 binary32/binary64 in integer
//    arithmetic (64- and 128-bit), SoftFloat-style, with RISC-V's choices
//    (tininess after rounding, canonical NaN, saturating conversions). It
//    handles every op in every rounding mode and is the reference.
//
//  * A host one for the hot arithmetic (add, sub, mul, div, sqrt, fma,
//    fcvt.s.d): one SSE/FMA3 instruction in inline asm between MXCSR accesses.
//    x86 SSE detects tininess after rounding, like RISC-V, and its masked
//    exception flags map 1:1 onto fflags (DE, "denormal operand", is ignored).
//    Any NaN result is recomputed by the software path (x86 returns the
//    negative default NaN or propagates payloads, and does not signal invalid
//    for inf*0+qNaN), and RMM, which x86 lacks, always uses the software path
//    (except sqrt: a square root is never exactly halfway between two
//    floating-point numbers, so RMM and RNE agree, flags included).
//
// MXCSR protocol (per host thread; MXCSR is thread state):
//  * After any call that used the host path, MXCSR's control bits are the
//    default 0x1f80 (all exceptions masked, round to nearest, no FTZ/DAZ), so
//    the rest of vessel always sees round-to-nearest.
//  * Its sticky flags may hold stale bits, but only bits whose fflags
//    counterpart is already set in the guest's fflags (so they carry no
//    information). An RNE op reads MXCSR (stmxcsr, cheap), rewrites it only
//    if that invariant does not hold (guest cleared fflags, or other code
//    changed MXCSR), runs the instruction and ORs the flags it finds in. In
//    the steady state no ldmxcsr is executed at all.
//  * A directed-rounding op does the same check, then changes only the
//    rounding-control bits around the instruction and restores RNE after.
//    (ldmxcsr that changes flag bits is slow, tens of ns; one that changes
//    only RC is cheap, so flags are cleared only when the invariant breaks.)
// The asm statements are all `volatile`, so the compiler neither folds nor
// moves the arithmetic across the MXCSR accesses: no -frounding-math needed.
// Without FMA3 (checked at startup) fused ops use the software path; on a
// non-x86-64 host everything does.

#include "engine/riscv/fpu.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <utility>

#if defined(__x86_64__)
#define VESSEL_FPU_HOST 1
#else
#define VESSEL_FPU_HOST 0
#endif

namespace vessel::rv {
namespace {

using u128 = unsigned __int128;

constexpr uint32_t kNV = 16;
constexpr uint32_t kDZ = 8;
constexpr uint32_t kOF = 4;
constexpr uint32_t kUF = 2;
constexpr uint32_t kNX = 1;

constexpr unsigned kRNE = 0;
constexpr unsigned kRTZ = 1;
constexpr unsigned kRDN = 2;
constexpr unsigned kRUP = 3;
constexpr unsigned kRMM = 4;

constexpr uint64_t kBoxMask = 0xffffffff00000000ull;

struct F32 {
  using U = uint32_t;
  using T = float;
  static constexpr int kBits = 32;
  static constexpr int kP = 24;  // precision, hidden bit included
  static constexpr int kBias = 127;
  static constexpr int kEmin = -126;
  static constexpr int kEmax = 127;
  static constexpr U kSign = 0x80000000u;
  static constexpr U kInf = 0x7f800000u;
  static constexpr U kMaxFinite = 0x7f7fffffu;
  static constexpr U kQuiet = 0x00400000u;
  static constexpr U kCanonNaN = 0x7fc00000u;
  static constexpr U kFracMask = 0x007fffffu;
};

struct F64 {
  using U = uint64_t;
  using T = double;
  static constexpr int kBits = 64;
  static constexpr int kP = 53;
  static constexpr int kBias = 1023;
  static constexpr int kEmin = -1022;
  static constexpr int kEmax = 1023;
  static constexpr U kSign = 0x8000000000000000ull;
  static constexpr U kInf = 0x7ff0000000000000ull;
  static constexpr U kMaxFinite = 0x7fefffffffffffffull;
  static constexpr U kQuiet = 0x0008000000000000ull;
  static constexpr U kCanonNaN = 0x7ff8000000000000ull;
  static constexpr U kFracMask = 0x000fffffffffffffull;
};

template <class F>
inline bool is_nan(typename F::U a) {
  return (a & ~F::kSign) > F::kInf;
}
template <class F>
inline bool is_snan(typename F::U a) {
  return is_nan<F>(a) && (a & F::kQuiet) == 0;
}
template <class F>
inline bool is_inf(typename F::U a) {
  return (a & ~F::kSign) == F::kInf;
}
template <class F>
inline bool is_zero(typename F::U a) {
  return (a & ~F::kSign) == 0;
}
template <class F>
inline bool sign_of(typename F::U a) {
  return (a >> (F::kBits - 1)) != 0;
}

// ---- register file access -------------------------------------------------

template <class F>
inline typename F::U read_f(const FpState& fp, unsigned r) {
  if constexpr (F::kBits == 32) {
    uint64_t v = fp.f[r];
    return (v & kBoxMask) == kBoxMask ? static_cast<uint32_t>(v) : F32::kCanonNaN;
  } else {
    return fp.f[r];
  }
}

template <class F>
inline void write_f(FpState& fp, unsigned r, typename F::U v) {
  if constexpr (F::kBits == 32) {
    fp.f[r] = kBoxMask | v;
  } else {
    fp.f[r] = v;
  }
}

inline uint64_t sext32(uint64_t v) {
  return static_cast<uint64_t>(
      static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(v))));
}

// ---- software core --------------------------------------------------------

// A finite nonzero value as sig * 2^(exp - 62), sig in [2^62, 2^63): the
// leading one at bit 62 and `exp` the unbiased exponent of that leading bit.
// Bits shifted out are "jammed" (OR-ed) into bit 0 so rounding stays exact.
struct Unpacked {
  bool sign;
  int exp;
  uint64_t sig;
};

inline uint64_t shift_right_jam(uint64_t v, int n) {
  if (n <= 0) return v;
  if (n >= 64) return v != 0;
  return (v >> n) | static_cast<uint64_t>((v << (64 - n)) != 0);
}

inline u128 shift_right_jam128(u128 v, int n) {
  if (n <= 0) return v;
  if (n >= 128) return v != 0;
  return (v >> n) | static_cast<u128>((v << (128 - n)) != 0);
}

inline int clz128(u128 v) {
  auto hi = static_cast<uint64_t>(v >> 64);
  return hi != 0 ? std::countl_zero(hi) : 64 + std::countl_zero(static_cast<uint64_t>(v));
}

// 128-bit value with leading one at bit 125 (or lower) -> 64-bit jammed sig
// with the same weight scaled so that bit 125 maps to bit 62.
inline uint64_t narrow_jam(u128 v) {
  return static_cast<uint64_t>(v >> 63) |
         static_cast<uint64_t>((static_cast<uint64_t>(v) & ((1ull << 63) - 1)) != 0);
}

template <class F>
inline Unpacked unpack(typename F::U a) {
  Unpacked u{};
  u.sign = sign_of<F>(a);
  const int ef = static_cast<int>((a & ~F::kSign) >> (F::kP - 1));
  const uint64_t frac = a & F::kFracMask;
  if (ef == 0) {
    const int lz = std::countl_zero(frac);
    u.sig = frac << (lz - 1);
    u.exp = F::kEmin - (F::kP - 1) - (lz - 1) + 62;
  } else {
    u.sig = (frac | (1ull << (F::kP - 1))) << (63 - F::kP);
    u.exp = ef - F::kBias;
  }
  return u;
}

// Whether to add one unit in the last place: `rem` is what lies below it and
// `half` is half a unit on the same scale.
inline bool round_up(unsigned rm, bool sign, uint64_t lsb, uint64_t rem, uint64_t half) {
  if (rem == 0) return false;  // exact
  switch (rm) {
    case kRNE: return rem > half || (rem == half && lsb != 0);
    case kRTZ: return false;
    case kRDN: return sign;
    case kRUP: return !sign;
    default: return rem >= half;  // RMM
  }
}

// Rounds sign * sig * 2^(exp - 62) (sig in [2^62, 2^63), sticky in bit 0) to
// format F. Sets NX, UF (tininess after rounding), OF.
template <class F>
typename F::U round_pack(bool sign, int exp, uint64_t sig, unsigned rm, uint32_t& fl) {
  using U = typename F::U;
  constexpr int kS = 63 - F::kP;  // bits below the rounding point
  constexpr uint64_t kMask = (1ull << kS) - 1;
  constexpr uint64_t kHalf = 1ull << (kS - 1);
  const U sbit = sign ? F::kSign : 0;

  if (exp < F::kEmin) {
    // Tiny unless rounding to kP bits with unbounded exponent carries the
    // value up to 2^emin (only possible from exp == emin - 1).
    bool tiny = true;
    if (exp == F::kEmin - 1) {
      uint64_t m = (sig >> kS) + round_up(rm, sign, (sig >> kS) & 1, sig & kMask, kHalf);
      if ((m >> F::kP) != 0) tiny = false;
    }
    sig = shift_right_jam(sig, F::kEmin - exp);
    const uint64_t rem = sig & kMask;
    const uint64_t m = (sig >> kS) + round_up(rm, sign, (sig >> kS) & 1, rem, kHalf);
    if (rem != 0) {
      fl |= kNX;
      if (tiny) fl |= kUF;
    }
    // m <= 2^(p-1): a subnormal, or exactly the smallest normal; either way
    // the encoding is m itself.
    return sbit | static_cast<U>(m);
  }

  const uint64_t rem = sig & kMask;
  uint64_t m = (sig >> kS) + round_up(rm, sign, (sig >> kS) & 1, rem, kHalf);
  if ((m >> F::kP) != 0) {
    m >>= 1;
    ++exp;
  }
  if (exp > F::kEmax) {
    fl |= kOF | kNX;
    const bool to_inf = rm == kRNE || rm == kRMM || (rm == kRDN && sign) || (rm == kRUP && !sign);
    return sbit | (to_inf ? F::kInf : F::kMaxFinite);
  }
  if (rem != 0) fl |= kNX;
  return sbit | ((static_cast<U>(exp + F::kBias - 1) << (F::kP - 1)) + static_cast<U>(m));
}

template <class F>
typename F::U nan_result(uint32_t& fl, bool invalid) {
  if (invalid) fl |= kNV;
  return F::kCanonNaN;
}

template <class F>
typename F::U soft_add(typename F::U a, typename F::U b, unsigned rm, uint32_t& fl) {
  if (is_nan<F>(a) || is_nan<F>(b)) return nan_result<F>(fl, is_snan<F>(a) || is_snan<F>(b));
  if (is_inf<F>(a)) {
    if (is_inf<F>(b) && sign_of<F>(a) != sign_of<F>(b)) return nan_result<F>(fl, true);
    return a;
  }
  if (is_inf<F>(b)) return b;
  const bool za = is_zero<F>(a);
  const bool zb = is_zero<F>(b);
  if (za && zb) {
    if (sign_of<F>(a) == sign_of<F>(b)) return a;
    return rm == kRDN ? F::kSign : 0;
  }
  if (za) return b;
  if (zb) return a;
  Unpacked x = unpack<F>(a);
  Unpacked y = unpack<F>(b);
  if (x.exp < y.exp || (x.exp == y.exp && x.sig < y.sig)) std::swap(x, y);
  const uint64_t ys = shift_right_jam(y.sig, x.exp - y.exp);
  if (x.sign == y.sign) {
    uint64_t sum = x.sig + ys;
    int e = x.exp;
    if ((sum >> 63) != 0) {
      sum = shift_right_jam(sum, 1);
      ++e;
    }
    return round_pack<F>(x.sign, e, sum, rm, fl);
  }
  const uint64_t diff = x.sig - ys;
  if (diff == 0) return rm == kRDN ? F::kSign : 0;
  const int sh = std::countl_zero(diff) - 1;
  return round_pack<F>(x.sign, x.exp - sh, diff << sh, rm, fl);
}

template <class F>
typename F::U soft_mul(typename F::U a, typename F::U b, unsigned rm, uint32_t& fl) {
  if (is_nan<F>(a) || is_nan<F>(b)) return nan_result<F>(fl, is_snan<F>(a) || is_snan<F>(b));
  const bool sign = sign_of<F>(a) != sign_of<F>(b);
  const typename F::U sbit = sign ? F::kSign : 0;
  if (is_inf<F>(a) || is_inf<F>(b)) {
    if (is_zero<F>(a) || is_zero<F>(b)) return nan_result<F>(fl, true);
    return sbit | F::kInf;
  }
  if (is_zero<F>(a) || is_zero<F>(b)) return sbit;
  const Unpacked x = unpack<F>(a);
  const Unpacked y = unpack<F>(b);
  u128 p = static_cast<u128>(x.sig) * y.sig;  // [2^124, 2^126)
  int e = x.exp + y.exp;
  if ((p >> 125) != 0) {
    ++e;
  } else {
    p <<= 1;
  }
  return round_pack<F>(sign, e, narrow_jam(p), rm, fl);
}

template <class F>
typename F::U soft_div(typename F::U a, typename F::U b, unsigned rm, uint32_t& fl) {
  if (is_nan<F>(a) || is_nan<F>(b)) return nan_result<F>(fl, is_snan<F>(a) || is_snan<F>(b));
  const bool sign = sign_of<F>(a) != sign_of<F>(b);
  const typename F::U sbit = sign ? F::kSign : 0;
  if (is_inf<F>(a)) {
    if (is_inf<F>(b)) return nan_result<F>(fl, true);
    return sbit | F::kInf;
  }
  if (is_inf<F>(b)) return sbit;
  if (is_zero<F>(b)) {
    if (is_zero<F>(a)) return nan_result<F>(fl, true);
    fl |= kDZ;
    return sbit | F::kInf;
  }
  if (is_zero<F>(a)) return sbit;
  const Unpacked x = unpack<F>(a);
  const Unpacked y = unpack<F>(b);
  int e = x.exp - y.exp;
  u128 n;
  if (x.sig < y.sig) {
    n = static_cast<u128>(x.sig) << 63;
    --e;
  } else {
    n = static_cast<u128>(x.sig) << 62;
  }
  auto q = static_cast<uint64_t>(n / y.sig);
  const bool rem = static_cast<uint64_t>(n % y.sig) != 0;
  return round_pack<F>(sign, e, q | static_cast<uint64_t>(rem), rm, fl);
}

template <class F>
typename F::U soft_sqrt(typename F::U a, unsigned rm, uint32_t& fl) {
  if (is_nan<F>(a)) return nan_result<F>(fl, is_snan<F>(a));
  if (is_zero<F>(a)) return a;
  if (sign_of<F>(a)) return nan_result<F>(fl, true);
  if (is_inf<F>(a)) return a;
  const Unpacked x = unpack<F>(a);
  // Radicand N with an even power of two: N * 2^(2k), N in [2^124, 2^126).
  const u128 n = static_cast<u128>(x.sig) << ((x.exp & 1) != 0 ? 63 : 62);
  auto r = static_cast<uint64_t>(std::sqrt(static_cast<long double>(n)));
  while (static_cast<u128>(r) * r > n) --r;
  while (static_cast<u128>(r + 1) * (r + 1) <= n) ++r;
  const bool rem = static_cast<u128>(r) * r != n;
  return round_pack<F>(false, x.exp >> 1, r | static_cast<uint64_t>(rem), rm, fl);
}

// a * b + c, fused. Negated variants flip signs of the inputs first.
template <class F>
typename F::U soft_fma(typename F::U a, typename F::U b, typename F::U c, unsigned rm,
                       uint32_t& fl) {
  using U = typename F::U;
  const bool inf_times_zero = (is_inf<F>(a) && is_zero<F>(b)) || (is_zero<F>(a) && is_inf<F>(b));
  if (is_nan<F>(a) || is_nan<F>(b) || is_nan<F>(c)) {
    // RISC-V: inf * 0 + qNaN is invalid too.
    return nan_result<F>(fl, is_snan<F>(a) || is_snan<F>(b) || is_snan<F>(c) || inf_times_zero);
  }
  if (inf_times_zero) return nan_result<F>(fl, true);
  const bool sp = sign_of<F>(a) != sign_of<F>(b);
  const bool sc = sign_of<F>(c);
  if (is_inf<F>(a) || is_inf<F>(b)) {
    if (is_inf<F>(c) && sc != sp) return nan_result<F>(fl, true);
    return (sp ? F::kSign : 0) | F::kInf;
  }
  if (is_inf<F>(c)) return c;
  if (is_zero<F>(a) || is_zero<F>(b)) {
    if (is_zero<F>(c)) {
      if (sp == sc) return c;
      return rm == kRDN ? F::kSign : 0;
    }
    return c;
  }
  const Unpacked x = unpack<F>(a);
  const Unpacked y = unpack<F>(b);
  // Product as m1 * 2^(e1 - 125), leading one at bit 125.
  u128 m1 = static_cast<u128>(x.sig) * y.sig;
  int e1 = x.exp + y.exp;
  if ((m1 >> 125) != 0) {
    ++e1;
  } else {
    m1 <<= 1;
  }
  bool s1 = sp;
  if (is_zero<F>(c)) return round_pack<F>(s1, e1, narrow_jam(m1), rm, fl);
  const Unpacked z = unpack<F>(c);
  u128 m2 = static_cast<u128>(z.sig) << 63;
  int e2 = z.exp;
  bool s2 = z.sign;
  if (e1 < e2 || (e1 == e2 && m1 < m2)) {
    std::swap(m1, m2);
    std::swap(e1, e2);
    std::swap(s1, s2);
  }
  m2 = shift_right_jam128(m2, e1 - e2);
  u128 m;
  if (s1 == s2) {
    m = m1 + m2;
    if ((m >> 126) != 0) {
      m = shift_right_jam128(m, 1);
      ++e1;
    }
  } else {
    m = m1 - m2;
    if (m == 0) return rm == kRDN ? F::kSign : U{0};
    const int sh = clz128(m) - 2;
    m <<= sh;
    e1 -= sh;
  }
  return round_pack<F>(s1, e1, narrow_jam(m), rm, fl);
}

// Integer magnitude (with sign) to F.
template <class F>
typename F::U soft_from_int(bool sign, uint64_t mag, unsigned rm, uint32_t& fl) {
  if (mag == 0) return 0;
  const int lz = std::countl_zero(mag);
  if (lz == 0) return round_pack<F>(sign, 63, shift_right_jam(mag, 1), rm, fl);
  return round_pack<F>(sign, 63 - lz, mag << (lz - 1), rm, fl);
}

// F to a 32- or 64-bit integer, saturating. Returns the x-register value
// (32-bit results sign-extended).
template <class F>
uint64_t soft_to_int(typename F::U a, bool is_signed, int bits, unsigned rm, uint32_t& fl) {
  const uint64_t umax = bits == 64 ? ~0ull : 0xffffffffull;
  const uint64_t smax = umax >> 1;  // 2^(bits-1) - 1
  const uint64_t max_pos = is_signed ? smax : umax;
  const uint64_t min_neg = is_signed ? smax + 1 : 0;  // as two's complement bits (+ wraps)
  auto finish = [&](uint64_t v) { return bits == 32 ? sext32(v) : v; };
  if (is_nan<F>(a)) {
    fl |= kNV;
    return finish(max_pos);
  }
  const bool sign = sign_of<F>(a);
  auto saturate = [&]() {
    fl |= kNV;
    return finish(sign ? (is_signed ? (0 - min_neg) : 0) : max_pos);
  };
  if (is_inf<F>(a)) return saturate();
  if (is_zero<F>(a)) return 0;
  const Unpacked u = unpack<F>(a);
  if (u.exp > 63) return saturate();
  uint64_t ip = 0;
  uint64_t rem = 0;
  uint64_t half = 0;
  const int shift = 62 - u.exp;
  if (shift <= 0) {
    ip = u.sig << -shift;
  } else if (shift >= 64) {
    rem = 1;  // nonzero, below one half
    half = 2;
  } else {
    ip = u.sig >> shift;
    rem = u.sig & ((1ull << shift) - 1);
    half = 1ull << (shift - 1);
  }
  const uint64_t mag = ip + round_up(rm, sign, ip & 1, rem, half);
  if (sign) {
    if (mag > min_neg) return saturate();
    if (!is_signed && mag != 0) return saturate();
  } else if (mag > max_pos) {
    return saturate();
  }
  if (rem != 0) fl |= kNX;
  return finish(sign ? 0 - mag : mag);
}

template <class To, class From>
typename To::U soft_convert(typename From::U a, unsigned rm, uint32_t& fl) {
  if (is_nan<From>(a)) return nan_result<To>(fl, is_snan<From>(a));
  const typename To::U sbit = sign_of<From>(a) ? To::kSign : 0;
  if (is_inf<From>(a)) return sbit | To::kInf;
  if (is_zero<From>(a)) return sbit;
  const Unpacked u = unpack<From>(a);
  return round_pack<To>(u.sign, u.exp, u.sig, rm, fl);
}

// ---- non-rounding ops -----------------------------------------------------

// Total order key for non-NaN values: -0 sorts below +0.
template <class F>
inline typename F::U order_key(typename F::U a) {
  return sign_of<F>(a) ? static_cast<typename F::U>(~a) : static_cast<typename F::U>(a | F::kSign);
}

template <class F>
typename F::U fminmax(typename F::U a, typename F::U b, bool is_max, uint32_t& fl) {
  if (is_snan<F>(a) || is_snan<F>(b)) fl |= kNV;
  const bool na = is_nan<F>(a);
  const bool nb = is_nan<F>(b);
  if (na && nb) return F::kCanonNaN;
  if (na) return b;
  if (nb) return a;
  const bool a_lt_b = order_key<F>(a) < order_key<F>(b);
  return (a_lt_b != is_max) ? a : b;
}

template <class F>
inline bool feq(typename F::U a, typename F::U b, uint32_t& fl) {
  if (is_nan<F>(a) || is_nan<F>(b)) {
    if (is_snan<F>(a) || is_snan<F>(b)) fl |= kNV;
    return false;
  }
  return a == b || (is_zero<F>(a) && is_zero<F>(b));
}

template <class F>
inline bool flt(typename F::U a, typename F::U b, bool or_equal, uint32_t& fl) {
  if (is_nan<F>(a) || is_nan<F>(b)) {
    fl |= kNV;
    return false;
  }
  if (is_zero<F>(a) && is_zero<F>(b)) return or_equal;
  return or_equal ? order_key<F>(a) <= order_key<F>(b) : order_key<F>(a) < order_key<F>(b);
}

template <class F>
uint64_t fclass(typename F::U a) {
  const bool s = sign_of<F>(a);
  const typename F::U mag = a & ~F::kSign;
  if (mag > F::kInf) return (a & F::kQuiet) != 0 ? 1u << 9 : 1u << 8;
  if (mag == F::kInf) return s ? 1u << 0 : 1u << 7;
  if (mag == 0) return s ? 1u << 3 : 1u << 4;
  if ((mag & F::kInf) == 0) return s ? 1u << 2 : 1u << 5;
  return s ? 1u << 1 : 1u << 6;
}

template <class F>
typename F::U fsgnj(typename F::U a, typename F::U b, int kind) {
  typename F::U s = b & F::kSign;
  if (kind == 1) s ^= F::kSign;
  if (kind == 2) s = (a ^ b) & F::kSign;
  return (a & ~F::kSign) | s;
}

// ---- host path ------------------------------------------------------------

enum class Ar : uint8_t { kAdd, kSub, kMul, kDiv, kSqrt, kMadd, kMsub, kNmsub, kNmadd };

template <class F>
typename F::U soft_arith(Ar k, typename F::U a, typename F::U b, typename F::U c, unsigned rm,
                         uint32_t& fl) {
  constexpr typename F::U kS = F::kSign;
  switch (k) {
    case Ar::kAdd: return soft_add<F>(a, b, rm, fl);
    case Ar::kSub: return soft_add<F>(a, b ^ kS, rm, fl);
    case Ar::kMul: return soft_mul<F>(a, b, rm, fl);
    case Ar::kDiv: return soft_div<F>(a, b, rm, fl);
    case Ar::kSqrt: return soft_sqrt<F>(a, rm, fl);
    case Ar::kMadd: return soft_fma<F>(a, b, c, rm, fl);
    case Ar::kMsub: return soft_fma<F>(a, b, c ^ kS, rm, fl);
    case Ar::kNmsub: return soft_fma<F>(a ^ kS, b, c, rm, fl);
    case Ar::kNmadd: return soft_fma<F>(a ^ kS, b, c ^ kS, rm, fl);
  }
  return F::kCanonNaN;
}

#if VESSEL_FPU_HOST
constexpr uint32_t kMxcsrDefault = 0x1f80;
constexpr uint32_t kMxcsrRcMask = 3u << 13;

inline uint32_t get_mxcsr() {
  uint32_t v;
  asm volatile("stmxcsr %0" : "=m"(v));
  return v;
}
inline void set_mxcsr(uint32_t v) {
  asm volatile("ldmxcsr %0" : : "m"(v));
}

// MXCSR flag bits (IE DE ZE OE UE PE = bits 0..5) -> fflags.
constexpr auto kHostToRv = [] {
  struct T {
    uint8_t v[64];
  } t{};
  for (unsigned m = 0; m < 64; ++m) {
    t.v[m] = static_cast<uint8_t>(((m & 1) != 0 ? kNV : 0) | ((m & 4) != 0 ? kDZ : 0) |
                                  ((m & 8) != 0 ? kOF : 0) | ((m & 16) != 0 ? kUF : 0) |
                                  ((m & 32) != 0 ? kNX : 0));
  }
  return t;
}();

// fflags -> MXCSR bits that may stay set (those already accrued, plus DE).
constexpr auto kRvToHostAllowed = [] {
  struct T {
    uint16_t v[32];
  } t{};
  for (unsigned f = 0; f < 32; ++f) {
    t.v[f] = static_cast<uint16_t>(2 | ((f & kNV) != 0 ? 1 : 0) | ((f & kDZ) != 0 ? 4 : 0) |
                                   ((f & kOF) != 0 ? 8 : 0) | ((f & kUF) != 0 ? 16 : 0) |
                                   ((f & kNX) != 0 ? 32 : 0));
  }
  return t;
}();

// MXCSR RC field per RISC-V mode RNE, RTZ, RDN, RUP.
constexpr uint32_t kHostRc[4] = {0u << 13, 3u << 13, 1u << 13, 2u << 13};

const bool kHostHasFma = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("fma") != 0;
}();

template <class F, Ar kOp>
inline typename F::T host_op(typename F::T a, typename F::T b, typename F::T c) {
  if constexpr (F::kBits == 64) {
    if constexpr (kOp == Ar::kAdd) {
      asm volatile("addsd %1, %0" : "+x"(a) : "x"(b));
      return a;
    } else if constexpr (kOp == Ar::kSub) {
      asm volatile("subsd %1, %0" : "+x"(a) : "x"(b));
      return a;
    } else if constexpr (kOp == Ar::kMul) {
      asm volatile("mulsd %1, %0" : "+x"(a) : "x"(b));
      return a;
    } else if constexpr (kOp == Ar::kDiv) {
      asm volatile("divsd %1, %0" : "+x"(a) : "x"(b));
      return a;
    } else if constexpr (kOp == Ar::kSqrt) {
      asm volatile("sqrtsd %1, %0" : "+x"(b) : "x"(a));
      return b;
    } else {  // fused: c = a * b + c with signs pre-flipped
      asm volatile("vfmadd231sd %2, %1, %0" : "+x"(c) : "x"(a), "x"(b));
      return c;
    }
  } else {
    if constexpr (kOp == Ar::kAdd) {
      asm volatile("addss %1, %0" : "+x"(a) : "x"(b));
      return a;
    } else if constexpr (kOp == Ar::kSub) {
      asm volatile("subss %1, %0" : "+x"(a) : "x"(b));
      return a;
    } else if constexpr (kOp == Ar::kMul) {
      asm volatile("mulss %1, %0" : "+x"(a) : "x"(b));
      return a;
    } else if constexpr (kOp == Ar::kDiv) {
      asm volatile("divss %1, %0" : "+x"(a) : "x"(b));
      return a;
    } else if constexpr (kOp == Ar::kSqrt) {
      asm volatile("sqrtss %1, %0" : "+x"(b) : "x"(a));
      return b;
    } else {
      asm volatile("vfmadd231ss %2, %1, %0" : "+x"(c) : "x"(a), "x"(b));
      return c;
    }
  }
}

// Runs `fn` (one host FP instruction) in mode rm (0..3) and returns MXCSR as
// it was right after. Rewriting MXCSR's flag bits with ldmxcsr is slow (tens
// of ns: it serializes), changing only the rounding-control bits is cheap, so
// the flags are left alone unless they break the invariant (see the top).
template <class Fn>
inline uint32_t run_in_mode(unsigned rm, uint32_t fflags, Fn fn) {
  uint32_t m = get_mxcsr();
  const bool stale = (m & ~static_cast<uint32_t>(kRvToHostAllowed.v[fflags & 31])) != kMxcsrDefault;
  if (rm == kRNE) {
    if (stale) set_mxcsr(kMxcsrDefault);
    fn();
    return get_mxcsr();
  }
  set_mxcsr((stale ? kMxcsrDefault : m) | kHostRc[rm]);
  fn();
  m = get_mxcsr();
  set_mxcsr(m & ~kMxcsrRcMask);  // back to round-to-nearest, flags kept
  return m;
}

// Runs op on the host in mode rm (0..3). Returns false if the result is a NaN
// (flags not accrued then; the caller redoes the op in software).
template <class F, Ar kOp>
inline bool host_arith(typename F::U a, typename F::U b, typename F::U c, unsigned rm, FpState& fp,
                       typename F::U& out) {
  using T = typename F::T;
  constexpr typename F::U kS = F::kSign;
  if constexpr (kOp == Ar::kMsub) c ^= kS;
  if constexpr (kOp == Ar::kNmsub) a ^= kS;
  if constexpr (kOp == Ar::kNmadd) {
    a ^= kS;
    c ^= kS;
  }
  const T ta = std::bit_cast<T>(a);
  const T tb = std::bit_cast<T>(b);
  const T tc = std::bit_cast<T>(c);
  T r;
  const uint32_t m = run_in_mode(rm, fp.fflags, [&] { r = host_op<F, kOp>(ta, tb, tc); });
  const auto bits = std::bit_cast<typename F::U>(r);
  if (is_nan<F>(bits)) return false;
  fp.fflags |= kHostToRv.v[m & 63];
  out = bits;
  return true;
}

inline bool host_cvt_s_d(uint64_t a, unsigned rm, FpState& fp, uint32_t& out) {
  const double ta = std::bit_cast<double>(a);
  float r;
  const uint32_t m = run_in_mode(rm, fp.fflags, [&] {
    asm volatile("cvtsd2ss %1, %0" : "=x"(r) : "x"(ta));
  });
  const auto bits = std::bit_cast<uint32_t>(r);
  if (is_nan<F32>(bits)) return false;
  fp.fflags |= kHostToRv.v[m & 63];
  out = bits;
  return true;
}

#endif  // VESSEL_FPU_HOST

// ---- dispatch -------------------------------------------------------------

template <class F, Ar kOp, bool kHost>
inline void do_arith(FpState& fp, unsigned rm, unsigned rd, unsigned rs1, unsigned rs2,
                     unsigned rs3) {
  using U = typename F::U;
  constexpr bool kFused = kOp >= Ar::kMadd;
  const U a = read_f<F>(fp, rs1);
  const U b = kOp == Ar::kSqrt ? U{0} : read_f<F>(fp, rs2);
  const U c = kFused ? read_f<F>(fp, rs3) : U{0};
  U r;
#if VESSEL_FPU_HOST
  if constexpr (kHost) {
    // sqrt never rounds a tie, so RMM == RNE for it.
    const unsigned hrm = (kOp == Ar::kSqrt && rm == kRMM) ? kRNE : rm;
    if (hrm != kRMM && (!kFused || kHostHasFma) && host_arith<F, kOp>(a, b, c, hrm, fp, r)) {
      write_f<F>(fp, rd, r);
      return;
    }
  }
#endif
  uint32_t fl = 0;
  r = soft_arith<F>(kOp, a, b, c, rm, fl);
  fp.fflags |= fl;
  write_f<F>(fp, rd, r);
}

// fcvt.w/l with RTZ (every C cast) for values strictly inside the range: one
// truncating host conversion, exactness checked by converting back (exact for
// any in-range integer). NaN and out-of-range values return false.
template <class F, class I>
inline bool fast_trunc(typename F::U a, uint64_t& out, uint32_t& fl) {
  using T = typename F::T;
  const T v = std::bit_cast<T>(a);
  constexpr T kLimit = static_cast<T>(uint64_t{1} << (sizeof(I) * 8 - 1));
  if (!(v > -kLimit && v < kLimit)) return false;
  const auto i = static_cast<I>(v);
  if (static_cast<T>(i) != v) fl |= kNX;
  out = static_cast<uint64_t>(static_cast<int64_t>(i));
  return true;
}

// Bit i set: FpOp i rounds (or converts) and so depends on rm.
constexpr uint64_t kRoundingOps = [] {
  static_assert(static_cast<unsigned>(FpOp::kCount) <= 64);
  uint64_t m = (uint64_t{1} << static_cast<unsigned>(FpOp::kCount)) - 1;
  for (FpOp op :
       {FpOp::FSGNJ_S,  FpOp::FSGNJN_S, FpOp::FSGNJX_S, FpOp::FMIN_S,  FpOp::FMAX_S,  FpOp::FEQ_S,
        FpOp::FLT_S,    FpOp::FLE_S,    FpOp::FCLASS_S, FpOp::FMV_X_W, FpOp::FMV_W_X, FpOp::FSGNJ_D,
        FpOp::FSGNJN_D, FpOp::FSGNJX_D, FpOp::FMIN_D,   FpOp::FMAX_D,  FpOp::FEQ_D,   FpOp::FLT_D,
        FpOp::FLE_D,    FpOp::FCLASS_D, FpOp::FMV_X_D,  FpOp::FMV_D_X}) {
    m &= ~(uint64_t{1} << static_cast<unsigned>(op));
  }
  return m;
}();

template <bool kHost>
bool execute(FpOp op, unsigned rm, FpState& fp, uint64_t* x, unsigned rd, unsigned rs1,
             unsigned rs2, unsigned rs3) {
  // Ops that do not round ignore rm entirely, even reserved values (as Spike
  // does); all others, exact conversions included, reject a reserved mode.
  if (rm == 7) rm = fp.frm;
  if (rm > kRMM && ((kRoundingOps >> (static_cast<unsigned>(op) & 63)) & 1) != 0) return false;
  uint32_t fl = 0;
  switch (op) {
    case FpOp::FSGNJ_S:
    case FpOp::FSGNJN_S:
    case FpOp::FSGNJX_S:
      write_f<F32>(fp, rd,
                   fsgnj<F32>(read_f<F32>(fp, rs1), read_f<F32>(fp, rs2),
                              static_cast<int>(op) - static_cast<int>(FpOp::FSGNJ_S)));
      return true;
    case FpOp::FSGNJ_D:
    case FpOp::FSGNJN_D:
    case FpOp::FSGNJX_D:
      write_f<F64>(
          fp, rd,
          fsgnj<F64>(fp.f[rs1], fp.f[rs2], static_cast<int>(op) - static_cast<int>(FpOp::FSGNJ_D)));
      return true;
    case FpOp::FMIN_S:
    case FpOp::FMAX_S:
      write_f<F32>(
          fp, rd,
          fminmax<F32>(read_f<F32>(fp, rs1), read_f<F32>(fp, rs2), op == FpOp::FMAX_S, fp.fflags));
      return true;
    case FpOp::FMIN_D:
    case FpOp::FMAX_D:
      write_f<F64>(fp, rd, fminmax<F64>(fp.f[rs1], fp.f[rs2], op == FpOp::FMAX_D, fp.fflags));
      return true;
    case FpOp::FEQ_S:
      x[rd] = feq<F32>(read_f<F32>(fp, rs1), read_f<F32>(fp, rs2), fp.fflags);
      return true;
    case FpOp::FLT_S:
      x[rd] = flt<F32>(read_f<F32>(fp, rs1), read_f<F32>(fp, rs2), false, fp.fflags);
      return true;
    case FpOp::FLE_S:
      x[rd] = flt<F32>(read_f<F32>(fp, rs1), read_f<F32>(fp, rs2), true, fp.fflags);
      return true;
    case FpOp::FEQ_D: x[rd] = feq<F64>(fp.f[rs1], fp.f[rs2], fp.fflags); return true;
    case FpOp::FLT_D: x[rd] = flt<F64>(fp.f[rs1], fp.f[rs2], false, fp.fflags); return true;
    case FpOp::FLE_D: x[rd] = flt<F64>(fp.f[rs1], fp.f[rs2], true, fp.fflags); return true;
    case FpOp::FCLASS_S: x[rd] = fclass<F32>(read_f<F32>(fp, rs1)); return true;
    case FpOp::FCLASS_D: x[rd] = fclass<F64>(fp.f[rs1]); return true;
    case FpOp::FMV_X_W: x[rd] = sext32(fp.f[rs1]); return true;
    case FpOp::FMV_X_D: x[rd] = fp.f[rs1]; return true;
    case FpOp::FMV_W_X: write_f<F32>(fp, rd, static_cast<uint32_t>(x[rs1])); return true;
    case FpOp::FMV_D_X: fp.f[rd] = x[rs1]; return true;
    case FpOp::FADD_S: do_arith<F32, Ar::kAdd, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FSUB_S: do_arith<F32, Ar::kSub, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FMUL_S: do_arith<F32, Ar::kMul, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FDIV_S: do_arith<F32, Ar::kDiv, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FSQRT_S: do_arith<F32, Ar::kSqrt, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FMADD_S: do_arith<F32, Ar::kMadd, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FMSUB_S: do_arith<F32, Ar::kMsub, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FNMSUB_S: do_arith<F32, Ar::kNmsub, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FNMADD_S: do_arith<F32, Ar::kNmadd, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FADD_D: do_arith<F64, Ar::kAdd, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FSUB_D: do_arith<F64, Ar::kSub, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FMUL_D: do_arith<F64, Ar::kMul, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FDIV_D: do_arith<F64, Ar::kDiv, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FSQRT_D: do_arith<F64, Ar::kSqrt, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FMADD_D: do_arith<F64, Ar::kMadd, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FMSUB_D: do_arith<F64, Ar::kMsub, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FNMSUB_D: do_arith<F64, Ar::kNmsub, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;
    case FpOp::FNMADD_D: do_arith<F64, Ar::kNmadd, kHost>(fp, rm, rd, rs1, rs2, rs3); return true;

    case FpOp::FCVT_W_S:
      if (kHost && rm == kRTZ && fast_trunc<F32, int32_t>(read_f<F32>(fp, rs1), x[rd], fl)) break;
      x[rd] = soft_to_int<F32>(read_f<F32>(fp, rs1), true, 32, rm, fl);
      break;
    case FpOp::FCVT_WU_S: x[rd] = soft_to_int<F32>(read_f<F32>(fp, rs1), false, 32, rm, fl); break;
    case FpOp::FCVT_L_S:
      if (kHost && rm == kRTZ && fast_trunc<F32, int64_t>(read_f<F32>(fp, rs1), x[rd], fl)) break;
      x[rd] = soft_to_int<F32>(read_f<F32>(fp, rs1), true, 64, rm, fl);
      break;
    case FpOp::FCVT_LU_S: x[rd] = soft_to_int<F32>(read_f<F32>(fp, rs1), false, 64, rm, fl); break;
    case FpOp::FCVT_W_D:
      if (kHost && rm == kRTZ && fast_trunc<F64, int32_t>(fp.f[rs1], x[rd], fl)) break;
      x[rd] = soft_to_int<F64>(fp.f[rs1], true, 32, rm, fl);
      break;
    case FpOp::FCVT_WU_D: x[rd] = soft_to_int<F64>(fp.f[rs1], false, 32, rm, fl); break;
    case FpOp::FCVT_L_D:
      if (kHost && rm == kRTZ && fast_trunc<F64, int64_t>(fp.f[rs1], x[rd], fl)) break;
      x[rd] = soft_to_int<F64>(fp.f[rs1], true, 64, rm, fl);
      break;
    case FpOp::FCVT_LU_D: x[rd] = soft_to_int<F64>(fp.f[rs1], false, 64, rm, fl); break;

    case FpOp::FCVT_S_W: {
      const auto v = static_cast<int32_t>(x[rs1]);
      if (kHost && v >= -(1 << 24) && v <= (1 << 24)) {  // exact
        write_f<F32>(fp, rd, std::bit_cast<uint32_t>(static_cast<float>(v)));
        break;
      }
      write_f<F32>(fp, rd,
                   soft_from_int<F32>(v < 0, v < 0 ? 0u - static_cast<uint32_t>(v) : v, rm, fl));
      break;
    }
    case FpOp::FCVT_S_WU:
      write_f<F32>(fp, rd, soft_from_int<F32>(false, static_cast<uint32_t>(x[rs1]), rm, fl));
      break;
    case FpOp::FCVT_S_L: {
      const auto v = static_cast<int64_t>(x[rs1]);
      write_f<F32>(fp, rd, soft_from_int<F32>(v < 0, v < 0 ? 0 - x[rs1] : x[rs1], rm, fl));
      break;
    }
    case FpOp::FCVT_S_LU: write_f<F32>(fp, rd, soft_from_int<F32>(false, x[rs1], rm, fl)); break;
    case FpOp::FCVT_D_W: {
      // Always exact.
      const auto v = static_cast<int32_t>(x[rs1]);
      fp.f[rd] = std::bit_cast<uint64_t>(static_cast<double>(v));
      break;
    }
    case FpOp::FCVT_D_WU:
      fp.f[rd] = std::bit_cast<uint64_t>(static_cast<double>(static_cast<uint32_t>(x[rs1])));
      break;
    case FpOp::FCVT_D_L: {
      const auto v = static_cast<int64_t>(x[rs1]);
      if (kHost && v >= -(int64_t{1} << 53) && v <= (int64_t{1} << 53)) {  // exact
        fp.f[rd] = std::bit_cast<uint64_t>(static_cast<double>(v));
        break;
      }
      fp.f[rd] = soft_from_int<F64>(v < 0, v < 0 ? 0 - x[rs1] : x[rs1], rm, fl);
      break;
    }
    case FpOp::FCVT_D_LU:
      if (kHost && x[rs1] <= (uint64_t{1} << 53)) {  // exact
        fp.f[rd] = std::bit_cast<uint64_t>(static_cast<double>(x[rs1]));
        break;
      }
      fp.f[rd] = soft_from_int<F64>(false, x[rs1], rm, fl);
      break;

    case FpOp::FCVT_S_D: {
      const uint64_t a = fp.f[rs1];
#if VESSEL_FPU_HOST
      uint32_t r;
      if (kHost && rm != kRMM && host_cvt_s_d(a, rm, fp, r)) {
        write_f<F32>(fp, rd, r);
        return true;
      }
#endif
      write_f<F32>(fp, rd, soft_convert<F32, F64>(a, rm, fl));
      break;
    }
    case FpOp::FCVT_D_S: {
      // Exact; only NaNs need care.
      const uint32_t a = read_f<F32>(fp, rs1);
      if (is_nan<F32>(a)) {
        fp.f[rd] = nan_result<F64>(fl, is_snan<F32>(a));
      } else {
        fp.f[rd] = std::bit_cast<uint64_t>(static_cast<double>(std::bit_cast<float>(a)));
      }
      break;
    }
    default: return false;
  }
  fp.fflags |= fl;
  return true;
}

}  // namespace

bool fp_execute(FpOp op, unsigned rm, FpState& fp, uint64_t* x, unsigned rd, unsigned rs1,
                unsigned rs2, unsigned rs3) {
  return execute<true>(op, rm, fp, x, rd, rs1, rs2, rs3);
}

bool fp_writes_x(FpOp op) {
  switch (op) {
    case FpOp::FCVT_W_S:
    case FpOp::FCVT_WU_S:
    case FpOp::FCVT_L_S:
    case FpOp::FCVT_LU_S:
    case FpOp::FMV_X_W:
    case FpOp::FEQ_S:
    case FpOp::FLT_S:
    case FpOp::FLE_S:
    case FpOp::FCLASS_S:
    case FpOp::FCVT_W_D:
    case FpOp::FCVT_WU_D:
    case FpOp::FCVT_L_D:
    case FpOp::FCVT_LU_D:
    case FpOp::FMV_X_D:
    case FpOp::FEQ_D:
    case FpOp::FLT_D:
    case FpOp::FLE_D:
    case FpOp::FCLASS_D: return true;
    default: return false;
  }
}

namespace detail {
// Same semantics as fp_execute, computed entirely by the software
// implementation (no host FPU arithmetic). For tests: cross-checking the two.
bool fp_execute_soft(FpOp op, unsigned rm, FpState& fp, uint64_t* x, unsigned rd, unsigned rs1,
                     unsigned rs2, unsigned rs3) {
  return execute<false>(op, rm, fp, x, rd, rs1, rs2, rs3);
}
}  // namespace detail

}  // namespace vessel::rv
