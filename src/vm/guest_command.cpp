#include "vm/guest_command.hpp"

#include <cstdlib>
#include <filesystem>

#include "base/error.hpp"

namespace vessel {

namespace {

std::string cache_dir() {
  if (const char* dir = std::getenv("VESSEL_CACHE"); dir != nullptr && *dir != '\0') return dir;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/root") + "/.cache/vessel";
}

std::string shell_quote(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789_-./=:,+@%") == std::string::npos) {
    return word;
  }
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string base64(const std::string& in) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(in[i]) << 16) |
                       (static_cast<uint8_t>(in[i + 1]) << 8) | static_cast<uint8_t>(in[i + 2]);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace

DefaultGuest find_default_guest() {
  const std::string dir = cache_dir();
  DefaultGuest g{dir + "/Image", dir + "/initramfs.cpio.gz"};
  if (!std::filesystem::exists(g.kernel) || !std::filesystem::exists(g.initrd)) {
    fail("the default guest is not built in {} (run 'make guest', or give --kernel)", dir);
  }
  return g;
}

std::string default_cmdline(bool virtio_console) {
  // The default kernel also has the SBI console, which always takes hvc0,
  // so virtio-console's port is hvc1.
  return virtio_console ? "console=hvc1 quiet" : "console=ttyS0 quiet";
}

std::string encode_guest_command(const std::vector<std::string>& words) {
  std::string command;
  for (const auto& w : words) {
    if (!command.empty()) command += ' ';
    command += shell_quote(w);
  }
  return "vessel.cmd=" + base64(command);
}

}  // namespace vessel
