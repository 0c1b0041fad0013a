// `vessel host`: several VMs in one process, each on its own thread, each
// with its own console log, one control socket for all of them, and one page
// store so identical pages across the VMs are kept once.
#pragma once

#include <string>

#include "vm/machine_config.hpp"

namespace vessel {

struct HostOptions {
  unsigned vms = 1;
  MachineConfig config;     // every VM gets this configuration
  std::string api_socket;   // empty: none
  std::string console_dir;  // vm-N.log files go here
};

// Runs the VMs until all have stopped; returns 0 if every VM ended with 0,
// else the first non-zero status.
int run_host(const HostOptions& options);

}  // namespace vessel
