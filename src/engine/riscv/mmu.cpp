// Address translation (Sv39, Sv48; privileged spec "Virtual-Memory System")
// and the slow paths of memory access behind the software TLB.
#include <atomic>
#include <cstring>

#include "engine/riscv/csr_numbers.hpp"
#include "engine/riscv/hart.hpp"
#include "memory/guest_ram.hpp"

namespace vessel::rv {

namespace {
constexpr uint64_t kPteV = 1, kPteR = 2, kPteW = 4, kPteX = 8, kPteU = 16, kPteG = 32, kPteA = 64,
                   kPteD = 128;
constexpr uint64_t kPtePpnMask = (1ull << 44) - 1;
constexpr uint64_t kPteReserved = ~((1ull << 54) - 1);  // bits 63:54 (no Svpbmt/Svnapot)
constexpr uint64_t kPageMask = ~uint64_t{0xfff};

uint64_t page_fault_cause(Access access) {
  switch (access) {
    case Access::kFetch: return cause::kInsnPageFault;
    case Access::kLoad: return cause::kLoadPageFault;
    default: return cause::kStorePageFault;
  }
}
uint64_t access_fault_cause(Access access) {
  switch (access) {
    case Access::kFetch: return cause::kInsnAccess;
    case Access::kLoad: return cause::kLoadAccess;
    default: return cause::kStoreAccess;
  }
}
inline unsigned tlb_index(uint64_t va) {
  return (va >> 12) % kTlbEntries;
}
}  // namespace

Priv Hart::data_priv() const {
  if (priv_ == Priv::kMachine && (mstatus_ & mstatus::kMprv) != 0) {
    return static_cast<Priv>((mstatus_ & mstatus::kMpp) >> mstatus::kMppShift);
  }
  return priv_;
}

void Hart::select_tlbs() {
  auto context = [&](Priv p) -> Tlb* {
    switch (p) {
      case Priv::kMachine: return &tlbs_[0];
      case Priv::kUser: return &tlbs_[1];
      default: return (mstatus_ & mstatus::kSum) != 0 ? &tlbs_[3] : &tlbs_[2];
    }
  };
  fetch_tlb_ = context(priv_);
  data_tlb_ = context(data_priv());
}

void Tlb::flush() {
  if (fills == 0) return;
  if (fills <= kFillLog) {
    for (unsigned i = 0; i < fills; ++i) {
      const unsigned index = fill_log[i] & 0xfff;
      switch (fill_log[i] >> 12) {
        case kRead: read[index].vpage = TlbEntry::kInvalid; break;
        case kWrite: write[index].vpage = TlbEntry::kInvalid; break;
        case kFetch: fetch[index].vpage = TlbEntry::kInvalid; break;
        default: jump[index].va = TlbEntry::kInvalid; break;
      }
    }
  } else {
    for (auto& e : read) e.vpage = TlbEntry::kInvalid;
    for (auto& e : write) e.vpage = TlbEntry::kInvalid;
    for (auto& e : fetch) e.vpage = TlbEntry::kInvalid;
    // Jump-cache entries are virtual addresses, valid exactly as long as the
    // fetch entries are.
    for (auto& e : jump) e.va = TlbEntry::kInvalid;
  }
  fills = 0;
}

void Hart::flush_tlbs() {
  for (Tlb& tlb : tlbs_) tlb.flush();
}

void Hart::flush_jump_caches() {
  for (Tlb& tlb : tlbs_) {
    for (auto& e : tlb.jump) e.va = TlbEntry::kInvalid;
  }
}

void Hart::flush_write_tlbs() {
  for (Tlb& tlb : tlbs_) {
    for (auto& e : tlb.write) e.vpage = TlbEntry::kInvalid;
  }
}

bool Hart::translate(uint64_t va, Access access, Priv eff, uint64_t& pa, bool update_ad,
                     uint64_t* leaf) {
  const uint64_t mode = satp_ >> 60;
  if (eff == Priv::kMachine || mode == 0) {
    pa = va;
    return true;
  }
  const unsigned levels = mode == 8 ? 3 : 4;
  const unsigned va_bits = 12 + 9 * levels;
  // The address must be the sign extension of its low va_bits bits.
  if (static_cast<uint64_t>(static_cast<int64_t>(va << (64 - va_bits)) >> (64 - va_bits)) != va) {
    raise(page_fault_cause(access), va);
    return false;
  }
restart:
  uint64_t table = (satp_ & kPtePpnMask) << 12;
  int level = static_cast<int>(levels) - 1;
  uint64_t pte = 0;
  uint8_t* pte_host = nullptr;
  for (;; --level) {
    if (level < 0) {
      raise(page_fault_cause(access), va);
      return false;
    }
    const uint64_t index = (va >> (12 + 9 * level)) & 511;
    pte_host = memory_.host_ptr(table + index * 8, 8);
    if (pte_host == nullptr) {
      raise(access_fault_cause(access), va);
      return false;
    }
    // SAFETY: host_ptr checked that the 8 bytes lie inside guest RAM, and
    // they are 8-aligned (a table is a page). Other harts' kernels change
    // PTEs while this walk reads them.
    pte = std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(pte_host))
              .load(std::memory_order_acquire);
    if ((pte & kPteV) == 0 || ((pte & kPteR) == 0 && (pte & kPteW) != 0) ||
        (pte & kPteReserved) != 0) {
      raise(page_fault_cause(access), va);
      return false;
    }
    if ((pte & (kPteR | kPteX)) != 0) break;     // leaf
    if ((pte & (kPteA | kPteD | kPteU)) != 0) {  // must be zero in non-leaf PTEs
      raise(page_fault_cause(access), va);
      return false;
    }
    table = ((pte >> 10) & kPtePpnMask) << 12;
  }

  bool allowed;
  switch (access) {
    case Access::kFetch: allowed = (pte & kPteX) != 0; break;
    case Access::kLoad:
      allowed = (pte & kPteR) != 0 || ((mstatus_ & mstatus::kMxr) != 0 && (pte & kPteX) != 0);
      break;
    default: allowed = (pte & kPteW) != 0; break;
  }
  if ((pte & kPteU) != 0) {
    if (eff == Priv::kSupervisor && (access == Access::kFetch || (mstatus_ & mstatus::kSum) == 0)) {
      allowed = false;
    }
  } else if (eff == Priv::kUser) {
    allowed = false;
  }
  const uint64_t ppn = (pte >> 10) & kPtePpnMask;
  if (level > 0 && (ppn & ((1ull << (9 * level)) - 1)) != 0)
    allowed = false;  // misaligned superpage
  if (!allowed) {
    raise(page_fault_cause(access), va);
    return false;
  }
  // Hardware A/D update (Svadu behaviour, as QEMU does).
  const uint64_t want = kPteA | (access == Access::kStore ? kPteD : 0);
  if (update_ad && (pte & want) != want) {
    // Atomically, and only if the PTE is still the one checked (privileged
    // spec, "Virtual Address Translation Process"): a plain store could
    // undo another hart's change to it (a copy-on-write break, an unmap).
    memory_.prepare_write(table + ((va >> (12 + 9 * level)) & 511) * 8, 8);
    uint64_t expected = pte;
    if (!std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(pte_host))
             .compare_exchange_strong(expected, pte | want)) {
      goto restart;  // changed under us: walk again with what is there now
    }
    pte |= want;
  }
  const uint64_t offset_mask = (1ull << (12 + 9 * level)) - 1;
  pa = ((ppn << 12) & ~offset_mask) | (va & offset_mask);
  if (leaf != nullptr) *leaf = pte;
  return true;
}

bool Hart::translate_debug(uint64_t va, Access access, uint64_t& pa) {
  const uint64_t cause = trap_cause_, tval = trap_tval_;
  const bool ok = translate(va, access, access == Access::kFetch ? priv_ : data_priv(), pa,
                            /*update_ad=*/false);
  trap_cause_ = cause;
  trap_tval_ = tval;
  return ok;
}

bool Hart::translate_global(uint64_t va, uint64_t& pa) {
  const uint64_t cause = trap_cause_, tval = trap_tval_;
  uint64_t pte = 0;
  const bool ok = (satp_ >> 60) != 0 &&
                  translate(va, Access::kStore, Priv::kSupervisor, pa, /*update_ad=*/false, &pte);
  trap_cause_ = cause;
  trap_tval_ = tval;
  return ok && (pte & kPteG) != 0;
}

bool Hart::fill_fetch(uint64_t va, FetchTlbEntry*& entry) {
  uint64_t pa = 0;
  if (!translate(va, Access::kFetch, priv_, pa)) return false;
  const uint64_t page_gpa = pa & kPageMask;
  const uint8_t* host = memory_.host_ptr(page_gpa, 4096);
  if (host == nullptr) {  // code runs from RAM only
    raise(cause::kInsnAccess, va);
    return false;
  }
  entry = &fetch_tlb_->fetch[tlb_index(va)];
  fetch_tlb_->note_fill(Tlb::kFetch, tlb_index(va));
  entry->vpage = va & kPageMask;
  entry->page = code_.page(page_gpa);
  entry->host = host;
  entry->gpa = page_gpa;
  return true;
}

bool Hart::load_phys(uint64_t pa, unsigned size, uint64_t& value, uint64_t va) {
  if (const uint8_t* host = memory_.host_ptr(pa, size)) {
    value = 0;
    guest_ram_copy(&value, host, size);  // little-endian host and guest
    return true;
  }
  if ((pa & (size - 1)) != 0 || !bus_.read(pa, size, value)) {
    raise(cause::kLoadAccess, va);
    return false;
  }
  return true;
}

bool Hart::store_phys(uint64_t pa, unsigned size, uint64_t value, uint64_t va) {
  if (uint8_t* host = memory_.host_ptr(pa, size)) {
    // Unshares, marks dirty and drops decoded code, as the page needs.
    memory_.prepare_write(pa, size);
    if ((memory_.page_flags(pa) & GuestMemory::kPageWatch) != 0) stop_requested_ = true;
    guest_ram_copy(host, &value, size);
    return true;
  }
  if ((pa & (size - 1)) != 0 || !bus_.write(pa, size, value)) {
    raise(cause::kStoreAccess, va);
    return false;
  }
  stop_requested_ = true;  // a device may have raised an interrupt or ended the run
  return true;
}

bool Hart::load_slow(uint64_t va, unsigned size, uint64_t& value) {
  if (((va ^ (va + size - 1)) & kPageMask) != 0) {
    // Misaligned across a page boundary: byte by byte (both pages checked).
    uint64_t result = 0;
    for (unsigned i = 0; i < size; ++i) {
      uint64_t byte = 0;
      if (!load_slow(va + i, 1, byte)) return false;
      result |= byte << (8 * i);
    }
    value = result;
    return true;
  }
  uint64_t pa = 0;
  if (!translate(va, Access::kLoad, data_priv(), pa)) return false;
  if (!load_phys(pa, size, value, va)) return false;
  if (const uint8_t* host = memory_.host_ptr(pa & kPageMask, 4096)) {
    TlbEntry& e = data_tlb_->read[tlb_index(va)];
    data_tlb_->note_fill(Tlb::kRead, tlb_index(va));
    e.vpage = va & kPageMask;
    e.addend = reinterpret_cast<uintptr_t>(host) - (va & kPageMask);
  }
  return true;
}

bool Hart::store_slow(uint64_t va, unsigned size, uint64_t value) {
  if (((va ^ (va + size - 1)) & kPageMask) != 0) {
    // Misaligned across a page boundary: translate both pages before writing
    // anything, so a fault leaves memory unchanged.
    uint64_t pa_lo = 0, pa_hi = 0;
    const uint64_t va_hi = (va + size - 1) & kPageMask;
    if (!translate(va, Access::kStore, data_priv(), pa_lo)) return false;
    if (!translate(va_hi, Access::kStore, data_priv(), pa_hi)) return false;
    for (unsigned i = 0; i < size; ++i) {
      const uint64_t a = va + i;
      const uint64_t pa = (a & kPageMask) == (va & kPageMask) ? pa_lo + i : pa_hi + (a - va_hi);
      if (!store_phys(pa, 1, (value >> (8 * i)) & 0xff, a)) return false;
    }
    return true;
  }
  uint64_t pa = 0;
  if (!translate(va, Access::kStore, data_priv(), pa)) return false;
  if (!store_phys(pa, size, value, va)) return false;
  uint8_t* host = memory_.host_ptr(pa & kPageMask, 4096);
  // A cached write pointer skips prepare_write(): only for pages that need
  // nothing from it until the memory's write-protect hook flushes the TLBs.
  if (host != nullptr && (memory_.page_flags(pa) & GuestMemory::kPageSlowWrite) == 0) {
    TlbEntry& e = data_tlb_->write[tlb_index(va)];
    data_tlb_->note_fill(Tlb::kWrite, tlb_index(va));
    e.vpage = va & kPageMask;
    e.addend = reinterpret_cast<uintptr_t>(host) - (va & kPageMask);
  }
  return true;
}

uint8_t* Hart::amo_address(uint64_t va, unsigned size, bool for_lr, uint64_t& pa) {
  if ((va & (size - 1)) != 0) {
    raise(for_lr ? cause::kLoadMisaligned : cause::kStoreMisaligned, va);
    return nullptr;
  }
  if (!translate(va, for_lr ? Access::kLoad : Access::kStore, data_priv(), pa)) return nullptr;
  uint8_t* host = memory_.host_ptr(pa, size);
  if (host == nullptr) {  // atomics on MMIO are not supported by any device here
    raise(for_lr ? cause::kLoadAccess : cause::kStoreAccess, va);
    return nullptr;
  }
  if (!for_lr) {
    memory_.prepare_write(pa, size);
    if ((memory_.page_flags(pa) & GuestMemory::kPageWatch) != 0) stop_requested_ = true;
  }
  return host;
}

}  // namespace vessel::rv
