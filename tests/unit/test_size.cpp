#include "base/size.hpp"

#include <gtest/gtest.h>

namespace vessel {
namespace {

TEST(ParseSize, PlainAndUnits) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_EQ(parse_size("64K"), 64u << 10);
  EXPECT_EQ(parse_size("256M"), 256u << 20);
  EXPECT_EQ(parse_size("2G"), uint64_t{2} << 30);
  EXPECT_EQ(parse_size("1T"), uint64_t{1} << 40);
  EXPECT_EQ(parse_size("512m"), 512u << 20);
  EXPECT_EQ(parse_size("100B"), 100u);
}

TEST(ParseSize, OptionalByteSuffix) {
  EXPECT_EQ(parse_size("64KB"), 64u << 10);
  EXPECT_EQ(parse_size("64KiB"), 64u << 10);
  EXPECT_EQ(parse_size("1gib"), uint64_t{1} << 30);
  EXPECT_EQ(parse_size("1Mb"), 1u << 20);
}

TEST(ParseSize, Limits) {
  EXPECT_EQ(parse_size("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parse_size("16777215T"), uint64_t{16777215} << 40);
  EXPECT_EQ(parse_size("18446744073709551616"), std::nullopt);
  EXPECT_EQ(parse_size("99999999999999999999999"), std::nullopt);
  EXPECT_EQ(parse_size("16777216T"), std::nullopt);  // 2^64
  EXPECT_EQ(parse_size("17179869184G"), std::nullopt);
}

TEST(ParseSize, Malformed) {
  for (const char* bad : {"", "K", "M1", "-1", "+1", " 1", "1 ", "1 K", "1.5G", "12X", "1KK",
                          "1KiBx", "1i", "1BB", "1Bi", "0x10", "1e3", "1K!"}) {
    EXPECT_EQ(parse_size(bad), std::nullopt) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace vessel
