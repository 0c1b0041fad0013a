// Split virtqueues (virtio 1.2 spec 2.7), validated in one place. Everything
// read from guest memory is copied out through GuestMemory's checked reads;
// no host pointer into guest memory is kept across calls.
#include "devices/virtio/virtqueue.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>

namespace vessel::virtio {
namespace {

// 2.7.6 The Virtqueue Available Ring:
//   le16 flags; le16 idx; le16 ring[size]; le16 used_event (EVENT_IDX only)
constexpr uint64_t kAvailFlags = 0, kAvailIdx = 2, kAvailRing = 4;
constexpr uint16_t kAvailFNoInterrupt = 1;  // 2.7.7 VIRTQ_AVAIL_F_NO_INTERRUPT

// 2.7.8 The Virtqueue Used Ring:
//   le16 flags; le16 idx; struct { le32 id; le32 len; } ring[size];
//   le16 avail_event (EVENT_IDX only)
constexpr uint64_t kUsedIdx = 2, kUsedRing = 4, kUsedElemSize = 8;

// 2.7 table "Virtqueue Part Alignment and Size".
constexpr uint64_t kDescAlign = 16, kAvailAlign = 2, kUsedAlign = 4;
uint64_t desc_table_bytes(uint16_t size) {
  return uint64_t{16} * size;
}
uint64_t avail_ring_bytes(uint16_t size) {
  return 6 + uint64_t{2} * size;
}
uint64_t used_ring_bytes(uint16_t size) {
  return 6 + uint64_t{8} * size;
}

// 2.7.10 "Driver Notifications" / Linux's vring_need_event: true if
// `event_idx` lies in the window (old, new_idx] of entries just published.
bool need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx) {
  return static_cast<uint16_t>(new_idx - event_idx - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

// Guest structures are little-endian, as is the host (x86-64).
static_assert(std::endian::native == std::endian::little);

bool read_u16(const GuestMemory& memory, uint64_t gpa, uint16_t& value) {
  return memory.read(gpa, {reinterpret_cast<uint8_t*>(&value), sizeof value});
}

bool write_u16(GuestMemory& memory, uint64_t gpa, uint16_t value) {
  return memory.write(gpa, {reinterpret_cast<const uint8_t*>(&value), sizeof value});
}

uint64_t total(const std::vector<Segment>& segments) {
  uint64_t sum = 0;
  for (const Segment& s : segments) sum += s.len;
  return sum;
}

}  // namespace

uint64_t DescriptorChain::readable_bytes() const {
  return total(readable);
}
uint64_t DescriptorChain::writable_bytes() const {
  return total(writable);
}

// ---- ChainReader ----

ChainReader::ChainReader(GuestMemory& memory, const DescriptorChain& chain)
    : memory_(memory), segments_(chain.readable), remaining_(chain.readable_bytes()) {}

size_t ChainReader::read(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size() && index_ < segments_.size()) {
    const Segment& seg = segments_[index_];
    const uint64_t n = std::min<uint64_t>(seg.len - offset_, out.size() - done);
    // Segments were checked against RAM when the chain was popped; the
    // checked copy keeps that true even if that ever changes.
    if (!memory_.read(seg.gpa + offset_, out.subspan(done, n))) break;
    done += n;
    remaining_ -= n;
    offset_ += static_cast<uint32_t>(n);
    if (offset_ == seg.len) {
      ++index_;
      offset_ = 0;
    }
  }
  return done;
}

std::vector<iovec> ChainReader::take_iovecs(uint64_t max_bytes) {
  std::vector<iovec> iovs;
  while (max_bytes > 0 && index_ < segments_.size()) {
    const Segment& seg = segments_[index_];
    const uint64_t n = std::min<uint64_t>(seg.len - offset_, max_bytes);
    uint8_t* p = memory_.host_ptr(seg.gpa + offset_, n);
    if (p == nullptr) break;
    iovs.push_back(iovec{p, n});
    max_bytes -= n;
    remaining_ -= n;
    offset_ += static_cast<uint32_t>(n);
    if (offset_ == seg.len) {
      ++index_;
      offset_ = 0;
    }
  }
  return iovs;
}

// ---- ChainWriter ----

ChainWriter::ChainWriter(GuestMemory& memory, const DescriptorChain& chain)
    : memory_(memory), segments_(chain.writable), remaining_(chain.writable_bytes()) {}

size_t ChainWriter::write(std::span<const uint8_t> in) {
  size_t done = 0;
  while (done < in.size() && index_ < segments_.size()) {
    const Segment& seg = segments_[index_];
    const uint64_t n = std::min<uint64_t>(seg.len - offset_, in.size() - done);
    if (!memory_.write(seg.gpa + offset_, in.subspan(done, n))) break;
    done += n;
    remaining_ -= n;
    written_ += n;
    offset_ += static_cast<uint32_t>(n);
    if (offset_ == seg.len) {
      ++index_;
      offset_ = 0;
    }
  }
  return done;
}

std::vector<iovec> ChainWriter::take_iovecs(uint64_t max_bytes) {
  std::vector<iovec> iovs;
  while (max_bytes > 0 && index_ < segments_.size()) {
    const Segment& seg = segments_[index_];
    const uint64_t gpa = seg.gpa + offset_;
    const uint64_t n = std::min<uint64_t>(seg.len - offset_, max_bytes);
    uint8_t* p = memory_.host_ptr(gpa, n);
    if (p == nullptr) break;
    // The caller writes through `p`: unshare, mark dirty and drop decoded
    // code there first (see header).
    memory_.prepare_write(gpa, n);
    iovs.push_back(iovec{p, n});
    max_bytes -= n;
    remaining_ -= n;
    written_ += n;
    offset_ += static_cast<uint32_t>(n);
    if (offset_ == seg.len) {
      ++index_;
      offset_ = 0;
    }
  }
  return iovs;
}

// ---- Virtqueue ----

Virtqueue::Virtqueue(GuestMemory& memory, uint16_t max_size)
    : memory_(memory), max_size_(max_size), size_(max_size) {}

void Virtqueue::reset() {
  size_ = max_size_;
  desc_ = avail_ = used_ = 0;
  ready_ = false;
  event_idx_ = false;
  indirect_ = false;
  broken_ = false;
  broken_reason_ = "";
  last_avail_ = 0;
  used_idx_ = 0;
  signalled_used_ = 0;
  signalled_valid_ = false;
}

// 2.7 "Virtqueue Part Alignment and Size"; 4.2.3.2 "Virtqueue Configuration".
bool Virtqueue::layout_valid() const {
  if (size_ == 0 || size_ > max_size_ || (size_ & (size_ - 1)) != 0) return false;
  if (desc_ % kDescAlign != 0 || avail_ % kAvailAlign != 0 || used_ % kUsedAlign != 0) return false;
  return memory_.contains(desc_, desc_table_bytes(size_)) &&
         memory_.contains(avail_, avail_ring_bytes(size_)) &&
         memory_.contains(used_, used_ring_bytes(size_));
}

bool Virtqueue::enable() {
  if (!layout_valid()) return false;
  ready_ = true;
  broken_ = false;
  broken_reason_ = "";
  last_avail_ = 0;
  used_idx_ = 0;
  signalled_used_ = 0;
  signalled_valid_ = false;
  return true;
}

void Virtqueue::mark_broken(const char* why) {
  if (broken_) return;
  broken_ = true;
  broken_reason_ = why;
  if (on_broken_) on_broken_(why);
}

std::optional<DescriptorChain> Virtqueue::pop() {
  if (!ready_ || broken_) return std::nullopt;
  uint16_t avail_idx = 0;
  if (!read_u16(memory_, avail_ + kAvailIdx, avail_idx)) {
    mark_broken("available ring outside RAM");
    return std::nullopt;
  }
  const auto pending = static_cast<uint16_t>(avail_idx - last_avail_);
  if (pending > size_) {
    mark_broken("available index ran more than the queue size ahead");
    return std::nullopt;
  }
  if (pending == 0) {
    if (event_idx_) {
      // 2.7.10: ask to be notified when the driver publishes the next entry.
      write_u16(memory_, used_ + kUsedRing + kUsedElemSize * size_, last_avail_);
    }
    return std::nullopt;
  }
  // Read avail->idx before the ring entry it covers (the driver wrote the
  // entry first, then the index).
  std::atomic_thread_fence(std::memory_order_acquire);

  uint16_t head = 0;
  if (!read_u16(memory_, avail_ + kAvailRing + 2 * uint64_t(last_avail_ % size_), head)) {
    mark_broken("available ring outside RAM");
    return std::nullopt;
  }
  DescriptorChain chain;
  chain.head = head;
  if (!walk(head, chain)) return std::nullopt;  // walk() marked the queue broken
  ++last_avail_;
  if (event_idx_) {
    write_u16(memory_, used_ + kUsedRing + kUsedElemSize * size_, last_avail_);
  }
  return chain;
}

// 2.7.5 The Virtqueue Descriptor Table; 2.7.5.3 Indirect Descriptors.
bool Virtqueue::walk(uint16_t head, DescriptorChain& chain) {
  uint64_t table = desc_;
  uint32_t table_size = size_;
  uint32_t limit = size_;  // more descriptors than the table holds: a loop
  uint32_t count = 0;
  bool in_indirect = false;
  uint32_t index = head;

  for (;;) {
    if (index >= table_size) {
      mark_broken(in_indirect ? "indirect descriptor index out of range"
                              : "descriptor index out of range");
      return false;
    }
    if (++count > limit) {
      mark_broken("descriptor chain loops or is longer than the queue");
      return false;
    }
    Descriptor d{};
    if (!memory_.read(table + 16 * uint64_t{index}, {reinterpret_cast<uint8_t*>(&d), sizeof d})) {
      mark_broken("descriptor table outside RAM");
      return false;
    }

    if ((d.flags & kDescIndirect) != 0) {
      // 2.7.5.3.1: only with VIRTIO_F_INDIRECT_DESC, never nested, never
      // together with NEXT, and the table's length a multiple of 16. The
      // WRITE flag of the descriptor pointing at the table is ignored.
      if (!indirect_) {
        mark_broken("indirect descriptor without VIRTIO_F_INDIRECT_DESC");
        return false;
      }
      if (in_indirect) {
        mark_broken("nested indirect descriptor");
        return false;
      }
      if ((d.flags & kDescNext) != 0) {
        mark_broken("indirect descriptor with NEXT set");
        return false;
      }
      if (d.len == 0 || d.len % 16 != 0 || d.len / 16 > size_) {
        mark_broken("indirect table length invalid");
        return false;
      }
      if (!memory_.contains(d.addr, d.len)) {
        mark_broken("indirect table outside RAM");
        return false;
      }
      table = d.addr;
      table_size = d.len / 16;
      limit = table_size;
      count = 0;
      in_indirect = true;
      index = 0;
      continue;
    }

    const bool writable = (d.flags & kDescWrite) != 0;
    // 2.7.4.2: device-writable descriptors come after device-readable ones.
    if (!writable && !chain.writable.empty()) {
      mark_broken("device-readable descriptor after a writable one");
      return false;
    }
    // Zero-length descriptors carry nothing: allowed, but neither checked
    // nor handed to the device.
    if (d.len != 0) {
      if (!memory_.contains(d.addr, d.len)) {  // overflow-safe: no addr + len
        mark_broken("descriptor buffer outside RAM");
        return false;
      }
      (writable ? chain.writable : chain.readable).push_back(Segment{d.addr, d.len});
    }
    if ((d.flags & kDescNext) == 0) return true;
    index = d.next;
  }
}

void Virtqueue::push(const DescriptorChain& chain, uint32_t len) {
  if (!ready_ || broken_) return;
  // Never report more than the chain can hold (drivers trust this length).
  len = static_cast<uint32_t>(std::min<uint64_t>(len, chain.writable_bytes()));
  struct {
    uint32_t id;
    uint32_t len;
  } elem{chain.head, len};  // 2.7.8 struct virtq_used_elem
  const uint64_t slot = used_ + kUsedRing + kUsedElemSize * (used_idx_ % size_);
  if (!memory_.write(slot, {reinterpret_cast<const uint8_t*>(&elem), sizeof elem})) {
    mark_broken("used ring outside RAM");
    return;
  }
  // The entry must be visible before the index that publishes it.
  std::atomic_thread_fence(std::memory_order_release);
  ++used_idx_;
  write_u16(memory_, used_ + kUsedIdx, used_idx_);
}

// 2.7.7 "Used Buffer Notification Suppression".
bool Virtqueue::should_notify() {
  if (!ready_) return false;
  // Our used idx store must be ordered before reading the driver's flags
  // or used_event (the driver does the reverse).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!event_idx_) {
    uint16_t flags = 0;
    if (!read_u16(memory_, avail_ + kAvailFlags, flags)) return true;
    return (flags & kAvailFNoInterrupt) == 0;
  }
  uint16_t used_event = 0;
  if (!read_u16(memory_, avail_ + kAvailRing + 2 * uint64_t{size_}, used_event)) return true;
  const uint16_t old = signalled_used_;
  const bool valid = signalled_valid_;
  signalled_used_ = used_idx_;
  signalled_valid_ = true;
  if (!valid) return true;
  return need_event(used_event, used_idx_, old);
}

// ---- state ----

void Virtqueue::save_state(state::Writer& w) const {
  w.u16(max_size_);
  w.u16(size_);
  w.u64(desc_);
  w.u64(avail_);
  w.u64(used_);
  w.boolean(ready_);
  w.boolean(event_idx_);
  w.boolean(indirect_);
  w.boolean(broken_);
  w.u16(last_avail_);
  w.u16(used_idx_);
  w.u16(signalled_used_);
  w.boolean(signalled_valid_);
}

void Virtqueue::load_state(state::Reader& r) {
  const uint16_t max_size = r.u16();
  if (max_size != max_size_) {
    state::state_fail("state section '{}': queue of {} entries, this device's holds {}", r.what(),
                      max_size, max_size_);
  }
  size_ = r.u16();
  desc_ = r.u64();
  avail_ = r.u64();
  used_ = r.u64();
  ready_ = r.boolean();
  event_idx_ = r.boolean();
  indirect_ = r.boolean();
  broken_ = r.boolean();
  last_avail_ = r.u16();
  used_idx_ = r.u16();
  signalled_used_ = r.u16();
  signalled_valid_ = r.boolean();
  // A queue that is not ready holds whatever the driver wrote to its
  // registers (enable() checks it later); a ready one passed enable().
  if (ready_ && !layout_valid()) {
    state::state_fail(
        "state section '{}': ready queue has an invalid layout (size {}, desc {:#x}, driver "
        "{:#x}, device {:#x})",
        r.what(), size_, desc_, avail_, used_);
  }
  // Only pop() and push() break a queue, and only a ready one.
  if (broken_ && !ready_) state::state_fail("state section '{}': broken queue not ready", r.what());
  broken_reason_ = broken_ ? "queue was broken when its state was saved" : "";
}

void save_chain(state::Writer& w, const DescriptorChain& chain) {
  w.u16(chain.head);
  for (const std::vector<Segment>* part : {&chain.readable, &chain.writable}) {
    w.u64(part->size());
    for (const Segment& s : *part) {
      w.u64(s.gpa);
      w.u32(s.len);
    }
  }
}

DescriptorChain load_chain(state::Reader& r, const Virtqueue& queue, const GuestMemory& memory) {
  DescriptorChain chain;
  chain.head = r.u16();
  if (chain.head >= queue.size()) {
    state::state_fail("state section '{}': chain head {} outside a queue of {}", r.what(),
                      chain.head, queue.size());
  }
  // walk() yields at most `size` descriptors before an indirect table and
  // `size` from within it.
  uint64_t budget = 2 * uint64_t{queue.size()};
  for (std::vector<Segment>* part : {&chain.readable, &chain.writable}) {
    const uint64_t count = r.u64_at_most(budget, "chain segment count");
    budget -= count;
    part->reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t gpa = r.u64();
      const uint32_t len = r.u32();
      if (len == 0 || !memory.contains(gpa, len)) {
        state::state_fail("state section '{}': chain buffer {:#x}+{:#x} outside RAM", r.what(), gpa,
                          len);
      }
      part->push_back(Segment{gpa, len});
    }
  }
  return chain;
}

}  // namespace vessel::virtio
