#include "engine/riscv/jit/block_cache.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "engine/riscv/jit/abi.hpp"
#include "engine/riscv/jit/runtime.hpp"

namespace vessel::rv::jit {

BlockCache::BlockCache(size_t capacity) : buffer_(std::max(capacity, kMinCapacity)) {
  emit_trampolines();
  if (const char* v = std::getenv("VESSEL_JIT_PERFMAP");
      v != nullptr && std::string_view(v) == "1") {
    perf_map_ = std::fopen(fmt::format("/tmp/perf-{}.map", getpid()).c_str(), "a");
  }
  if (const char* v = std::getenv("VESSEL_JIT_CODE_DUMP"); v != nullptr && *v != '\0')
    dump_dir_ = v;
}

BlockCache::~BlockCache() {
  if (perf_map_ != nullptr) std::fclose(perf_map_);
}

// The entry and exit routines and the jump-cache miss, at the start of the buffer
// (kept across flushes).
void BlockCache::emit_trampolines() {
  using namespace Xbyak::util;
  Xbyak::CodeGenerator g(buffer_.room(), buffer_.cursor());
  Xbyak::Label exit, miss;

  // uint32_t enter(HartState* state /* rdi */, const void* code /* rsi */)
  const uint8_t* enter = g.getCurr();
  g.push(rbx);
  g.push(rbp);
  g.push(r12);
  g.push(r13);
  g.push(r14);
  g.push(r15);
  g.sub(rsp, kFrameBytes);  // abi.hpp; 16-byte stack alignment for helper calls
  g.mov(rbp, rdi);
  g.mov(r15, g.qword[rbp + kOffRemaining]);
  g.jmp(rsi);

  g.align(16);
  g.L(exit);
  g.mov(g.qword[rbp + kOffRemaining], r15);
  // fflags |= the flags inline F/D arithmetic left in MXCSR (abi.hpp).
  g.stmxcsr(g.dword[rsp]);
  g.mov(ecx, g.dword[rsp]);
  g.and_(ecx, 63);
  g.mov(rdx, reinterpret_cast<uint64_t>(Runtime::kHostToRvFlags));
  g.movzx(ecx, g.byte[rdx + rcx]);
  g.or_(g.dword[rbp + kOffFflags], ecx);
  g.add(rsp, kFrameBytes);
  g.pop(r15);
  g.pop(r14);
  g.pop(r13);
  g.pop(r12);
  g.pop(rbp);
  g.pop(rbx);
  g.ret();

  // A block's jump-cache lookup missed (Emitter::jump_through_cache).
  g.align(16);
  g.L(miss);
  g.mov(eax, kExitLookup);
  g.jmp(exit);
  g.ready();

  enter_ = reinterpret_cast<uint32_t (*)(HartState*, const void*)>(const_cast<uint8_t*>(enter));
  exit_ = exit.getAddress();
  lookup_miss_ = miss.getAddress();
  buffer_.commit(g.getSize());
  trampoline_bytes_ = buffer_.used();
}

const Block* BlockCache::find(uint64_t gpa, uint64_t va) const {
  auto it = blocks_.find(Key{gpa, va});
  return it == blocks_.end() ? nullptr : &it->second;
}

const Block* BlockCache::insert(uint64_t gpa, uint64_t va, const Block& block) {
  auto [it, fresh] = blocks_.insert_or_assign(Key{gpa, va}, block);
  if (fresh) pages_[gpa & ~uint64_t{0xfff}].push_back(Key{gpa, va});
  slots_[slot_of(gpa, va)] = Slot{gpa, va, &it->second, 0};
  if (block.code != nullptr) {
    ++stats_.blocks_translated;
    if (perf_map_ != nullptr) {
      std::fprintf(perf_map_, "%lx %x guest_%lx_pa_%lx\n", reinterpret_cast<uintptr_t>(block.code),
                   block.bytes, static_cast<unsigned long>(va), static_cast<unsigned long>(gpa));
      std::fflush(perf_map_);
    }
    if (!dump_dir_.empty()) dump(block, va, gpa);
  }
  stats_.cache_bytes = buffer_.used() - trampoline_bytes_;
  return &it->second;
}

void BlockCache::dump(const Block& block, uint64_t va, uint64_t gpa) const {
  const std::string path = fmt::format("{}/{:x}-{:x}-{:x}.bin", dump_dir_, va, gpa,
                                       reinterpret_cast<uintptr_t>(block.code));
  if (std::FILE* f = std::fopen(path.c_str(), "wb"); f != nullptr) {
    std::fwrite(block.code, 1, block.bytes, f);
    std::fclose(f);
  }
}

BlockCache::Arrival BlockCache::arrive(uint64_t gpa, uint64_t va) {
  Slot& s = slots_[slot_of(gpa, va)];
  if (s.gpa != gpa || s.va != va) {
    if (s.block == nullptr && s.count != 0) {  // still cold: keep its count
      if (cold_counts_.size() >= kMaxColdCounts) cold_counts_.clear();
      cold_counts_[Key{s.gpa, s.va}] = s.count;
    }
    const Key key{gpa, va};
    auto it = blocks_.find(key);
    uint32_t count = 0;
    if (it == blocks_.end()) {
      if (auto c = cold_counts_.find(key); c != cold_counts_.end()) {
        count = c->second;
        cold_counts_.erase(c);
      }
    }
    s = Slot{gpa, va, it == blocks_.end() ? nullptr : &it->second, count};
  }
  if (s.block == nullptr && s.count != UINT32_MAX) ++s.count;
  return {s.block, s.count};
}

void BlockCache::invalidate_page(uint64_t page_gpa) {
  auto it = pages_.find(page_gpa);
  if (it == pages_.end()) return;
  for (const Key& k : it->second) {
    blocks_.erase(k);
    // Cold again (a count of 0): code in a page that keeps being written
    // (data beside code) is left to the interpreter instead of being
    // translated after each write.
    if (Slot& s = slots_[slot_of(k.gpa, k.va)]; s.gpa == k.gpa && s.va == k.va) s = Slot{};
  }
  pages_.erase(it);
  ++stats_.invalidations;
  ++epoch_;
}

void BlockCache::add_fault_site(const uint8_t* site, const uint8_t* slow) {
  const auto at = static_cast<uint32_t>(site - buffer_.begin());
  const auto resume = static_cast<uint32_t>(slow - buffer_.begin());
  const bool in_order = fault_sites_.empty() || fault_sites_.back().site < at;
  fault_sites_.push_back(FaultSite{at, resume});
  if (!in_order) {
    std::sort(fault_sites_.begin(), fault_sites_.end(),
              [](const FaultSite& a, const FaultSite& b) { return a.site < b.site; });
  }
}

const uint8_t* BlockCache::fault_resume(uintptr_t rip) const {
  const auto begin = reinterpret_cast<uintptr_t>(buffer_.begin());
  if (rip < begin || rip - begin >= buffer_.used()) return nullptr;
  const auto at = static_cast<uint32_t>(rip - begin);
  // A hand-written binary search: std::lower_bound is fine too, but this
  // keeps the signal handler's path obviously free of allocation.
  size_t lo = 0, hi = fault_sites_.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (fault_sites_[mid].site < at) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == fault_sites_.size() || fault_sites_[lo].site != at) return nullptr;
  return buffer_.begin() + fault_sites_[lo].resume;
}

void BlockCache::flush() {
  blocks_.clear();
  pages_.clear();
  cold_counts_.clear();
  std::fill(slots_.begin(), slots_.end(), Slot{});
  buffer_.reset(trampoline_bytes_);
  fault_sites_.clear();
  stats_.cache_bytes = 0;
  ++stats_.cache_flushes;
  ++epoch_;
}

}  // namespace vessel::rv::jit
