// Guest-physical RAM: the only code that turns a guest-physical address into a
// host pointer. Every lookup is bounds-checked; `addr + len` overflowing is an
// error, never a wrap.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace vessel {

class GuestMemory {
 public:
  static constexpr uint64_t kPageSize = 4096;
  static constexpr unsigned kPageShift = 12;

  // Per-page flags, owned here so every writer of guest memory can see them.
  // kPageCode: the engine holds decoded instructions for the page; any write
  // must go through notify_code_write() so they are dropped.
  static constexpr uint8_t kPageCode = 1;
  // kPageWatch: the VMM wants to see every guest store to the page (HTIF's
  // tohost); the engine stops its run after such a store.
  static constexpr uint8_t kPageWatch = 2;
  // kPageShared: the page is a read-only view of a page-store page shared
  // with other pages (memory/page_sharing); a write must unshare it first,
  // which prepare_write() does.
  static constexpr uint8_t kPageShared = 4;
  // kPageHostReadOnly: `vessel exec` write-protected the host page because
  // it held code (user/address_space.hpp); a write must go through
  // prepare_write(), whose code-write hook makes it writable again, even if
  // kPageCode was cleared meanwhile (another hart's cache refreshed).
  static constexpr uint8_t kPageHostReadOnly = 8;
  // Flags under which the engine must not cache a host pointer for writes.
  static constexpr uint8_t kPageSlowWrite =
      kPageCode | kPageWatch | kPageShared | kPageHostReadOnly;

  // Reserves `size` bytes of RAM at guest-physical `base`. Host pages are
  // committed lazily, on first touch (MAP_NORESERVE), so a large guest costs
  // only what it uses. Throws Error if the host refuses the mapping.
  GuestMemory(uint64_t base, uint64_t size);
  // RAM whose initial contents are the first `size` bytes of the file `fd`
  // (a snapshot's memory file), mapped copy-on-write: restore reads only the
  // pages the guest touches, and the file is never written.
  GuestMemory(uint64_t base, uint64_t size, int fd);
  ~GuestMemory();
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  uint64_t base() const { return base_; }
  uint64_t size() const { return size_; }
  uint64_t end() const { return base_ + size_; }
  uint64_t pages() const { return size_ >> kPageShift; }

  bool contains(uint64_t gpa, uint64_t len) const {
    if (gpa < base_) return false;
    const uint64_t offset = gpa - base_;
    return offset <= size_ && len <= size_ - offset;
  }

  // Host pointer for [gpa, gpa + len), or nullptr if any byte is outside RAM.
  // Reading through it is always fine. Writing through it is allowed only
  // after prepare_write() for the range (device code should use write()).
  uint8_t* host_ptr(uint64_t gpa, uint64_t len) const {
    return contains(gpa, len) ? host_ + (gpa - base_) : nullptr;
  }

  // Checked copies; false if the range is not entirely RAM. write() tells the
  // engine about writes to pages holding decoded code.
  bool read(uint64_t gpa, std::span<uint8_t> out) const;
  bool write(uint64_t gpa, std::span<const uint8_t> in);

  // Flags of the RAM page holding `gpa` (which must be inside RAM). Harts
  // on several host threads read and change them, so every access is atomic
  // (a relaxed byte load costs what a plain one does on x86-64).
  uint8_t page_flags(uint64_t gpa) const {
    return std::atomic_ref<uint8_t>(flags_[page_index(gpa)]).load(std::memory_order_relaxed);
  }
  // Set / clear flag bits; return the flags as they were.
  uint8_t set_page_flags(uint64_t gpa, uint8_t bits) {
    return std::atomic_ref<uint8_t>(flags_[page_index(gpa)]).fetch_or(bits);
  }
  uint8_t clear_page_flags(uint64_t gpa, uint8_t bits) {
    return std::atomic_ref<uint8_t>(flags_[page_index(gpa)]).fetch_and(static_cast<uint8_t>(~bits));
  }

  // Bumped whenever a page gains kPageCode. A hart that has seen the bump
  // has dropped its cached write pointers, so its stores to code pages take
  // the slow path; until then they may not (see engine/riscv/smp_sync.hpp).
  uint64_t code_epoch() const { return code_epoch_.load(std::memory_order_seq_cst); }
  uint64_t bump_code_epoch() { return code_epoch_.fetch_add(1, std::memory_order_seq_cst) + 1; }

  // Called for each page with kPageCode (or kPageHostReadOnly) that a
  // write() touches; the engine installs it to invalidate its
  // decoded-instruction cache.
  void set_code_write_hook(std::function<void(uint64_t page_gpa)> hook) {
    code_write_hook_ = std::move(hook);
  }
  void notify_code_write(uint64_t gpa, uint64_t len);
  // Called when a page gains kPageCode (CodeCache::mark_code). `vessel exec`
  // installs it to write-protect the host page, so that translated code's
  // direct stores to it fault into the slow path (user/address_space.hpp).
  void set_code_mark_hook(std::function<void(uint64_t page_gpa)> hook) {
    code_mark_hook_ = std::move(hook);
  }
  void notify_code_marked(uint64_t gpa) {
    if (code_mark_hook_) code_mark_hook_(gpa & ~uint64_t{kPageSize - 1});
  }
  // How many writes to the page holding `gpa` (inside RAM) found kPageCode
  // set: each hart's code caches compare it with the count they decoded at,
  // so a write by another hart (or a device) reaches every cache without
  // the writer touching caches it does not own.
  uint32_t code_generation(uint64_t gpa) const {
    return std::atomic_ref<uint32_t>(code_gen_[(gpa - base_) >> kPageShift])
        .load(std::memory_order_acquire);
  }

  // Moves the code generation of the page holding `gpa` (inside RAM) on,
  // without calling the code-write hook: every cache drops the page's code
  // when it next enters it. Async-signal-safe (`vessel exec`'s host fault
  // handler, user/address_space.hpp).
  void bump_code_generation(uint64_t gpa) {
    std::atomic_ref<uint32_t>(code_gen_[page_index(gpa)]).fetch_add(1, std::memory_order_acq_rel);
  }

  // Must precede every write to [gpa, gpa + len) that does not go through
  // write() (the engine's store paths, DMA through host pointers): unshares
  // shared pages, marks the pages dirty while dirty logging is on, and drops
  // decoded code. The range must lie inside RAM.
  void prepare_write(uint64_t gpa, uint64_t len);

  // Gives the host memory behind [gpa, gpa + len) back to the host (the
  // balloon, free page reporting): afterwards the range reads as zero and
  // costs nothing until written. Page-aligned; false if outside RAM.
  bool discard(uint64_t gpa, uint64_t len);

  // ---- dirty logging (live migration) ----
  // While on, every page written (by the engine or a device) is marked.
  void start_dirty_log();
  void stop_dirty_log();
  bool dirty_logging() const { return dirty_logging_; }
  // The pages written since the last call (or since start_dirty_log), one
  // bit per page (bit i of word i / 64 is page i), then clears them and
  // makes the engine drop cached write pointers so it marks pages again.
  std::vector<uint64_t> take_dirty();
  // The engine installs this: drop every cached host pointer for writes.
  void set_write_protect_hook(std::function<void()> hook) { write_protect_hook_ = std::move(hook); }

  // ---- page sharing (memory/page_sharing) ----
  // Maps the page at `gpa` read-only onto page `offset` of `fd` (a page
  // store) and flags it kPageShared; the page's own host memory is freed.
  // Its contents must already be equal (the caller compared them).
  void map_shared_page(uint64_t gpa, int fd, uint64_t offset);
  // Replaces a shared page by a private, writable copy of `content`.
  void map_private_page(uint64_t gpa, const uint8_t* content);
  // True if the (unshared) page at `gpa` is all zero.
  bool is_zero_page(uint64_t gpa) const;
  // Frees the host memory of `count` pages from `gpa`, each of which the
  // caller found unshared and all zero (they keep reading as zero). One call
  // for a run of pages: each call costs the host a TLB shootdown.
  void release_zero_pages(uint64_t gpa, uint64_t count);
  // For each of `count` pages from `gpa`: 1 if the host has memory behind
  // it. A page the host never backed reads as zero without being looked at
  // (reading it would map the zero page, and a later guest store would then
  // get a small page where it would have had a huge one). With file-backed
  // RAM (a restored snapshot) every page counts as backed: mincore() there
  // speaks of the file's cache, not of the private copy.
  void backed_pages(uint64_t gpa, uint64_t count, std::vector<uint8_t>& out) const;

  // While one is alive, the write-protect hook is held back and called once
  // when the last one ends (if anything asked for it): a page-sharing step
  // that shares many pages drops the harts' write pointers once, not once a
  // page. The guest must not run meanwhile.
  class WriteProtectBatch {
   public:
    explicit WriteProtectBatch(GuestMemory& memory) : memory_(memory) { ++memory_.batch_depth_; }
    ~WriteProtectBatch() {
      if (--memory_.batch_depth_ == 0 && memory_.batch_pending_) {
        memory_.batch_pending_ = false;
        memory_.write_protected();
      }
    }
    WriteProtectBatch(const WriteProtectBatch&) = delete;
    WriteProtectBatch& operator=(const WriteProtectBatch&) = delete;

   private:
    GuestMemory& memory_;
  };
  // Called when a shared page must stop being shared: `copy` is true for a
  // write (the hook must call map_private_page with the shared contents),
  // false for a discard (the hook only drops its reference; the page then
  // becomes a fresh zero page).
  void set_unshare_hook(std::function<void(uint64_t gpa, bool copy)> hook) {
    unshare_hook_ = std::move(hook);
  }

  // Backs RAM with transparent huge pages where the host allows (as QEMU
  // does): a boot then takes a fault per 2 MiB instead of per 4 KiB (the
  // default guest's boot: 11.4k faults -> 7.0k, 15% less time), and the
  // host's TLB covers far more guest memory (linux-cpu ran 10-15% faster
  // with page sharing on and huge pages than without them). `gives_back`:
  // the VM gives memory back (the balloon, page sharing). Then each 2 MiB
  // region leaves huge pages (MADV_NOHUGEPAGE) before pages in it are given
  // back, since the host's khugepaged would otherwise fill the holes to
  // collapse a huge page again; the rest of RAM keeps them. The page scanner
  // asks first whether breaking a region pays (PageScanner::set_break_percent).
  void use_huge_pages(bool gives_back);
  static constexpr uint64_t kHugeShift = 21;  // the host's transparent huge pages: 2 MiB
  static constexpr uint64_t kHugePages = uint64_t{1} << (kHugeShift - kPageShift);
  // Whether the 2 MiB region holding gpa still may be a huge page that giving
  // pages back would break: use_huge_pages(true) was called and the region
  // has not left huge pages. False for every other VM.
  bool keeps_huge_pages(uint64_t gpa) const {
    return huge_gives_back_ && std::atomic_ref<uint8_t>(small_only_[(gpa - base_) >> kHugeShift])
                                       .load(std::memory_order_relaxed) == 0;
  }
  // Makes the regions holding [gpa, gpa + len) leave huge pages for good
  // (see use_huge_pages); discard() and release_zero_pages() call it.
  void leave_huge_pages(uint64_t gpa, uint64_t len);

  uint8_t* host_base() const { return host_; }
  bool file_backed() const { return file_backed_; }

 private:
  // Calls the write-protect hook, or notes it for the WriteProtectBatch.
  void write_protected();
  void unshare(uint64_t page_index, bool copy);
  uint64_t page_index(uint64_t gpa) const { return (gpa - base_) >> kPageShift; }
  void mark_dirty(uint64_t page_index) {
    // Harts on several threads write pages in the same word.
    const uint64_t bit = uint64_t{1} << (page_index & 63);
    std::atomic_ref<uint64_t> word(dirty_[page_index >> 6]);
    if ((word.load(std::memory_order_relaxed) & bit) == 0) word.fetch_or(bit);
  }
  // Maps fresh anonymous zero pages over [offset, offset + len) of RAM.
  void map_zero(uint64_t offset, uint64_t len);

  uint64_t base_;
  uint64_t size_;
  uint8_t* host_ = nullptr;
  bool file_backed_ = false;
  bool huge_gives_back_ = false;  // use_huge_pages(true)
  // Per 2 MiB region: left huge pages. Read and written through atomic_ref
  // (mutable: keeps_huge_pages reads it so).
  mutable std::vector<uint8_t> small_only_;
  std::mutex small_only_mutex_;  // the balloon (a device) and the scanner both leave
  // Per-page arrays in zero pages the host fills in on first touch: a large,
  // sparsely used guest (`vessel exec` reserves a whole address space) does
  // not pay for them up front.
  struct Unmap {
    size_t bytes;  // no initializer: the enclosing class is incomplete here
    void operator()(void* p) const;
  };
  template <typename T>
  static std::unique_ptr<T[], Unmap> zeroed_array(uint64_t count);
  std::unique_ptr<uint8_t[], Unmap> flags_;
  std::unique_ptr<uint32_t[], Unmap> code_gen_;  // atomic (atomic_ref)
  std::function<void(uint64_t)> code_write_hook_;
  std::function<void(uint64_t)> code_mark_hook_;
  std::function<void()> write_protect_hook_;
  unsigned batch_depth_ = 0;    // WriteProtectBatch
  bool batch_pending_ = false;  // the hook was asked for inside a batch
  std::function<void(uint64_t, bool)> unshare_hook_;
  std::atomic<uint64_t> code_epoch_{0};
  std::mutex unshare_mutex_;  // two harts writing one shared page unshare it once
  bool dirty_logging_ = false;
  std::vector<uint64_t> dirty_;
};

}  // namespace vessel
