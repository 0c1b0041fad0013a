// Errors that reach the user as one line: what failed and why.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <system_error>

namespace vessel {

// A user-facing error (bad option, missing file, unusable image). The CLI
// prints what() as a single line and exits non-zero; nothing else catches it.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// errno as text. std::strerror may share a buffer between threads; this does
// not.
inline std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

}  // namespace vessel
