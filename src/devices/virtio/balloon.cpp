#include "devices/virtio/balloon.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <ctime>

#include "devices/virtio/virtqueue.hpp"

namespace vessel::virtio {

namespace {

uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

// 5.5.6.3 Memory Statistics Tags (VIRTIO_BALLOON_S_SWAP_IN = 0, ...).
constexpr std::array<const char*, kBalloonNumStats> kStatNames = {
    "swap_in",      "swap_out",         "major_faults", "minor_faults",        "free_memory",
    "total_memory", "available_memory", "disk_caches",  "hugetlb_allocations", "hugetlb_failures",
};

}  // namespace

Balloon::Balloon(Clock clock) : clock_(clock ? std::move(clock) : Clock(realtime_ns)) {}

const char* Balloon::stat_name(uint16_t tag) {
  return tag < kStatNames.size() ? kStatNames[tag] : nullptr;
}

void Balloon::warn(const char* what) {
  if (log_limit_.allow()) spdlog::warn("virtio-balloon: {}", what);
}

// ---- configuration space (5.5.4) ----

void Balloon::read_config(uint64_t offset, std::span<uint8_t> out) {
  // FREE_PAGE_HINT and PAGE_POISON are not offered: those fields read 0.
  const BalloonConfig config{num_pages_, actual_, 0, 0};
  uint8_t bytes[sizeof config];
  std::memcpy(bytes, &config, sizeof config);
  for (size_t i = 0; i < out.size(); ++i) {
    const uint64_t at = offset + i;
    out[i] = at >= offset && at < sizeof bytes ? bytes[at] : 0;
  }
}

void Balloon::write_config(uint64_t offset, std::span<const uint8_t> in) {
  // Byte by byte, so any access width or offset that overlaps `actual`
  // updates just the bytes it covers (5.5.4: the driver writes `actual`).
  constexpr uint64_t kActual = offsetof(BalloonConfig, actual);
  uint8_t bytes[sizeof actual_];
  std::memcpy(bytes, &actual_, sizeof bytes);
  for (size_t i = 0; i < in.size(); ++i) {
    const uint64_t at = offset + i;
    if (at >= offset && at >= kActual && at < kActual + sizeof bytes) bytes[at - kActual] = in[i];
  }
  std::memcpy(&actual_, bytes, sizeof bytes);
}

// ---- lifecycle ----

void Balloon::activate(uint64_t features) {
  features_ = features & device_features();
  active_ = true;
  // Buffers posted before DRIVER_OK: Linux primes statsq with its first
  // statistics during probe, before the device is live.
  for (unsigned q = 0; q < kNumQueues; ++q) process(q);
}

void Balloon::reset() {
  active_ = false;
  features_ = 0;
  held_ = false;
  actual_ = 0;
}

void Balloon::queue_notify(unsigned queue) {
  process(queue);
}

Balloon::Role Balloon::role(unsigned queue) const {
  if (queue == 0) return Role::kInflate;
  if (queue == 1) return Role::kDeflate;
  unsigned next = 2;
  if ((features_ & kBalloonFStatsVq) != 0) {
    if (queue == next) return Role::kStats;
    ++next;
  }
  if ((features_ & kBalloonFReporting) != 0 && queue == next) return Role::kReporting;
  return Role::kNone;
}

void Balloon::process(unsigned queue) {
  if (!active_ || host_ == nullptr) return;
  switch (role(queue)) {
    case Role::kInflate: process_pfns(queue, /*inflate=*/true); break;
    case Role::kDeflate: process_pfns(queue, /*inflate=*/false); break;
    case Role::kStats: process_stats(queue); break;
    case Role::kReporting: process_reporting(queue); break;
    case Role::kNone: break;
  }
}

// ---- inflateq / deflateq (5.5.6.1, 5.5.6.2) ----

// Each buffer is an array of le32 PFNs, device-readable. The device returns
// it with nothing written.
void Balloon::process_pfns(unsigned queue, bool inflate_pages) {
  Virtqueue& q = host_->queue(queue);
  std::array<uint32_t, kMaxPfnsPerBuffer> pfns;
  bool used = false;
  // pop() yields at most the queue size of chains per published avail idx.
  while (auto chain = q.pop()) {
    ChainReader reader(host_->memory(), *chain);
    const uint64_t available = reader.remaining();
    if (available % 4 != 0) warn("PFN buffer length not a multiple of 4; tail ignored");
    if (available / 4 > kMaxPfnsPerBuffer) warn("PFN buffer too long; the rest ignored");
    const size_t count = static_cast<size_t>(std::min<uint64_t>(available / 4, pfns.size()));
    reader.read({reinterpret_cast<uint8_t*>(pfns.data()), count * 4});
    if (inflate_pages) {
      inflate({pfns.data(), count});
    } else {
      // The pages already read as zero; the guest may simply use them again.
      for (size_t i = 0; i < count; ++i) {
        if (host_->memory().contains(uint64_t{pfns[i]} << kPfnShift, kPageBytes)) {
          ++deflated_pages_;
        } else {
          ++bad_pfns_;
          warn("deflate PFN outside guest RAM ignored");
        }
      }
    }
    q.push(*chain, 0);
    used = true;
  }
  if (used) host_->notify_used(queue);
}

// Discards the pages, one discard() per run of consecutive PFNs: the driver
// allocates balloon pages one by one, but they mostly come out of the
// allocator in runs, and one madvise per run is what makes reclaiming
// hundreds of MiB fast.
void Balloon::inflate(std::span<uint32_t> pfns) {
  GuestMemory& memory = host_->memory();
  std::sort(pfns.begin(), pfns.end());
  uint64_t run_start = 0, run_end = 0;  // [start, end) in PFNs; empty when equal
  auto flush = [&] {
    if (run_end > run_start) {
      // Consecutive PFNs each inside RAM form a range inside RAM.
      memory.discard(run_start << kPfnShift, (run_end - run_start) << kPfnShift);
    }
    run_start = run_end = 0;
  };
  for (const uint32_t pfn : pfns) {
    const uint64_t gpa = uint64_t{pfn} << kPfnShift;  // < 2^44: no overflow
    if (!memory.contains(gpa, kPageBytes)) {
      ++bad_pfns_;
      warn("inflate PFN outside guest RAM ignored");
      continue;
    }
    ++inflated_pages_;
    if (run_end > run_start && pfn < run_end) continue;  // a repeat (sorted)
    if (run_end > run_start && pfn == run_end) {
      ++run_end;
      continue;
    }
    flush();
    run_start = pfn;
    run_end = uint64_t{pfn} + 1;
  }
  flush();
}

// ---- statsq (5.5.6.3) ----

// The driver posts one device-readable buffer of (le16 tag, le64 val)
// entries. The device keeps it; returning it is the request for new
// statistics, which arrive in the next buffer.
void Balloon::process_stats(unsigned queue) {
  Virtqueue& q = host_->queue(queue);
  while (auto chain = q.pop()) {
    if (held_) {
      // A second buffer while one is held: the driver does not do this;
      // give the older one back so none is lost, and keep the newer one.
      warn("second stats buffer while one is held; returning the first");
      DescriptorChain old;
      old.head = held_head_;
      q.push(old, 0);
      host_->notify_used(queue);
    }
    ChainReader reader(host_->memory(), *chain);
    const uint64_t available = reader.remaining();
    if (available % kBalloonStatBytes != 0) warn("stats buffer has a partial entry; ignored");
    if (available / kBalloonStatBytes > kMaxStatsPerBuffer) warn("stats buffer too long");
    const uint64_t count = std::min<uint64_t>(available / kBalloonStatBytes, kMaxStatsPerBuffer);
    // A buffer replaces all earlier values: a guest that stopped reporting
    // a statistic (booted an older kernel) must not leave a stale one.
    stats_present_ = 0;
    for (uint64_t i = 0; i < count; ++i) {
      uint8_t entry[kBalloonStatBytes];
      reader.read(entry);
      uint16_t tag;
      uint64_t value;
      std::memcpy(&tag, entry, sizeof tag);
      std::memcpy(&value, entry + sizeof tag, sizeof value);
      if (tag >= kBalloonNumStats) continue;  // a newer driver's statistic
      stats_[tag] = value;
      stats_present_ = static_cast<uint16_t>(stats_present_ | (1u << tag));
    }
    stats_updated_ns_ = clock_();
    held_ = true;
    held_head_ = chain->head;
  }
}

bool Balloon::request_stats() {
  if (!held_ || !active_ || host_ == nullptr || role(stats_queue()) != Role::kStats) return false;
  held_ = false;
  Virtqueue& q = host_->queue(stats_queue());
  // The head passed pop()'s check, or load_state()'s against the restored
  // queue; checked again because a bad id is a bug in the guest's driver.
  if (held_head_ >= q.size()) {
    warn("held stats buffer does not fit the stats queue; dropped");
    return false;
  }
  DescriptorChain chain;
  chain.head = held_head_;
  q.push(chain, 0);
  host_->notify_used(stats_queue());
  return true;
}

Balloon::BalloonStats Balloon::stats() const {
  BalloonStats out;
  for (uint16_t tag = 0; tag < kBalloonNumStats; ++tag) {
    if ((stats_present_ & (1u << tag)) != 0) out.values[stat_name(tag)] = stats_[tag];
  }
  out.updated_ns = stats_updated_ns_;
  return out;
}

// ---- reporting_vq (5.5.6.6 Free Page Reporting) ----

// Each buffer is a chain of device-writable descriptors whose address and
// length are the free ranges themselves (Linux: one scatterlist entry per
// free block of pageblock order). The device discards them and returns the
// buffer with nothing written.
void Balloon::process_reporting(unsigned queue) {
  Virtqueue& q = host_->queue(queue);
  GuestMemory& memory = host_->memory();
  bool used = false;
  while (auto chain = q.pop()) {
    if (!chain->readable.empty()) warn("device-readable descriptor on reporting queue ignored");
    // pop() checked each segment lies inside RAM; discard() checks again.
    for (const Segment& s : chain->writable) {
      if (((s.gpa | s.len) & (kPageBytes - 1)) != 0) {
        warn("reported range not page-aligned; skipped");
        continue;
      }
      if (!memory.discard(s.gpa, s.len)) {
        warn("reported range outside guest RAM; skipped");
        continue;
      }
      reported_bytes_ += s.len;
    }
    q.push(*chain, 0);
    used = true;
  }
  if (used) host_->notify_used(queue);
}

// ---- host side ----

void Balloon::set_target_bytes(uint64_t bytes) {
  uint64_t pages = bytes >> kPfnShift;
  if (host_ != nullptr) pages = std::min(pages, host_->memory().pages());
  const auto target = static_cast<uint32_t>(std::min<uint64_t>(pages, UINT32_MAX));
  if (target == num_pages_) return;
  num_pages_ = target;
  if (host_ != nullptr) host_->config_changed();
}

// ---- state ----

void Balloon::save_state(state::Writer& w) const {
  w.u32(num_pages_);
  w.u32(actual_);
  w.u64(inflated_pages_);
  w.u64(deflated_pages_);
  w.u64(reported_bytes_);
  w.u64(bad_pfns_);
  w.u16(stats_present_);
  w.u64s(stats_);
  w.u64(stats_updated_ns_);
  w.boolean(held_);
  w.u16(held_head_);
}

void Balloon::load_state(state::Reader& r) {
  // Everything is read and checked before anything changes.
  const uint32_t num_pages = r.u32();
  const uint32_t actual = r.u32();
  const uint64_t inflated = r.u64();
  const uint64_t deflated = r.u64();
  const uint64_t reported = r.u64();
  const uint64_t bad = r.u64();
  const uint16_t present = r.u16();
  std::array<uint64_t, kBalloonNumStats> values{};
  r.u64s(values);
  const uint64_t updated = r.u64();
  const bool held = r.boolean();
  const uint16_t head = r.u16();

  if (host_ != nullptr && num_pages > host_->memory().pages()) {
    state::state_fail("state section '{}': balloon target of {} pages exceeds guest RAM", r.what(),
                      num_pages);
  }
  if (reported % kPageBytes != 0) {
    state::state_fail("state section '{}': reported {} bytes, not whole pages", r.what(), reported);
  }
  if ((present >> kBalloonNumStats) != 0) {
    state::state_fail("state section '{}': bad balloon statistics mask {:#x}", r.what(), present);
  }
  if (held) {
    // The buffer goes back into the stats queue's used ring later: its head
    // must be an index that queue could have given out.
    if (!active_ || host_ == nullptr || role(stats_queue()) != Role::kStats) {
      state::state_fail("state section '{}': stats buffer held but no stats queue", r.what());
    }
    const Virtqueue& q = host_->queue(stats_queue());
    if (!q.ready() || head >= q.size()) {
      state::state_fail("state section '{}': held stats buffer {} outside the stats queue",
                        r.what(), head);
    }
  }

  num_pages_ = num_pages;
  actual_ = actual;
  inflated_pages_ = inflated;
  deflated_pages_ = deflated;
  reported_bytes_ = reported;
  bad_pfns_ = bad;
  stats_ = values;
  stats_present_ = present;
  stats_updated_ns_ = updated;
  held_ = held;
  held_head_ = head;
}

}  // namespace vessel::virtio
