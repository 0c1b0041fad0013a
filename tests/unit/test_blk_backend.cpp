// The io_uring block backend when the kernel refuses its submissions.
#include <seccomp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <gtest/gtest.h>

#include "devices/virtio/blk_backend.hpp"

namespace vessel {
namespace {

// In a child process (the filter cannot be taken back): io_uring_enter
// fails with ENOSYS, as under a sandbox that does not list it. A read must
// then complete with that error, from reap() and from drain(), instead of
// drain() waiting for ever for a completion the kernel never saw.
TEST(UringBackend, SubmissionsTheKernelRefusesFailInsteadOfHanging) {
  if (!block_uring_available()) GTEST_SKIP() << "io_uring is not usable here";
  char path[] = "/tmp/vessel-blk-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  ASSERT_EQ(ftruncate(fd, 65536), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(20);  // a hang ends the child with SIGALRM
    auto backend = make_block_backend(fd, BlockBackend::Kind::kUring);
    if (!backend) _exit(10);
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == nullptr ||
        seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_uring_enter), 0) != 0 ||
        seccomp_load(ctx) != 0) {
      _exit(11);
    }
    std::vector<char> buf(4096);
    for (uint64_t tag : {1, 2}) {
      BlockOp op;
      op.kind = BlockOp::Kind::kRead;
      op.offset = 0;
      op.iov.push_back(iovec{buf.data(), buf.size()});
      op.tag = tag;
      backend->submit(op);
      backend->kick();
      std::vector<BlockCompletion> done;
      if (tag == 1) {
        backend->reap(done);
      } else {
        backend->drain(done);
      }
      if (done.size() != 1 || done[0].tag != tag || done[0].result != -ENOSYS) _exit(12);
      if (backend->in_flight() != 0) _exit(13);
    }
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  close(fd);
  ASSERT_TRUE(WIFEXITED(status)) << "the child hung or crashed (signal " << WTERMSIG(status) << ")";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace vessel
