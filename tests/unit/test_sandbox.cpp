// The sandbox's filters, each in a death test's child process (a filter
// cannot be taken back): forbidden calls end the process with one line
// naming them, allowed ones work, and filters stack.
#include "base/sandbox.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace vessel::sandbox {
namespace {

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (sanitizer_build()) GTEST_SKIP() << "the sandbox is off in sanitizer builds";
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
};

// In the death test's child only.
void confine(Role role) {
  Settings settings;
  settings.seccomp = true;
  configure(settings);
  confine_thread(role);
}

void* map_executable() {
  return mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1,
              0);
}

TEST_F(SandboxTest, AForbiddenCallEndsVesselWithOneLineNamingIt) {
  EXPECT_EXIT(
      {
        confine(Role::kBlockIo);
        ::syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
        _exit(0);
      },
      ::testing::ExitedWithCode(159),
      "^vessel: sandbox: the block I/O thread made a forbidden system call: socket\n$");
}

TEST_F(SandboxTest, OnlyThreadsThatRunGuestCodeMapMemoryExecutable) {
  EXPECT_EXIT(
      {
        confine(Role::kHart);
        _exit(map_executable() == MAP_FAILED ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        confine(Role::kControl);
        (void)map_executable();
        _exit(0);
      },
      ::testing::ExitedWithCode(159), "control socket thread made a forbidden system call: mmap");
}

TEST_F(SandboxTest, AHartPunchesHolesInThePageStoreButAllocatesNothing) {
  // A guest store that unshares the last user of a page-store slot frees it
  // (PageStore::release) on that hart's thread.
  const int fd = memfd_create("store", 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 8192), 0);
  EXPECT_EXIT(
      {
        confine(Role::kHart);
        _exit(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) == 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        confine(Role::kHart);
        (void)fallocate(fd, 0, 0, 1 << 20);
        _exit(0);
      },
      ::testing::ExitedWithCode(159), "hart thread made a forbidden system call: fallocate");
  close(fd);
}

TEST_F(SandboxTest, TheVmThreadMakesThreadsButNoProcesses) {
  EXPECT_EXIT(
      {
        confine(Role::kVm);
        std::thread thread([] { confine_thread(Role::kHart); });
        thread.join();
        _exit(0);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        confine(Role::kVm);
        (void)fork();
        _exit(0);
      },
      ::testing::ExitedWithCode(159), "VM thread made a forbidden system call: clone");
}

TEST_F(SandboxTest, AHartThreadNarrowsTheVmThreadsList) {
  EXPECT_EXIT(
      {
        confine(Role::kVm);
        std::thread thread([] {
          confine_thread(Role::kHart);
          ::syscall(SYS_listen, -1, 1);  // the VM thread's (hostfwd), not a hart's
        });
        thread.join();
        _exit(0);
      },
      ::testing::ExitedWithCode(159), "the hart thread made a forbidden system call: listen");
}

TEST_F(SandboxTest, ThreadsThatOpenNothingGetEaccesFromOpenat) {
  EXPECT_EXIT(
      {
        confine(Role::kControl);
        const int fd = ::open("/proc/sys/vm/overcommit_memory", O_RDONLY);
        _exit(fd < 0 && errno == EACCES ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// `vessel receive` confines itself before the peer's first byte: building
// the VM may still set up a ring, but nothing may start a program.
TEST_F(SandboxTest, TheReceiverRunsNoProgram) {
  EXPECT_EXIT(
      {
        confine(Role::kReceive);
        char* const argv[] = {nullptr};
        ::execve("/bin/true", argv, argv);
        _exit(0);
      },
      ::testing::ExitedWithCode(159),
      "^vessel: sandbox: the receive thread made a forbidden system call: execve\n$");
}

// Once its VM runs, the receiver's thread takes the VM role's filter on top:
// what only building the VM needed (io_uring_setup) is gone, so the final
// set is no wider than `vessel run`'s VM thread's.
TEST_F(SandboxTest, TheReceiverNarrowsToTheVmRole) {
  EXPECT_EXIT(
      {
        confine(Role::kReceive);
        // Bad arguments: the kernel answers (EFAULT), the filter lets it by.
        if (::syscall(SYS_io_uring_setup, 1, nullptr) != -1 || errno != EFAULT) _exit(1);
        _exit(0);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        confine(Role::kReceive);
        confine_thread(Role::kVm);
        ::syscall(SYS_io_uring_setup, 1, nullptr);
        _exit(0);
      },
      ::testing::ExitedWithCode(159), "the VM thread made a forbidden system call: io_uring_setup");
}

// `vessel ctl`, `verify` and `guest`, once connected or read: no new file,
// no socket, no program; reading and printing still work.
TEST_F(SandboxTest, AClientOnlyReadsAndPrints) {
  EXPECT_EXIT(
      {
        int fds[2];
        if (::pipe(fds) != 0) _exit(2);
        confine(Role::kClient);
        char byte = 'x';
        if (::write(fds[1], &byte, 1) != 1 || ::read(fds[0], &byte, 1) != 1) _exit(3);
        const int fd = ::open("/etc/hostname", O_RDONLY);
        _exit(fd < 0 && errno == EACCES ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        confine(Role::kClient);
        ::syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
        _exit(0);
      },
      ::testing::ExitedWithCode(159), "the client thread made a forbidden system call: socket");
  EXPECT_EXIT(
      {
        confine(Role::kClient);
        char* const argv[] = {nullptr};
        ::execve("/bin/true", argv, argv);
        _exit(0);
      },
      ::testing::ExitedWithCode(159), "the client thread made a forbidden system call: execve");
}

TEST_F(SandboxTest, OffConfinesNothing) {
  EXPECT_EXIT(
      {
        configure(Settings{});
        confine_thread(Role::kHart);
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        _exit(fd >= 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace vessel::sandbox
