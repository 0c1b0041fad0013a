// How much host memory this vessel process uses, as the kernel counts it.
#pragma once

#include <cstdint>

namespace vessel {

struct HostMemoryUsage {
  uint64_t rss_bytes = 0;    // VmRSS: every resident page mapped, once per mapping
  uint64_t pss_bytes = 0;    // Pss: each page divided among the mappings sharing it
  uint64_t anon_bytes = 0;   // RssAnon: private guest pages and the heap
  uint64_t shmem_bytes = 0;  // RssShmem: page-store pages mapped by guests
};

// PSS is the figure that shows page sharing: RSS counts a page once per
// mapping, so a page that 8 VMs share through the page store counts 8 times
// and sharing seems to save nothing; PSS charges each mapping 1/8 of it, so
// the process's PSS counts it once. Fields the kernel does not report read 0.
HostMemoryUsage read_host_memory_usage();
// Opens /proc/self/status, /proc/self/smaps_rollup and /proc/meminfo once,
// for read_host_memory_usage() and host_available_memory() to read again later: inside a --jail,
// where /proc is not to be found, and without letting the sandboxed process open files
// (base/sandbox.hpp). Call before the sandbox locks the process down.
void keep_host_memory_files_open();

// What the host can still give (MemAvailable in /proc/meminfo): the largest
// guest vessel accepts (--mem, an incoming migration). UINT64_MAX if unknown.
uint64_t host_available_memory();

}  // namespace vessel
