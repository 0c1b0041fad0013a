// Decoded instructions and translated blocks of one hart, cached per
// guest-physical page.
//
// Each 4 KiB RAM page that holds executed code gets an array with one slot per
// 2-byte offset (RVC instructions may start at any even address), filled on
// first execution. Two sentinel slots past the end send execution that runs
// off the page back to the fetch path.
//
// Every hart has its own cache, touched only by the thread that runs the
// hart, so harts on several host threads share no cache to lock. A write to
// a code page bumps the page's generation in GuestMemory; the writing hart's
// own cache drops the page at once (the code-write hook: a hart sees its own
// stores to code immediately), and every other cache when its hart next
// enters the page through the fetch path or the translator's dispatcher
// (refresh()), which a fence.i forces. That is exactly what RISC-V promises:
// another hart's stores to instructions are seen after a fence.i.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "engine/riscv/decoded_insn.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::rv {

namespace jit {
class BlockCache;
}

struct DecodedPage {
  static constexpr unsigned kSlots = 4096 / 2;
  DecodedInsn insns[kSlots + 2];  // + PAGE_END sentinels
  uint32_t decoded = 0;           // slots filled since the last reset
  uint32_t generation = 0;        // the page's code generation they were decoded at
};

class CodeCache {
 public:
  // Installs GuestMemory's code-write hook to invalidate() pages of this
  // cache, unless `owner_hook` is false (`vessel exec`: one cache per guest
  // thread, and the process's own hook, installed once, reaches the cache
  // of the writing thread; a later cache taking the hook over would race
  // with writers on other threads).
  explicit CodeCache(GuestMemory& memory, bool owner_hook = true);
  ~CodeCache();

  // The decoded page for the RAM page holding `gpa` (allocated on demand).
  DecodedPage* page(uint64_t gpa);

  // Marks the page as holding code. Returns true if it was not marked before,
  // in which case every hart must drop fast write-TLB entries (GuestMemory's
  // code epoch moves on; see smp_sync.hpp).
  bool mark_code(uint64_t gpa);

  // Drops every decoded instruction and translated block of the page
  // holding `gpa`.
  void invalidate(uint64_t gpa);
  // The same, but the page stays flagged as code (other caches may hold it).
  void forget(uint64_t gpa);
  // Drops them if the page was written since they were made (by anyone);
  // `page` is this cache's page for `gpa`. True if it did.
  bool refresh(uint64_t gpa, DecodedPage& page) {
    if (page.generation == memory_.code_generation(gpa)) [[likely]]
      return false;
    invalidate(gpa);
    return true;
  }

  // The binary translator's blocks (made on first use, with room for
  // `capacity` bytes of code as set before; see set_jit_capacity).
  jit::BlockCache& jit();
  // Size of the translated-code cache (--jit-cache); before the first jit().
  void set_jit_capacity(size_t bytes) { jit_capacity_ = bytes; }
  // How often code must be reached before it is translated (--jit-warmup;
  // 0: the default, 1: at once).
  void set_jit_warmup(uint32_t arrivals);
  // Translate loads and stores for a user process's flat memory (`vessel
  // exec`): guest address va is host address base + va for va < limit, the
  // host's page protections mirror the guest's, and a host fault in
  // translated code goes to the access's slow path (jit/block_cache.hpp).
  // Before the first jit().
  void set_direct_memory(const uint8_t* base, uint64_t limit) {
    direct_base_ = base;
    direct_limit_ = limit;
  }
  // Null until a hart used the translator.
  const jit::BlockCache* jit_if_used() const { return jit_.get(); }

  // Decoded pages cost 32 KiB each (eight times the page), so a guest that
  // executes from all of its RAM must not make the host hold eight times its
  // RAM: past a limit they are all freed at the machine's next safe point.
  static constexpr size_t kDefaultMaxDecodedPages = 4096;  // 128 MiB
  void set_max_decoded_pages(size_t n) { max_decoded_pages_ = n; }
  size_t decoded_pages() const { return decoded_pages_; }
  bool over_limit() const { return decoded_pages_ > max_decoded_pages_; }
  // Frees every decoded page. Only between runs: every hart must then drop
  // its translations (Hart::flush_translations), whose fetch entries point
  // into the pages. Translated blocks stay.
  void trim();

 private:
  static void reset(DecodedPage& page);
  DecodedPage* allocate_page();

  GuestMemory& memory_;
  // One slot per RAM page, into chunks_: in zero pages the host fills in on
  // first touch, so a large, sparsely executed RAM (`vessel exec` reserves
  // a whole address space) costs only the slots it uses.
  struct Unmap {
    size_t bytes;
    void operator()(DecodedPage** p) const;
  };
  std::unique_ptr<DecodedPage*[], Unmap> pages_;
  void clear_slots();
  // Decoded pages are carved from 2 MiB chunks on transparent huge pages: a
  // boot decodes some 500 pages (16 MiB), which cost 4000 page faults in
  // 4 KiB pages. Freed all at once (trim, destruction).
  struct FreeChunk {
    void operator()(void* p) const { std::free(p); }
  };
  std::vector<std::unique_ptr<void, FreeChunk>> chunks_;
  size_t used_in_chunk_ = 0;  // pages handed out from chunks_.back()
  size_t decoded_pages_ = 0;
  size_t max_decoded_pages_ = kDefaultMaxDecodedPages;
  std::unique_ptr<jit::BlockCache> jit_;
  size_t jit_capacity_ = 0;               // 0: the default
  uint32_t jit_warmup_ = 0;               // 0: the default
  const uint8_t* direct_base_ = nullptr;  // set_direct_memory
  uint64_t direct_limit_ = 0;
};

}  // namespace vessel::rv
