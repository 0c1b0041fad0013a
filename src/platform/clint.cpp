#include "platform/clint.hpp"

#include <utility>

namespace vessel {
namespace {

// Replaces the 32-bit half of `old` selected by byte offset 0 or 4.
uint64_t merge_half(uint64_t old, uint64_t offset_in_reg, uint64_t value) {
  const unsigned shift = offset_in_reg == 0 ? 0 : 32;
  const uint64_t mask = uint64_t{0xffff'ffff} << shift;
  return (old & ~mask) | ((value & 0xffff'ffff) << shift);
}

bool aligned(uint64_t offset, unsigned size) {
  return offset % size == 0;
}

}  // namespace

Clint::Clint(GuestClock& clock, const std::vector<HartIrqPins*>& harts) : clock_(clock) {
  harts_.reserve(harts.size());
  for (HartIrqPins* pins : harts) harts_.push_back({pins});
  update();
}

bool Clint::mmio_read(uint64_t offset, unsigned size, uint64_t& value) {
  value = 0;
  if (offset >= kMtime + 8) return true;  // reserved space after mtime
  if (offset < kMtimecmpBase) {
    if (size != 4 || !aligned(offset, 4)) return false;
    const uint64_t hart = offset / 4;
    if (hart < harts_.size()) value = harts_[hart].msip ? 1 : 0;
    return true;
  }
  if (offset >= kMtime) {
    if ((size != 4 && size != 8) || !aligned(offset, size)) return false;
    const uint64_t now = clock_.now();
    value = size == 8 ? now : (offset == kMtime ? now & 0xffff'ffff : now >> 32);
    return true;
  }
  return read_mtimecmp(offset, size, value);
}

bool Clint::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset >= kMtime + 8) return true;
  if (offset < kMtimecmpBase) {
    if (size != 4 || !aligned(offset, 4)) return false;
    const uint64_t hart = offset / 4;
    if (hart < harts_.size()) {
      harts_[hart].msip = (value & 1) != 0;  // bits 31:1 are hardwired to zero
      if (harts_[hart].pins != nullptr)
        harts_[hart].pins->set(HartIrqPins::kMsip, harts_[hart].msip);
    }
    return true;
  }
  if (offset >= kMtime) return write_mtime(offset, size, value);
  return write_mtimecmp(offset, size, value);
}

bool Clint::read_mtimecmp(uint64_t offset, unsigned size, uint64_t& value) const {
  if ((size != 4 && size != 8) || !aligned(offset, size)) return false;
  const uint64_t hart = (offset - kMtimecmpBase) / 8;
  if (hart >= harts_.size()) return true;  // includes the gap up to mtime
  const uint64_t cmp = harts_[hart].mtimecmp;
  const uint64_t in_reg = (offset - kMtimecmpBase) % 8;
  value = size == 8 ? cmp : (in_reg == 0 ? cmp & 0xffff'ffff : cmp >> 32);
  return true;
}

bool Clint::write_mtimecmp(uint64_t offset, unsigned size, uint64_t value) {
  if ((size != 4 && size != 8) || !aligned(offset, size)) return false;
  const uint64_t hart = (offset - kMtimecmpBase) / 8;
  if (hart >= harts_.size()) {
    if (log_limit_.allow()) spdlog::debug("clint: mtimecmp write for absent hart {}", hart);
    return true;
  }
  const uint64_t in_reg = (offset - kMtimecmpBase) % 8;
  set_mtimecmp(static_cast<unsigned>(hart),
               size == 8 ? value : merge_half(harts_[hart].mtimecmp, in_reg, value));
  return true;
}

bool Clint::write_mtime(uint64_t offset, unsigned size, uint64_t value) {
  if ((size != 4 && size != 8) || !aligned(offset, size)) return false;
  clock_.set_now(size == 8 ? value : merge_half(clock_.now(), offset - kMtime, value));
  update();
  return true;
}

void Clint::update() {
  const uint64_t now = clock_.now();
  for (HartState& h : harts_) {
    if (h.pins != nullptr) h.pins->set(HartIrqPins::kMtip, now >= h.mtimecmp);
  }
}

uint64_t Clint::next_deadline() const {
  const uint64_t now = clock_.now();
  uint64_t deadline = UINT64_MAX;
  for (const HartState& h : harts_) {
    if (h.mtimecmp > now && h.mtimecmp < deadline) deadline = h.mtimecmp;
  }
  return deadline;
}

uint64_t Clint::mtimecmp(unsigned hart) const {
  return hart < harts_.size() ? harts_[hart].mtimecmp : UINT64_MAX;
}

void Clint::set_mtimecmp(unsigned hart, uint64_t value) {
  if (hart >= harts_.size()) return;
  harts_[hart].mtimecmp = value;
  if (harts_[hart].pins != nullptr) {
    harts_[hart].pins->set(HartIrqPins::kMtip, clock_.now() >= value);
  }
}

bool Clint::msip(unsigned hart) const {
  return hart < harts_.size() && harts_[hart].msip;
}

// Layout, version 1: u32 number of harts, then per hart u64 mtimecmp and
// bool msip.
void Clint::save_state(state::Writer& w) const {
  w.u32(static_cast<uint32_t>(harts_.size()));
  for (const HartState& h : harts_) {
    w.u64(h.mtimecmp);
    w.boolean(h.msip);
  }
}

void Clint::load_state(state::Reader& r) {
  const uint32_t count = r.u32();
  if (count != harts_.size()) {
    state::state_fail("state section '{}' is for {} harts, this CLINT has {}", r.what(), count,
                      harts_.size());
  }
  // Read everything before changing anything: a bad blob leaves the CLINT as it was.
  std::vector<HartState> loaded = harts_;
  for (HartState& h : loaded) {
    h.mtimecmp = r.u64();
    h.msip = r.boolean();
  }
  r.expect_end();
  harts_ = std::move(loaded);
  for (HartState& h : harts_) {
    if (h.pins != nullptr) h.pins->set(HartIrqPins::kMsip, h.msip);
  }
  update();
}

}  // namespace vessel
