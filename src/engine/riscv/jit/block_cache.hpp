// Translated blocks of one hart: which guest code has host code, the
// executable buffer it lives in, and the trampolines that enter and leave
// generated code.
//
// A block is keyed by the guest-physical address of its first instruction and
// the virtual address it was translated for (pc-relative values are baked
// into the code), so a guest that switches page tables or forks keeps its
// translations, and one physical page mapped at two addresses gets one
// translation per address. Blocks never span a page. When a page that holds
// blocks is written (by this hart: GuestMemory's code-write hook; by another
// or a device: CodeCache::refresh, see code_cache.hpp), all its blocks are
// dropped and the epoch moves on: the hart then empties its jump caches
// before it enters generated code again. Direct jumps are linked
// only between blocks of one page, so dropping a page's blocks never leaves a
// live block jumping into a dead one.
//
// Threads: only the thread running the hart touches its cache; not locked.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/riscv/jit/code_buffer.hpp"
#include "engine/vcpu.hpp"

namespace vessel::rv {
struct HartState;
}

namespace vessel::rv::jit {

// How generated code returns to the dispatcher (the value in eax).
enum Exit : uint32_t {
  kExitLookup = 0,     // continue at state.pc (a jump-cache miss, or too little budget)
  kExitChain = 1,      // the same, and state.chain_site_ names a direct jump to link
  kExitTrap = 2,       // the instruction at state.pc raised the trap recorded in the hart
  kExitInterpret = 3,  // the interpreter must execute the instruction at state.pc
  kExitStale = 4,      // the block's page must be translated again (translator.hpp)
};

struct Block {
  const uint8_t* code = nullptr;  // nullptr: the first instruction is the interpreter's
  uint32_t insns = 0;             // instructions the block retires when it runs to its end
  uint32_t bytes = 0;             // size of its host code
};

class BlockCache {
 public:
  static constexpr size_t kDefaultCapacity = size_t{128} << 20;
  static constexpr size_t kMinCapacity = size_t{1} << 20;

  // With VESSEL_JIT_PERFMAP=1 in the environment, every block is named in
  // /tmp/perf-PID.map (the convention perf uses for JIT code), so `perf
  // report` shows guest addresses instead of anonymous memory. With
  // VESSEL_JIT_CODE_DUMP=DIR, every block's host code (cold paths included) is
  // written to DIR/VA-GPA-HOSTADDR.bin, for
  // `objdump -D -b binary -mi386:x86-64 --adjust-vma=0xHOSTADDR FILE`.
  explicit BlockCache(size_t capacity = kDefaultCapacity);
  ~BlockCache();

  // Runs generated code at `code` for the hart whose state is `state` until
  // it leaves through an exit; returns the Exit.
  uint32_t enter(HartState* state, const void* code) const { return enter_(state, code); }
  // Addresses generated code jumps to: the common exit (eax holds the Exit),
  // and where a block's own jump-cache lookup goes when it misses (eax
  // unset): back to the dispatcher with kExitLookup.
  const uint8_t* exit_code() const { return exit_; }
  const uint8_t* lookup_miss_code() const { return lookup_miss_; }

  const Block* find(uint64_t gpa, uint64_t va) const;
  // The map of blocks is bounded apart from the code buffer: a guest can make
  // entries that hold no code (the interpreter's), at as many addresses as it
  // can map. Past kMaxBlocks the caller flushes.
  static constexpr size_t kMaxBlocks = size_t{1} << 20;
  bool too_many_blocks() const { return blocks_.size() >= kMaxBlocks; }
  // The dispatcher's arrival at (gpa, va): the block there, or none and how
  // many times the dispatcher has now arrived there without one. Code is
  // translated only once it is warm, since most of a kernel's boot runs once
  // and costs less to interpret than to translate.
  struct Arrival {
    const Block* block;
    uint32_t count;
  };
  Arrival arrive(uint64_t gpa, uint64_t va);
  // Code is translated the warm_arrivals()-th time the dispatcher arrives at
  // it (1: at once, which tests use to exercise the translator on code that
  // runs once).
  static constexpr uint32_t kDefaultWarmArrivals = 64;
  uint32_t warm_arrivals() const { return warm_arrivals_; }
  void set_warm_arrivals(uint32_t n) { warm_arrivals_ = n == 0 ? 1 : n; }
  // Records a block; `code` must have been written at buffer().cursor().
  const Block* insert(uint64_t gpa, uint64_t va, const Block& block);

  // Drops every block of the page holding `page_gpa` (it was written).
  void invalidate_page(uint64_t page_gpa);
  // Drops everything (the buffer is full).
  void flush();
  // Moves on whenever a block that a hart may have cached goes away.
  uint64_t epoch() const { return epoch_; }
  uint64_t flushes() const { return stats_.cache_flushes; }

  // ---- direct user memory (CodeCache::set_direct_memory) ----
  // Blocks then address guest memory as [base + va] after checking va <
  // limit, and every such access is a fault site: a host SIGSEGV/SIGBUS
  // there (the host page's protection mirrors the guest's, so the guest
  // faults, or the page holds code and is write-protected) is sent to the
  // access's slow path, which raises the precise guest fault or does the
  // write through GuestMemory::prepare_write.
  void set_direct_memory(const uint8_t* base, uint64_t limit) {
    direct_base_ = base;
    direct_limit_ = limit;
  }
  const uint8_t* direct_base() const { return direct_base_; }
  uint64_t direct_limit() const { return direct_limit_; }
  // Records that a host fault at `site` resumes at `slow` (both in the
  // buffer, in a block just committed).
  void add_fault_site(const uint8_t* site, const uint8_t* slow);
  // Where a host fault at `rip` must resume, or nullptr if `rip` is no fault
  // site. Async-signal-safe for a fault on the thread that runs this cache
  // (which is then inside generated code, so nothing changes the table).
  const uint8_t* fault_resume(uintptr_t rip) const;

  CodeBuffer& buffer() { return buffer_; }
  EngineStats& stats() { return stats_; }
  const EngineStats& stats() const { return stats_; }

 private:
  struct Key {
    uint64_t gpa, va;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return k.gpa * 0x9e3779b97f4a7c15ull ^ k.va; }
  };
  // A direct-mapped table in front of blocks_ for the dispatcher, which also
  // holds the arrival counts: the hash map's lookups (a chain of cache misses
  // each) cost 14% of a boot when they were made on every arrival. When
  // another address takes the slot of one that is still cold, its count
  // moves to cold_counts_ and comes back with it: two hot addresses sharing
  // a slot would otherwise reset each other's counts and never be
  // translated (the kernel's fault-around loop was interpreted for ever).
  // `block` points into blocks_, whose elements stay put until erased;
  // erasing clears their slots.
  struct Slot {
    uint64_t gpa = ~uint64_t{0}, va = ~uint64_t{0};
    const Block* block = nullptr;
    uint32_t count = 0;
  };
  static constexpr size_t kSlots = size_t{1} << 14;
  static size_t slot_of(uint64_t gpa, uint64_t va) {
    return ((va >> 1) ^ (gpa >> 13)) & (kSlots - 1);
  }
  void emit_trampolines();
  void dump(const Block& block, uint64_t va, uint64_t gpa) const;

  CodeBuffer buffer_;
  size_t trampoline_bytes_ = 0;
  uint32_t (*enter_)(HartState*, const void*) = nullptr;
  const uint8_t* exit_ = nullptr;
  const uint8_t* lookup_miss_ = nullptr;
  std::unordered_map<Key, Block, KeyHash> blocks_;
  std::unordered_map<uint64_t, std::vector<Key>> pages_;  // page gpa -> its blocks
  std::vector<Slot> slots_ = std::vector<Slot>(kSlots);
  // Emptied when it reaches kMaxColdCounts: the guest decides how many
  // addresses it arrives at.
  static constexpr size_t kMaxColdCounts = size_t{1} << 16;
  std::unordered_map<Key, uint32_t, KeyHash> cold_counts_;
  uint64_t epoch_ = 1;
  uint32_t warm_arrivals_ = kDefaultWarmArrivals;
  EngineStats stats_;
  std::FILE* perf_map_ = nullptr;
  std::string dump_dir_;  // empty: no dumps
  const uint8_t* direct_base_ = nullptr;
  uint64_t direct_limit_ = 0;
  // Offsets in the buffer: (fault site, where to resume), sorted by site.
  struct FaultSite {
    uint32_t site, resume;
  };
  std::vector<FaultSite> fault_sites_;
};

}  // namespace vessel::rv::jit
