#include "memory/page_scanner.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <ctime>

namespace vessel {

namespace {

constexpr uint64_t kPageSize = GuestMemory::kPageSize;
constexpr uint64_t kNsPerSecond = 1'000'000'000;
// A VM that did not step for a while (paused, busy with I/O) does not make up
// for it in a burst; this also keeps rate × elapsed far from overflowing.
constexpr uint64_t kMaxElapsedNs = kNsPerSecond;
constexpr uint64_t kMaxRate = kNsPerSecond;

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kNsPerSecond + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t hash_of_zero_page(PageScanner::HashFn hash) {
  alignas(64) static const uint8_t zero[kPageSize] = {};
  return hash(zero);
}

}  // namespace

uint64_t PageScanner::hash_page(const uint8_t* page) {
  return XXH3_64bits(page, kPageSize);
}

PageScanner::PageScanner(GuestMemory& memory, PageStore& store, HashFn hash)
    : memory_(memory),
      store_(store),
      hash_(hash),
      id_(store.add_scanner()),
      zero_hash_(hash_of_zero_page(hash)),
      prev_hash_(memory.pages(), 0),
      state_(memory.pages(), kNoState),
      givable_(((memory.pages() - 1) >> 9) + 1, 0) {
  static_assert(GuestMemory::kHugePages == 512);
  memory_.set_unshare_hook([this](uint64_t gpa, bool copy) { on_unshare(gpa, copy); });
}

PageScanner::~PageScanner() {
  memory_.set_unshare_hook(nullptr);
  std::vector<PageStore::Slot> held;
  for (uint32_t state : state_) {
    if (is_slot(state)) held.push_back(state);
  }
  store_.release(held);
  store_.remove_scanner(id_);
}

void PageScanner::set_enabled(bool enabled) {
  if (enabled == enabled_) return;
  enabled_ = enabled;
  if (enabled) {
    started_ = false;  // the time spent disabled earns no scanning
    return;
  }
  store_.drop_hints(id_);
  for (uint32_t& state : state_) {
    if (state == kHinted) state = kNoState;
  }
}

void PageScanner::set_rate(uint64_t pages_per_second) {
  rate_ = std::min(pages_per_second, kMaxRate);
}

void PageScanner::step(uint64_t now_ns) {
  if (!enabled_) {
    store_.take_requests(id_);  // hints are gone; drop requests already posted
    return;
  }
  // Pages shared in this step make the harts drop their write pointers once.
  GuestMemory::WriteProtectBatch batch(memory_);
  answer_requests();
  if (!started_ || now_ns < last_ns_) {
    started_ = true;
    last_ns_ = now_ns;
    return;
  }
  const uint64_t elapsed = std::min(now_ns - last_ns_, kMaxElapsedNs);
  last_ns_ = now_ns;
  credit_ += rate_ * elapsed;
  const uint64_t due = credit_ / kNsPerSecond;
  credit_ %= kNsPerSecond;
  scan(std::min(due, memory_.pages()));
}

void PageScanner::scan(uint64_t count) {
  const uint64_t start = monotonic_ns();
  backed_.clear();  // the guest ran since the last step
  for (uint64_t n = 0; n < count; ++n) {
    // Reading the clock every 64 pages costs little against 64 page hashes.
    if ((n & 63) == 63 && monotonic_ns() - start > kStepBudgetNs) break;
    visit(cursor_);
    if ((cursor_ + 1) % GuestMemory::kHugePages == 0 || cursor_ + 1 == state_.size()) {
      end_region(cursor_ / GuestMemory::kHugePages);
    }
    if (++cursor_ == state_.size()) {
      cursor_ = 0;
      ++stats_.passes;
    }
  }
  release_zero_run();
}

bool PageScanner::backed(uint64_t page) {
  if (page < backed_first_ || page >= backed_first_ + backed_.size()) {
    backed_first_ = page;
    memory_.backed_pages(gpa_of(page), std::min<uint64_t>(kBackedChunk, state_.size() - page),
                         backed_);
  }
  return backed_[page - backed_first_] != 0;
}

void PageScanner::release_zero(uint64_t page) {
  if (zero_run_count_ != 0 && zero_run_first_ + zero_run_count_ == page) {
    ++zero_run_count_;
  } else {
    release_zero_run();
    zero_run_first_ = page;
    zero_run_count_ = 1;
  }
  set_state(page, kZeroReleased);
  ++stats_.zero_pages_released;
}

void PageScanner::release_zero_run() {
  if (zero_run_count_ == 0) return;
  memory_.release_zero_pages(gpa_of(zero_run_first_), zero_run_count_);
  zero_run_count_ = 0;
}

void PageScanner::visit(uint64_t page) {
  const uint64_t gpa = gpa_of(page);
  // Shared pages are already shared; watched pages must keep every store
  // visible to the VMM, and a shared page's first store is an unshare.
  if ((memory_.page_flags(gpa) & (GuestMemory::kPageShared | GuestMemory::kPageWatch)) != 0) {
    return;
  }
  ++stats_.pages_scanned;
  if (!backed(page)) {  // reads as zero and holds no host memory: nothing to do
    if (state_[page] == kHinted) store_.drop_hint(id_, gpa, prev_hash_[page]);
    prev_hash_[page] = zero_hash_;
    // A page released before is still given back.
    if (state_[page] != kZeroReleased) set_state(page, kUnbacked);
    return;
  }
  const uint8_t* content = memory_.host_ptr(gpa, kPageSize);
  const uint64_t hash = hash_(content);
  const uint64_t prev = prev_hash_[page];
  prev_hash_[page] = hash;
  const uint32_t state = state_[page];
  // Only a page that kept its contents for a whole pass is a candidate:
  // sharing a page the guest is writing would only buy copy-on-write faults.
  if (hash != prev) {
    if (state == kHinted) store_.drop_hint(id_, gpa, prev);
    set_state(page, kNoState);
    return;
  }
  if (memory_.keeps_huge_pages(gpa)) {
    weigh(page, hash);
    return;
  }
  if (hash == zero_hash_) {
    if (state == kZeroReleased) return;
    if (memory_.is_zero_page(gpa)) {
      // Freed at the end of the run of zero pages, within this step: the
      // guest does not run before then.
      release_zero(page);
      return;
    }
  }
  const PageStore::Offer offer = store_.offer(id_, gpa, hash, content);
  switch (offer.kind) {
    case PageStore::OfferKind::kHinted: set_state(page, kHinted); return;
    case PageStore::OfferKind::kStored: share(page, offer.slots[0]); return;
    case PageStore::OfferKind::kCandidates: {
      // Equal hashes are a hint, never a proof: share only byte-equal pages.
      uint32_t match = kNoState;
      std::array<PageStore::Slot, PageStore::kMaxCandidates> unused{};
      uint32_t unused_count = 0;
      for (uint32_t i = 0; i < offer.count; ++i) {
        if (match == kNoState && store_.matches(offer.slots[i], content)) {
          match = offer.slots[i];
        } else {
          unused[unused_count++] = offer.slots[i];
        }
      }
      store_.release(std::span<const PageStore::Slot>(unused.data(), unused_count));
      if (match != kNoState) {
        share(page, match);
      } else {
        set_state(page, kNoState);
      }
      return;
    }
    case PageStore::OfferKind::kRefused: return;
  }
}

void PageScanner::weigh(uint64_t page, uint64_t hash) {
  const uint64_t gpa = gpa_of(page);
  bool givable = false;
  if (hash == zero_hash_ && memory_.is_zero_page(gpa)) {
    givable = true;
  } else {
    bool hinted = false;
    givable = store_.probe(id_, gpa, hash, hinted);
    if (hinted) {
      set_state(page, kHinted);
    } else if (state_[page] == kHinted) {
      set_state(page, kNoState);  // the hint became a slot (another VM stored its twin)
    }
  }
  if (givable) ++givable_[page / GuestMemory::kHugePages];
}

void PageScanner::end_region(uint64_t region) {
  const uint64_t count = givable_[region];
  givable_[region] = 0;
  const uint64_t first = region * GuestMemory::kHugePages;
  const uint64_t gpa = gpa_of(first);
  if (count == 0 || !memory_.keeps_huge_pages(gpa)) return;
  const uint64_t pages = std::min<uint64_t>(GuestMemory::kHugePages, state_.size() - first);
  if (count * 100 < uint64_t{break_percent_} * pages) return;
  memory_.leave_huge_pages(gpa, pages << GuestMemory::kPageShift);
  ++stats_.huge_regions_broken;
}

void PageScanner::answer_requests() {
  for (const PageStore::CheckRequest& request : store_.take_requests(id_)) {
    if (!memory_.contains(request.gpa, kPageSize)) continue;
    const uint64_t page = (request.gpa - memory_.base()) >> GuestMemory::kPageShift;
    if ((memory_.page_flags(request.gpa) & (GuestMemory::kPageShared | GuestMemory::kPageWatch)) !=
        0) {
      continue;
    }
    // Its region keeps its huge page: the next pass weighs the page (the
    // store now holds its twin, so it counts) and may break the region.
    if (memory_.keeps_huge_pages(request.gpa)) continue;
    if (!store_.acquire(request.slot, request.hash)) continue;
    // The page may have changed since it left its hint: compare it now.
    if (store_.matches(request.slot, memory_.host_ptr(request.gpa, kPageSize))) {
      prev_hash_[page] = request.hash;
      share(page, request.slot);
    } else {
      store_.release(request.slot);
    }
  }
}

void PageScanner::share(uint64_t page, PageStore::Slot slot) {
  try {
    memory_.map_shared_page(gpa_of(page), store_.fd(), PageStore::slot_offset(slot));
  } catch (...) {
    store_.release(slot);
    throw;
  }
  set_state(page, slot);
  ++stats_.pages_shared;
  ++stats_.shared_now;
}

void PageScanner::on_unshare(uint64_t gpa, bool copy) {
  const uint64_t page = (gpa - memory_.base()) >> GuestMemory::kPageShift;
  if (copy) {
    // Copy through the guest's own read-only view: no syscall, and correct
    // whatever this scanner believes the slot to be.
    alignas(64) uint8_t content[kPageSize];
    std::memcpy(content, memory_.host_ptr(gpa, kPageSize), kPageSize);
    memory_.map_private_page(gpa, content);
    ++stats_.cow_breaks;
  } else {
    // The page becomes zero; its old hash says nothing about it any more.
    prev_hash_[page] = 0;
    ++stats_.shared_discards;
  }
  const uint32_t state = state_[page];
  set_state(page, kNoState);
  if (is_slot(state)) {
    store_.release(state);
    --stats_.shared_now;
  }
}

void PageScanner::unshare_all() {
  std::vector<PageStore::Slot> held;
  alignas(64) uint8_t content[kPageSize];
  for (uint64_t page = 0; page < state_.size(); ++page) {
    const uint32_t state = state_[page];
    if (!is_slot(state)) continue;
    const uint64_t gpa = gpa_of(page);
    std::memcpy(content, memory_.host_ptr(gpa, kPageSize), kPageSize);
    memory_.map_private_page(gpa, content);
    set_state(page, kNoState);
    held.push_back(state);
  }
  store_.release(held);
  stats_.shared_now = 0;
}

PageScannerStats PageScanner::stats() const {
  PageScannerStats s = stats_;
  s.rate = rate_;
  s.break_percent = break_percent_;
  s.enabled = enabled_;
  return s;
}

}  // namespace vessel
