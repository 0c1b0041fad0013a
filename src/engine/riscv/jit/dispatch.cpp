// The translator's run loop: find (or make) the block for pc, run generated
// code until it returns, handle what it returns for.
//
// It keeps the interpreter's accounting exactly: every instruction retired
// and every trap taken costs one unit of budget, interrupts are taken at the
// same points (the dispatcher looks wherever the interpreter would: blocks
// end at every instruction that can enable an interrupt, and a store that
// reaches a device returns here), and a block longer than the budget left is
// run by the interpreter instead. So run(a) then run(b) equals run(a + b),
// and a --deterministic run retires the same instructions on either engine.
#include <time.h>

#include <cstring>

#include "base/log.hpp"
#include "engine/riscv/hart.hpp"
#include "engine/riscv/jit/block_cache.hpp"
#include "engine/riscv/jit/runtime.hpp"
#include "engine/riscv/jit/translator.hpp"

namespace vessel::rv {

namespace {
// Code is translated the cache.warm_arrivals()-th time the dispatcher arrives
// at it without a block (64 by default); before that the interpreter runs
// from there to the first taken jump after kColdStretchMin instructions (so
// the next arrival is at a jump target, where a loop arrives every time
// round), at most kColdStretchMax. Measured on the default guest's
// --deterministic boot with callgrind, in G host instructions: stretches of
// exactly 64 cost 1.67; to a jump after 1, 4, 16, 32, 48 or 64 (at most 256
// or 384) 1.64, 1.61, 1.55, 1.52, 1.53, 1.54; with 32 and warm-ups of 32 or
// 128, 1.54 and 1.56. (Before the arrival counts moved out of a hash map,
// warm-ups of 1, 4, 16, 64 and 256 had cost 4.24, 3.12, 2.60, 2.40 and 2.80;
// the interpreter alone 2.80.)
constexpr uint64_t kColdStretchMin = 32;
constexpr uint64_t kColdStretchMax = 256;

double monotonic_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
}  // namespace

EngineStats Hart::engine_stats() const {
  if (engine_ != Engine::kJit) return {};
  const jit::BlockCache* cache = code_.jit_if_used();
  return cache != nullptr ? cache->stats() : EngineStats{};
}

uint64_t Hart::run_translated(uint64_t budget, StopReason& stop) {
  stop = StopReason::kBudget;
  wfi_ = false;  // the machine runs a waiting hart only once an interrupt is pending
  if (budget == 0) return 0;
  jit::BlockCache& cache = code_.jit();
  const uint64_t start_instret = instret_;
  remaining_ = static_cast<int64_t>(budget);
  int64_t traps = 0;
  // A direct jump at the end of the block that just returned, to link to the
  // block for link_pc once that exists (both in one page).
  uint8_t* link_site = nullptr;
  uint64_t link_pc = 0;
  chain_site_ = 0;
  auto sync_instret = [&] {
    instret_ =
        start_instret + static_cast<uint64_t>(static_cast<int64_t>(budget) - remaining_ - traps);
  };
  // Runs up to `n` instructions in the interpreter; false if it stopped for WFI.
  auto interpret_some = [&](uint64_t n, uint64_t jumps_after = kNoJumpStop) {
    sync_instret();
    uint64_t used = 0;
    StopReason why = StopReason::kBudget;
    const uint64_t retired = interpret(n, why, &used, jumps_after);
    cache.stats().interpreted += retired;
    remaining_ -= static_cast<int64_t>(used);
    traps += static_cast<int64_t>(used - retired);
    if (why == StopReason::kWfi) {
      stop = StopReason::kWfi;
      return false;
    }
    return true;
  };

  for (;;) {
    catch_up_code_epoch();
    if (jit_epoch_ != cache.epoch()) {
      for (Tlb& tlb : tlbs_) {
        for (auto& e : tlb.jump) e.va = TlbEntry::kInvalid;
      }
      jit_epoch_ = cache.epoch();
    }
    if (remaining_ <= 0) break;
    if (stop_requested_) {
      stop = StopReason::kRequested;
      break;
    }
    if ((pending_interrupts() & mie_) != 0 && take_interrupt()) {
      link_site = nullptr;
      ++traps;
      --remaining_;
      continue;
    }
    FetchTlbEntry* fe = &fetch_tlb_->fetch[(pc >> 12) % kTlbEntries];
    if (fe->vpage != (pc & ~uint64_t{0xfff}) && !fill_fetch(pc, fe)) {
      take_trap(pc);
      ++traps;
      --remaining_;
      continue;
    }
    if (code_.refresh(fe->gpa, *fe->page)) {  // another hart (or a device) wrote it
      link_site = nullptr;                    // its block may be gone
      continue;                               // the jump caches go too, above
    }
    const uint64_t gpa = fe->gpa | (pc & 0xfff);
    const jit::BlockCache::Arrival arrival = cache.arrive(gpa, pc);
    const jit::Block* block = arrival.block;
    if (block == nullptr && arrival.count < cache.warm_arrivals()) {
      // Cold code: the interpreter runs a stretch of it.
      if (!interpret_some(std::min<uint64_t>(static_cast<uint64_t>(remaining_), kColdStretchMax),
                          kColdStretchMin))
        break;
      continue;
    }
    if (block == nullptr) {
      if ((memory_.page_flags(fe->gpa) & GuestMemory::kPageCode) == 0 && code_.mark_code(fe->gpa)) {
        sync_code_epoch();  // stores to the page must now be seen
      }
      note_code_read(fe->gpa);
      if (cache.too_many_blocks()) {
        // Entries the guest can multiply without using the code buffer (the
        // interpreter's markers, one page at many addresses): bounded too.
        cache.flush();
        jit_epoch_ = 0;
        link_site = nullptr;
      }
      const double t0 = monotonic_seconds();
      // Where an instruction crossing into the next page finds its second
      // half now; the block checks it again whenever it runs.
      const uint8_t* next_page = nullptr;
      if (uint64_t next_pa = 0;
          translate_debug((pc & ~uint64_t{0xfff}) + 4096, Access::kFetch, next_pa))
        next_page = memory_.host_ptr(next_pa & ~uint64_t{0xfff}, 4096);
      jit::Block made;
      const char* error = nullptr;
      jit::Translation result =
          jit::translate_block(cache, pc, gpa, fe->host, next_page, made, &error);
      if (result == jit::Translation::kNoRoom) {
        cache.flush();
        jit_epoch_ = 0;       // empties the jump caches before the next entry
        link_site = nullptr;  // its code is gone
        result = jit::translate_block(cache, pc, gpa, fe->host, next_page, made, &error);
      }
      if (result != jit::Translation::kDone) {
        // The interpreter runs it from now on (the block stays marked as
        // such); the rest of the cache is fine, so it stays.
        made = jit::Block{};
        if (result == jit::Translation::kFailed && cache.stats().translation_failures++ == 0) {
          spdlog::warn("jit: block at {:#x} left to the interpreter: {}", pc, error);
        }
      }
      block = cache.insert(gpa, pc, made);
      cache.stats().translate_seconds += monotonic_seconds() - t0;
    }
    if (block->code != nullptr && static_cast<int64_t>(block->insns) > remaining_ &&
        !exact_budget_ && remaining_ < static_cast<int64_t>(budget)) {
      break;  // not worth interpreting the rest (Vcpu::set_exact_budget)
    }
    if (block->code == nullptr || static_cast<int64_t>(block->insns) > remaining_) {
      // The interpreter's instruction, or the budget ends inside the block.
      if (!interpret_some(block->code == nullptr ? 1 : static_cast<uint64_t>(remaining_))) break;
      continue;
    }
    if (link_site != nullptr && link_pc == pc) {
      // SAFETY: the site is a `jmp rel32` this cache emitted and has not
      // flushed since; the target is a block of the same page, which lives
      // exactly as long as the site's own block.
      const auto rel = static_cast<int32_t>(block->code - (link_site + 5));
      std::memcpy(link_site + 1, &rel, 4);
    }
    link_site = nullptr;
    fetch_tlb_->jump[(pc >> 1) % kJumpCacheEntries] = JumpCacheEntry{pc, block->code};
    fetch_tlb_->note_fill(Tlb::kJump, (pc >> 1) % kJumpCacheEntries);
    jit::Runtime::prepare_mxcsr(fp.fflags);
    const uint64_t block_page = fe->gpa;
    const uint32_t exit = cache.enter(this, block->code);
    switch (exit) {
      case jit::kExitTrap:
        take_trap(pc);
        ++traps;
        --remaining_;
        break;
      case jit::kExitInterpret:
        if (remaining_ > 0 && !interpret_some(1)) goto done;
        break;
      case jit::kExitStale:
        code_.forget(block_page);  // its blocks are translated again
        break;
      case jit::kExitChain:
        link_site = reinterpret_cast<uint8_t*>(chain_site_);
        link_pc = pc;
        chain_site_ = 0;
        break;
      default: break;
    }
  }
done:
  remaining_ = std::max<int64_t>(remaining_, 0);
  sync_instret();
  return instret_ - start_instret;
}

}  // namespace vessel::rv
