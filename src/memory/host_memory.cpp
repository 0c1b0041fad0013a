#include "memory/host_memory.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace vessel {

namespace {

// Reads "Name:   1234 kB" lines of a /proc file into the fields asked for.
struct Field {
  std::string_view name;
  uint64_t* bytes;
};

// Kept open by keep_host_memory_files_open(), else -1.
int g_status_fd = -1;
int g_rollup_fd = -1;
int g_meminfo_fd = -1;

// The whole of a /proc file kept open, read again from its start (seq_file
// makes it anew at offset 0).
std::string read_again(int fd) {
  std::string text;
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::pread(fd, buffer, sizeof(buffer), static_cast<off_t>(text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

void read_kb_fields(const char* path, int kept_fd, std::initializer_list<Field> fields) {
  std::istringstream kept;
  std::ifstream file;
  if (kept_fd >= 0) {
    kept.str(read_again(kept_fd));
  } else {
    file.open(path);
  }
  std::istream& in = kept_fd >= 0 ? static_cast<std::istream&>(kept) : file;
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string_view name(line.data(), colon);
    for (const Field& field : fields) {
      if (name != field.name) continue;
      std::istringstream value(line.substr(colon + 1));
      uint64_t kib = 0;
      if (value >> kib) *field.bytes = kib * 1024;
    }
  }
}

}  // namespace

HostMemoryUsage read_host_memory_usage() {
  HostMemoryUsage usage;
  read_kb_fields("/proc/self/status", g_status_fd,
                 {{"VmRSS", &usage.rss_bytes},
                  {"RssAnon", &usage.anon_bytes},
                  {"RssShmem", &usage.shmem_bytes}});
  // smaps_rollup sums every mapping's Pss in one read (smaps would list
  // thousands of shared-page mappings).
  read_kb_fields("/proc/self/smaps_rollup", g_rollup_fd, {{"Pss", &usage.pss_bytes}});
  return usage;
}

void keep_host_memory_files_open() {
  if (g_status_fd < 0) g_status_fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (g_rollup_fd < 0) g_rollup_fd = ::open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
  if (g_meminfo_fd < 0) g_meminfo_fd = ::open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
}

uint64_t host_available_memory() {
  uint64_t available = UINT64_MAX;
  // `vessel receive` asks once confined, with the file kept open.
  read_kb_fields("/proc/meminfo", g_meminfo_fd, {{"MemAvailable", &available}});
  return available;
}

}  // namespace vessel
