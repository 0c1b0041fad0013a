#include "vm/host.hpp"

#include <memory>
#include <thread>
#include <vector>

#include "api/api_server.hpp"
#include "base/error.hpp"
#include "base/safe_file.hpp"
#include "base/sandbox.hpp"
#include "memory/host_memory.hpp"
#include "memory/page_store.hpp"
#include "vm/control.hpp"
#include "vm/machine.hpp"

namespace vessel {

int run_host(const HostOptions& options) {
  if (options.vms < 1 || options.vms > 64) fail("--vms {} is out of range: 1 to 64", options.vms);
  // Created 0700 if missing, refused if it is a symlink; each Console then
  // creates its log in it without following one (base/safe_file.hpp).
  (void)Directory::open(options.console_dir, /*create=*/true);
  std::unique_ptr<PageStore> store;
  if (options.config.page_sharing) store = std::make_unique<PageStore>();

  std::vector<std::unique_ptr<Machine>> machines;
  for (unsigned i = 0; i < options.vms; ++i) {
    MachineConfig config = options.config;
    config.console_log = fmt::format("{}/vm-{}.log", options.console_dir, i);
    machines.push_back(std::make_unique<Machine>(config));
    machines.back()->set_page_store(store.get());
  }
  std::vector<Machine*> raw;
  for (auto& m : machines) raw.push_back(m.get());
  VmControl control(raw, store.get());
  std::unique_ptr<api::ApiServer> server;
  if (!options.api_socket.empty()) {
    server = std::make_unique<api::ApiServer>(
        options.api_socket,
        [&](const api::Json& request, const api::Progress& progress) {
          return control.handle(request, progress);
        },
        api::ApiServer::Start::kLater);
  }
  // Every file is read or open now and no thread has started: lock down
  // (base/sandbox.hpp), then start the threads.
  for (auto& m : machines) m->load();
  keep_host_memory_files_open();
  sandbox::lock_down();
  if (server) server->start();
  spdlog::info("running {} VMs; consoles in {}/vm-N.log", options.vms, options.console_dir);

  std::vector<int> status(options.vms, 0);
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < options.vms; ++i) {
    threads.emplace_back([&, i] {
      try {
        status[i] = machines[i]->run().status;
      } catch (const Error& e) {
        spdlog::error("vm {}: {}", i, e.what());
        status[i] = 1;
      }
    });
  }
  // This thread only waits from now on; the VM thread's list covers it.
  sandbox::confine_thread(sandbox::Role::kVm);
  for (auto& t : threads) t.join();
  server.reset();
  int result = 0;
  for (unsigned i = 0; i < options.vms; ++i) {
    spdlog::info("vm {} exited with status {}", i, status[i]);
    if (result == 0) result = status[i];
  }
  return result;
}

}  // namespace vessel
