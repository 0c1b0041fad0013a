// Guest time: the 10 MHz timebase behind mtime and the `time` CSR.
//
// By default it follows the host's monotonic clock, so `sleep 1` in the guest
// takes a second. In deterministic mode it is derived from the count of
// retired instructions instead, so a run (and its record/replay log) does not
// depend on how fast the host happened to be.
#pragma once

#include <cstdint>
#include <ctime>

namespace vessel {

class GuestClock {
 public:
  static constexpr uint64_t kTimebaseHz = 10'000'000;
  // Deterministic mode: guest time advances one tick per this many retired
  // instructions (a nominal 1 G instructions per second).
  static constexpr uint64_t kInstructionsPerTick = 100;

  enum class Mode { kHost, kDeterministic };

  // `retired` is read in deterministic mode; it must outlive the clock.
  GuestClock(Mode mode, const uint64_t* retired) : mode_(mode), retired_(retired) {
    start_ns_ = host_ns();
  }

  Mode mode() const { return mode_; }

  uint64_t now() const {
    if (mode_ == Mode::kDeterministic) return *retired_ / kInstructionsPerTick + offset_;
    return (host_ns() - start_ns_) / (1'000'000'000 / kTimebaseHz) + offset_;
  }

  // Host nanoseconds until guest time reaches `ticks` (0 if already there).
  // Only meaningful in host mode; used to sleep while every hart waits (WFI).
  uint64_t host_ns_until(uint64_t ticks) const {
    const uint64_t current = now();
    if (ticks <= current) return 0;
    const uint64_t delta = ticks - current;
    return delta > UINT64_MAX / 100 ? UINT64_MAX : delta * (1'000'000'000 / kTimebaseHz);
  }

  // Switches between host and instruction-count time without a jump: the
  // guest time goes on from where it is (a recording started on a running
  // VM, `vessel ctl record start`, and ended).
  void set_mode(Mode mode) {
    const uint64_t ticks = now();
    mode_ = mode;
    if (mode_ == Mode::kHost) start_ns_ = host_ns();
    set_now(ticks);
  }

  // Restores a saved guest time (snapshot/restore): continues from `ticks`.
  void set_now(uint64_t ticks) {
    offset_ = 0;
    offset_ = ticks - now();
  }

  static uint64_t host_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
  }

 private:
  Mode mode_;
  const uint64_t* retired_;
  uint64_t start_ns_ = 0;
  uint64_t offset_ = 0;
};

}  // namespace vessel
