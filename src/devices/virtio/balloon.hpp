// virtio-balloon (virtio 1.2 spec 5.5 "Traditional Memory Balloon Device"):
// the host sets a target, the driver gives that many 4 KiB pages back
// (inflateq) or takes them again (deflateq), reports memory statistics on
// request (statsq) and hands over free page ranges it does not need right
// now (reporting_vq, free page reporting). Pages given back are discarded:
// their host memory is freed and they read as zero afterwards.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>

#include "base/log.hpp"
#include "base/state.hpp"
#include "devices/virtio/virtio_device.hpp"

namespace vessel::virtio {

// 5.5.3 Feature bits.
inline constexpr uint64_t kBalloonFMustTellHost = 1ull << 0;
inline constexpr uint64_t kBalloonFStatsVq = 1ull << 1;
inline constexpr uint64_t kBalloonFDeflateOnOom = 1ull << 2;
inline constexpr uint64_t kBalloonFFreePageHint = 1ull << 3;
inline constexpr uint64_t kBalloonFPagePoison = 1ull << 4;
inline constexpr uint64_t kBalloonFReporting = 1ull << 5;

// 5.5.4 Device configuration layout. All fields little-endian, even for
// legacy drivers.
struct BalloonConfig {
  uint32_t num_pages;  // device: the balloon's target size in 4 KiB pages
  uint32_t actual;     // driver: pages it has given back so far
  uint32_t free_page_hint_cmd_id;
  uint32_t poison_val;
};
static_assert(sizeof(BalloonConfig) == 16);

// 5.5.6.3 Memory Statistics: one entry of the statsq buffer (packed).
inline constexpr uint32_t kBalloonStatBytes = 10;  // le16 tag, le64 val
inline constexpr uint16_t kBalloonNumStats = 10;   // tags 0..9 (VIRTIO_BALLOON_S_*)

class Balloon final : public VirtioDevice {
 public:
  static constexpr uint32_t kStateVersion = 1;
  static constexpr uint16_t kQueueSize = 128;
  // inflateq, deflateq, statsq, reporting_vq (no free_page_vq: FREE_PAGE_HINT
  // is not offered).
  static constexpr unsigned kNumQueues = 4;
  static constexpr unsigned kPfnShift = 12;  // 5.5.6: PFNs count 4 KiB pages
  static constexpr uint64_t kPageBytes = uint64_t{1} << kPfnShift;
  // PFNs taken from one inflate/deflate buffer at most; the rest is ignored.
  // Linux sends at most 256, FreeBSD 256; the cap bounds the time one
  // notify can hold the VM thread.
  static constexpr uint32_t kMaxPfnsPerBuffer = 1024;
  // Statistics entries parsed from one statsq buffer at most (Linux sends
  // at most 16).
  static constexpr uint32_t kMaxStatsPerBuffer = 64;

  // The latest statistics the driver reported, by name (stat_name()), and
  // when they arrived (Clock nanoseconds; 0 if never).
  struct BalloonStats {
    std::map<std::string, uint64_t> values;
    uint64_t updated_ns = 0;
  };

  // Nanoseconds for BalloonStats::updated_ns. Defaults to the host's
  // wall clock (CLOCK_REALTIME), which still means something after a
  // snapshot is restored on another host.
  using Clock = std::function<uint64_t()>;
  explicit Balloon(Clock clock = {});

  // ---- VirtioDevice ----
  uint32_t device_id() const override { return kIdBalloon; }
  uint64_t device_features() const override {
    return kBalloonFStatsVq | kBalloonFDeflateOnOom | kBalloonFReporting;
  }
  unsigned num_queues() const override { return kNumQueues; }
  uint16_t queue_max_size(unsigned /*queue*/) const override { return kQueueSize; }
  void read_config(uint64_t offset, std::span<uint8_t> out) override;
  // Only `actual` is writable; other bytes are ignored.
  void write_config(uint64_t offset, std::span<const uint8_t> in) override;
  void activate(uint64_t features) override;
  // Drops the held stats buffer; the new driver starts with an empty
  // balloon, so `actual` reads 0 again. The target stays: the host set it.
  void reset() override;
  void queue_notify(unsigned queue) override;

  uint32_t state_version() const override { return kStateVersion; }
  void save_state(state::Writer& w) const override;
  // Runs after activate() (when the saved device was active) with the
  // queues restored; checks the held stats buffer against the stats queue.
  void load_state(state::Reader& r) override;

  // ---- host side (the VMM's control interface, on the VM thread) ----
  // The balloon's target size: how much memory the guest should give back.
  // Rounded down to whole pages and capped at guest RAM; tells the driver
  // (configuration change) when the target changes.
  void set_target_bytes(uint64_t bytes);
  uint64_t target_bytes() const { return uint64_t{num_pages_} << kPfnShift; }
  // What the driver says it has given back (`actual`).
  uint64_t actual_bytes() const { return uint64_t{actual_} << kPfnShift; }
  BalloonStats stats() const;
  // Returns the held stats buffer to the driver, which answers with a new
  // one holding fresh statistics (stats() then shows them). False, and
  // nothing happens, when no buffer is held: the driver did not negotiate
  // STATS_VQ, has not posted one yet, or has not answered the last request.
  bool request_stats();
  bool stats_buffer_held() const { return held_; }

  // Counters since the device was created.
  uint64_t inflated_pages() const { return inflated_pages_; }
  uint64_t deflated_pages() const { return deflated_pages_; }
  uint64_t reported_bytes() const { return reported_bytes_; }
  // PFNs on inflateq/deflateq that were not guest RAM (skipped).
  uint64_t bad_pfns() const { return bad_pfns_; }

  // "swap_in", ..., "hugetlb_failures" for tags 0..9; nullptr otherwise.
  static const char* stat_name(uint16_t tag);

 private:
  enum class Role { kInflate, kDeflate, kStats, kReporting, kNone };
  // 5.5.2: a queue that does not exist takes no index, so statsq and
  // reporting_vq move down when features before them are not negotiated
  // (what Linux's driver does).
  Role role(unsigned queue) const;
  unsigned stats_queue() const { return 2; }  // only when STATS_VQ was negotiated
  void process(unsigned queue);
  void process_pfns(unsigned queue, bool inflate);
  void inflate(std::span<uint32_t> pfns);
  void process_stats(unsigned queue);
  void process_reporting(unsigned queue);
  void warn(const char* what);

  Clock clock_;
  bool active_ = false;
  uint64_t features_ = 0;
  uint32_t num_pages_ = 0;
  uint32_t actual_ = 0;
  uint64_t inflated_pages_ = 0;
  uint64_t deflated_pages_ = 0;
  uint64_t reported_bytes_ = 0;
  uint64_t bad_pfns_ = 0;
  // Latest statistics: bit t of stats_present_ says tag t was reported.
  std::array<uint64_t, kBalloonNumStats> stats_{};
  uint16_t stats_present_ = 0;
  uint64_t stats_updated_ns_ = 0;
  // The statsq buffer the device keeps until it wants new statistics
  // (5.5.6.3). Only its head is needed to return it.
  bool held_ = false;
  uint16_t held_head_ = 0;
  RateLimit log_limit_;
};

}  // namespace vessel::virtio
