// Guest RAM's host mapping, checked in /proc/self/smaps (what the host's
// kernel sees), not through GuestMemory's own accessors.
#include "memory/guest_memory.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace vessel {
namespace {

constexpr uint64_t kBase = 0x80000000;
constexpr uint64_t kHugePage = 2 << 20;

// The VmFlags of the mapping holding `p` ("hg": huge pages advised), with a
// space at each end so that a flag can be found as " hg ".
std::string vm_flags_at(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto addr = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    unsigned long start = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &start, &end) == 2) {
      inside = addr >= start && addr < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line.substr(8) + " ";
    }
  }
  return "(no mapping)";
}

TEST(GuestMemory, RamStartsOnAHugePageAndIsAdvisedToUseThem) {
  // Every whole 2 MiB of guest RAM can be one host huge page only if RAM
  // starts on a 2 MiB boundary; sizes that are not a multiple still work.
  for (const uint64_t size : {kHugePage, 3 * kHugePage, 5 * kHugePage + 4096}) {
    GuestMemory memory(kBase, size);
    const uint8_t* host = memory.host_base();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(host) % kHugePage, 0u) << size;
    memory.use_huge_pages(/*gives_back=*/false);
    EXPECT_NE(vm_flags_at(host).find(" hg "), std::string::npos) << size;
    EXPECT_NE(vm_flags_at(host + size - 1).find(" hg "), std::string::npos) << size;
    // All of it is there and nothing past it is guest RAM's.
    ASSERT_TRUE(memory.write(kBase + size - 8, std::span<const uint8_t>(host, 8)));
    EXPECT_EQ(vm_flags_at(host + size).find(" hg "), std::string::npos) << "past the end";
  }
}

TEST(GuestMemory, GivingPagesBackLeavesHugePagesInThoseRegionsOnly) {
  // khugepaged would fill a hole in a huge-page region to collapse it again,
  // undoing what the balloon or the scanner gave back; every other region
  // keeps its huge pages (the guest's speed).
  GuestMemory memory(kBase, 4 * kHugePage);
  memory.use_huge_pages(/*gives_back=*/true);
  const uint8_t* host = memory.host_base();
  for (uint64_t r = 0; r < 4; ++r) {
    EXPECT_NE(vm_flags_at(host + r * kHugePage).find(" hg "), std::string::npos) << "region " << r;
    EXPECT_TRUE(memory.keeps_huge_pages(kBase + r * kHugePage)) << "region " << r;
  }
  memory.release_zero_pages(kBase + kHugePage + 4096, 2);           // the scanner's zero pages
  ASSERT_TRUE(memory.discard(kBase + 3 * kHugePage + 8192, 4096));  // the balloon's
  for (uint64_t r = 0; r < 4; ++r) {
    const std::string flags = vm_flags_at(host + r * kHugePage + 4096);
    const bool gave_back = r == 1 || r == 3;
    EXPECT_EQ(flags.find(" nh ") != std::string::npos, gave_back) << "region " << r << ":" << flags;
    EXPECT_EQ(flags.find(" hg ") != std::string::npos, !gave_back)
        << "region " << r << ":" << flags;
    EXPECT_EQ(memory.keeps_huge_pages(kBase + r * kHugePage + kHugePage - 1), !gave_back)
        << "region " << r;
  }
  // A second call (the Machine's after a restore) keeps what was left.
  memory.use_huge_pages(/*gives_back=*/true);
  EXPECT_FALSE(memory.keeps_huge_pages(kBase + kHugePage));
  // A VM that gives nothing back keeps huge pages wherever it discards, and
  // its scanner (it has none) would never be asked to hold back.
  GuestMemory plain(kBase, 2 * kHugePage);
  plain.use_huge_pages(/*gives_back=*/false);
  ASSERT_TRUE(plain.discard(kBase + 4096, 4096));
  EXPECT_NE(vm_flags_at(plain.host_base() + 4096).find(" hg "), std::string::npos);
  EXPECT_FALSE(plain.keeps_huge_pages(kBase));
}

}  // namespace
}  // namespace vessel
