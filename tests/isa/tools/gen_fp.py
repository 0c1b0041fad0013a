#!/usr/bin/env python3
"""Generates the table-driven RV64F / RV64D tests.

Expected results and fflags come from an exact model of IEEE 754 binary32 /
binary64 arithmetic with RISC-V's rules (canonical NaN results, tininess
detected after rounding, fcvt saturation, NV on fma(inf, 0, qNaN), fmin/fmax
returning the non-NaN operand).  Run: python3 tests/isa/tools/gen_fp.py
"""
import os
import random
from fractions import Fraction as Q
from math import isqrt

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
NX, UF, OF, DZ, NV = 1, 2, 4, 8, 16
RNE, RTZ, RDN, RUP, RMM = 0, 1, 2, 3, 4
RM_NAME = {RNE: "rne", RTZ: "rtz", RDN: "rdn", RUP: "rup", RMM: "rmm"}


class Fmt:
    def __init__(self, ebits, mbits):
        self.e, self.m = ebits, mbits
        self.bias = (1 << (ebits - 1)) - 1
        self.emin = 1 - self.bias
        self.emax = self.bias
        self.width = 1 + ebits + mbits
        self.qnan = ((1 << ebits) - 1) << mbits | 1 << (mbits - 1)
        self.maxfin = Q(2) ** self.emax * (2 - Q(1, 2 ** mbits))

    def inf(self, s):
        return (s << (self.width - 1)) | (((1 << self.e) - 1) << self.m)

    def zero(self, s):
        return s << (self.width - 1)


F32 = Fmt(8, 23)
F64 = Fmt(11, 52)


def decode(b, f):
    s = b >> (f.width - 1)
    e = (b >> f.m) & ((1 << f.e) - 1)
    m = b & ((1 << f.m) - 1)
    if e == (1 << f.e) - 1:
        if m == 0:
            return ("inf", s)
        return ("snan" if not (m >> (f.m - 1)) else "qnan", s)
    if e == 0:
        v = Q(m) * Q(2) ** (f.emin - f.m)
    else:
        v = Q((1 << f.m) | m) * Q(2) ** (e - f.bias - f.m)
    return ("num", s, v)


def ilog2(v):  # floor(log2(v)) for a positive Fraction
    e = v.numerator.bit_length() - v.denominator.bit_length()
    while Q(2) ** e > v:
        e -= 1
    while Q(2) ** (e + 1) <= v:
        e += 1
    return e


def round_int(q, s, rm):
    """Round the non-negative rational q to an integer; s = sign of value."""
    n = q.numerator // q.denominator
    r = q - n
    if r == 0:
        return n
    if rm == RNE:
        up = r > Q(1, 2) or (r == Q(1, 2) and n & 1)
    elif rm == RTZ:
        up = False
    elif rm == RDN:
        up = bool(s)
    elif rm == RUP:
        up = not s
    else:
        up = r >= Q(1, 2)
    return n + 1 if up else n


def encode(s, v, f, rm):
    """Round sign s, magnitude v (Fraction > 0) to format f."""
    flags = 0
    e = ilog2(v)
    # tininess after rounding: round with unbounded exponent range
    n_unb = round_int(v / Q(2) ** (e - f.m), s, rm)
    r_unb = n_unb * Q(2) ** (e - f.m)
    tiny = r_unb < Q(2) ** f.emin
    qexp = max(e, f.emin) - f.m
    n = round_int(v / Q(2) ** qexp, s, rm)
    r = n * Q(2) ** qexp
    if r != v:
        flags |= NX
        if tiny:
            flags |= UF
    if r > f.maxfin:
        flags |= OF | NX
        to_inf = rm in (RNE, RMM) or (rm == RUP and not s) or (rm == RDN and s)
        return (f.inf(s) if to_inf else (f.inf(s) - 1)), flags
    if r == 0:
        return f.zero(s), flags
    if r < Q(2) ** f.emin:
        return (s << (f.width - 1)) | int(r / Q(2) ** (f.emin - f.m)), flags
    e = ilog2(r)
    frac = int(r / Q(2) ** (e - f.m)) - (1 << f.m)
    return (s << (f.width - 1)) | ((e + f.bias) << f.m) | frac, flags


def value(d):  # signed Fraction of a finite decoded number
    return -d[2] if d[1] else d[2]


def nan_in(ds):
    flags = NV if any(d[0] == "snan" for d in ds) else 0
    return any(d[0] in ("snan", "qnan") for d in ds), flags


def from_exact(x, zero_sign, f, rm):
    if x == 0:
        return f.zero(zero_sign), 0
    return encode(1 if x < 0 else 0, abs(x), f, rm)


def op_add(a, b, f, rm, negb=False):
    da, db = decode(a, f), decode(b, f)
    if negb and db[0] != "snan" and db[0] != "qnan":
        db = (db[0], db[1] ^ 1) + db[2:]
    isnan, fl = nan_in([da, db])
    if isnan:
        return f.qnan, fl
    if da[0] == "inf" and db[0] == "inf":
        return (f.qnan, NV) if da[1] != db[1] else (f.inf(da[1]), 0)
    if da[0] == "inf":
        return f.inf(da[1]), 0
    if db[0] == "inf":
        return f.inf(db[1]), 0
    x = value(da) + value(db)
    if x == 0:
        if da[2] == 0 and db[2] == 0 and da[1] == db[1]:
            zs = da[1]
        else:
            zs = 1 if rm == RDN else 0
        return f.zero(zs), 0
    return from_exact(x, 0, f, rm)


def op_sub(a, b, f, rm):
    return op_add(a, b, f, rm, negb=True)


def op_mul(a, b, f, rm):
    da, db = decode(a, f), decode(b, f)
    isnan, fl = nan_in([da, db])
    if isnan:
        return f.qnan, fl
    s = da[1] ^ db[1]
    if da[0] == "inf" or db[0] == "inf":
        if (da[0] == "num" and da[2] == 0) or (db[0] == "num" and db[2] == 0):
            return f.qnan, NV
        return f.inf(s), 0
    x = da[2] * db[2]
    if x == 0:
        return f.zero(s), 0
    return encode(s, x, f, rm)


def op_div(a, b, f, rm):
    da, db = decode(a, f), decode(b, f)
    isnan, fl = nan_in([da, db])
    if isnan:
        return f.qnan, fl
    s = da[1] ^ db[1]
    if da[0] == "inf":
        return (f.qnan, NV) if db[0] == "inf" else (f.inf(s), 0)
    if db[0] == "inf":
        return f.zero(s), 0
    if db[2] == 0:
        return (f.qnan, NV) if da[2] == 0 else (f.inf(s), DZ)
    if da[2] == 0:
        return f.zero(s), 0
    return encode(s, da[2] / db[2], f, rm)


def op_sqrt(a, f, rm):
    da = decode(a, f)
    isnan, fl = nan_in([da])
    if isnan:
        return f.qnan, fl
    if da[0] == "inf":
        return (f.qnan, NV) if da[1] else (f.inf(0), 0)
    if da[2] == 0:
        return f.zero(da[1]), 0
    if da[1]:
        return f.qnan, NV
    k = 1400
    scaled = da[2] * Q(4) ** k
    n = scaled.numerator // scaled.denominator
    sq = isqrt(n)
    exact = sq * sq == scaled
    approx = Q(sq) if exact else Q(2 * sq + 1, 2)
    return encode(0, approx / Q(2) ** k, f, rm)


def op_fma(a, b, c, f, rm, nega=False, negc=False):
    da, db, dc = decode(a, f), decode(b, f), decode(c, f)
    isnan, fl = nan_in([da, db, dc])
    inf_zero = (da[0] == "inf" and db[0] == "num" and db[2] == 0) or \
               (db[0] == "inf" and da[0] == "num" and da[2] == 0)
    if inf_zero:
        return f.qnan, NV
    if isnan:
        return f.qnan, fl
    ps = da[1] ^ db[1] ^ (1 if nega else 0)
    cs = dc[1] ^ (1 if negc else 0)
    if da[0] == "inf" or db[0] == "inf":
        if dc[0] == "inf" and cs != ps:
            return f.qnan, NV
        return f.inf(ps), 0
    if dc[0] == "inf":
        return f.inf(cs), 0
    p = da[2] * db[2]
    x = (-p if ps else p) + (-dc[2] if cs else dc[2])
    if x == 0:
        if p == 0 and dc[2] == 0 and ps == cs:
            zs = ps
        else:
            zs = 1 if rm == RDN else 0
        return f.zero(zs), 0
    return from_exact(x, 0, f, rm)


def op_minmax(a, b, f, is_max):
    da, db = decode(a, f), decode(b, f)
    fl = NV if "snan" in (da[0], db[0]) else 0
    an, bn = da[0] in ("snan", "qnan"), db[0] in ("snan", "qnan")
    if an and bn:
        return f.qnan, fl
    if an:
        return b, fl
    if bn:
        return a, fl

    def key(d, bits):
        if d[0] == "inf":
            v = Q(10) ** 400
            return (-v if d[1] else v, 0)
        return (value(d), -1 if d[1] else 0)  # -0 < +0
    ka, kb = key(da, a), key(db, b)
    if is_max:
        return (a if ka >= kb else b), fl
    return (a if ka <= kb else b), fl


def op_cmp(a, b, f, kind):
    da, db = decode(a, f), decode(b, f)
    an, bn = da[0] in ("snan", "qnan"), db[0] in ("snan", "qnan")
    if an or bn:
        if kind == "eq":
            return 0, (NV if "snan" in (da[0], db[0]) else 0)
        return 0, NV

    def v(d):
        if d[0] == "inf":
            return -Q(10) ** 400 if d[1] else Q(10) ** 400
        return value(d)
    x, y = v(da), v(db)
    return int({"eq": x == y, "lt": x < y, "le": x <= y}[kind]), 0


def op_class(a, f):
    d = decode(a, f)
    if d[0] == "snan":
        return 1 << 8
    if d[0] == "qnan":
        return 1 << 9
    if d[0] == "inf":
        return 1 << 0 if d[1] else 1 << 7
    sub = d[2] < Q(2) ** f.emin
    if d[2] == 0:
        return 1 << 3 if d[1] else 1 << 4
    if sub:
        return 1 << 2 if d[1] else 1 << 5
    return 1 << 1 if d[1] else 1 << 6


def op_f2i(a, f, rm, bits, signed):
    d = decode(a, f)
    lo = -(1 << (bits - 1)) if signed else 0
    hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    if d[0] in ("snan", "qnan"):
        r, fl = hi, NV
    elif d[0] == "inf":
        r, fl = (lo if d[1] else hi), NV
    else:
        n = round_int(d[2], d[1], rm)
        n = -n if d[1] else n
        if n < lo or n > hi:
            r, fl = (lo if d[1] else hi), NV
        else:
            r, fl = n, (NX if n != value(d) else 0)
    r &= (1 << bits) - 1
    if bits == 32:  # W results are sign-extended to 64 bits
        r = r | (0xffffffff00000000 if r >> 31 else 0)
    return r, fl


def op_i2f(x, f, rm, bits, signed):
    x &= (1 << bits) - 1
    if signed and x >> (bits - 1):
        x -= 1 << bits
    if x == 0:
        return f.zero(0), 0
    return encode(1 if x < 0 else 0, Q(abs(x)), f, rm)


def op_cvt_ff(a, fs, fd, rm):
    d = decode(a, fs)
    if d[0] in ("snan", "qnan"):
        return fd.qnan, (NV if d[0] == "snan" else 0)
    if d[0] == "inf":
        return fd.inf(d[1]), 0
    if d[2] == 0:
        return fd.zero(d[1]), 0
    return encode(d[1], d[2], fd, rm)


# ---------------------------------------------------------------------------
def fbits(x, f):
    """bits of a Python float (or bits passed through) in format f"""
    import struct
    if isinstance(x, int):
        return x
    if f is F32:
        return struct.unpack("<I", struct.pack("<f", x))[0]
    return struct.unpack("<Q", struct.pack("<d", x))[0]


S_VALS = [0x3f800000, 0x40400000, 0x3eaaaaab, 0x40490fdb, 0x7f7fffff, 0x00800000, 0x00000001,
          0x007fffff, 0xbf800000, 0xc0200000, 0x00000000, 0x80000000, 0x7f800000, 0xff800000,
          0x7fc00000, 0x7f800001, 0xffc00001, 0x3f800001, 0x4b000001, 0x33800000, 0xc49a4000,
          0x3fc00000, 0x80000001, 0x7f000000]
D_VALS = [0x3ff0000000000000, 0x4008000000000000, 0x3fd5555555555555, 0x400921fb54442d18,
          0x7fefffffffffffff, 0x0010000000000000, 0x0000000000000001, 0x000fffffffffffff,
          0xbff0000000000000, 0xc004000000000000, 0x0000000000000000, 0x8000000000000000,
          0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000, 0x7ff0000000000001,
          0xfff8000000000001, 0x3ff0000000000001, 0x4330000000000001, 0x3ca0000000000000,
          0xc093480000000000, 0x3ff8000000000000, 0x8000000000000001, 0x7fe0000000000000]


class Gen:
    def __init__(self, title, path, prelude=(), epilogue=()):
        self.lines = ["/* generated by tools/gen_fp.py -- do not edit */",
                      "/* " + title + " */", '#include "test.h"'] + list(prelude) + ["TEST_BEGIN"]
        self.path = path
        self.n = 0
        self.epilogue = list(epilogue)

    def num(self):
        self.n += 1
        assert self.n < 256, "too many cases in " + self.path
        return self.n

    def add(self, s):
        self.lines.append("        " + s.replace("%N", str(self.num())))

    def write(self):
        self.lines.append("        TEST_PASS")
        self.lines += self.epilogue
        p = os.path.join(ROOT, self.path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as fh:
            fh.write("\n".join(self.lines) + "\n")


def h(x, f):
    return "0x%0*x" % (f.width // 4, x)


def flagstr(fl):
    return "0x%02x" % fl


def gen(f, sfx, vals, d):
    rnd = random.Random(1234 + f.width)
    ext = "S" if f is F32 else "D"
    # ---- add/sub/mul/div with every rounding mode ----------------------
    g = Gen("RV64%s fadd/fsub/fmul/fdiv.%s: specials, flags, all static rounding modes" % (ext, sfx),
            "%s/arith.S" % d)
    ops = [("fadd", op_add), ("fsub", op_sub), ("fmul", op_mul), ("fdiv", op_div)]
    pairs = []
    for i in range(len(vals)):
        for j in range(len(vals)):
            pairs.append((vals[i], vals[j]))
    rnd.shuffle(pairs)
    k = 0
    for name, fn in ops:
        for a, b in pairs[k:k + 60]:
            rm = rnd.choice([RNE, RTZ, RDN, RUP, RMM])
            r, fl = fn(a, b, f, rm)
            g.add("TEST_FP_OP2_%s_RM(%%N, %s.%s, %s, %s, %s, %s, %s)" %
                  (ext, name, sfx, RM_NAME[rm], flagstr(fl), h(r, f), h(a, f), h(b, f)))
        k += 60
    g.write()

    # ---- rounding-mode sweep on a few exact-tie / inexact cases ----------
    g = Gen("RV64%s rounding: each of rne/rtz/rdn/rup/rmm on ties and inexact results, overflow,"
            " underflow" % ext, "%s/round.S" % d)
    one = fbits(1.0, f)
    ulp = Q(2) ** (-f.m)
    cases = [
        ("fadd", one, encode(0, ulp / 2, f, RNE)[0]),           # 1 + half ulp: tie
        ("fadd", one, encode(0, ulp * 3 / 2, f, RNE)[0]),       # 1 + 1.5 ulp: tie to even
        ("fadd", fbits(-1.0, f), encode(1, ulp / 2, f, RNE)[0]),
        ("fadd", one, encode(0, ulp / 4, f, RNE)[0]),
        ("fsub", one, encode(0, ulp / 4, f, RNE)[0]),
        ("fmul", f.inf(0) - 1, fbits(2.0, f)),                 # overflow
        ("fmul", (f.inf(0) - 1) | (1 << (f.width - 1)), fbits(2.0, f)),
        ("fmul", 0x1 if True else 0, fbits(0.5, f)),           # underflow to 0 (tie)
        ("fmul", 0x3, fbits(0.5, f)),                           # 1.5 ulp subnormal
        ("fmul", 0x1 | (1 << (f.width - 1)), fbits(0.5, f)),
        ("fdiv", one, fbits(3.0, f)),
        ("fdiv", fbits(-1.0, f), fbits(3.0, f)),
        ("fdiv", fbits(2.0, f), fbits(3.0, f)),
        ("fmul", 1 << f.m, fbits(0.5, f) - 1 if False else (((f.bias - 1) << f.m) | ((1 << f.m) - 1))),
        ("fsub", one, one),
        ("fadd", fbits(-0.0, f), fbits(0.0, f)),
        ("fadd", fbits(-0.0, f), fbits(-0.0, f)),
        ("fdiv", 1 << f.m, fbits(3.0, f)),
    ]
    for name, a, b in cases:
        fn = dict(ops)[name]
        for rm in (RNE, RTZ, RDN, RUP, RMM):
            r, fl = fn(a, b, f, rm)
            g.add("TEST_FP_OP2_%s_RM(%%N, %s.%s, %s, %s, %s, %s, %s)" %
                  (ext, name, sfx, RM_NAME[rm], flagstr(fl), h(r, f), h(a, f), h(b, f)))
    g.write()

    # ---- fused multiply-add ----------------------------------------------
    g = Gen("RV64%s fmadd/fmsub/fnmsub/fnmadd.%s: single rounding, specials, signs of zero" % (ext, sfx),
            "%s/fma.S" % d)
    fops = [("fmadd", lambda a, b, c, f, rm: op_fma(a, b, c, f, rm)),
            ("fmsub", lambda a, b, c, f, rm: op_fma(a, b, c, f, rm, negc=True)),
            ("fnmsub", lambda a, b, c, f, rm: op_fma(a, b, c, f, rm, nega=True)),
            ("fnmadd", lambda a, b, c, f, rm: op_fma(a, b, c, f, rm, nega=True, negc=True))]
    inf0, zero0, qn = f.inf(0), f.zero(0), f.qnan
    special = [(inf0, zero0, qn), (zero0, inf0, fbits(1.0, f)), (inf0, fbits(1.0, f), f.inf(1)),
               (fbits(1.0, f), fbits(1.0, f), fbits(-1.0, f)), (zero0, fbits(-1.0, f), f.zero(1)),
               (f.zero(1), fbits(1.0, f), f.zero(1)), (fbits(1.0, f) + 1, fbits(1.0, f) - 1, fbits(-1.0, f)),
               (f.inf(0) - 1, fbits(2.0, f), f.inf(1) - 1), (0x1, fbits(0.5, f), zero0),
               (fbits(3.0, f), fbits(1.0 / 3, f), fbits(-1.0, f)), (f.qnan | 0, zero0, inf0),
               (inf0 | 1, fbits(1.0, f), fbits(1.0, f))]
    for name, fn in fops:
        for a, b, c in special:
            r, fl = fn(a, b, c, f, RNE)
            g.add("TEST_FP_OP3_%s(%%N, %s.%s, %s, %s, %s, %s, %s)" %
                  (ext, name, sfx, flagstr(fl), h(r, f), h(a, f), h(b, f), h(c, f)))
        for _ in range(30):
            a, b, c = rnd.choice(vals), rnd.choice(vals), rnd.choice(vals)
            rm = rnd.choice([RNE, RTZ, RDN, RUP, RMM])
            r, fl = fn(a, b, c, f, rm)
            g.add("TEST_FP_OP3_%s_RM(%%N, %s.%s, %s, %s, %s, %s, %s, %s)" %
                  (ext, name, sfx, RM_NAME[rm], flagstr(fl), h(r, f), h(a, f), h(b, f), h(c, f)))
    g.write()

    # ---- sqrt, min, max --------------------------------------------------
    g = Gen("RV64%s fsqrt/fmin/fmax.%s: NaN and signed-zero rules, flags" % (ext, sfx), "%s/sqrt_minmax.S" % d)
    for a in vals + [fbits(4.0, f), fbits(2.0, f), fbits(0.25, f), fbits(1e-30, f) if f is F32 else fbits(1e-300, f)]:
        for rm in ([RNE] if a in (f.qnan,) else [RNE, RTZ, RUP]):
            r, fl = op_sqrt(a, f, rm)
            g.add("TEST_FP_OP1_%s_RM(%%N, fsqrt.%s, %s, %s, %s, %s)" % (ext, sfx, RM_NAME[rm], flagstr(fl), h(r, f), h(a, f)))
    mm = [(f.zero(0), f.zero(1)), (f.zero(1), f.zero(0)), (f.qnan, fbits(1.0, f)), (fbits(1.0, f), f.qnan),
          (f.inf(0) | 1, fbits(1.0, f)), (fbits(-1.0, f), f.inf(0) | 1), (f.qnan, f.qnan), (f.inf(0) | 1, f.qnan),
          (f.inf(1), f.inf(0)), (fbits(3.0, f), fbits(-3.0, f)), (0x1, 0x2), (f.qnan | 5, f.zero(1))]
    for _ in range(20):
        mm.append((rnd.choice(vals), rnd.choice(vals)))
    for a, b in mm:
        for name, ismax in (("fmin", False), ("fmax", True)):
            r, fl = op_minmax(a, b, f, ismax)
            g.add("TEST_FP_OP2_%s(%%N, %s.%s, %s, %s, %s, %s)" % (ext, name, sfx, flagstr(fl), h(r, f), h(a, f), h(b, f)))
    g.write()

    # ---- compares, fclass, sign injection ---------------------------------
    g = Gen("RV64%s feq/flt/fle, fclass, fsgnj/fsgnjn/fsgnjx.%s" % (ext, sfx), "%s/cmp_class.S" % d)
    cmpv = [(fbits(1.0, f), fbits(1.0, f)), (fbits(1.0, f), fbits(2.0, f)), (fbits(2.0, f), fbits(1.0, f)),
            (f.zero(0), f.zero(1)), (f.qnan, fbits(1.0, f)), (fbits(1.0, f), f.inf(0) | 1), (f.qnan, f.qnan),
            (f.inf(1), f.inf(0)), (fbits(-1.0, f), fbits(-2.0, f)), (0x1, f.zero(0)), (f.inf(0), f.inf(0))]
    for a, b in cmpv:
        for kind in ("eq", "lt", "le"):
            r, fl = op_cmp(a, b, f, kind)
            g.add("TEST_FP_CMP_OP_%s(%%N, f%s.%s, %s, %d, %s, %s)" % (ext, kind, sfx, flagstr(fl), r, h(a, f), h(b, f)))
    for a in [f.inf(1), fbits(-1.0, f), 0x1 | (1 << (f.width - 1)), f.zero(1), f.zero(0), 0x1,
              fbits(1.0, f), f.inf(0), f.inf(0) | 1, f.qnan, f.qnan | (1 << (f.width - 1)) | 7]:
        g.add("TEST_FP_INT_OP1_%s(%%N, fclass.%s, 0x00, 0x%x, %s)" % (ext, sfx, op_class(a, f), h(a, f)))
    sign = 1 << (f.width - 1)
    for a, b in [(fbits(1.0, f), fbits(-2.0, f)), (fbits(-1.0, f), fbits(2.0, f)), (f.qnan, sign),
                 (fbits(-3.0, f), fbits(-2.0, f)), (f.inf(0) | 1, f.zero(0))]:
        sa, sb = a & sign, b & sign
        mag = a & (sign - 1)
        for name, s in (("fsgnj", sb), ("fsgnjn", sb ^ sign), ("fsgnjx", sa ^ sb)):
            g.add("TEST_FP_OP2_%s(%%N, %s.%s, 0x00, %s, %s, %s)" % (ext, name, sfx, h(mag | s, f), h(a, f), h(b, f)))
    g.write()

    # ---- conversions to / from integers -----------------------------------
    g = Gen("RV64%s fcvt.{w,wu,l,lu}.%s and fcvt.%s.{w,wu,l,lu}: every rounding mode, saturation, NaN"
            % (ext, sfx, sfx), "%s/convert.S" % d)
    cv = [fbits(1.5, f), fbits(2.5, f), fbits(-1.5, f), fbits(-2.5, f), fbits(0.5, f), fbits(-0.5, f),
          fbits(-0.9, f), fbits(1.1, f), f.qnan, f.inf(0), f.inf(1), f.zero(1), fbits(2.0 ** 31, f),
          fbits(-2.0 ** 31, f), fbits(2.0 ** 32, f), fbits(2.0 ** 63, f), fbits(-2.0 ** 63, f),
          fbits(2.0 ** 64, f), fbits(-1.0, f), f.inf(0) | 1, fbits(4294967295.0, f) if f is F64 else fbits(4294967040.0, f),
          fbits(-2147483649.0, f) if f is F64 else fbits(-2147483904.0, f)]
    todo = []
    for a in cv:
        for op, bits, signed in (("w", 32, True), ("wu", 32, False), ("l", 64, True), ("lu", 64, False)):
            for rm in (RNE, RTZ, RDN, RUP, RMM):
                todo.append((a, op, bits, signed, rm))
    rnd.shuffle(todo)
    # keep all rounding modes for the small values, sample the rest
    keep = [t for t in todo if t[0] in cv[:8] and t[1] in ("w", "wu")]
    rest = [t for t in todo if t not in keep]
    for a, op, bits, signed, rm in keep + rest[:200 - len(keep)]:
        r, fl = op_f2i(a, f, rm, bits, signed)
        mac = "TEST_FP_LONG_OP1_S_RM" if f is F32 else "TEST_FP_INT_OP1_D_RM"
        if f is F32 and bits == 32:
            mac = "TEST_FP_LONG_OP1_S_RM"
        g.add("%s(%%N, fcvt.%s.%s, %s, %s, 0x%016x, %s)" % (mac, op, sfx, RM_NAME[rm], flagstr(fl), r, h(a, f)))
    iv = [0, 1, -1, 0x7fffffff, -0x80000000, 0xffffffff, 0x123456789abcdef, -0x123456789abcdef,
          0x7fffffffffffffff, -0x8000000000000000, 16777217, 9007199254740993, 0xffffffffffffffff]
    n_ = 0
    for x in iv:
        for op, bits, signed in (("w", 32, True), ("wu", 32, False), ("l", 64, True), ("lu", 64, False)):
            n_ += 1
            rm = [RNE, RTZ, RDN, RUP, RMM][n_ % 5]
            r, fl = op_i2f(x, f, rm, bits, signed)
            if f is F64 and bits == 32:
                g.add("TEST_INT_FP_OP_D_EXACT(%%N, fcvt.%s.%s, %s, %s, 0x%016x)" %
                      (sfx, op, flagstr(fl), h(r, f), x & 0xffffffffffffffff))
                continue
            g.add("TEST_INT_FP_OP_%s(%%N, fcvt.%s.%s, %s, %s, %s, 0x%016x)" %
                  (ext, sfx, op, RM_NAME[rm], flagstr(fl), h(r, f), x & 0xffffffffffffffff))
    g.write()


def gen_sd():
    g = Gen("RV64D fcvt.s.d / fcvt.d.s: rounding, overflow, underflow, NaN, NaN boxing", "rv64d/convert_sd.S")
    dv = D_VALS + [0x3ff0000010000000, 0x3ff0000030000000, 0x3ff0000008000000, 0x47efffffffffffff,
                   0x47efffffe0000000, 0x36a0000000000000, 0x3690000000000000, 0x380fffffffffffff,
                   0xc7efffffe0000000]
    for a in dv:
        for rm in (RNE, RTZ, RDN, RUP, RMM) if a in dv[-9:] else (RNE,):
            r, fl = op_cvt_ff(a, F64, F32, rm)
            g.add("TEST_FP_OP_D_INTERNAL(%%N, %s, 0x%016x, %s, 0, 0, fcvt.s.d f13, f10, %s; fmv.x.w a0, f13)" %
                  (flagstr(fl), r | (0xffffffff00000000 if r >> 31 else 0), h(a, F64), RM_NAME[rm]))
    for a in S_VALS:
        r, fl = op_cvt_ff(a, F32, F64, RNE)
        g.add("TEST_FP_OP_S_INTERNAL(%%N, %s, %s, %s, 0, 0, fcvt.d.s f13, f10; fmv.x.d a0, f13)" %
              (flagstr(fl), h(r, F64), h(a, F32)))
    g.write()


if __name__ == "__main__":
    gen(F32, "s", S_VALS, "rv64f")
    gen(F64, "d", D_VALS, "rv64d")
    gen_sd()
