// The process-wide store of shared guest pages (content-based page sharing,
// as VMware ESX does it): one per vessel process, used by every VM's
// PageScanner, each on its own thread.
//
// Shared pages live in a memfd, one 4 KiB slot each. The store never maps
// the memfd itself: every host mapping of a page counts in the process RSS,
// so slot contents are written with pwrite and read with pread, and only the
// guests' read-only views (GuestMemory::map_shared_page) map it.
//
// ESX's hint scheme keeps a page seen only once free: the first page with a
// given hash leaves a hint {scanner, gpa} and nothing is stored. When a second
// page (any VM) hashes the same, its scanner stores its own page in a new slot
// and maps onto it, and the hinted scanner is asked, through its request
// queue, to check its page against the slot on its own thread. A VM's pages
// are only ever read, compared and remapped by that VM's own thread; the store
// only holds contents, counts and hints.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

namespace vessel {

struct PageStoreStats {
  uint64_t pages_stored = 0;     // slots holding a page
  uint64_t references = 0;       // guest pages mapped onto slots, all VMs
  uint64_t pages_saved = 0;      // references - pages_stored
  uint64_t hints = 0;            // pages seen once, remembered without storing
  uint64_t reference_limit = 0;  // cap on references (host mapping budget)
};

class PageStore {
 public:
  static constexpr uint64_t kPageSize = 4096;
  using ScannerId = uint32_t;
  using Slot = uint32_t;

  // "Check your page at gpa against slot": posted to a hinted scanner.
  struct CheckRequest {
    uint64_t gpa;
    Slot slot;
    uint64_t hash;
  };

  enum class OfferKind {
    kHinted,      // first page seen with this hash: a hint records it
    kStored,      // slots[0] now holds the offered page, with one reference
                  // for the caller, who must map its page onto it
    kCandidates,  // slots[0..count) hold pages with this hash; each has one
                  // reference for the caller, who compares byte for byte,
                  // maps onto one that is equal and releases the others
    kRefused,     // nothing to do: reference limit reached, store full, or
                  // this exact page is already the hint
  };
  static constexpr uint32_t kMaxCandidates = 4;
  struct Offer {
    OfferKind kind = OfferKind::kRefused;
    uint32_t count = 0;
    std::array<Slot, kMaxCandidates> slots{};
  };

  // reference_limit 0 means: derived from the host's vm.max_map_count.
  explicit PageStore(uint64_t reference_limit = 0, uint64_t hint_limit = kDefaultHintLimit);
  ~PageStore();
  PageStore(const PageStore&) = delete;
  PageStore& operator=(const PageStore&) = delete;

  int fd() const { return fd_; }
  static uint64_t slot_offset(Slot slot) { return uint64_t{slot} * kPageSize; }

  ScannerId add_scanner();
  // Forgets the scanner's hints and pending requests (its VM is going away).
  void remove_scanner(ScannerId scanner);
  // Forgets the scanner's hints only (sharing was turned off in its VM).
  void drop_hints(ScannerId scanner);

  // A page of `scanner`'s VM that kept the hash `hash` for a whole pass.
  Offer offer(ScannerId scanner, uint64_t gpa, uint64_t hash, const uint8_t* page);
  // For a page that `scanner` does not share yet because its 2 MiB region
  // still keeps a host huge page (PageScanner::set_break_percent): whether
  // sharing it would pay, i.e. a slot holds a page with this hash, or
  // another page left a hint with it (that hint then remembers it was
  // wanted, so its own page counts too). Otherwise leaves a hint for this
  // page as offer() does, so the same page in another VM finds it. Takes no
  // reference and stores nothing. `hinted`: the hint for `hash` is this
  // page's (the scanner must drop it if the page changes).
  bool probe(ScannerId scanner, uint64_t gpa, uint64_t hash, bool& hinted);
  // Drops the hint for `hash` if it is still this scanner's page at gpa (the
  // page changed).
  void drop_hint(ScannerId scanner, uint64_t gpa, uint64_t hash);
  // The check requests posted to `scanner` since its last call.
  std::vector<CheckRequest> take_requests(ScannerId scanner);

  // Takes a reference on `slot` if it still holds a page hashing to `hash`
  // and the reference limit allows; the caller then compares with matches().
  bool acquire(Slot slot, uint64_t hash);
  // Whether the slot's contents equal `page` byte for byte. The caller must
  // hold a reference: a slot's contents never change while it is referenced.
  bool matches(Slot slot, const uint8_t* page) const;
  // Drops references; a slot whose count reaches 0 is freed (its memory is
  // given back to the host) and reused later.
  void release(Slot slot) { release(std::span<const Slot>(&slot, 1)); }
  void release(std::span<const Slot> slots);

  PageStoreStats stats() const;
  uint32_t refcount(Slot slot) const;
  // A quarter of vm.max_map_count: at most two VMAs per reference stays
  // under half the host's mapping budget.
  static uint64_t default_reference_limit();

  static constexpr uint64_t kDefaultHintLimit = uint64_t{1} << 20;

 private:
  struct SlotInfo {
    uint64_t hash = 0;
    uint32_t refs = 0;
  };
  struct Hint {
    ScannerId scanner;
    uint64_t gpa;
    bool wanted = false;  // another page probed this hash (probe())
  };
  static constexpr Slot kNoSlot = UINT32_MAX;

  Slot allocate_locked();
  void drop_hints_locked(ScannerId scanner);

  int fd_ = -1;
  const uint64_t reference_limit_;
  const uint64_t hint_limit_;

  mutable std::mutex mutex_;
  std::vector<SlotInfo> slots_;  // indexed by slot, size = file capacity
  Slot next_slot_ = 0;           // bump allocator: slots below are in use or freed
  std::vector<Slot> free_;       // freed slots, lowest last
  uint64_t pages_stored_ = 0;
  uint64_t references_ = 0;
  std::unordered_multimap<uint64_t, Slot> by_hash_;
  std::unordered_map<uint64_t, Hint> hints_;
  std::unordered_map<ScannerId, std::vector<CheckRequest>> requests_;
  ScannerId next_scanner_ = 1;
};

}  // namespace vessel
