// Reverse debugging of a replay (`vessel replay DIR --gdb PORT`): in-memory
// checkpoints taken while the replay runs forward, and going back to one of
// them, from which the (deterministic) replay is run forward again to any
// earlier point (rr's design over ReVirt's log).
//
// A checkpoint is the whole machine between two rounds of the scheduler:
// the state sections a snapshot holds (harts, interrupt controllers,
// devices), where the replay stands in its log (Journal::Mark), the console
// output so far, and guest memory as a delta: the pages written since the
// previous checkpoint (GuestMemory's dirty log, as live migration uses),
// copied. Memory at checkpoint k is the start snapshot's memory.bin (mapped
// read-only, so it costs page cache, not RAM) overlaid with the deltas of
// checkpoints 1..k; going back writes only the pages that differ: those
// written since the current base plus those in the deltas between.
//
// The set is bounded (say which: a small set, not copy-on-write): one
// checkpoint every `interval` instructions past the newest, and when the
// copied pages exceed `max_bytes` the checkpoints thin out with age
// (vm/checkpoint_plan.hpp): a dropped checkpoint's pages merge into the next
// one's delta. Checkpoints are taken only where the state is complete (no
// disk request in flight, no network frame waiting for a buffer), which a
// Linux guest reaches within a few rounds.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/state.hpp"
#include "vm/console.hpp"
#include "vm/journal.hpp"

namespace vessel {

class Machine;

class ReplayHistory {
 public:
  struct Options {
    uint64_t interval = uint64_t{4} << 20;     // instructions between checkpoints
    uint64_t max_bytes = uint64_t{256} << 20;  // copied pages, all checkpoints together
  };
  // `start_memory` is the recording's start/memory.bin (opened and mapped
  // now, before the sandbox closes the process down). Starts the memory's
  // dirty log. Throws Error.
  ReplayHistory(Machine& machine, Journal& journal, const std::string& start_memory,
                Options options);
  ~ReplayHistory();
  ReplayHistory(const ReplayHistory&) = delete;
  ReplayHistory& operator=(const ReplayHistory&) = delete;

  // Between rounds, only where the machine did not leave a round half-run:
  // takes a checkpoint if one is due and the state is complete.
  void at_boundary();
  // Puts the machine back to the latest checkpoint before `target` (the
  // start for 0): memory, state, the log position, the console. Returns the
  // checkpoint's position (the VM's retired-instruction count there).
  uint64_t restore_before(uint64_t target);

  // The position restore_before(target) would go back to.
  uint64_t checkpoint_before(uint64_t target) const;
  // For the window from the checkpoint at `start` to the next checkpoint:
  // whether any of the guest-physical `pages` (page indexes) may have been
  // written in it (its end's delta holds them: the pages written in the
  // window, a superset after thinning merged windows). From the newest
  // checkpoint the window is still open: if `machine_at_end` (the machine
  // stands where the window ends), the pages written since, else nullopt.
  std::optional<bool> window_writes(uint64_t start, std::span<const uint64_t> pages,
                                    bool machine_at_end);

  size_t count() const { return checkpoints_.size(); }
  uint64_t bytes() const { return bytes_; }

 private:
  struct Checkpoint {
    uint64_t position = 0;
    std::vector<state::Section> state;
    Journal::Mark journal;
    Console::Mark console;
    std::vector<uint64_t> pages;  // page indexes of its delta
  };
  struct Version {
    uint64_t position;  // of the checkpoint that holds it
    std::unique_ptr<uint8_t[]> data;
  };
  void take(uint64_t position);
  void drop(size_t k);
  void collect_dirty();
  // The page's contents at checkpoint position `position`.
  const uint8_t* page_at(uint64_t page, uint64_t position) const;
  std::vector<uint64_t> positions() const;

  Machine& machine_;
  Journal& journal_;
  Options options_;
  const uint8_t* start_ = nullptr;  // memory.bin, read-only
  uint64_t start_size_ = 0;         // its length (pages past it read as zero)
  uint64_t mapped_size_ = 0;
  std::vector<Checkpoint> checkpoints_;                          // ascending positions, the first 0
  std::unordered_map<uint64_t, std::vector<Version>> versions_;  // per page, ascending
  std::vector<uint64_t> dirty_;  // pages written since base_ (one bit each)
  uint64_t base_ = 0;            // memory equals checkpoint base_'s plus dirty_
  uint64_t bytes_ = 0;
};

}  // namespace vessel
