// Helpers the system-call handlers share: guest pointers and paths.
#pragma once

#include <climits>
#include <cstdint>
#include <string>

#include "user/process.hpp"
#include "user/syscalls.hpp"

namespace vessel::user {

// A path argument as the host should see it; 0 or -errno (EFAULT,
// ENAMETOOLONG).
inline int64_t guest_path(Thread& t, uint64_t va, std::string& out) {
  std::string raw;
  const int err = t.space().read_string(va, PATH_MAX, raw);
  if (err != 0) return -err;
  out = t.process().host_path(raw);
  return 0;
}

// Host bytes for a guest buffer the guest may read (kProtRead) or the
// system call writes (kProtWrite); nullptr means EFAULT.
inline uint8_t* guest_buf(Thread& t, uint64_t va, uint64_t len, uint32_t need) {
  return t.space().host(va, len, need);
}

// An optional guest pointer to a T: reads it if non-null.
template <typename T>
inline bool read_opt(Thread& t, uint64_t va, T& out, bool& present) {
  present = va != 0;
  return va == 0 || t.space().read_value(va, out);
}

}  // namespace vessel::user
