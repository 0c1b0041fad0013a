// What the control socket does to VMs: the requests of `vessel ctl`
// (api/ctl_client.hpp) applied to the VMs of this process. Runs on the
// socket's threads; every touch of a VM goes through its mailbox.
#pragma once

#include <vector>

#include "api/api_server.hpp"
#include "base/crypto.hpp"
#include "vm/machine.hpp"

namespace vessel {

class VmControl {
 public:
  // `store` may be null (no page sharing); so may `attest_key` (no `attest`).
  VmControl(std::vector<Machine*> vms, PageStore* store,
            const crypto::Ed25519Key* attest_key = nullptr)
      : vms_(std::move(vms)), store_(store), attest_key_(attest_key) {}

  api::Json handle(const api::Json& request, const api::Progress& progress);

 private:
  // The VMs a request addresses: its "vm" index, or all of them.
  std::vector<unsigned> targets(const api::Json& request) const;
  // Exactly one VM: the one named, or the only one.
  unsigned one_target(const api::Json& request, const char* cmd) const;

  std::vector<Machine*> vms_;
  PageStore* store_;
  const crypto::Ed25519Key* attest_key_;
};

}  // namespace vessel
