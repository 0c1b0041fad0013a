#include "user/strace.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <signal.h>

#include <cstring>

#include <fmt/format.h>

#include "user/process.hpp"

namespace vessel::user {

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  const size_t shown = std::min<size_t>(s.size(), 64);
  for (size_t i = 0; i < shown; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 32 || c >= 127) {
          out += fmt::format("\\{:o}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  if (s.size() > shown) out += "...";
  return out;
}

std::string format_arg(Thread& t, char kind, uint64_t v) {
  switch (kind) {
    case 'd': return fmt::format("{}", static_cast<int64_t>(v));
    case 'u': return fmt::format("{}", v);
    case 'o': return fmt::format("0{:o}", v);
    case 'x': return fmt::format("{:#x}", v);
    case 'f':
      if (static_cast<int>(v) == AT_FDCWD) return "AT_FDCWD";
      return fmt::format("{}", static_cast<int>(v));
    case 's': {
      if (v == 0) return "NULL";
      std::string s;
      if (t.space().read_string(v, 4096, s) != 0) return fmt::format("{:#x}", v);
      return quoted(s);
    }
    default: return v == 0 ? "NULL" : fmt::format("{:#x}", v);
  }
}

}  // namespace

std::string strace_result(int64_t result) {
  if (result == kNoResult) return "?";
  if (result < 0 && result >= -4095) {
    const int err = static_cast<int>(-result);
    const char* name = strerrorname_np(err);
    return fmt::format("-1 {} ({})", name != nullptr ? name : "E?", strerrordesc_np(err));
  }
  return fmt::format("{}", result);
}

StraceLine strace_begin(Thread& t, uint64_t number, const SyscallInfo* info,
                        const SyscallArgs& args) {
  StraceLine line;
  if (info == nullptr || info->name == nullptr) {
    line.text =
        fmt::format("syscall_{}({:#x}, {:#x}, {:#x}", number, args.a[0], args.a[1], args.a[2]);
    return line;
  }
  line.text = fmt::format("{}(", info->name);
  const std::string_view name = info->name;
  line.hex_result = name == "mmap" || name == "brk" || name == "mremap";
  const size_t n = std::strlen(info->args);
  for (size_t i = 0; i < n && i < 6; ++i) {
    if (i != 0) line.text += ", ";
    line.text += format_arg(t, info->args[i], args.a[i]);
  }
  return line;
}

namespace {
void put(const std::string& text) {
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
}
std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("SIG{}", sig);
}
}  // namespace

void strace_signal(int sig, int code, uint64_t addr) {
  const std::string name = signal_name(sig);
  put(fmt::format("--- {} {{si_signo={}, si_code={}, si_addr={:#x}}} ---\n", name, name, code,
                  addr));
}

void strace_exit(int status) {
  put(fmt::format("+++ exited with {} +++\n", status & 0xff));
}

void strace_killed(int sig) {
  put(fmt::format("+++ killed by {} +++\n", signal_name(sig)));
}

void strace_end(StraceLine& line, int64_t result) {
  if (line.printed) return;
  line.printed = true;
  const bool hex = line.hex_result && (result >= 0 || result < -4095);
  const std::string text =
      hex ? fmt::format("{}) = {:#x}\n", line.text, static_cast<uint64_t>(result))
          : fmt::format("{}) = {}\n", line.text, strace_result(result));
  // One write, so that lines of several processes do not interleave.
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
}

}  // namespace vessel::user
