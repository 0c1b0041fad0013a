#include "vm/control.hpp"

#include <chrono>
#include <future>

#include "base/error.hpp"
#include "devices/virtio/balloon.hpp"
#include "memory/host_memory.hpp"
#include "memory/page_scanner.hpp"
#include "memory/page_store.hpp"
#include "vm/attestation.hpp"
#include "vm/journal.hpp"
#include "vm/migration.hpp"
#include "vm/record_replay.hpp"
#include "vm/snapshot.hpp"

namespace vessel {

namespace {

template <typename T>
T field(const api::Json& request, const char* key) {
  if (!request.contains(key)) fail("'{}' is missing", key);
  try {
    return request.at(key).get<T>();
  } catch (const api::Json::exception&) {
    fail("'{}' has the wrong type", key);
  }
}

}  // namespace

std::vector<unsigned> VmControl::targets(const api::Json& request) const {
  if (!request.contains("vm")) {
    std::vector<unsigned> all(vms_.size());
    for (unsigned i = 0; i < vms_.size(); ++i) all[i] = i;
    return all;
  }
  const auto vm = field<int64_t>(request, "vm");
  if (vm < 0 || static_cast<uint64_t>(vm) >= vms_.size()) {
    fail("no VM {} (this process has {}: 0 to {})", vm, vms_.size(), vms_.size() - 1);
  }
  return {static_cast<unsigned>(vm)};
}

unsigned VmControl::one_target(const api::Json& request, const char* cmd) const {
  const std::vector<unsigned> t = targets(request);
  if (t.size() != 1) fail("{} needs one VM: add --vm N", cmd);
  return t[0];
}

api::Json VmControl::handle(const api::Json& request, const api::Progress& progress) {
  const std::string cmd = field<std::string>(request, "cmd");
  api::Json result = api::Json::object();

  if (cmd == "list" || cmd == "stats") {
    api::Json vms = api::Json::array();
    uint64_t zero_now = 0;  // zero pages the VMs' scanners hold given back
    for (unsigned i : targets(request)) {
      api::Json entry;
      try {
        vms_[i]->mailbox().call([&] {
          if (cmd != "stats") return;
          entry = vms_[i]->stats();
          // Ask the guest for fresh figures; they arrive for the next request.
          if (vms_[i]->balloon() != nullptr) vms_[i]->balloon()->request_stats();
        });
        entry["running"] = true;
        if (entry.contains("sharing")) {
          zero_now += entry["sharing"]["zero_pages_now"].get<uint64_t>();
        }
      } catch (const Error&) {
        entry["running"] = false;  // it has stopped; its figures are gone
      }
      entry["vm"] = i;
      vms.push_back(entry);
    }
    result["vms"] = vms;
    if (cmd == "stats") {
      const HostMemoryUsage usage = read_host_memory_usage();
      result["host"] = {{"rss_bytes", usage.rss_bytes},
                        {"pss_bytes", usage.pss_bytes},
                        {"anon_bytes", usage.anon_bytes},
                        {"shmem_bytes", usage.shmem_bytes}};
      if (store_ != nullptr) {
        const PageStoreStats st = store_->stats();
        result["page_store"] = {{"pages_stored", st.pages_stored},
                                {"references", st.references},
                                {"pages_saved", st.pages_saved},
                                {"bytes_saved", st.pages_saved * PageStore::kPageSize},
                                {"hints", st.hints},
                                {"reference_limit", st.reference_limit}};
        // What page sharing gives back, counted as ESX does: the pages shared
        // away (references beyond one per stored page) plus the zero pages
        // released (sharing.zero_pages_now of the running VMs).
        const uint64_t saved = st.pages_saved + zero_now;
        result["saved"] = {{"shared_pages", st.pages_saved},
                           {"zero_pages", zero_now},
                           {"pages", saved},
                           {"bytes", saved * PageStore::kPageSize}};
      }
    }
    return result;
  }
  if (cmd == "balloon") {
    const auto bytes = field<uint64_t>(request, "bytes");
    for (unsigned i : targets(request)) {
      vms_[i]->mailbox().call([&] {
        if (vms_[i]->balloon() == nullptr)
          fail("VM {} has no balloon (start it with --balloon)", i);
        if (bytes > vms_[i]->memory().size()) fail("the balloon cannot exceed the VM's memory");
        vms_[i]->balloon()->set_target_bytes(bytes);
      });
    }
    result["message"] = fmt::format("balloon target set to {} MiB", bytes >> 20);
    return result;
  }
  if (cmd == "sharing") {
    const bool enabled = field<bool>(request, "enabled");
    for (unsigned i : targets(request)) {
      vms_[i]->mailbox().call([&] {
        PageScanner* scanner = vms_[i]->page_scanner();
        if (scanner == nullptr)
          fail("VM {} runs without page sharing (start it with --share-pages)", i);
        scanner->set_enabled(enabled);
        if (request.contains("pages_per_second")) {
          scanner->set_rate(field<uint64_t>(request, "pages_per_second"));
        }
      });
    }
    result["message"] = enabled ? "page sharing on" : "page sharing off";
    return result;
  }
  if (cmd == "snapshot") {
    const unsigned i = one_target(request, "snapshot");
    const auto dir = field<std::string>(request, "dir");
    const bool stop = request.value("stop", false);
    vms_[i]->mailbox().call([&] {
      result = take_snapshot(*vms_[i], dir);
      if (stop) vms_[i]->stop_with(0, "stopped after the snapshot");
    });
    return result;
  }
  if (cmd == "record") {
    const unsigned i = one_target(request, "record");
    const auto action = field<std::string>(request, "action");
    if (action == "start") {
      const auto dir = field<std::string>(request, "dir");
      vms_[i]->mailbox().call([&] { result = start_recording_live(*vms_[i], dir); });
      return result;
    }
    if (action != "stop") fail("record: expected start or stop, got '{}'", action);
    // The log ends at the VM's next stop; the reply waits for it. Shared:
    // the VM thread may answer after this request gave up.
    auto stopped = std::make_shared<std::promise<uint64_t>>();
    std::future<uint64_t> done = stopped->get_future();
    Machine* vm = vms_[i];
    vm->mailbox().call([&] {
      stop_recording_live(*vm, [stopped, vm] { stopped->set_value(vm->instructions()); });
    });
    if (done.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      fail("the recording did not reach a stop within 30 s");
    }
    const uint64_t at = done.get();
    result["stopped_at"] = at;
    result["message"] = fmt::format("recording stopped at instruction {}", at);
    return result;
  }
  if (cmd == "migrate") {
    const unsigned i = one_target(request, "migrate");
    // The replay could not follow the VM to another host.
    vms_[i]->mailbox().call([&] {
      if (vms_[i]->journal() != nullptr && vms_[i]->journal()->recording()) {
        fail("VM {} is being recorded; `record stop` before migrating it", i);
      }
    });
    MigrateOptions options;
    options.to = field<std::string>(request, "to");
    options.max_downtime_ms = request.value("max_downtime_ms", uint64_t{50});
    options.security = migration_security_from_request(request);
    return migrate_vm(*vms_[i], options, [&](const nlohmann::json& p) { progress(p); });
  }
  if (cmd == "attest") {
    const unsigned i = one_target(request, "attest");
    const std::string nonce = request.contains("nonce") ? field<std::string>(request, "nonce") : "";
    check_nonce(nonce);
    if (attest_key_ == nullptr) fail("no attestation key: start vessel with --attest-key FILE");
    // Read on the VM thread: the digest is made while the guest is loaded.
    std::optional<Sha256Digest> digest;
    vms_[i]->mailbox().call([&] { digest = vms_[i]->launch_digest(); });
    if (!digest) fail("VM {} has no launch digest (it was not launched with --measure)", i);
    return make_quote(*digest, nonce, *attest_key_);
  }
  if (cmd == "pause" || cmd == "resume" || cmd == "quit") {
    const bool all = !request.contains("vm");
    for (unsigned i : targets(request)) {
      try {
        vms_[i]->mailbox().call([&] {
          if (cmd == "pause") vms_[i]->pause();
          if (cmd == "resume") vms_[i]->resume();
          if (cmd == "quit") vms_[i]->stop_with(0, "quit requested through the control socket");
        });
      } catch (const VmStopped&) {
        // Addressed to all: the VMs that already stopped need nothing.
        if (!all) throw;
      }
    }
    result["message"] = cmd == "pause" ? "paused" : cmd == "resume" ? "resumed" : "stopped";
    return result;
  }
  fail("unknown command '{}'", cmd);
}

}  // namespace vessel
