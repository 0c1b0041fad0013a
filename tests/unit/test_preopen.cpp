// Files opened ahead (base/preopen.hpp): `vessel receive` opens its disks
// before it locks itself down, and the disk built later takes that
// descriptor, not whatever its path names by then.
#include "base/preopen.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/error.hpp"
#include "devices/virtio/blk.hpp"

namespace vessel {
namespace {

class PreopenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/vessel-preopen-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    a_ = dir_ + "/a.img";
    b_ = dir_ + "/b.img";
    for (const std::string& path : {a_, b_}) {
      const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
      ASSERT_GE(fd, 0);
      ASSERT_EQ(::ftruncate(fd, 1 << 20), 0);
      ::close(fd);
    }
  }
  void TearDown() override {
    preopen::clear();
    ::unlink(a_.c_str());
    ::unlink(b_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string dir_, a_, b_;
};

TEST_F(PreopenTest, KeptDescriptorsAreTakenOnceEach) {
  preopen::keep("k", UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
  preopen::keep("k", UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
  EXPECT_TRUE(preopen::take("k").valid());
  EXPECT_TRUE(preopen::take("k").valid());
  EXPECT_FALSE(preopen::take("k").valid());
  EXPECT_FALSE(preopen::take("other").valid());
}

TEST_F(PreopenTest, ADiskIsBuiltFromItsKeptDescriptor) {
  using virtio::VirtioBlk;
  const auto threads = BlockBackend::Kind::kThreads;
  // The serial comes from the open file's inode: it tells which file a disk has.
  const std::string serial_a = VirtioBlk(a_, true, threads).serial();
  const std::string serial_b = VirtioBlk(b_, true, threads).serial();
  ASSERT_NE(serial_a, serial_b);
  // a's descriptor kept under b's name (as if b's path had changed since).
  preopen::keep(preopen::disk_key(b_, true), VirtioBlk::open_image(a_, true));
  // Another mode is another key: not taken.
  EXPECT_EQ(VirtioBlk(b_, false, threads).serial(), serial_b);
  EXPECT_EQ(VirtioBlk(b_, true, threads).serial(), serial_a);
  // Taken once: the next disk opens its path.
  EXPECT_EQ(VirtioBlk(b_, true, threads).serial(), serial_b);
}

TEST_F(PreopenTest, OnlyRegularFilesAndBlockDevicesAreDisks) {
  for (const char* path : {"/dev/null", "/dev/zero", "/tmp"}) {
    try {
      (void)virtio::VirtioBlk::open_image(path, /*read_only=*/true);
      ADD_FAILURE() << path << " was taken as a disk";
    } catch (const Error& e) {
      const std::string what = e.what();
      // Each opens read-only; the type check refuses it.
      EXPECT_NE(what.find(path), std::string::npos) << what;
    }
  }
  try {
    (void)virtio::VirtioBlk::open_image("/dev/null", false);
    ADD_FAILURE() << "/dev/null was taken as a disk";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "disk image /dev/null is not a regular file or block device");
  }
}

}  // namespace
}  // namespace vessel
