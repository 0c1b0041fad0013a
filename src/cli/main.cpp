// vessel's command line: `vessel run`, `vessel guest`, `vessel --version`.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/size.hpp"
#include "platform/virt_map.hpp"
#include "vm/guest_command.hpp"
#include "vm/machine.hpp"

namespace {

using vessel::fail;

uint64_t host_available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return UINT64_MAX;
}

uint64_t parse_mem(const std::string& text) {
  const auto size = vessel::parse_size(text);
  if (!size) fail("--mem '{}' is not a size (examples: 256M, 2G)", text);
  constexpr uint64_t kMin = uint64_t{1} << 20;
  if (*size < kMin) fail("--mem {} is too small: at least 1M", text);
  if ((*size & 0xfff) != 0) fail("--mem {} is not a multiple of 4 KiB", text);
  if (*size > (uint64_t{1} << 40)) fail("--mem {} is larger than vessel supports (1T)", text);
  const uint64_t available = host_available_memory();
  if (*size > available) {
    fail("--mem {} is more than the host's available memory ({} MiB)", text, available >> 20);
  }
  return *size;
}

vessel::DiskConfig parse_disk(const std::string& text) {
  vessel::DiskConfig disk;
  disk.path = text;
  const auto comma = text.rfind(',');
  if (comma != std::string::npos) {
    const std::string option = text.substr(comma + 1);
    if (option == "ro") {
      disk.read_only = true;
    } else if (option != "rw") {
      fail("--disk {}: unknown option '{}' (use PATH or PATH,ro)", text, option);
    }
    disk.path = text.substr(0, comma);
  }
  if (disk.path.empty()) fail("--disk needs a file name");
  return disk;
}

int run_command(const vessel::MachineConfig& config, bool stats) {
  vessel::Machine machine(config);
  const vessel::RunResult result = machine.run();
  if (stats) {
    std::fprintf(stderr, "vessel: instructions=%llu seconds=%.3f\n",
                 static_cast<unsigned long long>(result.instructions), result.seconds);
  }
  return result.status;
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_st("vessel");
  logger->set_pattern("vessel: %v");
  spdlog::set_default_logger(logger);

  CLI::App app{"vessel: a virtual machine monitor for 64-bit RISC-V guests"};
  app.set_version_flag("--version", std::string("vessel ") + VESSEL_VERSION);
  app.require_subcommand(1);

  vessel::MachineConfig config;
  std::string mem = "512M";
  std::vector<std::string> guest_command;
  bool stats = false;

  CLI::App* run = app.add_subcommand(
      "run", "Boot a guest: the default Linux guest, a kernel, or a bare-metal program");
  run->add_option("--bios", config.bios,
                  "Firmware or bare-metal program started in M-mode (ELF or raw binary)");
  run->add_option("--kernel", config.kernel, "RISC-V Linux Image to boot in S-mode");
  run->add_option("--initrd", config.initrd, "Initial ramdisk for the kernel");
  run->add_option("--cmdline", config.cmdline, "Kernel command line");
  run->add_option("--mem", mem, "Guest RAM size, e.g. 256M or 2G")->capture_default_str();
  run->add_option("--cpus", config.cpus, "Number of harts (1 to 8)")->capture_default_str();
  run->add_option("--max-instructions", config.max_instructions,
                  "Stop after this many instructions (exit status 124)");
  run->add_option("--timeout", config.timeout_seconds,
                  "Stop after this many seconds (exit status 124)");
  run->add_flag("--deterministic", config.deterministic,
                "Derive guest time from the instruction count instead of the host clock");
  run->add_flag("--stats", stats, "Print the instruction count and run time at exit");
  std::vector<std::string> disks;
  run->add_option("--disk", disks,
                  "Raw disk image as virtio-blk: PATH or PATH,ro (repeatable: vda, vdb, ...)")
      ->allow_extra_args(false);
  run->add_option("--net", config.nets,
                  "virtio-net: user[,hostfwd=tcp:127.0.0.1:HOSTPORT-:GUESTPORT] | tap=NAME | none "
                  "(repeatable)")
      ->allow_extra_args(false);
  run->add_flag("--rng", config.rng, "Add a virtio-rng device fed by the host's getrandom()");
  std::string console = "uart";
  run->add_option("--console", console,
                  "Where the terminal is attached: uart (ttyS0) or virtio (virtio-console)")
      ->check(CLI::IsMember({"uart", "virtio"}))
      ->capture_default_str();
  run->add_option(
      "command", guest_command,
      "Command to run in the default guest (after --); its exit status becomes vessel's");

  CLI::App* guest =
      app.add_subcommand("guest", "Print where the default guest's kernel and initrd are");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (guest->parsed()) {
      const vessel::DefaultGuest g = vessel::find_default_guest();
      std::printf("kernel %s\ninitrd %s\n", g.kernel.c_str(), g.initrd.c_str());
      return 0;
    }
    if (config.cpus < 1 || config.cpus > vessel::virt::kMaxHarts) {
      fail("--cpus {} is out of range: 1 to {}", config.cpus, vessel::virt::kMaxHarts);
    }
    if (config.timeout_seconds < 0) fail("--timeout must not be negative");
    config.mem_size = parse_mem(mem);
    config.virtio_console = console == "virtio";
    for (const std::string& disk : disks) config.disks.push_back(parse_disk(disk));
    if (config.kernel.empty() && config.bios.empty()) {
      // The default guest, optionally running one command.
      const vessel::DefaultGuest g = vessel::find_default_guest();
      config.kernel = g.kernel;
      config.initrd = g.initrd;
      if (config.cmdline.empty()) config.cmdline = vessel::default_cmdline(config.virtio_console);
    } else if (!guest_command.empty() && config.kernel.empty()) {
      fail("a guest command needs a Linux guest, not a bare-metal --bios program");
    }
    if (!guest_command.empty()) {
      config.cmdline += " " + vessel::encode_guest_command(guest_command);
    }
    if (!config.initrd.empty() && config.kernel.empty()) fail("--initrd needs --kernel");
    return run_command(config, stats);
  } catch (const vessel::Error& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    spdlog::error("out of host memory");
    return 1;
  }
}
