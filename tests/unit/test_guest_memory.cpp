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
    memory.use_huge_pages();
    EXPECT_NE(vm_flags_at(host).find(" hg "), std::string::npos) << size;
    EXPECT_NE(vm_flags_at(host + size - 1).find(" hg "), std::string::npos) << size;
    // All of it is there and nothing past it is guest RAM's.
    ASSERT_TRUE(memory.write(kBase + size - 8, std::span<const uint8_t>(host, 8)));
    EXPECT_EQ(vm_flags_at(host + size).find(" hg "), std::string::npos) << "past the end";
  }
}

}  // namespace
}  // namespace vessel
