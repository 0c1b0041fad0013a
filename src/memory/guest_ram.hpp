// Loads, stores and copies of guest RAM through host pointers, for code
// that already holds a checked host pointer (the engine's TLB fast paths,
// instruction fetch, GuestMemory's checked copies).
//
// Guest RAM is shared by the harts as a machine's memory is by its cores:
// what one hart's access races with on another hart's thread (or with a
// device's DMA) is the guest's business, ordered by the guest's own fences
// and atomics, not a bug in vessel. These functions exist so that
// ThreadSanitizer (`make tsan`) can tell such races from races on vessel's
// own data: it does not instrument them, and nothing else is exempt.
// Without TSan they are the plain memcpy they wrap.
#pragma once

#include <cstddef>
#include <cstring>

#if defined(__SANITIZE_THREAD__)
// Not instrumented (GCC then does not inline them into instrumented code,
// which costs the TSan build a call per access).
#define VESSEL_GUEST_RAM_ACCESS __attribute__((no_sanitize("thread")))
#else
#define VESSEL_GUEST_RAM_ACCESS
#endif

namespace vessel {

template <typename T>
VESSEL_GUEST_RAM_ACCESS inline T guest_ram_load(const void* host) {
  T value;
  std::memcpy(&value, host, sizeof(T));
  return value;
}

template <typename T>
VESSEL_GUEST_RAM_ACCESS inline void guest_ram_store(void* host, T value) {
  std::memcpy(host, &value, sizeof(T));
}

VESSEL_GUEST_RAM_ACCESS inline void guest_ram_copy(void* dst, const void* src, size_t n) {
#if defined(__SANITIZE_THREAD__)
  // Not memcpy, which TSan intercepts whatever the caller: a loop it does
  // not see (volatile, so that the compiler does not make it a memcpy).
  auto* d = static_cast<volatile unsigned char*>(dst);
  const auto* s = static_cast<const volatile unsigned char*>(src);
  for (size_t i = 0; i < n; ++i) d[i] = s[i];
#else
  std::memcpy(dst, src, n);
#endif
}

}  // namespace vessel
