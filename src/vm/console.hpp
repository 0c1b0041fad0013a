// The host side of the guest console: the terminal (or pipes) vessel runs in.
//
// Output is buffered and flushed by the run loop. When stdin is a terminal it
// is put in raw mode (restored on exit) and Ctrl-a x quits, as in QEMU;
// Ctrl-a Ctrl-a sends a literal Ctrl-a. Otherwise input passes through as is.
#pragma once

#include <termios.h>

#include <cstdint>
#include <string>

namespace vessel {

class Console {
 public:
  Console();
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  void put(uint8_t byte) { out_.push_back(static_cast<char>(byte)); }
  void flush();

  // Reads whatever input is available without blocking and hands each guest
  // byte to `sink`, which returns false when it has no room (the rest stays
  // queued here). Returns false once the user asked to quit.
  template <typename Sink>
  bool pump_input(Sink&& sink);

  // The stdin file descriptor to wait on, or -1 after end of input.
  int input_fd() const { return input_open_ ? 0 : -1; }
  bool quit_requested() const { return quit_; }

 private:
  void read_available();

  std::string out_;
  std::string pending_in_;  // guest input not yet accepted by the device
  bool raw_mode_ = false;
  bool input_open_ = true;
  bool escape_ = false;
  bool quit_ = false;
  termios saved_{};
};

template <typename Sink>
bool Console::pump_input(Sink&& sink) {
  if (pending_in_.empty() && input_open_) read_available();
  size_t used = 0;
  while (used < pending_in_.size() && sink(static_cast<uint8_t>(pending_in_[used]))) ++used;
  pending_in_.erase(0, used);
  return !quit_;
}

}  // namespace vessel
