#include "memory/page_store.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "base/error.hpp"

namespace vessel {

namespace {

// The memfd grows in steps of 64 MiB of slots: ftruncate only sets the file
// size (a sparse file costs nothing until written), and large steps keep the
// calls rare.
constexpr uint64_t kGrowSlots = 16384;
// Slot numbers stay clear of the scanner's per-page markers near UINT32_MAX.
constexpr uint64_t kMaxSlots = uint64_t{1} << 31;

}  // namespace

uint64_t PageStore::default_reference_limit() {
  uint64_t max_map_count = 65530;  // the kernel's default
  std::ifstream in("/proc/sys/vm/max_map_count");
  uint64_t value = 0;
  if (in >> value && value > 0) max_map_count = value;
  // Stay under half of the host's mapping budget. A shared page between two
  // private ones costs two VMAs, not one: its own and the part of the guest's
  // anonymous mapping split off behind it. Runs of consecutive pages on
  // consecutive slots merge into one VMA, so this is the worst case.
  return std::max<uint64_t>(max_map_count / 4, 1);
}

PageStore::PageStore(uint64_t reference_limit, uint64_t hint_limit)
    : reference_limit_(reference_limit != 0 ? reference_limit : default_reference_limit()),
      hint_limit_(hint_limit) {
  fd_ = memfd_create("vessel-page-store", MFD_CLOEXEC);
  if (fd_ < 0) fail("cannot create the shared page store: {}", std::strerror(errno));
}

PageStore::~PageStore() {
  if (fd_ >= 0) close(fd_);
}

PageStore::ScannerId PageStore::add_scanner() {
  std::lock_guard lock(mutex_);
  return next_scanner_++;
}

void PageStore::remove_scanner(ScannerId scanner) {
  std::lock_guard lock(mutex_);
  drop_hints_locked(scanner);
  requests_.erase(scanner);
}

void PageStore::drop_hints(ScannerId scanner) {
  std::lock_guard lock(mutex_);
  drop_hints_locked(scanner);
}

void PageStore::drop_hints_locked(ScannerId scanner) {
  std::erase_if(hints_, [scanner](const auto& entry) { return entry.second.scanner == scanner; });
}

PageStore::Slot PageStore::allocate_locked() {
  // Bump first, so pages promoted in scan order get consecutive slots and
  // their mappings merge into one VMA; reuse freed slots only when the file
  // is full, before growing it.
  if (next_slot_ < slots_.size()) return next_slot_++;
  if (!free_.empty()) {
    const Slot slot = free_.back();
    free_.pop_back();
    return slot;
  }
  const uint64_t capacity = std::min<uint64_t>(slots_.size() + kGrowSlots, kMaxSlots);
  if (capacity == slots_.size()) return kNoSlot;
  if (ftruncate(fd_, static_cast<off_t>(capacity * kPageSize)) != 0) return kNoSlot;
  slots_.resize(capacity);
  return next_slot_++;
}

PageStore::Offer PageStore::offer(ScannerId scanner, uint64_t gpa, uint64_t hash,
                                  const uint8_t* page) {
  Offer result;
  std::lock_guard lock(mutex_);
  auto [first, last] = by_hash_.equal_range(hash);
  if (first != last) {
    for (auto it = first; it != last && result.count < kMaxCandidates; ++it) {
      if (references_ >= reference_limit_) break;
      ++slots_[it->second].refs;
      ++references_;
      result.slots[result.count++] = it->second;
    }
    if (result.count > 0) result.kind = OfferKind::kCandidates;
    return result;
  }
  if (references_ >= reference_limit_) return result;

  auto hint = hints_.find(hash);
  if (hint == hints_.end()) {
    if (hints_.size() < hint_limit_) hints_.emplace(hash, Hint{scanner, gpa});
    result.kind = OfferKind::kHinted;
    return result;
  }
  if (hint->second.scanner == scanner && hint->second.gpa == gpa) {
    result.kind = OfferKind::kHinted;
    return result;
  }

  // A second page with this hash: store this one. The hinted page is not
  // trusted to be equal (it may have changed, or collide); its own scanner
  // compares it byte for byte against the slot.
  const Slot slot = allocate_locked();
  if (slot == kNoSlot) return result;
  const ssize_t written = pwrite(fd_, page, kPageSize, static_cast<off_t>(slot_offset(slot)));
  if (written != static_cast<ssize_t>(kPageSize)) {
    free_.push_back(slot);
    return result;
  }
  slots_[slot] = SlotInfo{hash, 1};
  ++pages_stored_;
  ++references_;
  by_hash_.emplace(hash, slot);
  requests_[hint->second.scanner].push_back(CheckRequest{hint->second.gpa, slot, hash});
  hints_.erase(hint);
  result.kind = OfferKind::kStored;
  result.count = 1;
  result.slots[0] = slot;
  return result;
}

bool PageStore::probe(ScannerId scanner, uint64_t gpa, uint64_t hash, bool& hinted) {
  hinted = false;
  std::lock_guard lock(mutex_);
  if (references_ >= reference_limit_) return false;  // no page could be shared now
  if (by_hash_.count(hash) != 0) return true;
  auto hint = hints_.find(hash);
  if (hint == hints_.end()) {
    if (hints_.size() < hint_limit_) {
      hints_.emplace(hash, Hint{scanner, gpa});
      hinted = true;
    }
    return false;
  }
  if (hint->second.scanner == scanner && hint->second.gpa == gpa) {
    hinted = true;
    return hint->second.wanted;
  }
  hint->second.wanted = true;
  return true;
}

void PageStore::drop_hint(ScannerId scanner, uint64_t gpa, uint64_t hash) {
  std::lock_guard lock(mutex_);
  auto hint = hints_.find(hash);
  if (hint != hints_.end() && hint->second.scanner == scanner && hint->second.gpa == gpa) {
    hints_.erase(hint);
  }
}

std::vector<PageStore::CheckRequest> PageStore::take_requests(ScannerId scanner) {
  std::vector<CheckRequest> out;
  std::lock_guard lock(mutex_);
  auto it = requests_.find(scanner);
  if (it != requests_.end()) out.swap(it->second);
  return out;
}

bool PageStore::acquire(Slot slot, uint64_t hash) {
  std::lock_guard lock(mutex_);
  // refs == 0: the slot is free or being freed; its contents are not stable.
  if (slot >= slots_.size() || slots_[slot].refs == 0 || slots_[slot].hash != hash) return false;
  if (references_ >= reference_limit_) return false;
  ++slots_[slot].refs;
  ++references_;
  return true;
}

bool PageStore::matches(Slot slot, const uint8_t* page) const {
  alignas(64) uint8_t stored[kPageSize];
  const ssize_t got = pread(fd_, stored, kPageSize, static_cast<off_t>(slot_offset(slot)));
  return got == static_cast<ssize_t>(kPageSize) && std::memcmp(stored, page, kPageSize) == 0;
}

void PageStore::release(std::span<const Slot> slots) {
  std::vector<Slot> freed;
  {
    std::lock_guard lock(mutex_);
    for (Slot slot : slots) {
      if (slot >= slots_.size() || slots_[slot].refs == 0) continue;  // not held: a caller bug
      --references_;
      if (--slots_[slot].refs != 0) continue;
      auto [first, last] = by_hash_.equal_range(slots_[slot].hash);
      for (auto it = first; it != last; ++it) {
        if (it->second == slot) {
          by_hash_.erase(it);
          break;
        }
      }
      --pages_stored_;
      freed.push_back(slot);
    }
  }
  if (freed.empty()) return;
  // Punch the holes outside the lock (a VM exiting may free many thousands
  // of slots). The slots are neither referenced nor on the free list yet, so
  // no other thread can write them meanwhile.
  std::sort(freed.begin(), freed.end());
  for (size_t i = 0; i < freed.size();) {
    size_t j = i + 1;
    while (j < freed.size() && freed[j] == freed[j - 1] + 1) ++j;
    // Failure leaves the page allocated (memory not returned), never wrong
    // contents: a reused slot is written whole before it is shared.
    fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
              static_cast<off_t>(slot_offset(freed[i])), static_cast<off_t>((j - i) * kPageSize));
    i = j;
  }
  std::lock_guard lock(mutex_);
  free_.insert(free_.end(), freed.rbegin(), freed.rend());
}

PageStoreStats PageStore::stats() const {
  std::lock_guard lock(mutex_);
  PageStoreStats s;
  s.pages_stored = pages_stored_;
  s.references = references_;
  s.pages_saved = references_ - pages_stored_;
  s.hints = hints_.size();
  s.reference_limit = reference_limit_;
  return s;
}

uint32_t PageStore::refcount(Slot slot) const {
  std::lock_guard lock(mutex_);
  return slot < slots_.size() ? slots_[slot].refs : 0;
}

}  // namespace vessel
