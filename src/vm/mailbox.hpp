// Work handed to a VM's thread from other threads (the control socket, a
// migration sender). A VM's parts are touched only by its own thread, so
// anything from outside (set the balloon, take a snapshot, read statistics)
// is posted here and run by the VM between time slices, while no hart runs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>

#include "base/error.hpp"
#include "base/event_loop.hpp"

namespace vessel {

// The VM a task was meant for has stopped (or stops before running it).
class VmStopped : public Error {
 public:
  VmStopped() : Error("the VM has stopped") {}
};

class Mailbox final : public PollSource {
 public:
  Mailbox();
  ~Mailbox() override;
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Runs `task` on the VM thread and waits for it; an exception it throws
  // is rethrown here. Throws VmStopped if the VM has stopped (or stops
  // before running it). Must not be called from the VM thread itself.
  void call(std::function<void()> task);

  // VM thread: runs every task posted so far. Cheap when there is none.
  void run_pending() {
    if (pending_.load(std::memory_order_acquire)) run_all();
  }
  bool has_pending() const { return pending_.load(std::memory_order_acquire); }
  // VM thread, while paused: sleeps until a task arrives or `timeout_ms`.
  void wait(int timeout_ms);
  // VM thread, at exit: refuses new tasks and fails the queued ones.
  void close();

  // PollSource: an eventfd wakes the VM thread when it sleeps in WFI.
  void prepare(PollSet& set) override;
  void dispatch(const PollSet& set) override;

 private:
  struct Task {
    std::function<void()> fn;
    std::exception_ptr error;
    bool done = false;
  };
  void run_all();

  std::mutex mutex_;
  std::condition_variable done_cv_;
  std::deque<std::shared_ptr<Task>> queue_;
  std::atomic<bool> pending_{false};
  bool closed_ = false;
  int eventfd_ = -1;
  int poll_index_ = -1;
};

}  // namespace vessel
