// One VM's side of content-based page sharing: walks the VM's guest pages at
// a bounded rate, frees zero pages, and shares pages that stayed unchanged
// for a whole pass through the process-wide PageStore. Owned by the machine
// and used only on the VM's own thread, the thread that also runs the
// guest's stores, so a page cannot change while it is hashed, compared or
// remapped here.
#pragma once

#include <cstdint>
#include <vector>

#include "memory/guest_memory.hpp"
#include "memory/page_store.hpp"

namespace vessel {

struct PageScannerStats {
  uint64_t pages_scanned = 0;        // pages visited (hashed, or never backed: zero)
  uint64_t zero_pages_released = 0;  // all-zero pages given back to the host, ever
  uint64_t zero_now = 0;             // of those, still given back (not written since,
                                     // as far as the scanner has seen)
  uint64_t huge_regions_broken = 0;  // 2 MiB regions it made leave host huge pages
  uint64_t pages_shared = 0;         // pages this VM mapped onto the store, ever
  uint64_t shared_now = 0;           // this VM's pages mapped onto the store now
  uint64_t cow_breaks = 0;           // shared pages given a private copy on write
  uint64_t shared_discards = 0;      // shared pages discarded (balloon)
  uint64_t passes = 0;               // complete walks over the VM's memory
  uint64_t rate = 0;                 // pages per second
  unsigned break_percent = 0;        // set_break_percent
  bool enabled = false;
};

class PageScanner {
 public:
  using HashFn = uint64_t (*)(const uint8_t* page);
  static uint64_t hash_page(const uint8_t* page);

  static constexpr uint64_t kDefaultRate = 20000;
  // One step() never scans for longer than this.
  static constexpr uint64_t kStepBudgetNs = 1'000'000;

  // Installs the memory's unshare hook. `hash` is a test seam (forcing hash
  // collisions); every other caller keeps hash_page.
  PageScanner(GuestMemory& memory, PageStore& store, HashFn hash = &hash_page);
  // Releases every reference this VM holds and forgets its hints. The guest
  // must not run any more: shared pages stay mapped onto slots that may be
  // freed and reused. To stop sharing in a VM that keeps running, call
  // unshare_all() first.
  ~PageScanner();
  PageScanner(const PageScanner&) = delete;
  PageScanner& operator=(const PageScanner&) = delete;

  // Turning sharing off keeps the pages already shared (they unshare on
  // write as always) and forgets this VM's hints.
  void set_enabled(bool enabled);
  bool enabled() const { return enabled_; }
  void set_rate(uint64_t pages_per_second);

  // When the scanner breaks a host huge page (ESX does the same with large
  // pages). Giving back even one 4 KiB page of a 2 MiB region that is a
  // host huge page splits it for good (GuestMemory::use_huge_pages), and the
  // guest then takes host TLB misses and faults there: a CPU-bound guest
  // with sharing on ran 39% slower on small pages alone. So in a region
  // that still keeps its huge page, the scanner only hashes: it counts the
  // pages it could give back (all zero, or sharable: PageStore::probe), and
  // at the end of the region breaks it only if they are at least `percent`
  // of its 512 pages. The region's pages are then shared or released from
  // the next pass on (they have been seen unchanged for a pass by then).
  // 0: break a region for any single page (most memory given back, least
  // speed); 100: only regions whose every page could go; above 100: never.
  void set_break_percent(unsigned percent) { break_percent_ = percent; }
  static constexpr unsigned kDefaultBreakPercent = 50;

  // Runs on the VM's thread between time slices, never while a device has
  // host I/O into guest memory in flight: answers check requests from other
  // scanners, then scans the pages due since the last call.
  void step(uint64_t now_ns);

  // Gives every shared page of this VM a private copy again.
  void unshare_all();

  PageScannerStats stats() const;

 private:
  // Per-page state beside a store slot number.
  static constexpr uint32_t kNoState = UINT32_MAX;
  static constexpr uint32_t kHinted = UINT32_MAX - 1;        // this page is a store hint
  static constexpr uint32_t kZeroReleased = UINT32_MAX - 2;  // freed as a zero page
  static constexpr uint32_t kUnbacked = UINT32_MAX - 3;      // no host memory when visited
  static bool is_slot(uint32_t state) { return state < kUnbacked; }
  // Every change of state_ goes here: it keeps stats_.zero_now.
  void set_state(uint64_t page, uint32_t state) {
    uint32_t& old = state_[page];
    if (old == kZeroReleased) --stats_.zero_now;
    if (state == kZeroReleased) ++stats_.zero_now;
    old = state;
  }
  // A page of a region that keeps its huge page (set_break_percent):
  // counts it if it could be given back.
  void weigh(uint64_t page, uint64_t hash);
  // At the last page of a region: breaks it if that pays.
  void end_region(uint64_t region);

  void answer_requests();
  void scan(uint64_t count);
  void visit(uint64_t page);
  // Whether the host backs `page` (GuestMemory::backed_pages), asked a chunk
  // at a time.
  bool backed(uint64_t page);
  // Zero pages are freed a run of neighbours at a time (one madvise each).
  void release_zero(uint64_t page);
  void release_zero_run();
  void share(uint64_t page, PageStore::Slot slot);
  void on_unshare(uint64_t gpa, bool copy);
  uint64_t gpa_of(uint64_t page) const {
    return memory_.base() + (page << GuestMemory::kPageShift);
  }

  GuestMemory& memory_;
  PageStore& store_;
  const HashFn hash_;
  const PageStore::ScannerId id_;
  const uint64_t zero_hash_;

  bool enabled_ = true;
  uint64_t rate_ = kDefaultRate;
  bool started_ = false;
  uint64_t last_ns_ = 0;
  uint64_t credit_ = 0;  // pages × 1e9 not yet scanned (sub-page remainder)
  uint64_t cursor_ = 0;  // next page to visit
  static constexpr uint64_t kBackedChunk = 512;  // pages per mincore()
  std::vector<uint8_t> backed_;                  // for the pages from backed_first_
  uint64_t backed_first_ = 0;
  uint64_t zero_run_first_ = 0;  // zero pages found in this step, not yet freed
  uint64_t zero_run_count_ = 0;

  // The hash each page had at the previous visit (8 bytes, not 4: a page
  // that changes must withdraw its hint, which the store keys by the full
  // hash).
  std::vector<uint64_t> prev_hash_;
  std::vector<uint32_t> state_;  // a store slot, or kNoState / kHinted / kZeroReleased / kUnbacked
  unsigned break_percent_ = kDefaultBreakPercent;
  // Per 2 MiB region, while it keeps its huge page: the pages counted by
  // weigh() in this pass.
  std::vector<uint16_t> givable_;
  PageScannerStats stats_;
};

}  // namespace vessel
