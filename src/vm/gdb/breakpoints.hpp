// What the gdb client asked to stop at: breakpoints (Z0 software, Z1
// hardware; both are kept here and checked by the stub before each
// instruction, never written into guest memory, because the engines cache
// decoded and translated code) and watchpoints (Z2 write, Z3 read, Z4
// access) on guest virtual address ranges. Sizes are bounded: a client
// cannot make the stub allocate without limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <vector>

namespace vessel::gdb {

enum class WatchKind : uint8_t { kWrite, kRead, kAccess };

struct Watch {
  uint64_t addr = 0;
  uint64_t len = 0;
  WatchKind kind = WatchKind::kWrite;
  bool operator==(const Watch&) const = default;
};

// A watchpoint that an access triggers, and the address inside its range
// that the stop reply names.
struct WatchHit {
  WatchKind kind;
  uint64_t addr;
};

class Breakpoints {
 public:
  static constexpr size_t kMaxBreakpoints = 4096;
  static constexpr size_t kMaxWatches = 64;
  static constexpr uint64_t kMaxWatchLen = 1 << 20;

  // False if the table is full (or, for watches, the range is empty, too
  // long or wraps around).
  bool add_breakpoint(uint64_t addr, bool hardware);
  bool remove_breakpoint(uint64_t addr, bool hardware);
  bool add_watch(const Watch& watch);
  bool remove_watch(const Watch& watch);
  void clear();

  bool empty() const { return software_.empty() && hardware_.empty() && watches_.empty(); }
  bool has_watches() const { return !watches_.empty(); }
  bool has_breakpoints() const { return !software_.empty() || !hardware_.empty(); }
  const std::vector<Watch>& watches() const { return watches_; }
  // nullopt: none at `pc`; otherwise whether it is a hardware one.
  std::optional<bool> breakpoint_at(uint64_t pc) const;
  // The first watchpoint that an access to [addr, addr + size) triggers:
  // a load triggers read and access watchpoints, a store write and access
  // ones (an AMO is both).
  std::optional<WatchHit> check_access(uint64_t addr, unsigned size, bool load, bool store) const;

 private:
  std::set<uint64_t> software_;
  std::set<uint64_t> hardware_;
  std::vector<Watch> watches_;
};

}  // namespace vessel::gdb
