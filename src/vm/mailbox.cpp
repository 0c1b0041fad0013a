#include "vm/mailbox.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.hpp"

namespace vessel {

Mailbox::Mailbox() {
  eventfd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (eventfd_ < 0) fail("cannot create an eventfd: {}", std::strerror(errno));
}

Mailbox::~Mailbox() {
  close();
  ::close(eventfd_);
}

void Mailbox::call(std::function<void()> task) {
  auto t = std::make_shared<Task>();
  t->fn = std::move(task);
  std::unique_lock lock(mutex_);
  if (closed_) throw VmStopped();
  queue_.push_back(t);
  pending_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  (void)!write(eventfd_, &one, sizeof one);
  done_cv_.wait(lock, [&] { return t->done; });
  if (t->error) std::rethrow_exception(t->error);
}

void Mailbox::run_all() {
  for (;;) {
    std::shared_ptr<Task> t;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) {
        pending_.store(false, std::memory_order_release);
        return;
      }
      t = queue_.front();
      queue_.pop_front();
    }
    try {
      t->fn();
    } catch (...) {
      t->error = std::current_exception();
    }
    {
      std::lock_guard lock(mutex_);
      t->done = true;
      // The caller, which waits for `done` under this lock, now holds the
      // last reference: the task and its exception die on the caller's
      // thread after it has read them, never here while it still does.
      // (Dropped later on this thread, ThreadSanitizer reported a race on
      // the exception's message, whose count lives in uninstrumented
      // libstdc++.)
      t.reset();
    }
    done_cv_.notify_all();
  }
}

void Mailbox::wait(int timeout_ms) {
  pollfd p{eventfd_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) > 0) {
    uint64_t count = 0;
    (void)!read(eventfd_, &count, sizeof count);
  }
  run_pending();
}

void Mailbox::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  for (auto& t : queue_) {
    t->error = std::make_exception_ptr(VmStopped());
    t->done = true;
  }
  queue_.clear();
  pending_.store(false, std::memory_order_release);
  done_cv_.notify_all();
}

void Mailbox::prepare(PollSet& set) {
  poll_index_ = set.add(eventfd_, POLLIN);
}

void Mailbox::dispatch(const PollSet& set) {
  if ((set.revents(poll_index_) & POLLIN) != 0) {
    uint64_t count = 0;
    (void)!read(eventfd_, &count, sizeof count);
  }
}

}  // namespace vessel
