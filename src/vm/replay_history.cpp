#include "vm/replay_history.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/error.hpp"
#include "vm/checkpoint_plan.hpp"
#include "vm/machine.hpp"
#include "vm/memory_file.hpp"

namespace vessel {

namespace {
constexpr uint64_t kPage = GuestMemory::kPageSize;
const uint8_t kZeroPage[kPage] = {};

template <typename F>
void for_each_bit(const std::vector<uint64_t>& bits, F&& f) {
  for (size_t w = 0; w < bits.size(); ++w) {
    uint64_t word = bits[w];
    while (word != 0) {
      const unsigned b = static_cast<unsigned>(__builtin_ctzll(word));
      word &= word - 1;
      f(w * 64 + b);
    }
  }
}
}  // namespace

ReplayHistory::ReplayHistory(Machine& machine, Journal& journal, const std::string& start_memory,
                             Options options)
    : machine_(machine), journal_(journal), options_(options) {
  GuestMemory& mem = machine_.memory();
  const int fd = open_memory_file(start_memory, mem.size());
  void* p = mmap(nullptr, mem.size(), PROT_READ, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
  const int err = errno;
  close(fd);
  if (p == MAP_FAILED) fail("cannot map {}: {}", start_memory, std::strerror(err));
  start_ = static_cast<const uint8_t*>(p);
  start_size_ = mem.size();
  mapped_size_ = mem.size();
  dirty_.assign((mem.pages() + 63) / 64, 0);
  mem.start_dirty_log();
}

ReplayHistory::~ReplayHistory() {
  if (start_ != nullptr) munmap(const_cast<uint8_t*>(start_), mapped_size_);
}

std::vector<uint64_t> ReplayHistory::positions() const {
  std::vector<uint64_t> p;
  p.reserve(checkpoints_.size());
  for (const Checkpoint& c : checkpoints_) p.push_back(c.position);
  return p;
}

void ReplayHistory::collect_dirty() {
  const std::vector<uint64_t> d = machine_.memory().take_dirty();
  for (size_t i = 0; i < d.size() && i < dirty_.size(); ++i) dirty_[i] |= d[i];
}

void ReplayHistory::at_boundary() {
  if (journal_.diverged()) return;
  const uint64_t pos = machine_.instructions();
  if (!checkpoints_.empty() && (pos < checkpoints_.back().position ||
                                pos - checkpoints_.back().position < options_.interval)) {
    return;
  }
  if (!machine_.state_complete()) return;  // a few rounds later
  take(pos);
}

void ReplayHistory::take(uint64_t position) {
  collect_dirty();
  Checkpoint c;
  c.position = position;
  c.state = machine_.save_state();
  c.journal = journal_.mark();
  c.console = machine_.console_mark();
  GuestMemory& mem = machine_.memory();
  for_each_bit(dirty_, [&](uint64_t page) {
    auto data = std::make_unique<uint8_t[]>(kPage);
    mem.read(mem.base() + page * kPage, {data.get(), kPage});
    // Appended: a new checkpoint is always the newest.
    versions_[page].push_back(Version{position, std::move(data)});
    c.pages.push_back(page);
    bytes_ += kPage;
  });
  std::fill(dirty_.begin(), dirty_.end(), 0);
  base_ = position;
  checkpoints_.push_back(std::move(c));
  while (bytes_ > options_.max_bytes) {
    const auto k = checkpoint_plan::drop_index(positions(), position);
    if (!k) break;
    drop(*k);
  }
}

void ReplayHistory::drop(size_t k) {
  Checkpoint& c = checkpoints_[k];
  Checkpoint& next = checkpoints_[k + 1];
  if (base_ == c.position) {
    // Memory is checkpoint k's plus dirty_, i.e. checkpoint k - 1's plus
    // k's delta plus dirty_.
    for (uint64_t page : c.pages) dirty_[page / 64] |= uint64_t{1} << (page % 64);
    base_ = checkpoints_[k - 1].position;
  }
  for (uint64_t page : c.pages) {
    std::vector<Version>& v = versions_[page];
    auto it = std::find_if(v.begin(), v.end(),
                           [&](const Version& x) { return x.position == c.position; });
    if (it == v.end()) continue;
    if (it + 1 != v.end() && (it + 1)->position == next.position) {
      v.erase(it);  // the next checkpoint has its own copy
      bytes_ -= kPage;
    } else {
      it->position = next.position;  // unchanged until then: it becomes the next one's
      next.pages.push_back(page);
    }
  }
  checkpoints_.erase(checkpoints_.begin() + static_cast<ptrdiff_t>(k));
}

const uint8_t* ReplayHistory::page_at(uint64_t page, uint64_t position) const {
  if (auto it = versions_.find(page); it != versions_.end()) {
    const std::vector<Version>& v = it->second;
    auto after = std::upper_bound(v.begin(), v.end(), position,
                                  [](uint64_t p, const Version& x) { return p < x.position; });
    if (after != v.begin()) return std::prev(after)->data.get();
  }
  return (page + 1) * kPage <= start_size_ ? start_ + page * kPage : kZeroPage;
}

uint64_t ReplayHistory::checkpoint_before(uint64_t target) const {
  const auto k = checkpoint_plan::restore_index(positions(), target);
  if (!k) fail("reverse execution: no checkpoint to go back to");
  return checkpoints_[*k].position;
}

std::optional<bool> ReplayHistory::window_writes(uint64_t start, std::span<const uint64_t> pages,
                                                 bool machine_at_end) {
  const auto it = std::find_if(checkpoints_.begin(), checkpoints_.end(),
                               [&](const Checkpoint& c) { return c.position == start; });
  if (it == checkpoints_.end()) return std::nullopt;
  if (it + 1 == checkpoints_.end()) {
    if (!machine_at_end) return std::nullopt;
    // Memory is base_'s plus dirty_, and base_ is no later than the newest
    // checkpoint: dirty_ holds every page written since `start`.
    collect_dirty();
    return std::any_of(pages.begin(), pages.end(), [&](uint64_t page) {
      return page / 64 < dirty_.size() && (dirty_[page / 64] >> (page % 64) & 1) != 0;
    });
  }
  const std::vector<uint64_t>& delta = (it + 1)->pages;
  return std::any_of(pages.begin(), pages.end(), [&](uint64_t page) {
    return std::find(delta.begin(), delta.end(), page) != delta.end();
  });
}

uint64_t ReplayHistory::restore_before(uint64_t target) {
  const auto k = checkpoint_plan::restore_index(positions(), target);
  if (!k) fail("reverse execution: no checkpoint to go back to");
  const Checkpoint& c = checkpoints_[*k];
  collect_dirty();
  // Pages that may differ: written since base_, and in the deltas between
  // base_ and the checkpoint (either way round).
  std::vector<uint64_t> pages = dirty_;
  const uint64_t lo = std::min(c.position, base_), hi = std::max(c.position, base_);
  for (const Checkpoint& j : checkpoints_) {
    if (j.position <= lo || j.position > hi) continue;
    for (uint64_t page : j.pages) pages[page / 64] |= uint64_t{1} << (page % 64);
  }
  GuestMemory& mem = machine_.memory();
  uint8_t current[kPage];
  for_each_bit(pages, [&](uint64_t page) {
    const uint64_t gpa = mem.base() + page * kPage;
    const uint8_t* want = page_at(page, c.position);
    mem.read(gpa, {current, kPage});
    // write() tells the engines about code pages; an equal page is left
    // alone so its translations stay.
    if (std::memcmp(current, want, kPage) != 0) mem.write(gpa, {want, kPage});
  });
  mem.take_dirty();
  std::fill(dirty_.begin(), dirty_.end(), 0);
  base_ = c.position;
  // The journal first: the devices' reset inside the state load must not
  // take anything from the log.
  journal_.rewind(c.journal);
  machine_.rewind_state(c.state);
  machine_.console_rewind(c.console);
  return c.position;
}

}  // namespace vessel
