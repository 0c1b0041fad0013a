#include "vm/console.hpp"

#include <algorithm>

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "base/preopen.hpp"
#include "base/safe_file.hpp"

namespace vessel {

namespace {
constexpr char kEscape = 0x01;  // Ctrl-a
}

Console::Console(Input input) : output_hash_(XXH3_createState()) {
  XXH3_64bits_reset(output_hash_);
  if (input == Input::kNone) {
    input_open_ = false;
    return;
  }
  if (isatty(STDIN_FILENO) != 0 && tcgetattr(STDIN_FILENO, &saved_) == 0) {
    termios raw = saved_;
    cfmakeraw(&raw);
    raw.c_oflag |= OPOST | ONLCR;  // keep "\n" -> "\r\n" on output
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) raw_mode_ = true;
  }
}

Console::Console(const std::string& log_path) : output_hash_(XXH3_createState()) {
  XXH3_64bits_reset(output_hash_);
  // Truncated if it exists, as QEMU's `-serial file:` does, but never through
  // a symlink, never a device or FIFO, never a file with other hard links;
  // created 0600 (base/safe_file.hpp).
  // `vessel receive` opened it before locking itself down (base/preopen.hpp).
  UniqueFd kept = preopen::take(preopen::log_key(log_path));
  out_fd_ = kept.valid() ? kept.release() : open_log_file(log_path).release();
  input_open_ = false;
}

Console::~Console() {
  flush();
  if (raw_mode_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  if (out_fd_ != STDOUT_FILENO) close(out_fd_);
  XXH3_freeState(output_hash_);
}

uint64_t Console::output_digest() const {
  return XXH3_64bits_digest(output_hash_);
}

void Console::restart_output_digest() {
  flush();
  XXH3_64bits_reset(output_hash_);
  output_bytes_ = 0;
  shown_bytes_ = 0;
}

void Console::flush() {
  XXH3_64bits_update(output_hash_, out_.data(), out_.size());
  // Bytes the guest writes again after a rewind were shown already.
  size_t done = 0;
  if (output_bytes_ < shown_bytes_) {
    done = static_cast<size_t>(std::min<uint64_t>(shown_bytes_ - output_bytes_, out_.size()));
  }
  output_bytes_ += out_.size();
  shown_bytes_ = std::max(shown_bytes_, output_bytes_);
  while (done < out_.size()) {
    const ssize_t n = write(out_fd_, out_.data() + done, out_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // stdout gone: drop output rather than stall the guest
    done += static_cast<size_t>(n);
  }
  out_.clear();
}

Console::Mark Console::mark() {
  flush();
  Mark m;
  m.hash = std::shared_ptr<XXH3_state_t>(XXH3_createState(), XXH3_freeState);
  XXH3_copyState(m.hash.get(), output_hash_);
  m.bytes = output_bytes_;
  return m;
}

void Console::rewind(const Mark& m) {
  flush();
  XXH3_copyState(output_hash_, m.hash.get());
  output_bytes_ = m.bytes;
}

void Console::prepare(PollSet& set) {
  poll_index_ = -1;
  if (input_open_ && pending_in_.size() < kMaxPendingInput) {
    poll_index_ = set.add(STDIN_FILENO, POLLIN);
  }
}

void Console::dispatch(const PollSet& set) {
  if (poll_index_ >= 0 && (set.revents(poll_index_) & (POLLIN | POLLHUP | POLLERR)) != 0) {
    read_available();
  }
}

void Console::read_available() {
  char buf[256];
  const ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
  if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
    input_open_ = false;
    return;
  }
  for (ssize_t i = 0; i < n; ++i) {
    const char c = buf[i];
    if (!raw_mode_) {
      pending_in_.push_back(c);
    } else if (escape_) {
      escape_ = false;
      if (c == 'x' || c == 'X') {
        quit_ = true;
      } else {
        pending_in_.push_back(c);  // Ctrl-a Ctrl-a, or Ctrl-a + anything else
      }
    } else if (c == kEscape) {
      escape_ = true;
    } else {
      pending_in_.push_back(c);
    }
  }
}

}  // namespace vessel
