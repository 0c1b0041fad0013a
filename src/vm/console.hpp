// The host side of the guest console: the terminal (or pipes) vessel runs in.
//
// Output is buffered and flushed by the run loop. When stdin is a terminal it
// is put in raw mode (restored on exit) and Ctrl-a x quits, as in QEMU;
// Ctrl-a Ctrl-a sends a literal Ctrl-a. Otherwise input passes through as is.
#pragma once

#include <termios.h>
#include <xxhash.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/event_loop.hpp"

namespace vessel {

class Console final : public PollSource {
 public:
  enum class Input { kTerminal, kNone };
  // The terminal: output to stdout, input from stdin (kNone: no input, and
  // the terminal is left as it is; a replay).
  explicit Console(Input input = Input::kTerminal);
  // A console log (vessel host): output to `log_path`, no input. An
  // existing file is truncated; a symlink or special file there is refused.
  explicit Console(const std::string& log_path);
  ~Console() override;
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  void put(uint8_t byte) { out_.push_back(static_cast<char>(byte)); }
  void flush();
  // What was flushed so far: a hash of the bytes (XXH3, the same however
  // they were split into flushes) and their number. Record/replay compares it.
  uint64_t output_digest() const;
  uint64_t output_bytes() const { return output_bytes_; }
  // Counts and hashes from zero again (flushed first): a recording started
  // on a running VM compares only what the guest writes from then on.
  void restart_output_digest();

  // Hands queued input to `sink` byte by byte; `sink` returns false when it
  // has no room (the rest stays queued here). Input arrives through the
  // event loop (prepare/dispatch).
  template <typename Sink>
  void pump_input(Sink&& sink);
  // The same for a device that takes input in blocks: `sink` gets all queued
  // input and returns how many bytes it took.
  template <typename Sink>
  void pump_input_block(Sink&& sink);

  bool quit_requested() const { return quit_; }

  // Reverse debugging (vm/replay_history.hpp): the output so far, to come
  // back to. After rewind() the guest writes again what it wrote before;
  // those bytes are hashed again but not shown a second time.
  struct Mark {
    std::shared_ptr<XXH3_state_t> hash;
    uint64_t bytes = 0;
  };
  Mark mark();  // flushes first
  void rewind(const Mark& m);

  void prepare(PollSet& set) override;
  void dispatch(const PollSet& set) override;

 private:
  static constexpr size_t kMaxPendingInput = size_t{64} * 1024;  // stop reading when the guest lags
  void read_available();
  int poll_index_ = -1;
  int out_fd_ = 1;  // stdout, or the log file

  std::string out_;
  XXH3_state_t* output_hash_ = nullptr;
  uint64_t output_bytes_ = 0;
  uint64_t shown_bytes_ = 0;  // the most ever written out (more than output_bytes_ after a rewind)
  std::string pending_in_;    // guest input not yet accepted by the device
  bool raw_mode_ = false;
  bool input_open_ = true;
  bool escape_ = false;
  bool quit_ = false;
  termios saved_{};
};

template <typename Sink>
void Console::pump_input(Sink&& sink) {
  size_t used = 0;
  while (used < pending_in_.size() && sink(static_cast<uint8_t>(pending_in_[used]))) ++used;
  pending_in_.erase(0, used);
}

template <typename Sink>
void Console::pump_input_block(Sink&& sink) {
  if (pending_in_.empty()) return;
  const size_t used = sink(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(pending_in_.data()), pending_in_.size()));
  pending_in_.erase(0, used);
}

}  // namespace vessel
