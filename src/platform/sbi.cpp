#include "platform/sbi.hpp"

#include <vector>

namespace vessel {

namespace {

constexpr uint64_t kSpecVersion = 2ull << 24;  // v2.0
constexpr uint64_t kImplId = 0x7665;           // "ve": not a registered SBI implementation ID
constexpr uint64_t kImplVersion = 1;
constexpr uint64_t kDbcnMaxBytes = 4096;  // per call; the guest loops for more

SbiRet ok(uint64_t value = 0) {
  return {sbi_error::kSuccess, value, false};
}
SbiRet err(int64_t error) {
  return {error, 0, false};
}

// Applies `fn` to each hart selected by (hart_mask, hart_mask_base), as the
// IPI, RFENCE calls define it. Returns false if the mask names a hart that
// does not exist.
template <typename Fn>
bool for_each_hart(SbiHost& host, uint64_t mask, uint64_t base, Fn&& fn) {
  const unsigned n = host.num_harts();
  if (base == ~uint64_t{0}) {  // all harts
    for (unsigned h = 0; h < n; ++h) fn(h);
    return true;
  }
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (((mask >> bit) & 1) == 0) continue;
    const uint64_t h = base + bit;
    if (h < base || h >= n) return false;
  }
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (((mask >> bit) & 1) != 0) fn(static_cast<unsigned>(base + bit));
  }
  return true;
}

bool extension_present(uint64_t ext) {
  switch (ext) {
    case sbi_ext::kBase:
    case sbi_ext::kTime:
    case sbi_ext::kIpi:
    case sbi_ext::kRfence:
    case sbi_ext::kHsm:
    case sbi_ext::kSrst:
    case sbi_ext::kDbcn:
    case sbi_ext::kLegacySetTimer:
    case sbi_ext::kLegacyPutchar:
    case sbi_ext::kLegacyGetchar:
    case sbi_ext::kLegacyShutdown: return true;
    default: return false;
  }
}

SbiRet base_call(const SbiCall& c) {
  switch (c.fid) {
    case 0: return ok(kSpecVersion);
    case 1: return ok(kImplId);
    case 2: return ok(kImplVersion);
    case 3: return ok(extension_present(c.arg[0]) ? 1 : 0);
    case 4:
    case 5:
    case 6: return ok(0);  // mvendorid, marchid, mimpid
    default: return err(sbi_error::kNotSupported);
  }
}

SbiRet hsm_call(const SbiCall& c, SbiHost& host) {
  const uint64_t hart = c.arg[0];
  switch (c.fid) {
    case 0: {  // hart_start(hartid, start_addr, opaque)
      if (hart >= host.num_harts()) return err(sbi_error::kInvalidParam);
      if (host.hart_state(static_cast<unsigned>(hart)) != HartState::kStopped) {
        return err(sbi_error::kAlreadyAvailable);
      }
      if ((c.arg[1] & 1) != 0) return err(sbi_error::kInvalidAddress);
      host.hart_start(static_cast<unsigned>(hart), c.arg[1], c.arg[2]);
      return ok();
    }
    case 1:  // hart_stop() of the calling hart
      host.hart_stop(c.hart);
      return ok();
    case 2:  // hart_get_status(hartid)
      if (hart >= host.num_harts()) return err(sbi_error::kInvalidParam);
      return ok(static_cast<uint64_t>(host.hart_state(static_cast<unsigned>(hart))));
    default: return err(sbi_error::kNotSupported);  // hart_suspend is optional
  }
}

SbiRet dbcn_call(const SbiCall& c, SbiHost& host) {
  switch (c.fid) {
    case 0: {  // console_write(num_bytes, base_lo, base_hi)
      if (c.arg[2] != 0) return err(sbi_error::kInvalidParam);  // above 4 GiB*2^32: no RAM there
      const uint64_t n = c.arg[0] < kDbcnMaxBytes ? c.arg[0] : kDbcnMaxBytes;
      std::vector<uint8_t> buf(n);
      if (!host.read_physical(c.arg[1], buf)) return err(sbi_error::kInvalidParam);
      for (uint8_t b : buf) host.console_write(b);
      return ok(n);
    }
    case 1: {  // console_read(num_bytes, base_lo, base_hi)
      if (c.arg[2] != 0) return err(sbi_error::kInvalidParam);
      std::vector<uint8_t> buf;
      while (buf.size() < c.arg[0] && buf.size() < kDbcnMaxBytes) {
        const int ch = host.console_read();
        if (ch < 0) break;
        buf.push_back(static_cast<uint8_t>(ch));
      }
      if (!host.write_physical(c.arg[1], buf)) return err(sbi_error::kInvalidParam);
      return ok(buf.size());
    }
    case 2:  // console_write_byte(byte)
      host.console_write(static_cast<uint8_t>(c.arg[0]));
      return ok();
    default: return err(sbi_error::kNotSupported);
  }
}

}  // namespace

SbiRet sbi_dispatch(const SbiCall& c, SbiHost& host) {
  switch (c.ext) {
    case sbi_ext::kBase: return base_call(c);
    case sbi_ext::kTime:
      if (c.fid != 0) return err(sbi_error::kNotSupported);
      host.set_timer(c.hart, c.arg[0]);
      return ok();
    case sbi_ext::kIpi:
      if (c.fid != 0) return err(sbi_error::kNotSupported);
      if (!for_each_hart(host, c.arg[0], c.arg[1], [&](unsigned h) { host.send_ipi(h); })) {
        return err(sbi_error::kInvalidParam);
      }
      return ok();
    case sbi_ext::kRfence:
      if (c.fid > 6) return err(sbi_error::kNotSupported);
      if (c.fid > 2) return err(sbi_error::kNotSupported);  // hypervisor fences
      if (!for_each_hart(host, c.arg[0], c.arg[1], [&](unsigned h) { host.remote_fence(h); })) {
        return err(sbi_error::kInvalidParam);
      }
      return ok();
    case sbi_ext::kHsm: return hsm_call(c, host);
    case sbi_ext::kSrst:
      if (c.fid != 0) return err(sbi_error::kNotSupported);
      if (c.arg[0] > 2 || c.arg[1] > 1) return err(sbi_error::kInvalidParam);
      host.system_reset(static_cast<uint32_t>(c.arg[0]), static_cast<uint32_t>(c.arg[1]));
      return ok();
    case sbi_ext::kDbcn: return dbcn_call(c, host);
    case sbi_ext::kLegacySetTimer: host.set_timer(c.hart, c.arg[0]); return {0, 0, true};
    case sbi_ext::kLegacyPutchar:
      host.console_write(static_cast<uint8_t>(c.arg[0]));
      return {0, 0, true};
    case sbi_ext::kLegacyGetchar: return {host.console_read(), 0, true};
    case sbi_ext::kLegacyShutdown: host.system_reset(0, 0); return {0, 0, true};
    default: return err(sbi_error::kNotSupported);
  }
}

}  // namespace vessel
