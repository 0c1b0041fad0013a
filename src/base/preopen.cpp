#include "base/preopen.hpp"

#include <map>
#include <mutex>

namespace vessel::preopen {

namespace {

std::mutex g_mutex;
std::multimap<std::string, UniqueFd> g_files;

}  // namespace

void keep(const std::string& key, UniqueFd fd) {
  std::lock_guard lock(g_mutex);
  g_files.emplace(key, std::move(fd));
}

UniqueFd take(const std::string& key) {
  std::lock_guard lock(g_mutex);
  auto it = g_files.find(key);
  if (it == g_files.end()) return UniqueFd();
  UniqueFd fd = std::move(it->second);
  g_files.erase(it);
  return fd;
}

void clear() {
  std::lock_guard lock(g_mutex);
  g_files.clear();
}

std::string disk_key(const std::string& path, bool read_only) {
  return (read_only ? "disk-ro:" : "disk-rw:") + path;
}

std::string log_key(const std::string& path) {
  return "log:" + path;
}

std::string tap_key(const std::string& name) {
  return "tap:" + name;
}

}  // namespace vessel::preopen
