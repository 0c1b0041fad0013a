// Files created where someone else may have been first: a symlink or a file
// planted at the name vessel is about to create is never written through,
// and what vessel creates is mode 0600.
#include "base/safe_file.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace vessel {
namespace {

namespace fs = std::filesystem;

class SafeFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vessel-safefile-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/dir";
    ASSERT_TRUE(fs::create_directory(dir_));
    // The victim lives outside the directory vessel writes in, as a file of
    // another user or a system file would.
    victim_ = root_ + "/victim";
    write(victim_, "precious");
    ASSERT_EQ(::chmod(victim_.c_str(), 0644), 0);
  }
  void TearDown() override {
    ::chmod(dir_.c_str(), 0700);
    fs::remove_all(root_);
  }

  static void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  static mode_t mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_mode;
  }
  std::string in_dir(const char* name) const { return dir_ + "/" + name; }
  void expect_victim_untouched() const {
    EXPECT_EQ(read(victim_), "precious");
    EXPECT_EQ(mode_of(victim_) & 07777, 0644u);
  }
  // Expects `action` to throw Error mentioning `needle`.
  template <typename Action>
  static void expect_error(Action&& action, const std::string& needle) {
    try {
      action();
      ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
  static std::vector<uint8_t> bytes(const std::string& text) { return {text.begin(), text.end()}; }

  std::string root_, dir_, victim_;
};

TEST_F(SafeFileTest, AtomicFileAppearsCompleteWithMode0600) {
  const Directory dir = Directory::open(dir_);
  {
    AtomicFile file(dir, "state.bin");
    file.write_all(bytes("new contents"));
    EXPECT_EQ(file.temp_path(), in_dir("state.bin.tmp"));
    EXPECT_FALSE(fs::exists(in_dir("state.bin"))) << "visible before commit";
    file.commit();
  }
  EXPECT_EQ(read(in_dir("state.bin")), "new contents");
  EXPECT_EQ(mode_of(in_dir("state.bin")) & 07777, 0600u);
  EXPECT_FALSE(fs::exists(in_dir("state.bin.tmp")));
}

TEST_F(SafeFileTest, ReplacingAFileNeverWritesThroughIt) {
  // An old file that is a hard link to the victim: renaming over it replaces
  // the directory entry, the victim's contents stay.
  ASSERT_EQ(::link(victim_.c_str(), in_dir("state.bin").c_str()), 0);
  const Directory dir = Directory::open(dir_);
  AtomicFile file(dir, "state.bin");
  file.write_all(bytes("new"));
  file.commit();
  EXPECT_EQ(read(in_dir("state.bin")), "new");
  expect_victim_untouched();
}

TEST_F(SafeFileTest, SymlinkAtTheTemporaryNameIsRefused) {
  fs::create_symlink(victim_, in_dir("memory.bin.tmp"));
  const Directory dir = Directory::open(dir_);
  expect_error([&] { AtomicFile file(dir, "memory.bin"); }, "already there");
  expect_victim_untouched();
  EXPECT_TRUE(fs::is_symlink(in_dir("memory.bin.tmp"))) << "the planted link is not ours to remove";
}

TEST_F(SafeFileTest, DanglingSymlinkAtTheTemporaryNameIsRefused) {
  // O_CREAT alone would create the link's target.
  const std::string target = root_ + "/created-through-the-link";
  fs::create_symlink(target, in_dir("state.bin.tmp"));
  const Directory dir = Directory::open(dir_);
  expect_error([&] { AtomicFile file(dir, "state.bin"); }, "already there");
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(SafeFileTest, ExistingFileAtTheTemporaryNameIsRefused) {
  write(in_dir("state.bin.tmp"), "someone's");
  const Directory dir = Directory::open(dir_);
  expect_error([&] { AtomicFile file(dir, "state.bin"); }, "already there");
  EXPECT_EQ(read(in_dir("state.bin.tmp")), "someone's");
}

TEST_F(SafeFileTest, UncommittedFileLeavesNothing) {
  const Directory dir = Directory::open(dir_);
  {
    AtomicFile file(dir, "state.bin");
    file.write_all(bytes("half"));
  }
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(SafeFileTest, UnwritableDirectoryIsAnError) {
  ASSERT_EQ(::chmod(dir_.c_str(), 0555), 0);
  // Root writes anywhere: the check runs in a child that gives root up.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0 &&
        (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0)) {
      ::_exit(2);
    }
    try {
      const Directory dir = Directory::open(dir_);
      AtomicFile file(dir, "state.bin");
      ::_exit(3);
    } catch (const Error& e) {
      ::_exit(std::string(e.what()).find("Permission denied") != std::string::npos ? 0 : 4);
    }
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: could not give root up, 3: created the file, "
                                       "4: another error than Permission denied";
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(SafeFileTest, DirectoryIsCreatedPrivateAndNeverThroughASymlink) {
  const Directory made = Directory::open(root_ + "/new/", /*create=*/true);
  EXPECT_EQ(made.path(), root_ + "/new");
  EXPECT_EQ(mode_of(root_ + "/new") & 07777, 0700u);

  fs::create_symlink(dir_, root_ + "/link");
  expect_error([&] { Directory::open(root_ + "/link"); }, "is a symbolic link");
  expect_error([&] { Directory::open(root_ + "/link/", /*create=*/true); }, "is a symbolic link");
  expect_error([&] { Directory::open(victim_); }, "Not a directory");
  expect_error([&] { Directory::open(root_ + "/missing"); }, "No such file");
}

TEST_F(SafeFileTest, EntriesAreListedWithoutFollowing) {
  write(in_dir("a"), "");
  fs::create_symlink(victim_, in_dir("b"));
  const Directory dir = Directory::open(dir_);
  std::vector<std::string> names = dir.entries();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b"}));
  const auto link = dir.stat_entry("b");
  ASSERT_TRUE(link.has_value());
  EXPECT_TRUE(S_ISLNK(link->st_mode));
  EXPECT_FALSE(dir.stat_entry("c").has_value());
}

TEST_F(SafeFileTest, LogFileIsCreated0600OrTruncated) {
  {
    UniqueFd fd = open_log_file(in_dir("vm-0.log"));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(::write(fd.get(), "one", 3), 3);
  }
  EXPECT_EQ(mode_of(in_dir("vm-0.log")) & 07777, 0600u);
  // An existing log is truncated, as QEMU's -serial file: does.
  UniqueFd fd = open_log_file(in_dir("vm-0.log"));
  EXPECT_EQ(read(in_dir("vm-0.log")), "");
}

TEST_F(SafeFileTest, LogFileThatIsNotOursIsRefused) {
  fs::create_symlink(victim_, in_dir("link.log"));
  expect_error([&] { open_log_file(in_dir("link.log")); }, "is a symbolic link");
  fs::create_symlink(root_ + "/nowhere", in_dir("dangling.log"));
  expect_error([&] { open_log_file(in_dir("dangling.log")); }, "is a symbolic link");
  EXPECT_FALSE(fs::exists(root_ + "/nowhere"));
  ASSERT_EQ(::link(victim_.c_str(), in_dir("hard.log").c_str()), 0);
  expect_error([&] { open_log_file(in_dir("hard.log")); }, "has other hard links");
  expect_victim_untouched();
  // A FIFO would block the open, a device would be written to.
  ASSERT_EQ(::mkfifo(in_dir("fifo.log").c_str(), 0600), 0);
  expect_error([&] { open_log_file(in_dir("fifo.log")); }, "not a regular file");
  fs::create_directory(in_dir("dir.log"));
  expect_error([&] { open_log_file(in_dir("dir.log")); }, "not a regular file");
  expect_error([&] { open_log_file(dir_ + "/"); }, "names a directory");
}

}  // namespace
}  // namespace vessel
