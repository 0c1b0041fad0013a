// Split virtqueues (virtio 1.2 spec 2.7 "Split Virtqueues"), validated in one
// place: every index, length and address the guest controls is checked here,
// and devices read and write guest buffers only through ChainReader and
// ChainWriter, never through raw pointers they keep.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "base/state.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::virtio {

// 2.7.5 The Virtqueue Descriptor Table
struct Descriptor {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(Descriptor) == 16);
inline constexpr uint16_t kDescNext = 1, kDescWrite = 2, kDescIndirect = 4;

// A guest-physical buffer, already checked to lie inside guest RAM.
struct Segment {
  uint64_t gpa;
  uint32_t len;
};

// One request: a head index and its buffers, device-readable ones first
// (2.7.4.2: a driver must place writable descriptors after readable ones).
struct DescriptorChain {
  uint16_t head = 0;
  std::vector<Segment> readable;
  std::vector<Segment> writable;
  uint64_t readable_bytes() const;
  uint64_t writable_bytes() const;
};

// Sequential, bounds-checked access to a chain's readable part. Holds a
// reference to `chain`, which must outlive the reader.
class ChainReader {
 public:
  ChainReader(GuestMemory& memory, const DescriptorChain& chain);
  // Copies up to out.size() bytes; returns how many were available.
  size_t read(std::span<uint8_t> out);
  template <typename T>
  bool read_obj(T& value) {
    return read({reinterpret_cast<uint8_t*>(&value), sizeof(T)}) == sizeof(T);
  }
  // Host iovecs for up to `max_bytes` of what remains (for readv/writev/io_uring
  // straight from guest memory), advancing past them.
  std::vector<iovec> take_iovecs(uint64_t max_bytes);
  uint64_t remaining() const { return remaining_; }

 private:
  GuestMemory& memory_;
  const std::vector<Segment>& segments_;
  size_t index_ = 0;
  uint32_t offset_ = 0;
  uint64_t remaining_ = 0;
};

// Sequential, bounds-checked access to a chain's writable part. Holds a
// reference to `chain`, which must outlive the writer.
class ChainWriter {
 public:
  ChainWriter(GuestMemory& memory, const DescriptorChain& chain);
  // Copies up to in.size() bytes; returns how many fitted.
  size_t write(std::span<const uint8_t> in);
  template <typename T>
  bool write_obj(const T& value) {
    return write({reinterpret_cast<const uint8_t*>(&value), sizeof(T)}) == sizeof(T);
  }
  // Host iovecs for up to `max_bytes`, advancing past them and counting them
  // as written. Calls memory.prepare_write() for every range handed out (the
  // pages are unshared, marked dirty, and decoded guest code there is
  // dropped). A caller whose writes land later (after guest code or a
  // dirty-log round may have run, e.g. io_uring) must call prepare_write()
  // again for those ranges when they complete.
  std::vector<iovec> take_iovecs(uint64_t max_bytes);
  uint64_t remaining() const { return remaining_; }
  uint64_t written() const { return written_; }  // the used length to report

 private:
  GuestMemory& memory_;
  const std::vector<Segment>& segments_;
  size_t index_ = 0;
  uint32_t offset_ = 0;
  uint64_t remaining_ = 0;
  uint64_t written_ = 0;
};

class Virtqueue {
 public:
  Virtqueue(GuestMemory& memory, uint16_t max_size);

  // ---- transport side (register writes) ----
  uint16_t max_size() const { return max_size_; }
  void set_size(uint16_t size) { size_ = size; }
  uint16_t size() const { return size_; }
  void set_desc_addr(uint64_t a) { desc_ = a; }
  void set_avail_addr(uint64_t a) { avail_ = a; }
  void set_used_addr(uint64_t a) { used_ = a; }
  uint64_t desc_addr() const { return desc_; }
  uint64_t avail_addr() const { return avail_; }
  uint64_t used_addr() const { return used_; }
  // Marks the queue live after checking size (a power of two, 1..max) and
  // that the three rings lie inside guest RAM with their alignment. Returns
  // false (queue stays not ready) otherwise.
  bool enable();
  bool ready() const { return ready_; }
  void set_event_idx(bool on) { event_idx_ = on; }
  void set_indirect(bool on) { indirect_ = on; }
  void reset();

  // ---- device side ----
  // The next available chain, validated: nullopt when the ring is empty or
  // broken. A broken ring (index out of range, loop, chain longer than the
  // queue, buffer outside RAM, length overflow, readable after writable,
  // indirect where not allowed, avail idx running more than `size` ahead)
  // sets broken() and the transport marks DEVICE_NEEDS_RESET.
  std::optional<DescriptorChain> pop();
  // Returns a chain to the driver with `len` bytes written into it.
  void push(const DescriptorChain& chain, uint32_t len);
  // After one or more push()es: should the driver be interrupted?
  bool should_notify();
  bool broken() const { return broken_; }
  const char* broken_reason() const { return broken_reason_; }
  // Called once when the queue becomes broken (the transport sets
  // DEVICE_NEEDS_RESET from here, whoever was popping).
  void set_on_broken(std::function<void(const char*)> hook) { on_broken_ = std::move(hook); }

  // Ring positions, for tests, fuzzers and state saving.
  uint16_t last_avail() const { return last_avail_; }
  uint16_t used_idx() const { return used_idx_; }

  // ---- state (snapshot, migration) ----
  // Registers, ring positions and the interrupt-suppression bookkeeping.
  // load_state runs on a fresh queue of the same max size and checks a ready
  // queue the way enable() does; a blob the driver could not have produced
  // throws state::StateError. It never calls the on_broken hook.
  static constexpr uint32_t kStateVersion = 1;
  void save_state(state::Writer& w) const;
  void load_state(state::Reader& r);

 private:
  // enable()'s checks: size a power of two in 1..max, rings aligned and
  // inside RAM.
  bool layout_valid() const;
  bool walk(uint16_t head, DescriptorChain& chain);
  void mark_broken(const char* why);

  GuestMemory& memory_;
  uint16_t max_size_;
  uint16_t size_ = 0;
  uint64_t desc_ = 0, avail_ = 0, used_ = 0;
  bool ready_ = false;
  bool event_idx_ = false;
  bool indirect_ = false;
  bool broken_ = false;
  const char* broken_reason_ = "";
  uint16_t last_avail_ = 0;      // next avail ring entry to consume
  uint16_t used_idx_ = 0;        // our copy of used->idx
  uint16_t signalled_used_ = 0;  // used idx at the last interrupt decision
  bool signalled_valid_ = false;
  std::function<void(const char*)> on_broken_;
};

// A chain a device popped and still holds (virtio-net's receive buffers), in
// a state blob. load_chain checks it as a pop from `queue` would: head below
// the queue size, no more segments than a walk can yield, each segment
// non-empty and inside RAM; otherwise it throws state::StateError.
void save_chain(state::Writer& w, const DescriptorChain& chain);
DescriptorChain load_chain(state::Reader& r, const Virtqueue& queue, const GuestMemory& memory);

}  // namespace vessel::virtio
