// Split virtqueue validation, seen from the driver's side: well-formed rings
// work (direct, indirect, wrapping indexes, notification suppression), and
// every hostile ring ends in a broken queue, never in a bad access.
#include "devices/virtio/virtqueue.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace vessel::virtio {
namespace {

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kDesc = kRam + 0x1000, kAvail = kRam + 0x2000, kUsed = kRam + 0x3000;
constexpr uint64_t kTable = kRam + 0x4000;  // an indirect table
constexpr uint64_t kData = kRam + 0x10000;

// The driver's half of one split ring (2.7), written straight into memory.
struct Driver {
  GuestMemory& mem;
  uint16_t size;
  uint16_t avail_idx = 0;

  template <typename T>
  void put(uint64_t gpa, T v) {
    ASSERT_TRUE(mem.write(gpa, {reinterpret_cast<const uint8_t*>(&v), sizeof v}));
  }
  template <typename T>
  T get(uint64_t gpa) {
    T v{};
    EXPECT_TRUE(mem.read(gpa, {reinterpret_cast<uint8_t*>(&v), sizeof v}));
    return v;
  }
  void desc_at(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
               uint16_t next = 0) {
    put(table + 16 * uint64_t{i}, Descriptor{addr, len, flags, next});
  }
  void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0) {
    desc_at(kDesc, i, addr, len, flags, next);
  }
  void publish(uint16_t head) {
    put<uint16_t>(kAvail + 4 + 2 * uint64_t(avail_idx % size), head);
    ++avail_idx;
    put<uint16_t>(kAvail + 2, avail_idx);
  }
  void set_avail_idx(uint16_t idx) {
    avail_idx = idx;
    put<uint16_t>(kAvail + 2, idx);
  }
  void set_avail_flags(uint16_t f) { put<uint16_t>(kAvail, f); }
  void set_used_event(uint16_t e) { put<uint16_t>(kAvail + 4 + 2 * uint64_t{size}, e); }
  uint16_t avail_event() { return get<uint16_t>(kUsed + 4 + 8 * uint64_t{size}); }
  uint16_t used_idx() { return get<uint16_t>(kUsed + 2); }
  uint32_t used_id(uint16_t i) { return get<uint32_t>(kUsed + 4 + 8 * uint64_t(i % size)); }
  uint32_t used_len(uint16_t i) { return get<uint32_t>(kUsed + 8 + 8 * uint64_t(i % size)); }
};

class VirtqueueTest : public ::testing::Test {
 protected:
  static constexpr uint16_t kSize = 8;

  void SetUp() override {
    q.set_size(kSize);
    q.set_desc_addr(kDesc);
    q.set_avail_addr(kAvail);
    q.set_used_addr(kUsed);
    q.set_on_broken([this](const char* why) {
      ++broken_calls;
      reason = why;
    });
    ASSERT_TRUE(q.enable());
  }

  // Pops expecting a broken queue; the driver sees nothing used.
  void expect_broken(const std::string& what) {
    EXPECT_FALSE(q.pop().has_value());
    EXPECT_TRUE(q.broken());
    EXPECT_EQ(broken_calls, 1);
    EXPECT_NE(reason.find(what), std::string::npos) << reason;
    EXPECT_EQ(drv.used_idx(), 0);
  }

  GuestMemory mem{kRam, kRamSize};
  Virtqueue q{mem, 256};
  Driver drv{mem, kSize};
  int broken_calls = 0;
  std::string reason;
};

TEST_F(VirtqueueTest, EmptyRingPopsNothing) {
  EXPECT_FALSE(q.pop().has_value());
  EXPECT_FALSE(q.broken());
}

TEST_F(VirtqueueTest, ReadableThenWritableChainRoundTrip) {
  const char msg[] = "hello, device";
  ASSERT_TRUE(mem.write(kData, {reinterpret_cast<const uint8_t*>(msg), 5}));
  ASSERT_TRUE(mem.write(kData + 0x100, {reinterpret_cast<const uint8_t*>(msg) + 5, 9}));
  drv.desc(3, kData, 5, kDescNext, 5);
  drv.desc(5, kData + 0x100, 9, kDescNext, 1);
  drv.desc(1, kData + 0x200, 4, kDescWrite | kDescNext, 2);
  drv.desc(2, kData + 0x300, 16, kDescWrite);
  drv.publish(3);

  auto chain = q.pop();
  ASSERT_TRUE(chain.has_value());
  EXPECT_EQ(chain->head, 3);
  ASSERT_EQ(chain->readable.size(), 2u);
  ASSERT_EQ(chain->writable.size(), 2u);
  EXPECT_EQ(chain->readable_bytes(), 14u);
  EXPECT_EQ(chain->writable_bytes(), 20u);

  ChainReader reader(mem, *chain);
  char buf[32] = {};
  EXPECT_EQ(reader.read({reinterpret_cast<uint8_t*>(buf), sizeof buf}), 14u);
  EXPECT_EQ(std::string(buf, 14), std::string(msg, 14));
  EXPECT_EQ(reader.remaining(), 0u);

  ChainWriter writer(mem, *chain);
  const uint8_t out[6] = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(writer.write(out), 6u);
  EXPECT_EQ(writer.written(), 6u);
  EXPECT_EQ(drv.get<uint32_t>(kData + 0x200), 0x04030201u);
  EXPECT_EQ(drv.get<uint16_t>(kData + 0x300), 0x0605);

  q.push(*chain, static_cast<uint32_t>(writer.written()));
  EXPECT_EQ(drv.used_idx(), 1);
  EXPECT_EQ(drv.used_id(0), 3u);
  EXPECT_EQ(drv.used_len(0), 6u);
  EXPECT_FALSE(q.pop().has_value());
  EXPECT_FALSE(q.broken());
}

TEST_F(VirtqueueTest, ReaderAndWriterStopAtTheEnd) {
  drv.desc(0, kData, 3, kDescNext, 1);
  drv.desc(1, kData + 8, 2, kDescWrite);
  drv.publish(0);
  auto chain = q.pop();
  ASSERT_TRUE(chain);
  ChainReader reader(mem, *chain);
  uint32_t word = 0;
  EXPECT_FALSE(reader.read_obj(word));  // only 3 bytes
  ChainWriter writer(mem, *chain);
  EXPECT_FALSE(writer.write_obj(word));  // only 2 bytes fit
  EXPECT_EQ(writer.written(), 2u);
  EXPECT_EQ(writer.remaining(), 0u);
  // The device cannot report more than the chain holds.
  q.push(*chain, 1000);
  EXPECT_EQ(drv.used_len(0), 2u);
}

TEST_F(VirtqueueTest, TakeIovecsCoversSegmentsAndAdvances) {
  drv.desc(0, kData, 10, kDescNext, 1);
  drv.desc(1, kData + 0x100, 10, kDescNext, 2);
  drv.desc(2, kData + 0x200, 10, kDescWrite | kDescNext, 3);
  drv.desc(3, kData + 0x300, 10, kDescWrite);
  drv.publish(0);
  auto chain = q.pop();
  ASSERT_TRUE(chain);

  ChainReader reader(mem, *chain);
  uint8_t first[4];
  EXPECT_EQ(reader.read(first), 4u);
  auto iovs = reader.take_iovecs(10);
  ASSERT_EQ(iovs.size(), 2u);
  EXPECT_EQ(iovs[0].iov_base, mem.host_ptr(kData + 4, 6));
  EXPECT_EQ(iovs[0].iov_len, 6u);
  EXPECT_EQ(iovs[1].iov_base, mem.host_ptr(kData + 0x100, 4));
  EXPECT_EQ(iovs[1].iov_len, 4u);
  EXPECT_EQ(reader.remaining(), 6u);
  EXPECT_EQ(reader.take_iovecs(100).size(), 1u);
  EXPECT_TRUE(reader.take_iovecs(100).empty());

  // A writer's iovecs drop decoded code in the pages they cover.
  std::vector<uint64_t> invalidated;
  mem.set_page_flags(kData + 0x300, GuestMemory::kPageCode);
  mem.set_code_write_hook([&](uint64_t page) { invalidated.push_back(page); });
  ChainWriter writer(mem, *chain);
  auto wiovs = writer.take_iovecs(15);
  ASSERT_EQ(wiovs.size(), 2u);
  EXPECT_EQ(wiovs[1].iov_len, 5u);
  EXPECT_EQ(writer.written(), 15u);
  // Both writable segments lie in the code page: one notification each.
  EXPECT_EQ(invalidated, (std::vector<uint64_t>{kData, kData}));
}

TEST_F(VirtqueueTest, WriterNotifiesCodeWrites) {
  std::vector<uint64_t> invalidated;
  mem.set_page_flags(kData, GuestMemory::kPageCode);
  mem.set_code_write_hook([&](uint64_t page) { invalidated.push_back(page); });
  drv.desc(0, kData + 8, 8, kDescWrite);
  drv.publish(0);
  auto chain = q.pop();
  ASSERT_TRUE(chain);
  ChainWriter writer(mem, *chain);
  EXPECT_TRUE(writer.write_obj(uint64_t{42}));
  EXPECT_EQ(invalidated, (std::vector<uint64_t>{kData}));
}

TEST_F(VirtqueueTest, IndexesWrapAround) {
  // 70000 requests through an 8-entry ring: both 16-bit indexes wrap.
  drv.desc(0, kData, 4, kDescWrite);
  for (int i = 0; i < 70000; ++i) {
    drv.publish(0);
    auto chain = q.pop();
    ASSERT_TRUE(chain) << i;
    q.push(*chain, 4);
  }
  EXPECT_EQ(drv.used_idx(), static_cast<uint16_t>(70000));
  EXPECT_EQ(q.last_avail(), static_cast<uint16_t>(70000));
  EXPECT_FALSE(q.broken());
}

TEST_F(VirtqueueTest, FullRingIsNotAnError) {
  for (uint16_t i = 0; i < kSize; ++i) {
    drv.desc(i, kData + 16 * i, 16, kDescWrite);
    drv.publish(i);
  }
  for (uint16_t i = 0; i < kSize; ++i) {
    auto chain = q.pop();
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->head, i);
  }
  EXPECT_FALSE(q.pop());
  EXPECT_FALSE(q.broken());
}

// ---- hostile rings ----

TEST_F(VirtqueueTest, AvailIdxFarAheadBreaksQueue) {
  drv.desc(0, kData, 4, 0);
  drv.set_avail_idx(kSize + 1);
  expect_broken("ahead");
}

TEST_F(VirtqueueTest, DescriptorLoopBreaksQueue) {
  drv.desc(0, kData, 4, kDescNext, 1);
  drv.desc(1, kData, 4, kDescNext, 0);
  drv.publish(0);
  expect_broken("loop");
}

TEST_F(VirtqueueTest, SelfLoopBreaksQueue) {
  drv.desc(2, kData, 0, kDescNext, 2);  // zero length: costs nothing but still counts
  drv.publish(2);
  expect_broken("loop");
}

TEST_F(VirtqueueTest, ChainLongerThanQueueBreaksQueue) {
  // A queue of 8 with a 9-descriptor chain is only possible by revisiting.
  for (uint16_t i = 0; i < kSize; ++i) drv.desc(i, kData, 1, kDescNext, (i + 1) % kSize);
  drv.publish(0);
  expect_broken("longer than the queue");
}

TEST_F(VirtqueueTest, ChainOfExactlyQueueSizeIsFine) {
  for (uint16_t i = 0; i < kSize; ++i) {
    drv.desc(i, kData + i, 1, i + 1 < kSize ? kDescNext : 0, i + 1);
  }
  drv.publish(0);
  auto chain = q.pop();
  ASSERT_TRUE(chain);
  EXPECT_EQ(chain->readable.size(), kSize);
}

TEST_F(VirtqueueTest, HeadIndexOutOfRangeBreaksQueue) {
  drv.publish(kSize);
  expect_broken("index out of range");
}

TEST_F(VirtqueueTest, NextIndexOutOfRangeBreaksQueue) {
  drv.desc(0, kData, 4, kDescNext, 0xffff);
  drv.publish(0);
  expect_broken("index out of range");
}

TEST_F(VirtqueueTest, BufferOutsideRamBreaksQueue) {
  drv.desc(0, kRam + kRamSize - 8, 16, 0);  // straddles the end of RAM
  drv.publish(0);
  expect_broken("outside RAM");
}

TEST_F(VirtqueueTest, BufferBelowRamBreaksQueue) {
  drv.desc(0, 0x1000, 16, kDescWrite);
  drv.publish(0);
  expect_broken("outside RAM");
}

TEST_F(VirtqueueTest, AddrPlusLenOverflowBreaksQueue) {
  drv.desc(0, 0xffff'ffff'ffff'fff0ull, 0x100, kDescWrite);
  drv.publish(0);
  expect_broken("outside RAM");
}

TEST_F(VirtqueueTest, ZeroLengthDescriptorsAreHarmless) {
  drv.desc(0, 0xdead'0000'0000ull, 0, kDescNext, 1);  // nowhere, but carries nothing
  drv.desc(1, kData, 4, kDescWrite | kDescNext, 2);
  drv.desc(2, 0xffff'ffff'ffff'ffffull, 0, kDescWrite);
  drv.publish(0);
  auto chain = q.pop();
  ASSERT_TRUE(chain);
  EXPECT_TRUE(chain->readable.empty());
  ASSERT_EQ(chain->writable.size(), 1u);
  EXPECT_EQ(chain->writable[0].gpa, kData);
  ChainReader reader(mem, *chain);
  uint8_t b;
  EXPECT_EQ(reader.read({&b, 1}), 0u);
}

TEST_F(VirtqueueTest, ReadableAfterWritableBreaksQueue) {
  drv.desc(0, kData, 4, kDescWrite | kDescNext, 1);
  drv.desc(1, kData + 4, 4, kDescNext, 2);
  drv.desc(2, kData + 8, 4, kDescWrite);
  drv.publish(0);
  expect_broken("readable descriptor after a writable");
}

TEST_F(VirtqueueTest, BrokenQueueStaysBrokenUntilEnabledAgain) {
  drv.publish(kSize);  // bad head
  expect_broken("index out of range");
  drv.desc(0, kData, 4, kDescWrite);
  drv.publish(0);
  EXPECT_FALSE(q.pop());  // still broken: nothing more is consumed
  DescriptorChain fake;
  q.push(fake, 0);
  EXPECT_EQ(drv.used_idx(), 0);  // nor is the used ring touched
  EXPECT_EQ(broken_calls, 1);    // and the hook fired once

  q.reset();
  EXPECT_FALSE(q.broken());
  EXPECT_FALSE(q.ready());
  EXPECT_FALSE(q.pop());
}

TEST_F(VirtqueueTest, EnableChecksSizeAlignmentAndPlacement) {
  Virtqueue v(mem, 16);
  auto config = [&](uint16_t size, uint64_t d, uint64_t a, uint64_t u) {
    v.reset();
    v.set_size(size);
    v.set_desc_addr(d);
    v.set_avail_addr(a);
    v.set_used_addr(u);
    return v.enable();
  };
  EXPECT_TRUE(config(16, kDesc, kAvail, kUsed));
  EXPECT_TRUE(v.ready());
  EXPECT_FALSE(config(0, kDesc, kAvail, kUsed));
  EXPECT_FALSE(v.ready());
  EXPECT_FALSE(config(12, kDesc, kAvail, kUsed));  // not a power of two
  EXPECT_FALSE(config(32, kDesc, kAvail, kUsed));  // above the maximum
  EXPECT_FALSE(config(16, kDesc + 8, kAvail, kUsed));
  EXPECT_FALSE(config(16, kDesc, kAvail + 1, kUsed));
  EXPECT_FALSE(config(16, kDesc, kAvail, kUsed + 2));
  EXPECT_TRUE(config(16, kDesc, kAvail + 2, kUsed + 4));
  // Rings that end past RAM, start below it, or wrap the address space.
  EXPECT_FALSE(config(16, kRam + kRamSize - 16 * 8, kAvail, kUsed));
  EXPECT_FALSE(config(16, kDesc, kRam + kRamSize - 36, kUsed));  // 6 + 2*16 = 38 bytes
  EXPECT_TRUE(config(16, kDesc, kRam + kRamSize - 38, kUsed));
  EXPECT_FALSE(config(16, kDesc, kAvail, kRam + kRamSize - 132));  // 6 + 8*16 = 134 bytes
  EXPECT_FALSE(config(16, 0, kAvail, kUsed));
  EXPECT_FALSE(config(16, kDesc, kAvail, 0xffff'ffff'ffff'fffcull));
}

// ---- indirect descriptors (2.7.5.3) ----

TEST_F(VirtqueueTest, IndirectChainWorks) {
  q.set_indirect(true);
  drv.desc_at(kTable, 0, kData, 8, kDescNext, 2);
  drv.desc_at(kTable, 2, kData + 0x100, 8, kDescWrite | kDescNext, 1);
  drv.desc_at(kTable, 1, kData + 0x200, 8, kDescWrite);
  drv.desc(4, kTable, 3 * 16, kDescIndirect);
  drv.publish(4);
  auto chain = q.pop();
  ASSERT_TRUE(chain);
  EXPECT_EQ(chain->head, 4);
  ASSERT_EQ(chain->readable.size(), 1u);
  ASSERT_EQ(chain->writable.size(), 2u);
  EXPECT_EQ(chain->writable[1].gpa, kData + 0x200);
  q.push(*chain, 16);
  EXPECT_EQ(drv.used_id(0), 4u);
  EXPECT_EQ(drv.used_len(0), 16u);
}

TEST_F(VirtqueueTest, DirectDescriptorsBeforeAnIndirectTable) {
  q.set_indirect(true);
  drv.desc_at(kTable, 0, kData + 0x100, 8, kDescWrite);
  drv.desc(0, kData, 8, kDescNext, 1);
  drv.desc(1, kTable, 16, kDescIndirect | kDescWrite);  // WRITE here is ignored
  drv.publish(0);
  auto chain = q.pop();
  ASSERT_TRUE(chain);
  EXPECT_EQ(chain->readable.size(), 1u);
  EXPECT_EQ(chain->writable.size(), 1u);
}

TEST_F(VirtqueueTest, IndirectWithoutFeatureBreaksQueue) {
  drv.desc_at(kTable, 0, kData, 8, 0);
  drv.desc(0, kTable, 16, kDescIndirect);
  drv.publish(0);
  expect_broken("VIRTIO_F_INDIRECT_DESC");
}

TEST_F(VirtqueueTest, NestedIndirectBreaksQueue) {
  q.set_indirect(true);
  drv.desc_at(kTable, 0, kTable, 16, kDescIndirect);
  drv.desc(0, kTable, 16, kDescIndirect);
  drv.publish(0);
  expect_broken("nested indirect");
}

TEST_F(VirtqueueTest, IndirectWithNextBreaksQueue) {
  q.set_indirect(true);
  drv.desc_at(kTable, 0, kData, 8, 0);
  drv.desc(0, kTable, 16, kDescIndirect | kDescNext, 1);
  drv.desc(1, kData, 8, 0);
  drv.publish(0);
  expect_broken("NEXT");
}

TEST_F(VirtqueueTest, IndirectLengthNotMultipleOf16BreaksQueue) {
  q.set_indirect(true);
  drv.desc(0, kTable, 24, kDescIndirect);
  drv.publish(0);
  expect_broken("indirect table length");
}

TEST_F(VirtqueueTest, IndirectTableLargerThanQueueBreaksQueue) {
  q.set_indirect(true);
  drv.desc(0, kTable, 16 * (kSize + 1), kDescIndirect);
  drv.publish(0);
  expect_broken("indirect table length");
}

TEST_F(VirtqueueTest, IndirectTableOutsideRamBreaksQueue) {
  q.set_indirect(true);
  drv.desc(0, kRam + kRamSize - 16, 32, kDescIndirect);
  drv.publish(0);
  expect_broken("outside RAM");
}

TEST_F(VirtqueueTest, IndirectLoopBreaksQueue) {
  q.set_indirect(true);
  drv.desc_at(kTable, 0, kData, 8, kDescNext, 1);
  drv.desc_at(kTable, 1, kData, 8, kDescNext, 0);
  drv.desc(0, kTable, 2 * 16, kDescIndirect);
  drv.publish(0);
  expect_broken("loop");
}

TEST_F(VirtqueueTest, IndirectNextOutsideTableBreaksQueue) {
  q.set_indirect(true);
  drv.desc_at(kTable, 0, kData, 8, kDescNext, 2);  // table holds 2
  drv.desc(0, kTable, 2 * 16, kDescIndirect);
  drv.publish(0);
  expect_broken("indirect descriptor index out of range");
}

// ---- notification suppression (2.7.7, 2.7.10) ----

TEST_F(VirtqueueTest, NoInterruptFlagSuppressesNotification) {
  drv.desc(0, kData, 4, kDescWrite);
  drv.publish(0);
  q.push(*q.pop(), 4);
  EXPECT_TRUE(q.should_notify());
  drv.set_avail_flags(1);  // VIRTQ_AVAIL_F_NO_INTERRUPT
  drv.publish(0);
  q.push(*q.pop(), 4);
  EXPECT_FALSE(q.should_notify());
}

TEST_F(VirtqueueTest, EventIdxNotifiesOnlyWhenUsedEventIsCrossed) {
  q.set_event_idx(true);
  drv.set_avail_flags(1);  // ignored with EVENT_IDX
  drv.desc(0, kData, 4, kDescWrite);
  auto complete = [&] {
    drv.publish(0);
    auto chain = q.pop();
    ASSERT_TRUE(chain);
    q.push(*chain, 4);
  };
  drv.set_used_event(0);
  complete();                      // used idx 0 -> 1
  EXPECT_TRUE(q.should_notify());  // first decision after enable always notifies
  drv.set_used_event(2);           // "interrupt me once entry 2 is used" (idx 3)
  complete();                      // 1 -> 2
  EXPECT_FALSE(q.should_notify());
  complete();  // 2 -> 3 crosses used_event 2
  EXPECT_TRUE(q.should_notify());
  complete();  // 3 -> 4: used_event stays 2, already passed
  EXPECT_FALSE(q.should_notify());
  // Several pushes in one batch that together cross the event.
  drv.set_used_event(5);
  complete();
  complete();
  complete();  // 4 -> 7
  EXPECT_TRUE(q.should_notify());
  EXPECT_FALSE(q.should_notify());  // nothing new since
}

TEST_F(VirtqueueTest, EventIdxPublishesAvailEvent) {
  q.set_event_idx(true);
  drv.desc(0, kData, 4, kDescWrite);
  drv.publish(0);
  drv.publish(0);
  ASSERT_TRUE(q.pop());
  EXPECT_EQ(drv.avail_event(), 1);
  ASSERT_TRUE(q.pop());
  EXPECT_EQ(drv.avail_event(), 2);
  EXPECT_FALSE(q.pop());
  EXPECT_EQ(drv.avail_event(), 2);  // notify me when entry 2 is published
}

TEST_F(VirtqueueTest, NotReadyQueueDoesNothing) {
  Virtqueue v(mem, 16);
  EXPECT_FALSE(v.ready());
  EXPECT_FALSE(v.pop());
  EXPECT_FALSE(v.should_notify());
  DescriptorChain c;
  v.push(c, 0);
  EXPECT_EQ(drv.used_idx(), 0);
}

}  // namespace
}  // namespace vessel::virtio
