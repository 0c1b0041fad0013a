#include "base/event_loop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/error.hpp"

namespace vessel {

void EventLoop::remove(PollSource* source) {
  sources_.erase(std::remove(sources_.begin(), sources_.end(), source), sources_.end());
}

void EventLoop::run_once(int64_t timeout_ms, std::mutex* lock) {
  std::unique_lock<std::mutex> held;
  if (lock != nullptr) held = std::unique_lock(*lock);
  set_.fds_.clear();
  set_.timeout_ms_ = timeout_ms;
  for (PollSource* s : sources_) s->prepare(set_);
  const int64_t wait = set_.timeout_ms_ < 0 ? -1 : std::min<int64_t>(set_.timeout_ms_, 1000);
  if (held.owns_lock()) held.unlock();
  int n = ::poll(set_.fds_.data(), set_.fds_.size(), static_cast<int>(wait));
  if (lock != nullptr) held.lock();
  if (n < 0) {
    // EINTR (a signal the run loop will look at) or a bad descriptor a
    // source will notice itself: report no events this time.
    for (pollfd& p : set_.fds_) p.revents = 0;
  }
  for (PollSource* s : sources_) s->dispatch(set_);
}

WakeEvent::WakeEvent() {
  fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd_ < 0) fail("cannot create an eventfd: {}", std::strerror(errno));
}

WakeEvent::~WakeEvent() {
  ::close(fd_);
}

void WakeEvent::wake() {
  const uint64_t one = 1;
  (void)!write(fd_, &one, sizeof one);  // EAGAIN: it is awake already
}

void WakeEvent::prepare(PollSet& set) {
  index_ = set.add(fd_, POLLIN);
}

void WakeEvent::dispatch(const PollSet& set) {
  if ((set.revents(index_) & POLLIN) == 0) return;
  uint64_t count = 0;
  (void)!read(fd_, &count, sizeof count);
}

}  // namespace vessel
