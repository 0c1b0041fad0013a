#include "vm/snapshot.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

#include "base/error.hpp"
#include "base/safe_file.hpp"
#include "platform/guest_clock.hpp"
#include "platform/virt_map.hpp"
#include "vm/elf_loader.hpp"
#include "vm/memory_file.hpp"

namespace vessel {

namespace {

constexpr uint32_t kVmSectionVersion = 1;
constexpr uint64_t kMaxStateFile = 256ull << 20;

nlohmann::json disk_identity(const DiskConfig& disk) {
  struct stat st {};
  if (stat(disk.path.c_str(), &st) != 0) {
    fail("disk {}: {}", disk.path, std::strerror(errno));
  }
  return {{"size", static_cast<uint64_t>(st.st_size)},
          {"dev", static_cast<uint64_t>(st.st_dev)},
          {"ino", static_cast<uint64_t>(st.st_ino)},
          {"mtime_ns", static_cast<uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                           static_cast<uint64_t>(st.st_mtim.tv_nsec)}};
}

// What a snapshot directory may hold: the files a snapshot consists of, as
// regular files. Anything else (a symlink planted at one of these names, a
// leftover temporary, the user's own files) means the directory is not only
// vessel's, and writing a snapshot there is refused before anything is
// written.
constexpr std::array<std::string_view, 2> kSnapshotFiles = {"state.bin", "memory.bin"};

void check_snapshot_directory(const Directory& dir) {
  for (const std::string& name : dir.entries()) {
    if (std::find(kSnapshotFiles.begin(), kSnapshotFiles.end(), name) == kSnapshotFiles.end()) {
      fail(
          "snapshot directory {} holds {:?}, which is not part of a vessel snapshot; use a new "
          "or empty directory",
          dir.path(), name);
    }
    const std::optional<struct stat> st = dir.stat_entry(name);
    if (st && !S_ISREG(st->st_mode)) {
      fail("snapshot directory {}: {} is not a regular file; use a new or empty directory",
           dir.path(), name);
    }
  }
}

}  // namespace

state::Section describe_vm(const MachineConfig& config) {
  nlohmann::json j;
  j["config"] = config_to_json(config);
  nlohmann::json disks = nlohmann::json::array();
  for (const DiskConfig& d : config.disks) disks.push_back(disk_identity(d));
  j["disks"] = disks;
  const std::string text = j.dump();
  return {"vm", kVmSectionVersion, std::vector<uint8_t>(text.begin(), text.end())};
}

MachineConfig vm_from_description(const std::vector<state::Section>& sections, bool check_disks,
                                  bool allow_disk_change) {
  const state::Section& s = state::find(sections, "vm", kVmSectionVersion);
  const nlohmann::json j = nlohmann::json::parse(s.payload.begin(), s.payload.end(), nullptr,
                                                 /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("config") || !j.contains("disks")) {
    state::state_fail("the saved VM description is not valid JSON");
  }
  MachineConfig config = config_from_json(j["config"]);
  const nlohmann::json& disks = j["disks"];
  if (!disks.is_array() || disks.size() != config.disks.size()) {
    state::state_fail("the saved VM description lists its disks inconsistently");
  }
  if (!check_disks) return config;
  for (size_t i = 0; i < config.disks.size(); ++i) {
    const DiskConfig& d = config.disks[i];
    const nlohmann::json now = disk_identity(d);
    const nlohmann::json& then = disks[i];
    if (now["size"] != then.value("size", uint64_t{0})) {
      fail("disk {} has changed size since the snapshot ({} bytes, was {})", d.path,
           now["size"].get<uint64_t>(), then.value("size", uint64_t{0}));
    }
    if (now["dev"] != then.value("dev", uint64_t{0}) ||
        now["ino"] != then.value("ino", uint64_t{0})) {
      fail("disk {} is not the file the snapshot used (it was replaced)", d.path);
    }
    if (!allow_disk_change && now["mtime_ns"] != then.value("mtime_ns", uint64_t{0})) {
      fail("disk {} was modified after the snapshot; restore anyway with --allow-disk-change",
           d.path);
    }
  }
  return config;
}

nlohmann::json take_snapshot(Machine& vm, const std::string& dir) {
  const uint64_t start = GuestClock::host_ns();
  // Checked before the VM is touched: a refused directory costs it nothing.
  const Directory directory = Directory::open(dir, /*create=*/true);
  check_snapshot_directory(directory);
  vm.quiesce();
  std::vector<state::Section> sections = vm.save_state();
  sections.insert(sections.begin(), describe_vm(vm.config()));
  const std::vector<uint8_t> blob = state::encode(sections);
  AtomicFile state_file(directory, "state.bin");
  state_file.write_all(blob);
  // Committed with memory.bin: one directory sync for both, and the state's
  // journal commit carries the memory file's allocation too.
  const uint64_t memory_bytes =
      save_memory_file(directory, "memory.bin", vm.memory(), &state_file).bytes_written;
  const double ms = static_cast<double>(GuestClock::host_ns() - start) / 1e6;
  return {
      {"dir", dir},
      {"state_bytes", blob.size()},
      {"memory_bytes_written", memory_bytes},
      {"snapshot_ms", ms},
      {"message", fmt::format("snapshot written to {} in {:.1f} ms ({} KiB state, {} MiB memory)",
                              dir, ms, blob.size() >> 10, memory_bytes >> 20)}};
}

std::unique_ptr<Machine> restore_snapshot(const RestoreOptions& options) {
  const std::string state_path = options.dir + "/state.bin";
  const std::vector<uint8_t> blob = read_file(state_path, "snapshot state");
  if (blob.size() > kMaxStateFile) fail("{} is too large to be a snapshot", state_path);
  std::vector<state::Section> sections;
  try {
    sections = state::decode(blob);
  } catch (const state::StateError& e) {
    fail("{}: {}", state_path, e.what());
  }
  MachineConfig config =
      vm_from_description(sections, options.check_disks, options.allow_disk_change);
  config.console_log = options.console_log;
  config.max_instructions = options.max_instructions;
  const int fd = open_memory_file(options.dir + "/memory.bin", config.mem_size);
  std::unique_ptr<GuestMemory> memory;
  try {
    if (options.copy_memory) {
      memory = std::make_unique<GuestMemory>(virt::kDramBase, config.mem_size);
      memory->use_huge_pages(config.balloon || config.page_sharing);
      load_memory_file(fd, options.dir + "/memory.bin", *memory);
    } else {
      memory = std::make_unique<GuestMemory>(virt::kDramBase, config.mem_size, fd);
    }
  } catch (...) {
    close(fd);
    throw;
  }
  close(fd);  // the mapping keeps the file
  auto vm = std::make_unique<Machine>(config, std::move(memory), options.journal);
  try {
    vm->load_state(sections);
  } catch (const state::StateError& e) {
    fail("{}: {}", state_path, e.what());
  }
  return vm;
}

}  // namespace vessel
