#include "memory/host_memory.hpp"

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

void read_kb_fields(const char* path, std::initializer_list<Field> fields) {
  std::ifstream in(path);
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
  read_kb_fields("/proc/self/status", {{"VmRSS", &usage.rss_bytes},
                                       {"RssAnon", &usage.anon_bytes},
                                       {"RssShmem", &usage.shmem_bytes}});
  // smaps_rollup sums every mapping's Pss in one read (smaps would list
  // thousands of shared-page mappings).
  read_kb_fields("/proc/self/smaps_rollup", {{"Pss", &usage.pss_bytes}});
  return usage;
}

uint64_t host_available_memory() {
  uint64_t available = UINT64_MAX;
  read_kb_fields("/proc/meminfo", {{"MemAvailable", &available}});
  return available;
}

}  // namespace vessel
