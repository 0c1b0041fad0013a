// Live migration: the pre-copy algorithm (Clark et al., "Live Migration of
// Virtual Machines", NSDI 2005) over vessel's own dirty tracking.
//
// The source sends all of memory while the guest runs, then in rounds the
// pages the guest dirtied meanwhile, until what is left can be sent within
// the downtime target; then it stops the guest, sends the rest and the state,
// and exits once the destination says it runs. Any failure before that
// leaves the source running as if nothing happened.
//
// Trust: the stream is TLS 1.3 (pre-shared key or certificates) unless both
// ends chose --insecure (migration_channel.hpp); the destination builds the
// VM from its own command line and only checks the source's description
// against it (migration_compat.hpp); it tells a refused source only
// "incompatible VM description" or that it failed, and logs the details.
// One migration per VM at a time: a second is refused while one runs.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>

#include "vm/machine.hpp"
#include "vm/migration_channel.hpp"
#include "vm/migration_compat.hpp"

namespace vessel {

struct MigrateOptions {
  std::string to;  // HOST:PORT
  uint64_t max_downtime_ms = 50;
  unsigned max_rounds = 30;  // then stop and copy whatever is left
  MigrationSecurity security;
};

// Runs on a thread other than the VM's (the control socket's); the VM keeps
// running between rounds. Returns figures; throws Error if the migration
// failed (the VM then continues on the source) or another migration of
// this VM is running.
nlohmann::json migrate_vm(Machine& vm, const MigrateOptions& options,
                          const std::function<void(const nlohmann::json&)>& progress);

struct ReceiveOptions {
  std::string listen;  // HOST:PORT
  DestinationVm vm;    // what this destination runs: its own devices
  MigrationSecurity security;
  double accept_timeout_seconds = 0;  // 0: wait for ever
};

// The destination: checks its own disks, waits for one incoming migration,
// checks that it fits, builds the VM. Throws Error (one line) if the VM does
// not fit or the stream fails; nothing of the VM remains.
std::unique_ptr<Machine> receive_vm(const ReceiveOptions& options);

// "HOST:PORT" → a resolved IPv4/IPv6 address; throws Error on a bad form.
struct HostPort {
  std::string host;
  std::string port;
};
HostPort parse_host_port(const std::string& text);

}  // namespace vessel
