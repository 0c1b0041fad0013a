#include "platform/plic.hpp"

#include <utility>

namespace vessel {

Plic::Plic(std::vector<HartIrqPins*> harts)
    : harts_(std::move(harts)), contexts_(2 * harts_.size()) {
  update();
}

void Plic::assign(Bits& bits, uint32_t source, bool on) {
  const uint32_t bit = uint32_t{1} << (source % 32);
  if (on) {
    bits[source / 32] |= bit;
  } else {
    bits[source / 32] &= ~bit;
  }
}

bool Plic::pending(uint32_t source) const {
  return source < kNumSources && test(pending_, source);
}

bool Plic::claimed(uint32_t source) const {
  return source < kNumSources && test(claimed_, source);
}

void Plic::set_irq(uint32_t source, bool level) {
  if (source == 0 || source >= kNumSources) return;
  assign(level_, source, level);
  if (!test(claimed_, source)) assign(pending_, source, level);
  update();
}

bool Plic::mmio_read(uint64_t offset, unsigned size, uint64_t& value) {
  value = 0;
  if (size != 4 || offset % 4 != 0) return false;
  if (offset < kPendingBase) {
    const uint64_t source = offset / 4;
    if (source < kNumSources) value = priority_[source];
  } else if (offset < kEnableBase) {
    const uint64_t word = (offset - kPendingBase) / 4;
    if (word < kWords) value = pending_[word];
  } else if (offset < kContextBase) {
    const uint64_t ctx = (offset - kEnableBase) / kEnableStride;
    const uint64_t word = (offset - kEnableBase) % kEnableStride / 4;
    if (ctx < contexts_.size() && word < kWords) value = contexts_[ctx].enable[word];
  } else {
    const uint64_t ctx = (offset - kContextBase) / kContextStride;
    if (ctx < contexts_.size()) {
      return read_context(static_cast<unsigned>(ctx), (offset - kContextBase) % kContextStride,
                          value);
    }
  }
  return true;
}

bool Plic::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  if (size != 4 || offset % 4 != 0) return false;
  const auto word_value = static_cast<uint32_t>(value);
  if (offset < kPendingBase) {
    const uint64_t source = offset / 4;
    // Source 0 does not exist; its priority stays 0.
    if (source != 0 && source < kNumSources) priority_[source] = word_value & kPriorityMask;
  } else if (offset < kEnableBase) {
    // Pending bits are read-only: only the gateways set them.
    if (log_limit_.allow()) spdlog::debug("plic: write to pending bits at {:#x} ignored", offset);
    return true;
  } else if (offset < kContextBase) {
    const uint64_t ctx = (offset - kEnableBase) / kEnableStride;
    const uint64_t word = (offset - kEnableBase) % kEnableStride / 4;
    if (ctx >= contexts_.size() || word >= kWords) return true;
    // Source 0 cannot be enabled. (96 sources fill the words exactly, so no
    // bits above the last source need masking.)
    contexts_[ctx].enable[word] = word == 0 ? (word_value & ~uint32_t{1}) : word_value;
  } else {
    const uint64_t ctx = (offset - kContextBase) / kContextStride;
    if (ctx >= contexts_.size()) return true;
    write_context(static_cast<unsigned>(ctx), (offset - kContextBase) % kContextStride, word_value);
  }
  update();
  return true;
}

bool Plic::read_context(unsigned ctx, uint64_t reg, uint64_t& value) {
  if (reg == 0) {
    value = contexts_[ctx].threshold;
  } else if (reg == 4) {
    value = claim(ctx);
  }
  return true;
}

void Plic::write_context(unsigned ctx, uint64_t reg, uint32_t value) {
  if (reg == 0) {
    contexts_[ctx].threshold = value & kPriorityMask;
  } else if (reg == 4) {
    complete(ctx, value);
  }
}

uint32_t Plic::best(unsigned ctx) const {
  const Context& c = contexts_[ctx];
  uint32_t best_source = 0;
  uint32_t best_priority = c.threshold;  // must be strictly above the threshold
  for (unsigned w = 0; w < kWords; ++w) {
    uint32_t candidates = pending_[w] & ~claimed_[w] & c.enable[w];
    while (candidates != 0) {
      const auto bit = static_cast<uint32_t>(__builtin_ctz(candidates));
      candidates &= candidates - 1;
      const uint32_t source = w * 32 + bit;
      // Ascending order and a strict comparison: ties go to the lowest id.
      if (priority_[source] > best_priority) {
        best_priority = priority_[source];
        best_source = source;
      }
    }
  }
  return best_source;
}

uint32_t Plic::claim(unsigned ctx) {
  const uint32_t source = best(ctx);
  if (source != 0) {
    assign(pending_, source, false);
    assign(claimed_, source, true);
    update();
  }
  return source;
}

void Plic::complete(unsigned ctx, uint32_t source) {
  // The spec ignores completions for sources not enabled for the context.
  if (source == 0 || source >= kNumSources || !test(contexts_[ctx].enable, source)) {
    if (log_limit_.allow()) spdlog::debug("plic: context {} completes bad source {}", ctx, source);
    return;
  }
  assign(claimed_, source, false);
  // The gateway forwards a new request if the line is still asserted.
  assign(pending_, source, test(level_, source));
}

void Plic::update() {
  for (unsigned ctx = 0; ctx < contexts_.size(); ++ctx) {
    HartIrqPins* pins = harts_[ctx / 2];
    if (pins == nullptr) continue;
    pins->set(ctx % 2 == 0 ? HartIrqPins::kMeip : HartIrqPins::kSeip, best(ctx) != 0);
  }
}

// Layout, version 1: u32 number of sources, u32 number of contexts; per
// source u8 priority; the pending, claimed and line bitmaps as u32 words;
// per context the enable words and u8 threshold.
void Plic::save_state(state::Writer& w) const {
  w.u32(kNumSources);
  w.u32(static_cast<uint32_t>(contexts_.size()));
  for (uint32_t p : priority_) w.u8(static_cast<uint8_t>(p));
  for (const Bits* bits : {&pending_, &claimed_, &level_}) {
    for (uint32_t word : *bits) w.u32(word);
  }
  for (const Context& c : contexts_) {
    for (uint32_t word : c.enable) w.u32(word);
    w.u8(static_cast<uint8_t>(c.threshold));
  }
}

void Plic::load_state(state::Reader& r) {
  // With whole words of sources there are no bits past the last source to check.
  static_assert(kNumSources % 32 == 0);
  const uint32_t sources = r.u32();
  const uint32_t contexts = r.u32();
  if (sources != kNumSources || contexts != contexts_.size()) {
    state::state_fail(
        "state section '{}' is for a PLIC with {} sources and {} contexts, this one has {} "
        "and {}",
        r.what(), sources, contexts, kNumSources, contexts_.size());
  }
  // Everything is read into copies first: a bad blob leaves the PLIC as it was.
  std::array<uint32_t, kNumSources> priority{};
  for (uint32_t& p : priority) {
    p = r.u8();
    if (p > kPriorityMask) state::state_fail("state section '{}': bad priority {}", r.what(), p);
  }
  if (priority[0] != 0) state::state_fail("state section '{}': source 0 has a priority", r.what());
  Bits pending{}, claimed{}, level{};
  for (Bits* bits : {&pending, &claimed, &level}) {
    for (uint32_t& word : *bits) word = r.u32();
    if (test(*bits, 0)) state::state_fail("state section '{}': source 0 is active", r.what());
  }
  for (unsigned w = 0; w < kWords; ++w) {
    if (pending[w] != (level[w] & ~claimed[w])) {
      state::state_fail("state section '{}': pending bits do not match the lines", r.what());
    }
  }
  std::vector<Context> loaded(contexts_.size());
  for (Context& c : loaded) {
    for (uint32_t& word : c.enable) word = r.u32();
    if (test(c.enable, 0)) state::state_fail("state section '{}': source 0 is enabled", r.what());
    c.threshold = r.u8();
    if (c.threshold > kPriorityMask) {
      state::state_fail("state section '{}': bad threshold {}", r.what(), c.threshold);
    }
  }
  r.expect_end();

  priority_ = priority;
  pending_ = pending;
  claimed_ = claimed;
  level_ = level;
  contexts_ = std::move(loaded);
  update();
}

}  // namespace vessel
