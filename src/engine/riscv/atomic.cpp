// LR, SC and AMOs, for both executors, on host atomics.
//
// Guest RAM is shared by harts that may run on several host threads, so each
// AMO is one atomic read-modify-write of the host's (lock xadd, xchg, or a
// lock cmpxchg loop; on x86-64 each is also a full fence, which covers the
// .aq and .rl bits), and an SC is a compare-and-swap against the value its LR
// read: it fails if any hart changed the bytes in between. Unlike a hardware
// reservation it succeeds if they were changed and changed back (A-B-A);
// QEMU's translator makes the same trade, and code written for cmpxchg, as
// Linux's is, does not depend on the difference. The translator's inline
// fast paths (jit/emit_atomic.cpp) do exactly this too.
#include <atomic>
#include <type_traits>

#include "engine/riscv/hart.hpp"

namespace vessel::rv {

namespace {

template <typename T>
T amo_compute(AmoOp op, T old, T src) {
  using S = std::make_signed_t<T>;
  switch (op) {
    case AmoOp::kAdd: return static_cast<T>(old + src);
    case AmoOp::kSwap: return src;
    case AmoOp::kXor: return old ^ src;
    case AmoOp::kOr: return old | src;
    case AmoOp::kAnd: return old & src;
    case AmoOp::kMin: return static_cast<S>(old) < static_cast<S>(src) ? old : src;
    case AmoOp::kMax: return static_cast<S>(old) > static_cast<S>(src) ? old : src;
    case AmoOp::kMinu: return old < src ? old : src;
    default: return old > src ? old : src;  // kMaxu
  }
}

// SAFETY (all three): `p` is an aligned, writable host address in guest RAM
// (Hart::amo_address checked the alignment and the translation).
template <typename T>
T amo_fetch(AmoOp op, uint8_t* p, T src) {
  std::atomic_ref<T> a(*reinterpret_cast<T*>(p));
  switch (op) {
    case AmoOp::kAdd: return a.fetch_add(src);
    case AmoOp::kSwap: return a.exchange(src);
    case AmoOp::kXor: return a.fetch_xor(src);
    case AmoOp::kOr: return a.fetch_or(src);
    case AmoOp::kAnd: return a.fetch_and(src);
    default: {
      T old = a.load(std::memory_order_relaxed);
      while (!a.compare_exchange_weak(old, amo_compute(op, old, src))) {
      }
      return old;
    }
  }
}

template <typename T>
T load_acquire(const uint8_t* p) {
  return std::atomic_ref<T>(*reinterpret_cast<T*>(const_cast<uint8_t*>(p)))
      .load(std::memory_order_acquire);
}

template <typename T>
bool compare_and_swap(uint8_t* p, uint64_t expected, uint64_t desired) {
  T e = static_cast<T>(expected);
  return std::atomic_ref<T>(*reinterpret_cast<T*>(p))
      .compare_exchange_strong(e, static_cast<T>(desired));
}

int64_t sext32(uint32_t v) {
  return static_cast<int32_t>(v);
}

}  // namespace

bool Hart::atomic(Op op, AmoOp amo, uint64_t va, uint64_t src, uint64_t& result) {
  const bool word = op == Op::LR_W || op == Op::SC_W || op == Op::AMO_W;
  const unsigned size = word ? 4 : 8;
  const bool lr = op == Op::LR_W || op == Op::LR_D;
  uint64_t pa = 0;
  uint8_t* p = amo_address(va, size, lr, pa);
  if (p == nullptr) return false;
  const auto host = reinterpret_cast<uint64_t>(p);
  if (lr) {
    result =
        word ? static_cast<uint64_t>(sext32(load_acquire<uint32_t>(p))) : load_acquire<uint64_t>(p);
    resv_host_ = host;
    resv_value_ = result;
    return true;
  }
  if (op == Op::SC_W || op == Op::SC_D) {
    const bool ok = resv_host_ == host && (word ? compare_and_swap<uint32_t>(p, resv_value_, src)
                                                : compare_and_swap<uint64_t>(p, resv_value_, src));
    resv_host_ = 0;
    result = ok ? 0 : 1;
    return true;
  }
  result =
      word ? static_cast<uint64_t>(sext32(amo_fetch<uint32_t>(amo, p, static_cast<uint32_t>(src))))
           : amo_fetch<uint64_t>(amo, p, src);
  return true;
}

}  // namespace vessel::rv
