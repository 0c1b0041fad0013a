// The VM's I/O event loop: everything host-side that a VM waits on (console
// input, network sockets, disk-completion eventfds) is a PollSource. The
// machine runs the loop between time slices without blocking, and blocks in
// it while every hart waits for an interrupt.
//
// Sources describe their file descriptors afresh on each iteration (the model
// libslirp's slirp_pollfds_fill/poll uses), and are prepared and dispatched
// on the VM's own thread, under the device lock when harts run on threads of
// their own (the lock is let go while the loop blocks).
#pragma once

#include <poll.h>

#include <cstdint>
#include <mutex>
#include <vector>

namespace vessel {

class PollSet {
 public:
  // Adds a descriptor to wait on; returns its index for revents().
  int add(int fd, short events) {
    fds_.push_back(pollfd{fd, events, 0});
    return static_cast<int>(fds_.size()) - 1;
  }
  short revents(int index) const {
    return index >= 0 && index < static_cast<int>(fds_.size()) ? fds_[index].revents : 0;
  }
  // Lowers the time the loop may block (milliseconds; never raises it).
  void limit_timeout(int64_t ms) {
    if (ms >= 0 && (timeout_ms_ < 0 || ms < timeout_ms_)) timeout_ms_ = ms;
  }

 private:
  friend class EventLoop;
  std::vector<pollfd> fds_;
  int64_t timeout_ms_ = -1;
};

class PollSource {
 public:
  virtual ~PollSource() = default;
  virtual void prepare(PollSet& set) = 0;
  virtual void dispatch(const PollSet& set) = 0;
};

// Wakes the loop from another thread (a hart ending the run).
class WakeEvent final : public PollSource {
 public:
  WakeEvent();
  ~WakeEvent() override;
  WakeEvent(const WakeEvent&) = delete;
  WakeEvent& operator=(const WakeEvent&) = delete;
  void wake();
  void prepare(PollSet& set) override;
  void dispatch(const PollSet& set) override;

 private:
  int fd_ = -1;
  int index_ = -1;
};

class EventLoop {
 public:
  void add(PollSource* source) { sources_.push_back(source); }
  void remove(PollSource* source);

  // One iteration: prepare every source, poll for at most `timeout_ms`
  // (0: don't block), dispatch every source. With `lock`, sources are
  // prepared and dispatched holding it, and the poll runs without it.
  void run_once(int64_t timeout_ms, std::mutex* lock = nullptr);

 private:
  std::vector<PollSource*> sources_;
  PollSet set_;
};

}  // namespace vessel
