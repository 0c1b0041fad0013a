#include "vm/record_replay.hpp"

#include "base/error.hpp"
#include "base/safe_file.hpp"
#include "vm/elf_loader.hpp"
#include "vm/snapshot.hpp"

namespace vessel {

void check_record_dir(const std::string& dir) {
  if (dir.empty()) fail("--record needs a directory");
  const Directory d = Directory::open(dir, /*create=*/true);
  if (!d.entries().empty()) {
    fail("record directory {} is not empty; use a new or empty directory", dir);
  }
}

void start_recording(Machine& vm, Journal& journal, const std::string& dir) {
  const Directory d = Directory::open(dir, /*create=*/false);
  if (!d.entries().empty()) {
    fail("record directory {} is not empty; use a new or empty directory", dir);
  }
  take_snapshot(vm, d.path_of("start"));
  journal.watch_memory(vm.memory());
  UniqueFd fd = open_log_file(d, "log.bin");
  journal.start_recording(std::make_unique<replay::LogWriter>(
      fd.release(), d.path_of("log.bin"), journal.header(vm.config().max_instructions)));
  spdlog::info("recording into {}", dir);
}

nlohmann::json start_recording_live(Machine& vm, const std::string& dir) {
  Journal* journal = vm.journal();
  if (vm.debugged()) {
    // gdb may write guest memory and registers, inputs no log holds.
    fail(
        "a VM under the gdb stub (--gdb) cannot be recorded; record with `vessel run --record "
        "DIR` and debug the replay with `vessel replay DIR --gdb PORT`");
  }
  if (journal == nullptr || journal->replaying()) {
    fail("this VM cannot be recorded: only `vessel run --api-socket` can start a recording");
  }
  if (journal->recording()) fail("this VM is being recorded already; `record stop` first");
  if (vm.paused()) fail("the VM is paused; resume it first");
  check_record_dir(dir);
  // A VM with a host thread per hart goes over to the round-robin scheduler.
  vm.begin_deterministic();
  const uint64_t start = vm.instructions();
  try {
    const Directory d = Directory::open(dir, /*create=*/false);
    take_snapshot(vm, d.path_of("start"));
    UniqueFd fd = open_log_file(d, "log.bin");
    journal->start_recording(
        std::make_unique<replay::LogWriter>(fd.release(), d.path_of("log.bin"),
                                            journal->header(vm.config().max_instructions, start)),
        start);
    journal->watch_memory(vm.memory());
  } catch (...) {
    vm.end_deterministic();
    throw;
  }
  // What the replay compares starts here, as its console does.
  vm.restart_console_digest();
  spdlog::info("recording into {} from instruction {}", dir, start);
  return {{"dir", dir},
          {"start_instructions", start},
          {"message", fmt::format("recording into {} from instruction {}", dir, start)}};
}

void stop_recording_live(Machine& vm, std::function<void()> on_stopped) {
  Journal* journal = vm.journal();
  if (journal == nullptr || !journal->recording()) fail("this VM is not being recorded");
  if (journal->stop_pending()) fail("the recording is stopping already");
  if (vm.paused()) fail("the VM is paused; resume it first (the log ends at its next stop)");
  journal->stop_recording([&vm, done = std::move(on_stopped)] {
    vm.end_deterministic();
    done();
  });
}

std::unique_ptr<Journal> open_replay(const std::string& dir, std::optional<Perturb> perturb) {
  const std::string path = dir + "/log.bin";
  std::vector<uint8_t> bytes = read_file(path, "replay log");
  try {
    // Checked from end to end first: a replay never starts on a log it
    // could not finish.
    replay::LogReader check(bytes, path);
    check.validate();
    return std::make_unique<Journal>(std::make_unique<replay::LogReader>(std::move(bytes), path),
                                     perturb);
  } catch (const replay::LogError& e) {
    fail("{}", e.what());
  }
}

std::unique_ptr<Machine> restore_for_replay(const std::string& dir, Journal& journal) {
  RestoreOptions options;
  options.dir = dir + "/start";
  options.check_disks = false;  // the data read is in the log
  options.copy_memory = true;   // as fast as the recording's (see load_memory_file)
  options.journal = &journal;
  options.max_instructions = journal.replay_max_instructions();
  std::unique_ptr<Machine> vm = restore_snapshot(options);
  journal.watch_memory(vm->memory());
  return vm;
}

}  // namespace vessel
