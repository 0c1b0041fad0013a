#include "engine/riscv/code_cache.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <new>
#include <type_traits>

#include "engine/riscv/jit/block_cache.hpp"

namespace vessel::rv {

void CodeCache::Unmap::operator()(DecodedPage** p) const {
  if (p != nullptr) munmap(p, bytes);
}

CodeCache::CodeCache(GuestMemory& memory, bool owner_hook) : memory_(memory) {
  const size_t bytes = std::max<size_t>(memory.pages() * sizeof(DecodedPage*), 1);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  pages_ = std::unique_ptr<DecodedPage*[], Unmap>(static_cast<DecodedPage**>(p), Unmap{bytes});
  if (owner_hook) memory_.set_code_write_hook([this](uint64_t page_gpa) { invalidate(page_gpa); });
}

CodeCache::~CodeCache() = default;

jit::BlockCache& CodeCache::jit() {
  if (!jit_) {
    jit_ = std::make_unique<jit::BlockCache>(
        jit_capacity_ != 0 ? jit_capacity_ : jit::BlockCache::kDefaultCapacity);
    if (jit_warmup_ != 0) jit_->set_warm_arrivals(jit_warmup_);
    if (direct_base_ != nullptr) jit_->set_direct_memory(direct_base_, direct_limit_);
  }
  return *jit_;
}

void CodeCache::set_jit_warmup(uint32_t arrivals) {
  jit_warmup_ = arrivals;
  if (jit_) {
    jit_->set_warm_arrivals(arrivals != 0 ? arrivals : jit::BlockCache::kDefaultWarmArrivals);
  }
}

void CodeCache::reset(DecodedPage& page) {
  for (auto& insn : page.insns) insn = DecodedInsn{};
  page.insns[DecodedPage::kSlots].op = Op::PAGE_END;
  page.insns[DecodedPage::kSlots + 1].op = Op::PAGE_END;
  page.decoded = 0;
}

static_assert(std::is_trivially_destructible_v<DecodedPage>);

namespace {
constexpr size_t kChunkBytes = size_t{2} << 20;
constexpr size_t kPagesPerChunk = kChunkBytes / sizeof(DecodedPage);
}  // namespace

DecodedPage* CodeCache::allocate_page() {
  if (chunks_.empty() || used_in_chunk_ == kPagesPerChunk) {
    void* chunk = std::aligned_alloc(kChunkBytes, kChunkBytes);
    if (chunk == nullptr) throw std::bad_alloc();
    madvise(chunk, kChunkBytes, MADV_HUGEPAGE);  // advice: failure changes nothing
    chunks_.emplace_back(chunk);
    used_in_chunk_ = 0;
  }
  void* at = static_cast<uint8_t*>(chunks_.back().get()) + used_in_chunk_++ * sizeof(DecodedPage);
  return new (at) DecodedPage;  // trivially destructible: freed with its chunk
}

DecodedPage* CodeCache::page(uint64_t gpa) {
  auto& slot = pages_[(gpa - memory_.base()) >> GuestMemory::kPageShift];
  if (slot == nullptr) {
    slot = allocate_page();
    reset(*slot);
    slot->generation = memory_.code_generation(gpa);
    ++decoded_pages_;
  }
  return slot;
}

void CodeCache::trim() {
  clear_slots();
  chunks_.clear();
  decoded_pages_ = 0;
}

void CodeCache::clear_slots() {
  // Fresh zero pages over the slots: as cheap for a huge, sparse array as
  // for a small one.
  const size_t bytes = pages_.get_deleter().bytes;
  if (mmap(pages_.get(), bytes, PROT_READ | PROT_WRITE,
           MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) == MAP_FAILED) {
    std::fill(pages_.get(), pages_.get() + bytes / sizeof(DecodedPage*), nullptr);
  }
}

bool CodeCache::mark_code(uint64_t gpa) {
  if ((memory_.set_page_flags(gpa, GuestMemory::kPageCode) & GuestMemory::kPageCode) != 0) {
    return false;
  }
  memory_.bump_code_epoch();
  memory_.notify_code_marked(gpa);
  return true;
}

void CodeCache::invalidate(uint64_t gpa) {
  memory_.clear_page_flags(gpa, GuestMemory::kPageCode);
  forget(gpa);
}

void CodeCache::forget(uint64_t gpa) {
  auto& slot = pages_[(gpa - memory_.base()) >> GuestMemory::kPageShift];
  if (slot != nullptr) {
    if (slot->decoded != 0) reset(*slot);
    slot->generation = memory_.code_generation(gpa);
  }
  if (jit_) jit_->invalidate_page(gpa & ~uint64_t{GuestMemory::kPageSize - 1});
}

}  // namespace vessel::rv
