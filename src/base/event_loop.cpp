#include "base/event_loop.hpp"

#include <algorithm>
#include <cerrno>

namespace vessel {

void EventLoop::remove(PollSource* source) {
  sources_.erase(std::remove(sources_.begin(), sources_.end(), source), sources_.end());
}

void EventLoop::run_once(int64_t timeout_ms) {
  set_.fds_.clear();
  set_.timeout_ms_ = timeout_ms;
  for (PollSource* s : sources_) s->prepare(set_);
  const int64_t wait = set_.timeout_ms_ < 0 ? -1 : std::min<int64_t>(set_.timeout_ms_, 1000);
  int n = ::poll(set_.fds_.data(), set_.fds_.size(), static_cast<int>(wait));
  if (n < 0) {
    // EINTR (a signal the run loop will look at) or a bad descriptor a
    // source will notice itself: report no events this time.
    for (pollfd& p : set_.fds_) p.revents = 0;
  }
  for (PollSource* s : sources_) s->dispatch(set_);
}

}  // namespace vessel
