#include "vm/gdb/breakpoints.hpp"

#include <algorithm>

namespace vessel::gdb {

bool Breakpoints::add_breakpoint(uint64_t addr, bool hardware) {
  auto& set = hardware ? hardware_ : software_;
  if (set.count(addr) != 0) return true;  // gdb may insert the same one twice
  if (software_.size() + hardware_.size() >= kMaxBreakpoints) return false;
  set.insert(addr);
  return true;
}

bool Breakpoints::remove_breakpoint(uint64_t addr, bool hardware) {
  (hardware ? hardware_ : software_).erase(addr);
  return true;  // removing one that is not there is not an error
}

bool Breakpoints::add_watch(const Watch& watch) {
  if (watch.len == 0 || watch.len > kMaxWatchLen) return false;
  if (watch.addr + watch.len < watch.addr) return false;  // wraps around
  if (std::find(watches_.begin(), watches_.end(), watch) != watches_.end()) return true;
  if (watches_.size() >= kMaxWatches) return false;
  watches_.push_back(watch);
  return true;
}

bool Breakpoints::remove_watch(const Watch& watch) {
  const auto it = std::find(watches_.begin(), watches_.end(), watch);
  if (it != watches_.end()) watches_.erase(it);
  return true;
}

void Breakpoints::clear() {
  software_.clear();
  hardware_.clear();
  watches_.clear();
}

std::optional<bool> Breakpoints::breakpoint_at(uint64_t pc) const {
  if (hardware_.count(pc) != 0) return true;
  if (software_.count(pc) != 0) return false;
  return std::nullopt;
}

std::optional<WatchHit> Breakpoints::check_access(uint64_t addr, unsigned size, bool load,
                                                  bool store) const {
  const uint64_t end = addr + size;  // below addr if the access wraps around
  for (const Watch& w : watches_) {
    const bool kind_matches = w.kind == WatchKind::kAccess ||
                              (w.kind == WatchKind::kWrite && store) ||
                              (w.kind == WatchKind::kRead && load);
    if (!kind_matches) continue;
    const uint64_t w_end = w.addr + w.len;
    const bool overlaps = end < addr ? (w_end > addr || w.addr < end)  // wrapped access
                                     : (addr < w_end && w.addr < end);
    if (!overlaps) continue;
    // gdb finds the watchpoint by an address inside its range.
    return WatchHit{w.kind, addr >= w.addr && addr < w_end ? addr : w.addr};
  }
  return std::nullopt;
}

}  // namespace vessel::gdb
