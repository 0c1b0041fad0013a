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

// A host call that writes into the guest buffer [va, va + len): `call`
// gets its host bytes and returns what the host call returned (-1 and
// errno on failure), and the result is host_result's. The kernel's copy
// into the buffer fails with EFAULT if another thread write-protected a
// page of it for its code after guest_buf() made it writable (the host
// fault handler makes good only vessel's own writes, host_faults.hpp);
// EFAULT for a buffer guest_buf() accepted means nothing was copied (a
// pipe keeps its data, a file its offset), so the call runs again with
// the buffer made writable again. Bounded, should a thread keep decoding
// from the page: then the guest gets EFAULT.
template <typename Call>
int64_t into_guest(Thread& t, uint64_t va, uint64_t len, Call call) {
  for (int tries = 0;; ++tries) {
    uint8_t* buf = guest_buf(t, va, len, kProtWrite);
    if (buf == nullptr) return -EFAULT;
    const int64_t r = host_result(call(buf));
    if (r != -EFAULT || tries == 1000) return r;
  }
}

// An optional guest pointer to a T: reads it if non-null.
template <typename T>
inline bool read_opt(Thread& t, uint64_t va, T& out, bool& present) {
  present = va != 0;
  return va == 0 || t.space().read_value(va, out);
}

}  // namespace vessel::user
