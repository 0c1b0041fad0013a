// Content-based page sharing with real memfds, real mappings and the real
// /proc figures: two GuestMemory objects stand for two VMs of one process.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <xxhash.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>

#include "memory/guest_memory.hpp"
#include "memory/host_memory.hpp"
#include "memory/page_scanner.hpp"
#include "memory/page_store.hpp"

namespace vessel {
namespace {

constexpr uint64_t kBase = 0x80000000;
constexpr uint64_t kPage = GuestMemory::kPageSize;
using Page = std::array<uint8_t, kPage>;

// Random contents with no zero word, so no page is mistaken for a zero page.
void fill_random(uint8_t* out, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (uint64_t i = 0; i < kPage; i += 8) {
    const uint64_t word = rng() | 1;
    std::memcpy(out + i, &word, 8);
  }
}

uint64_t gpa_of(uint64_t page) {
  return kBase + page * kPage;
}

uint64_t checksum(const uint8_t* page) {
  return XXH3_64bits(page, kPage);
}

uint64_t page_checksum(const GuestMemory& memory, uint64_t page) {
  return checksum(memory.host_ptr(gpa_of(page), kPage));
}

void write_page(GuestMemory& memory, uint64_t page, const uint8_t* content) {
  ASSERT_TRUE(memory.write(gpa_of(page), std::span<const uint8_t>(content, kPage)));
}

bool is_shared(GuestMemory& memory, uint64_t page) {
  return (memory.page_flags(gpa_of(page)) & GuestMemory::kPageShared) != 0;
}

// Runs both scanners alternately, as two VM threads would, until each has
// walked its memory `passes` times (the first pass only records hashes, the
// second offers the pages, the third answers the check requests).
void settle(std::initializer_list<PageScanner*> scanners, uint64_t& now, uint64_t passes = 5,
            const std::function<void()>& before_each = {}) {
  for (PageScanner* scanner : scanners) {
    scanner->set_rate(1'000'000'000);
    scanner->step(now);
  }
  for (int round = 0; round < 100000; ++round) {
    bool done = true;
    now += 10'000'000;
    for (PageScanner* scanner : scanners) {
      if (before_each) before_each();
      scanner->step(now);
      done = done && scanner->stats().passes >= passes;
    }
    if (done) return;
  }
  FAIL() << "scanners did not complete " << passes << " passes";
}

uint64_t store_mappings_in_maps() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  uint64_t count = 0;
  while (std::getline(maps, line)) {
    if (line.find("vessel-page-store") != std::string::npos) ++count;
  }
  return count;
}

// Two 16 MiB VMs:
//   [0, 3000)     the same random pages in both VMs
//   [3000, 3200)  200 copies of one page, in both VMs (sharing within a VM too)
//   [3200, 3590)  different pages in each VM
//   [3590, 3600)  in A 10 copies of a page only A has; in B different pages
//   [3600, 4096)  zero pages, written (so resident)
constexpr uint64_t kSize = 16 << 20;
constexpr uint64_t kPages = kSize / kPage;
constexpr uint64_t kSameEnd = 3000;
constexpr uint64_t kDupEnd = 3200;
constexpr uint64_t kDiffEnd = 3590;
constexpr uint64_t kAOnlyEnd = 3600;
constexpr uint64_t kZeroPages = kPages - kAOnlyEnd;
// One slot per identical page, one for the 200 copies, one for A's 10 copies.
constexpr uint64_t kExpectedSlots = kSameEnd + 2;
constexpr uint64_t kExpectedRefsA = kSameEnd + (kDupEnd - kSameEnd) + (kAOnlyEnd - kDiffEnd);
constexpr uint64_t kExpectedRefsB = kSameEnd + (kDupEnd - kSameEnd);

void original_content(int vm, uint64_t page, uint8_t* out) {
  if (page < kSameEnd) {
    fill_random(out, 1000 + page);
  } else if (page < kDupEnd) {
    fill_random(out, 7);
  } else if (page < kDiffEnd || (page < kAOnlyEnd && vm == 1)) {
    fill_random(out, (vm + 1) * 1'000'000 + page);
  } else if (page < kAOnlyEnd) {
    fill_random(out, 9);
  } else {
    std::memset(out, 0, kPage);
  }
}

class PageSharing : public ::testing::Test {
 protected:
  void SetUp() override {
    Page content;
    for (int vm = 0; vm < 2; ++vm) {
      GuestMemory& memory = vm == 0 ? a_ : b_;
      for (uint64_t page = 0; page < kPages; ++page) {
        original_content(vm, page, content.data());
        write_page(memory, page, content.data());
        expected_[vm][page] = checksum(content.data());
      }
    }
    scanner_a_ = std::make_unique<PageScanner>(a_, store_);
    scanner_b_ = std::make_unique<PageScanner>(b_, store_);
  }

  void settle_both() { settle({scanner_a_.get(), scanner_b_.get()}, now_); }

  // Every page of both VMs reads what the test wrote (or zero where
  // discarded): the model is expected_.
  void expect_contents() {
    uint64_t wrong[2] = {0, 0};
    for (int vm = 0; vm < 2; ++vm) {
      const GuestMemory& memory = vm == 0 ? a_ : b_;
      for (uint64_t page = 0; page < kPages; ++page) {
        if (page_checksum(memory, page) != expected_[vm][page]) ++wrong[vm];
      }
    }
    EXPECT_EQ(wrong[0], 0u) << "pages of A with wrong contents";
    EXPECT_EQ(wrong[1], 0u) << "pages of B with wrong contents";
  }

  PageStore store_;
  GuestMemory a_{kBase, kSize};
  GuestMemory b_{kBase, kSize};
  std::unique_ptr<PageScanner> scanner_a_;
  std::unique_ptr<PageScanner> scanner_b_;
  std::array<std::array<uint64_t, kPages>, 2> expected_{};
  uint64_t now_ = 1'000'000'000;
};

TEST_F(PageSharing, SharesIdenticalPagesAndSavesHostMemory) {
  expect_contents();  // every page resident before the first figure
  const HostMemoryUsage before = read_host_memory_usage();

  settle_both();

  const PageStoreStats store = store_.stats();
  EXPECT_EQ(store.pages_stored, kExpectedSlots);
  EXPECT_EQ(store.references, kExpectedRefsA + kExpectedRefsB);
  EXPECT_EQ(store.pages_saved, kExpectedRefsA + kExpectedRefsB - kExpectedSlots);
  // The pages seen once: the differing ones of both VMs.
  EXPECT_EQ(store.hints, 2 * (kDiffEnd - kDupEnd) + (kAOnlyEnd - kDiffEnd));

  const PageScannerStats sa = scanner_a_->stats();
  const PageScannerStats sb = scanner_b_->stats();
  EXPECT_EQ(sa.shared_now, kExpectedRefsA);
  EXPECT_EQ(sb.shared_now, kExpectedRefsB);
  EXPECT_EQ(sa.zero_pages_released, kZeroPages);
  EXPECT_EQ(sb.zero_pages_released, kZeroPages);
  EXPECT_EQ(sa.cow_breaks + sb.cow_breaks, 0u);

  for (uint64_t page = 0; page < kPages; ++page) {
    const bool shared_in_a = page < kDupEnd || (page >= kDiffEnd && page < kAOnlyEnd);
    const bool shared_in_b = page < kDupEnd;
    EXPECT_EQ(is_shared(a_, page), shared_in_a) << "A page " << page;
    EXPECT_EQ(is_shared(b_, page), shared_in_b) << "B page " << page;
  }

  expect_contents();  // also faults every shared mapping in, for PSS
  const HostMemoryUsage after = read_host_memory_usage();
  const uint64_t freed_pages = store.pages_saved + sa.zero_pages_released + sb.zero_pages_released;
  const int64_t pss_drop =
      static_cast<int64_t>(before.pss_bytes) - static_cast<int64_t>(after.pss_bytes);
  std::printf(
      "[   INFO   ] PSS %llu -> %llu KiB (drop %lld KiB; shared+zero pages freed %llu KiB); "
      "RSS %llu -> %llu KiB; RssShmem %llu KiB\n",
      static_cast<unsigned long long>(before.pss_bytes >> 10),
      static_cast<unsigned long long>(after.pss_bytes >> 10),
      static_cast<long long>(pss_drop / 1024),
      static_cast<unsigned long long>(freed_pages * kPage >> 10),
      static_cast<unsigned long long>(before.rss_bytes >> 10),
      static_cast<unsigned long long>(after.rss_bytes >> 10),
      static_cast<unsigned long long>(after.shmem_bytes >> 10));
  // Slack for the allocator and the test's own memory. Not under
  // ThreadSanitizer, whose shadow memory grows with every page touched.
#if !defined(__SANITIZE_THREAD__)
  EXPECT_GT(pss_drop, static_cast<int64_t>(freed_pages * kPage * 8 / 10));
#endif
  // The shared pages themselves are now shmem, mapped by both VMs.
  EXPECT_GE(after.shmem_bytes, kExpectedSlots * kPage);

  // Pages promoted in scan order got consecutive slots, so the kernel merged
  // their mappings: far fewer VMAs than shared pages.
  const uint64_t vmas = store_mappings_in_maps();
  std::printf("[   INFO   ] %llu page-store VMAs for %llu shared pages\n",
              static_cast<unsigned long long>(vmas),
              static_cast<unsigned long long>(store.references));
  EXPECT_LT(vmas, store.references / 4);
}

TEST_F(PageSharing, CopyOnWriteChangesOnlyTheWriter) {
  settle_both();
  const uint64_t refs_before = store_.stats().references;

  std::mt19937_64 rng(99);
  std::unordered_map<uint64_t, Page> written;  // A's pages as they now should read
  uint64_t first_writes_to_shared = 0;
  for (int i = 0; i < 3000; ++i) {
    const uint64_t page = rng() % kAOnlyEnd;
    const uint64_t offset = (rng() % (kPage / 8)) * 8;
    const uint64_t value = rng();
    auto [it, fresh] = written.try_emplace(page);
    if (fresh) {
      original_content(0, page, it->second.data());
      if (is_shared(a_, page)) ++first_writes_to_shared;
    }
    std::memcpy(it->second.data() + offset, &value, 8);
    // The engine's store path: prepare_write, then the host pointer.
    a_.prepare_write(gpa_of(page) + offset, 8);
    std::memcpy(a_.host_ptr(gpa_of(page) + offset, 8), &value, 8);
  }
  for (const auto& [page, content] : written) {
    expected_[0][page] = checksum(content.data());
    EXPECT_FALSE(is_shared(a_, page));
  }
  ASSERT_GT(first_writes_to_shared, 1000u);
  expect_contents();
  EXPECT_EQ(scanner_a_->stats().cow_breaks, first_writes_to_shared);
  EXPECT_EQ(scanner_b_->stats().cow_breaks, 0u);
  EXPECT_EQ(store_.stats().references, refs_before - first_writes_to_shared);

  // The written pages changed between visits: none is shared again.
  settle({scanner_a_.get(), scanner_b_.get()}, now_, scanner_a_->stats().passes + 2);
  for (const auto& [page, content] : written) EXPECT_FALSE(is_shared(a_, page)) << page;
  expect_contents();
}

TEST_F(PageSharing, DiscardOfASharedPageZeroesOnlyThatVm) {
  settle_both();
  ASSERT_TRUE(is_shared(a_, 5) && is_shared(b_, 5));
  const uint64_t refs_before = store_.stats().references;

  ASSERT_TRUE(a_.discard(gpa_of(5), kPage));
  const Page zero{};
  expected_[0][5] = checksum(zero.data());
  EXPECT_FALSE(is_shared(a_, 5));
  EXPECT_TRUE(is_shared(b_, 5));
  EXPECT_EQ(scanner_a_->stats().shared_discards, 1u);
  EXPECT_EQ(store_.stats().references, refs_before - 1);
  expect_contents();

  // The discarded page is an ordinary zero page afterwards: writable.
  const uint8_t byte = 0x5a;
  ASSERT_TRUE(a_.write(gpa_of(5), std::span<const uint8_t>(&byte, 1)));
  EXPECT_EQ(*a_.host_ptr(gpa_of(5), 1), 0x5a);
  expected_[0][5] = page_checksum(a_, 5);
  expect_contents();
}

TEST_F(PageSharing, DestroyingAScannerReleasesItsReferences) {
  settle_both();
  struct stat st_before;
  ASSERT_EQ(fstat(store_.fd(), &st_before), 0);

  scanner_a_.reset();
  const PageStoreStats store = store_.stats();
  EXPECT_EQ(store.references, kExpectedRefsB);
  // A's 10 copies of its own page were the only users of their slot.
  EXPECT_EQ(store.pages_stored, kExpectedSlots - 1);
  EXPECT_EQ(store.pages_saved, kExpectedRefsB - (kExpectedSlots - 1));
  EXPECT_EQ(store.hints, (kDiffEnd - kDupEnd) + (kAOnlyEnd - kDiffEnd)) << "A's hints remain";

  // The freed slot's memory went back to the host.
  struct stat st_after;
  ASSERT_EQ(fstat(store_.fd(), &st_after), 0);
  EXPECT_EQ((st_before.st_blocks - st_after.st_blocks) * 512, static_cast<int64_t>(kPage));

  // B is untouched (A's memory is not read: its VM is gone).
  for (uint64_t page = 0; page < kPages; ++page) {
    ASSERT_EQ(page_checksum(b_, page), expected_[1][page]) << page;
  }
  scanner_b_.reset();
  EXPECT_EQ(store_.stats().references, 0u);
  EXPECT_EQ(store_.stats().pages_stored, 0u);
  EXPECT_EQ(store_.stats().hints, 0u);
}

TEST_F(PageSharing, UnshareAllGivesPrivateCopies) {
  settle_both();
  scanner_a_->unshare_all();
  for (uint64_t page = 0; page < kPages; ++page) EXPECT_FALSE(is_shared(a_, page)) << page;
  EXPECT_EQ(scanner_a_->stats().shared_now, 0u);
  EXPECT_EQ(store_.stats().references, kExpectedRefsB);
  expect_contents();
}

// Small VMs for the tests that look at single pages.
constexpr uint64_t kSmallSize = 64 * kPage;
constexpr uint64_t kSmallPages = 64;

uint64_t constant_hash(const uint8_t*) {
  return 42;
}

TEST(PageSharingCollision, EqualHashesWithDifferentBytesNeverShare) {
  PageStore store;
  GuestMemory a(kBase, kSmallSize);
  GuestMemory b(kBase, kSmallSize);
  std::array<std::array<uint64_t, kSmallPages>, 2> expected{};
  Page content;
  for (uint64_t page = 0; page < kSmallPages; ++page) {
    // Every page differs, except page 1, the same in both VMs.
    fill_random(content.data(), page == 1 ? 77 : 5000 + page);
    write_page(a, page, content.data());
    expected[0][page] = checksum(content.data());
    fill_random(content.data(), page == 1 ? 77 : 9000 + page);
    write_page(b, page, content.data());
    expected[1][page] = checksum(content.data());
  }
  // Every page hashes the same (and like the zero page).
  PageScanner sa(a, store, &constant_hash);
  PageScanner sb(b, store, &constant_hash);
  uint64_t now = 1;
  settle({&sa, &sb}, now);

  // Only the byte-equal pages share.
  for (uint64_t page = 0; page < kSmallPages; ++page) {
    EXPECT_EQ(is_shared(a, page), page == 1) << page;
    EXPECT_EQ(is_shared(b, page), page == 1) << page;
    EXPECT_EQ(page_checksum(a, page), expected[0][page]) << page;
    EXPECT_EQ(page_checksum(b, page), expected[1][page]) << page;
  }
  EXPECT_EQ(store.stats().pages_saved, 1u);
}

TEST(PageSharingCollision, StoreHandsOutCandidatesOnlyTheCallerCanConfirm) {
  PageStore store;
  const PageStore::ScannerId first = store.add_scanner();
  const PageStore::ScannerId second = store.add_scanner();
  Page x;
  Page y;
  fill_random(x.data(), 1);
  fill_random(y.data(), 2);

  EXPECT_EQ(store.offer(first, kBase, 42, x.data()).kind, PageStore::OfferKind::kHinted);
  const PageStore::Offer stored = store.offer(second, kBase, 42, y.data());
  ASSERT_EQ(stored.kind, PageStore::OfferKind::kStored);
  const PageStore::Slot slot = stored.slots[0];
  EXPECT_EQ(store.refcount(slot), 1u);

  // The hinted scanner is asked to check, and finds its page differs.
  const auto requests = store.take_requests(first);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].slot, slot);
  ASSERT_TRUE(store.acquire(slot, 42));
  EXPECT_FALSE(store.matches(slot, x.data()));
  EXPECT_TRUE(store.matches(slot, y.data()));
  store.release(slot);
  EXPECT_EQ(store.refcount(slot), 1u);
  EXPECT_FALSE(store.acquire(slot, 43)) << "a request whose hash no longer fits the slot";

  const PageStore::Offer third = store.offer(first, kBase + kPage, 42, x.data());
  ASSERT_EQ(third.kind, PageStore::OfferKind::kCandidates);
  EXPECT_FALSE(store.matches(third.slots[0], x.data()));
  store.release(third.slots[0]);

  store.release(slot);
  EXPECT_EQ(store.stats().pages_stored, 0u);
  EXPECT_FALSE(store.acquire(slot, 42)) << "a freed slot";
}

TEST(PageSharingStore, FreedSlotsAreReusedOnlyWhenTheFileIsFull) {
  PageStore store(/*reference_limit=*/1 << 20);
  const PageStore::ScannerId first = store.add_scanner();
  const PageStore::ScannerId second = store.add_scanner();
  Page content;
  auto store_page = [&](uint64_t seed) {
    fill_random(content.data(), seed);
    store.offer(first, kBase + seed * kPage, seed, content.data());
    const PageStore::Offer offer = store.offer(second, kBase + seed * kPage, seed, content.data());
    if (offer.kind != PageStore::OfferKind::kStored) throw std::runtime_error("not stored");
    return offer.slots[0];
  };
  const PageStore::Slot s0 = store_page(1);
  const PageStore::Slot s1 = store_page(2);
  EXPECT_EQ(s1, s0 + 1) << "consecutive promotions get consecutive slots";
  store.release(s0);
  EXPECT_EQ(store_page(3), s1 + 1) << "bump before reuse";
  // Fill the first 64 MiB step of the file; then the freed slot comes back.
  PageStore::Slot last = s1 + 1;
  for (uint64_t seed = 4; last + 1 < 16384; ++seed) last = store_page(seed);
  EXPECT_EQ(store_page(100000), s0);
  EXPECT_EQ(store_page(100001), 16384u) << "then the file grows";
}

// The same random contents in every page of two small VMs.
void write_same_random_pages(GuestMemory& a, GuestMemory& b) {
  Page content;
  for (uint64_t page = 0; page < kSmallPages; ++page) {
    fill_random(content.data(), page);
    write_page(a, page, content.data());
    write_page(b, page, content.data());
  }
}

TEST(PageSharingStore, ReferenceLimitCapsMappings) {
  EXPECT_GT(PageStore::default_reference_limit(), 0u);
  std::ifstream in("/proc/sys/vm/max_map_count");
  uint64_t max_map_count = 0;
  if (in >> max_map_count) {
    EXPECT_EQ(PageStore::default_reference_limit(), max_map_count / 4);
  }

  PageStore store(10);
  GuestMemory a(kBase, kSmallSize);
  GuestMemory b(kBase, kSmallSize);
  write_same_random_pages(a, b);
  Page content;
  PageScanner sa(a, store);
  PageScanner sb(b, store);
  uint64_t now = 1;
  settle({&sa, &sb}, now);
  EXPECT_EQ(store.stats().references, 10u);
  EXPECT_EQ(store.stats().reference_limit, 10u);
  for (uint64_t page = 0; page < kSmallPages; ++page) {
    fill_random(content.data(), page);
    EXPECT_EQ(page_checksum(a, page), checksum(content.data()));
    EXPECT_EQ(page_checksum(b, page), checksum(content.data()));
  }
}

TEST(PageSharingScanner, APageThatChangesBetweenVisitsIsNotShared) {
  PageStore store;
  GuestMemory a(kBase, kSmallSize);
  GuestMemory b(kBase, kSmallSize);
  write_same_random_pages(a, b);
  PageScanner sa(a, store);
  PageScanner sb(b, store);
  uint64_t counter = 0;
  uint64_t now = 1;
  // Page 7 of A is written before every step, as a busy guest would.
  settle({&sa, &sb}, now, 5, [&] {
    ++counter;
    a.prepare_write(gpa_of(7), 8);
    std::memcpy(a.host_ptr(gpa_of(7), 8), &counter, 8);
  });
  EXPECT_FALSE(is_shared(a, 7));
  EXPECT_FALSE(is_shared(b, 7)) << "nothing to share it with";
  EXPECT_EQ(sa.stats().cow_breaks, 0u) << "it was never shared and broken";
  EXPECT_EQ(store.stats().hints, 1u) << "only B's page 7 waits for a partner";
  for (uint64_t page = 0; page < kSmallPages; ++page) {
    if (page != 7) {
      EXPECT_TRUE(is_shared(a, page) && is_shared(b, page)) << page;
    }
  }
}

// Four VMs, each on its own thread as in vessel, scanning and writing their
// memory at the same time through one store.
TEST(PageSharingThreads, VmsOnTheirOwnThreadsShareAndWriteSafely) {
  constexpr int kVms = 4;
  PageStore store;
  std::vector<std::unique_ptr<GuestMemory>> memories;
  std::vector<std::vector<Page>> models(kVms, std::vector<Page>(kSmallPages * 4));
  for (int vm = 0; vm < kVms; ++vm) {
    memories.push_back(std::make_unique<GuestMemory>(kBase, kSmallSize * 4));
    for (uint64_t page = 0; page < kSmallPages * 4; ++page) {
      // Three quarters of the pages are common to all VMs.
      fill_random(models[vm][page].data(), page % 4 == 0 ? 100 * vm + page : page);
      write_page(*memories[vm], page, models[vm][page].data());
    }
  }
  std::vector<std::thread> threads;
  std::vector<uint64_t> wrong(kVms, 0);
  std::vector<uint64_t> shared(kVms, 0);
  for (int vm = 0; vm < kVms; ++vm) {
    threads.emplace_back([&, vm] {
      GuestMemory& memory = *memories[vm];
      PageScanner scanner(memory, store);
      scanner.set_rate(1'000'000'000);
      std::mt19937_64 rng(vm);
      uint64_t now = 1;
      for (int round = 0; round < 400; ++round) {
        scanner.step(now += 1'000'000);
        if (round % 4 == 0 && round < 300) {
          const uint64_t page = rng() % (kSmallPages * 4);
          const uint64_t offset = (rng() % (kPage / 8)) * 8;
          const uint64_t value = rng();
          std::memcpy(models[vm][page].data() + offset, &value, 8);
          memory.prepare_write(gpa_of(page) + offset, 8);
          std::memcpy(memory.host_ptr(gpa_of(page) + offset, 8), &value, 8);
        }
      }
      shared[vm] = scanner.stats().shared_now;
      for (uint64_t page = 0; page < kSmallPages * 4; ++page) {
        if (page_checksum(memory, page) != checksum(models[vm][page].data())) ++wrong[vm];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int vm = 0; vm < kVms; ++vm) {
    EXPECT_EQ(wrong[vm], 0u) << "VM " << vm;
    EXPECT_GT(shared[vm], kSmallPages) << "VM " << vm;
  }
  EXPECT_EQ(store.stats().references, 0u) << "every scanner released its pages";
  EXPECT_EQ(store.stats().hints, 0u);
}

TEST(PageSharingScanner, StepScansRateTimesElapsed) {
  PageStore store;
  GuestMemory memory(kBase, kSize);
  PageScanner scanner(memory, store);
  EXPECT_EQ(scanner.stats().rate, PageScanner::kDefaultRate);
  uint64_t now = 5'000'000'000;
  scanner.step(now);
  EXPECT_EQ(scanner.stats().pages_scanned, 0u) << "the first call only starts the clock";
  now += 1'000'000;  // 1 ms at 20000 pages/s
  scanner.step(now);
  EXPECT_EQ(scanner.stats().pages_scanned, 20u);
  now += 500'000;
  scanner.step(now);
  EXPECT_EQ(scanner.stats().pages_scanned, 30u);
  // Elapsed times of fractional pages add up.
  for (int i = 0; i < 100; ++i) {
    now += 137'000;
    scanner.step(now);
  }
  EXPECT_EQ(scanner.stats().pages_scanned, 30u + 274u);

  scanner.set_rate(1000);
  now += 10'000'000;
  scanner.step(now);
  EXPECT_EQ(scanner.stats().pages_scanned, 30u + 274u + 10u);

  scanner.set_enabled(false);
  now += 1'000'000'000;
  scanner.step(now);
  EXPECT_EQ(scanner.stats().pages_scanned, 314u);
  EXPECT_FALSE(scanner.stats().enabled);
}

TEST(PageSharingScanner, OneStepStaysWithinItsTimeBudget) {
  PageStore store;
  // Every page backed (one byte written), so every page is read and hashed.
  constexpr uint64_t kHuge = uint64_t{256} << 20;
  GuestMemory memory(kBase, kHuge);
  for (uint64_t page = 0; page < kHuge / kPage; ++page) {
    const uint8_t one = 1;
    ASSERT_TRUE(memory.write(gpa_of(page), std::span<const uint8_t>(&one, 1)));
  }
  PageScanner scanner(memory, store);
  scanner.set_rate(1'000'000'000);
  scanner.step(1);
  const auto start = std::chrono::steady_clock::now();
  scanner.step(1'000'000'001);  // a second at 1e9 pages/s: far more than 1 ms of work
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(scanner.stats().pages_scanned, kHuge / kPage);
  EXPECT_GT(scanner.stats().pages_scanned, 0u);
  // Generous: a loaded CI host may deschedule us.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), 50);
}

// Which of `count` pages from page `first` the host backs (mincore).
uint64_t resident_pages(const GuestMemory& memory, uint64_t first, uint64_t count) {
  std::vector<uint8_t> vec(count);
  const auto* start = memory.host_ptr(gpa_of(first), count * kPage);
  EXPECT_EQ(mincore(const_cast<uint8_t*>(start), count * kPage, vec.data()), 0);
  uint64_t n = 0;
  for (uint8_t b : vec) n += b & 1;
  return n;
}

TEST(PageSharingScanner, PagesTheHostNeverBackedAreNotRead) {
  // Reading an untouched page would map the host's zero page there (and cost
  // the guest a huge page when it writes it later): the scan must not.
  PageStore store;
  GuestMemory memory(kBase, kSmallSize);
  Page content;
  fill_random(content.data(), 3);
  write_page(memory, 5, content.data());
  PageScanner scanner(memory, store);
  uint64_t now = 1;
  settle({&scanner}, now, 3);
  EXPECT_EQ(resident_pages(memory, 0, kSmallPages), 1u) << "only the page written";
  EXPECT_EQ(scanner.stats().pages_scanned, 3 * kSmallPages) << "every page counts as visited";
  EXPECT_EQ(scanner.stats().zero_pages_released, 0u) << "nothing to give back";
  EXPECT_EQ(page_checksum(memory, 5), checksum(content.data()));
}

TEST(PageSharingScanner, ZeroPagesWrittenByTheGuestAreGivenBackInRuns) {
  PageStore store;
  GuestMemory memory(kBase, kSmallSize);
  Page zero{};
  Page content;
  fill_random(content.data(), 4);
  // Zero pages written (backed) in two runs around a random page.
  for (uint64_t page = 0; page < kSmallPages; ++page) {
    write_page(memory, page, page == 10 ? content.data() : zero.data());
  }
  ASSERT_EQ(resident_pages(memory, 0, kSmallPages), kSmallPages);
  unsigned flushes = 0;
  memory.set_write_protect_hook([&] { ++flushes; });
  PageScanner scanner(memory, store);
  uint64_t now = 1;
  settle({&scanner}, now, 3);
  EXPECT_EQ(scanner.stats().zero_pages_released, kSmallPages - 1);
  EXPECT_EQ(resident_pages(memory, 0, kSmallPages), 1u) << "the zero pages went back to the host";
  EXPECT_EQ(page_checksum(memory, 10), checksum(content.data()));
  EXPECT_EQ(page_checksum(memory, 11), checksum(zero.data()));
  EXPECT_EQ(flushes, 0u) << "freeing zero pages needs no write-pointer flush";
}

TEST(PageSharingScanner, OneStepFlushesWritePointersOnceForAllThePagesItShares) {
  PageStore store;
  GuestMemory a(kBase, kSmallSize);
  GuestMemory b(kBase, kSmallSize);
  write_same_random_pages(a, b);
  PageScanner sa(a, store);
  PageScanner sb(b, store);
  unsigned a_flushes = 0;
  a.set_write_protect_hook([&] { ++a_flushes; });
  uint64_t now = 1;
  // A's steps each cover all its pages: it shares them all in one step.
  settle({&sa, &sb}, now, 5);
  ASSERT_EQ(sa.stats().shared_now, kSmallPages);
  EXPECT_GE(a_flushes, 1u);
  EXPECT_LE(a_flushes, 2u) << "one per step that shared pages, not one per page";
}

// ---- host huge pages (PageScanner::set_break_percent) ----------------------

constexpr uint64_t kRegionPages = GuestMemory::kHugePages;
constexpr uint64_t kRegion = kRegionPages * kPage;

TEST(PageSharingHugePages, ARegionBreaksOnlyWhenEnoughOfItCanBeGivenBack) {
  // Region 0: 100 of 512 pages zero (below the default 50%); region 1: 400.
  // Only region 1 leaves its huge page and gives its zero pages back;
  // region 0 keeps every page, the guest's speed there.
  PageStore store;
  GuestMemory memory(kBase, 2 * kRegion);
  memory.use_huge_pages(/*gives_back=*/true);
  const Page zero{};
  Page content;
  for (uint64_t page = 0; page < 2 * kRegionPages; ++page) {
    const bool is_zero = page < kRegionPages ? page < 100 : page - kRegionPages < 400;
    fill_random(content.data(), 1000 + page);  // distinct: nothing to share
    write_page(memory, page, is_zero ? zero.data() : content.data());
  }
  PageScanner scanner(memory, store);
  EXPECT_EQ(scanner.stats().break_percent, PageScanner::kDefaultBreakPercent);
  uint64_t now = 1;
  settle({&scanner}, now, 4);
  EXPECT_TRUE(memory.keeps_huge_pages(kBase)) << "20% givable: kept";
  EXPECT_FALSE(memory.keeps_huge_pages(kBase + kRegion)) << "78% givable: broken";
  EXPECT_EQ(scanner.stats().huge_regions_broken, 1u);
  EXPECT_EQ(resident_pages(memory, 0, kRegionPages), kRegionPages);
  EXPECT_EQ(resident_pages(memory, kRegionPages, kRegionPages), kRegionPages - 400);
  EXPECT_EQ(scanner.stats().zero_pages_released, 400u);
  EXPECT_EQ(scanner.stats().zero_now, 400u);
  EXPECT_EQ(store.stats().pages_stored, 0u);
  EXPECT_EQ(page_checksum(memory, 100), [&] {
    fill_random(content.data(), 1000 + 100);
    return checksum(content.data());
  }());

  // A lower threshold breaks region 0 too.
  scanner.set_break_percent(10);
  settle({&scanner}, now, scanner.stats().passes + 2);
  EXPECT_FALSE(memory.keeps_huge_pages(kBase));
  EXPECT_EQ(resident_pages(memory, 0, kRegionPages), kRegionPages - 100);
  EXPECT_EQ(scanner.stats().zero_now, 500u);
}

TEST(PageSharingHugePages, PagesSharableWithAnotherVmCountAndAreSharedOnceBroken) {
  // Two VMs with the same 512 distinct pages: each region is wholly
  // sharable. Both break (the hinted VM too: its hint was wanted), and every
  // page ends up shared.
  for (const unsigned percent : {100u, 101u}) {
    PageStore store;
    GuestMemory a(kBase, kRegion);
    GuestMemory b(kBase, kRegion);
    a.use_huge_pages(/*gives_back=*/true);
    b.use_huge_pages(/*gives_back=*/true);
    Page content;
    for (uint64_t page = 0; page < kRegionPages; ++page) {
      fill_random(content.data(), 5000 + page);
      write_page(a, page, content.data());
      write_page(b, page, content.data());
    }
    PageScanner sa(a, store);
    PageScanner sb(b, store);
    sa.set_break_percent(percent);
    sb.set_break_percent(percent);
    uint64_t now = 1;
    settle({&sa, &sb}, now, 8);
    if (percent > 100) {
      // Never breaks: nothing shared, both keep their huge pages.
      EXPECT_TRUE(a.keeps_huge_pages(kBase));
      EXPECT_TRUE(b.keeps_huge_pages(kBase));
      EXPECT_EQ(store.stats().references, 0u);
      EXPECT_EQ(resident_pages(a, 0, kRegionPages), kRegionPages);
      continue;
    }
    EXPECT_FALSE(a.keeps_huge_pages(kBase));
    EXPECT_FALSE(b.keeps_huge_pages(kBase));
    EXPECT_EQ(sa.stats().shared_now, kRegionPages);
    EXPECT_EQ(sb.stats().shared_now, kRegionPages);
    EXPECT_EQ(store.stats().pages_stored, kRegionPages);
    EXPECT_EQ(store.stats().pages_saved, kRegionPages);
    fill_random(content.data(), 5000 + 7);
    EXPECT_EQ(page_checksum(a, 7), checksum(content.data()));
    EXPECT_EQ(page_checksum(b, 7), checksum(content.data()));
  }
}

TEST(PageSharingScanner, ZeroPagesCountAsSavedOnlyWhileGivenBack) {
  // saved = shared away + zero pages released and not written since: a
  // released page the guest writes again is memory again.
  PageStore store;
  GuestMemory memory(kBase, kSmallSize);
  const Page zero{};
  for (uint64_t page = 0; page < kSmallPages; ++page) write_page(memory, page, zero.data());
  PageScanner scanner(memory, store);
  uint64_t now = 1;
  settle({&scanner}, now, 3);
  EXPECT_EQ(scanner.stats().zero_now, kSmallPages);
  Page content;
  fill_random(content.data(), 6);
  write_page(memory, 3, content.data());
  write_page(memory, 4, content.data());
  settle({&scanner}, now, scanner.stats().passes + 1);
  EXPECT_EQ(scanner.stats().zero_now, kSmallPages - 2);
  EXPECT_EQ(scanner.stats().zero_pages_released, kSmallPages) << "the counter of every release";
  // Never-backed pages were never memory: they are not counted.
  GuestMemory untouched(kBase, kSmallSize);
  PageScanner idle(untouched, store);
  settle({&idle}, now, 3);
  EXPECT_EQ(idle.stats().zero_now, 0u);
}

TEST(PageSharingScanner, MeasureScanOf64MiB) {
  constexpr uint64_t kBig = 64 << 20;
  PageStore store;
  GuestMemory memory(kBase, kBig);
  Page content;
  for (uint64_t page = 0; page < kBig / kPage; ++page) {
    fill_random(content.data(), page);
    write_page(memory, page, content.data());
  }
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };

  auto start = Clock::now();
  uint64_t sum = XXH3_64bits(memory.host_ptr(kBase, kBig), kBig);
  const double raw = ms(Clock::now() - start);

  PageScanner scanner(memory, store);
  scanner.set_rate(1'000'000'000);
  uint64_t now = 1;
  scanner.step(now);
  auto pass = [&](uint64_t passes) {
    const auto t0 = Clock::now();
    while (scanner.stats().passes < passes) scanner.step(now += 1'000'000'000);
    return ms(Clock::now() - t0);
  };
  const double hashing = pass(1);  // first visit: hash only
  const double hinting = pass(2);  // second visit: every page becomes a hint
  std::printf(
      "[   INFO   ] 64 MiB: XXH3 in one call %.1f ms; scanner pass hashing %.1f ms; "
      "pass leaving %llu hints %.1f ms (checksum %016llx)\n",
      raw, hashing, static_cast<unsigned long long>(store.stats().hints), hinting,
      static_cast<unsigned long long>(sum));
  EXPECT_EQ(store.stats().hints, kBig / kPage);
}

}  // namespace
}  // namespace vessel
