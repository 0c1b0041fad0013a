// Live migration: the pre-copy algorithm (Clark et al., "Live Migration of
// Virtual Machines", NSDI 2005) over vessel's own dirty tracking.
//
// The source sends all of memory while the guest runs, then in rounds the
// pages the guest dirtied meanwhile, until what is left can be sent within
// the downtime target; then it stops the guest, sends the rest and the state,
// and exits once the destination says it runs. Any failure before that
// leaves the source running as if nothing happened.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>

#include "vm/machine.hpp"

namespace vessel {

struct MigrateOptions {
  std::string to;  // HOST:PORT
  uint64_t max_downtime_ms = 50;
  unsigned max_rounds = 30;  // then stop and copy whatever is left
};

// Runs on a thread other than the VM's (the control socket's); the VM keeps
// running between rounds. Returns figures; throws Error if the migration
// failed (the VM then continues on the source).
nlohmann::json migrate_vm(Machine& vm, const MigrateOptions& options,
                          const std::function<void(const nlohmann::json&)>& progress);

struct ReceiveOptions {
  std::string listen;  // HOST:PORT
  std::string console_log;
  double accept_timeout_seconds = 0;  // 0: wait for ever
};

// The destination: waits for one incoming migration, builds the VM from it.
// Throws Error (one line) if the stream fails; nothing of the VM remains.
std::unique_ptr<Machine> receive_vm(const ReceiveOptions& options);

// "HOST:PORT" → a resolved IPv4/IPv6 address; throws Error on a bad form.
struct HostPort {
  std::string host;
  std::string port;
};
HostPort parse_host_port(const std::string& text);

}  // namespace vessel
