#include "vm/memory_file.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <vector>

#include "base/error.hpp"

namespace vessel {
namespace {

constexpr uint64_t kBase = 0x8000'0000;
constexpr uint64_t kPage = GuestMemory::kPageSize;

class MemoryFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vessel-memfile-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const char* name) const { return dir_ + "/" + name; }
  Directory directory() const { return Directory::open(dir_); }

  // Fills page `index` with bytes derived from `seed`, never all zero.
  static void fill_page(GuestMemory& mem, uint64_t index, uint32_t seed) {
    std::vector<uint8_t> data(kPage);
    std::mt19937 rng(seed);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    data[kPage / 2] = 0x5a;
    ASSERT_TRUE(mem.write(mem.base() + index * kPage, data));
  }

  static void expect_same(const GuestMemory& a, const GuestMemory& b) {
    ASSERT_EQ(a.size(), b.size());
    for (uint64_t page = 0; page < a.pages(); ++page) {
      ASSERT_EQ(std::memcmp(a.host_base() + page * kPage, b.host_base() + page * kPage, kPage), 0)
          << "page " << page;
    }
  }

  std::string dir_;
};

TEST_F(MemoryFileTest, RoundTripThroughAPrivateMapping) {
  GuestMemory mem(kBase, 4 << 20);  // 1024 pages
  // Single pages, a run of three, the first and the last page: 7 pages in 4
  // runs ([0], [10..12], [500], [1023]), one partly written page.
  for (uint64_t page : {0, 10, 11, 12, 500, 1023})
    fill_page(mem, page, static_cast<uint32_t>(page));
  const uint8_t one = 1;
  ASSERT_TRUE(mem.write(kBase + 700 * kPage + 4095, {&one, 1}));

  const MemoryFileStats stats = save_memory_file(directory(), "mem", mem);
  EXPECT_EQ(stats.data_pages, 7u);
  // [0..12] (its hole of 9 pages written as zeros), [500], [700], [1023]
  EXPECT_EQ(stats.writes, 4u);
  EXPECT_EQ(stats.bytes_written, 16 * kPage);
  EXPECT_FALSE(std::filesystem::exists(path("mem.tmp")));
  struct stat st {};
  ASSERT_EQ(::stat(path("mem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "guest memory must not be readable by others";

  const int fd = open_memory_file(path("mem"), mem.size());
  GuestMemory restored(kBase, mem.size(), fd);
  ::close(fd);
  expect_same(mem, restored);
}

TEST_F(MemoryFileTest, ZeroPagesStayHoles) {
  GuestMemory mem(kBase, 64 << 20);
  fill_page(mem, 1234, 1);
  save_memory_file(directory(), "mem", mem);
  struct stat st {};
  ASSERT_EQ(::stat(path("mem").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), mem.size());
  // One page of data; filesystems allocate in blocks of up to a few KiB.
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 1u << 20);
}

// A hole of up to 16 pages between pages with data is written (one write
// instead of two); a longer one stays a hole.
TEST_F(MemoryFileTest, ShortHolesAreWrittenLongOnesStayHoles) {
  GuestMemory mem(kBase, 4 << 20);
  for (uint64_t page : {0, 17, 100, 118}) fill_page(mem, page, static_cast<uint32_t>(page));
  const MemoryFileStats stats = save_memory_file(directory(), "mem", mem);
  EXPECT_EQ(stats.data_pages, 4u);
  EXPECT_EQ(stats.writes, 3u);  // [0..17], [100], [118]
  EXPECT_EQ(stats.bytes_written, 20 * kPage);
  const int fd = open_memory_file(path("mem"), mem.size());
  GuestMemory restored(kBase, mem.size(), fd);
  ::close(fd);
  expect_same(mem, restored);
}

TEST_F(MemoryFileTest, SavingOverAMappedFileLeavesTheMappingAlone) {
  // A VM restored from a memory file is snapshotted to the same path: the
  // new file must not show through the old mapping's untouched pages.
  GuestMemory first(kBase, 1 << 20);
  fill_page(first, 3, 3);
  save_memory_file(directory(), "mem", first);
  const int fd = open_memory_file(path("mem"), first.size());
  GuestMemory restored(kBase, first.size(), fd);
  ::close(fd);

  GuestMemory second(kBase, 1 << 20);
  fill_page(second, 3, 99);
  fill_page(second, 4, 4);
  save_memory_file(directory(), "mem", second);

  expect_same(first, restored);
  const int fd2 = open_memory_file(path("mem"), second.size());
  GuestMemory restored2(kBase, second.size(), fd2);
  ::close(fd2);
  expect_same(second, restored2);
}

TEST_F(MemoryFileTest, WrongSizeIsRefused) {
  GuestMemory mem(kBase, 1 << 20);
  save_memory_file(directory(), "mem", mem);
  try {
    open_memory_file(path("mem"), 2 << 20);
    FAIL() << "a file of the wrong size was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "memory file " + path("mem") + " has 1048576 bytes, the snapshot says 2097152");
  }
}

TEST_F(MemoryFileTest, MissingFileIsRefused) {
  try {
    open_memory_file(path("nothing"), 1 << 20);
    FAIL() << "a missing file was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
}

TEST_F(MemoryFileTest, DirectoryIsRefused) {
  try {
    open_memory_file(dir_, 1 << 20);
    FAIL() << "a directory was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
}

TEST_F(MemoryFileTest, UnwritablePathIsAnErrorAndLeavesNothing) {
  GuestMemory mem(kBase, 1 << 20);
  EXPECT_THROW(save_memory_file(Directory::open(path("no-such-dir")), "mem", mem), Error);
  // Renaming onto a directory fails after the temporary file was written.
  std::filesystem::create_directory(path("taken"));
  EXPECT_THROW(save_memory_file(directory(), "taken", mem), Error);
  EXPECT_FALSE(std::filesystem::exists(path("taken.tmp")));
}

TEST(ZeroPage, FindsTheOneNonZeroByteAnywhere) {
  std::vector<uint8_t> page(kPage, 0);
  EXPECT_TRUE(is_zero_page(page.data()));
  for (uint64_t i = 0; i < kPage; i += 61) {
    page[i] = 0x80;
    EXPECT_FALSE(is_zero_page(page.data())) << i;
    page[i] = 0;
  }
  page[kPage - 1] = 1;
  EXPECT_FALSE(is_zero_page(page.data()));
}

// Not a test of speed: prints what saving costs, for the snapshot design.
TEST_F(MemoryFileTest, MeasureSave256MiBWith64MiBOfData) {
  constexpr uint64_t kSize = 256ull << 20;
  for (const bool scattered : {false, true}) {
    GuestMemory mem(kBase, kSize);
    // 16384 non-zero pages: one contiguous 64 MiB block, or runs of 64
    // pages every 256 pages. (Every 4th page saves as fast, but a file of
    // 16384 extents takes a minute to delete on ext4 mounted with discard,
    // as this workplace's disk is: each freed extent is trimmed.)
    std::vector<uint8_t> data(kPage);
    std::mt19937 rng(7);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    for (uint64_t i = 0; i < kSize / kPage / 4; ++i) {
      const uint64_t page = scattered ? (i / 64) * 256 + i % 64 : i;
      ASSERT_TRUE(mem.write(kBase + page * kPage, data));
    }
    const auto start = std::chrono::steady_clock::now();
    const MemoryFileStats stats = save_memory_file(directory(), "mem", mem);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    struct stat st {};
    ASSERT_EQ(::stat(path("mem").c_str(), &st), 0);
    EXPECT_EQ(stats.bytes_written, 64ull << 20);
    std::printf(
        "[ measure  ] save_memory_file 256 MiB, 64 MiB %s: %.3f s (%.0f MiB/s of RAM), "
        "%llu pwrites, %llu MiB on disk\n",
        scattered ? "in 256 runs" : "contiguous", seconds, 256 / seconds,
        static_cast<unsigned long long>(stats.writes),
        static_cast<unsigned long long>(st.st_blocks) * 512 >> 20);
  }
}

}  // namespace
}  // namespace vessel
