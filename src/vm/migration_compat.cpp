#include "vm/migration_compat.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "devices/net/net_options.hpp"
#include "platform/virt_map.hpp"
#include "vm/snapshot.hpp"

namespace vessel {

namespace {

uint64_t mib(uint64_t bytes) {
  return bytes >> 20;
}

std::string mac_text(const net::MacAddress& mac) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3],
                     mac[4], mac[5]);
}

// The MACs of the network devices a configuration makes (`--net none` makes
// none). Parsing names nothing on the host: no port is bound, no tap opened.
std::vector<net::MacAddress> nic_macs(const std::vector<std::string>& nets) {
  std::vector<net::MacAddress> macs;
  for (const std::string& spec : nets) {
    const net::NetOptions options = net::parse_net_options(spec);
    if (options.kind == net::NetOptions::Kind::kNone) continue;
    macs.push_back(options.mac.value_or(net::kDefaultMac));
  }
  return macs;
}

// "a virtio-rng device" present on one side only.
void compare_device(std::vector<std::string>& out, bool source, bool destination,
                    std::string_view device, std::string_view option) {
  if (source && !destination) {
    out.push_back(
        fmt::format("the source's VM has {}, this destination has none ({})", device, option));
  } else if (!source && destination) {
    out.push_back(
        fmt::format("this destination has {} ({}), the source's VM has none", device, option));
  }
}

}  // namespace

SourceVm parse_source_vm(std::string_view description) {
  const std::vector<state::Section> sections{
      {"vm", 1, std::vector<uint8_t>(description.begin(), description.end())}};
  SourceVm vm;
  // Checks the JSON, the configuration's types and ranges, and that "disks"
  // lists as many disks as the configuration has; opens nothing.
  vm.config = vm_from_description(sections, /*check_disks=*/false, /*allow_disk_change=*/false);
  const nlohmann::json j = nlohmann::json::parse(description, nullptr, /*allow_exceptions=*/false);
  for (const nlohmann::json& disk : j.at("disks")) {
    const auto size = disk.is_object() ? disk.find("size") : disk.end();
    if (size == disk.end() || !size->is_number_unsigned()) {
      fail("the source's description has a disk without a size");
    }
    vm.disk_sizes.push_back(size->get<uint64_t>());
  }
  // What the guest saw is checked; the source's hostfwd rules and tap names
  // are host details that stay there, but they must at least parse.
  try {
    nic_macs(vm.config.nets);
  } catch (const Error& e) {
    fail("the source's description has a network this vessel cannot read: {}", e.what());
  }
  return vm;
}

std::vector<uint64_t> measure_disks(const std::vector<DiskConfig>& disks) {
  std::vector<uint64_t> sizes;
  for (const DiskConfig& disk : disks) {
    // O_NONBLOCK: a FIFO is refused below, not waited on.
    UniqueFd fd(::open(disk.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) fail("--disk {}: {}", disk.path, errno_text(errno));
    struct stat st {};
    if (fstat(fd.get(), &st) != 0) fail("--disk {}: {}", disk.path, errno_text(errno));
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
      fail("--disk {} is not a regular file or block device", disk.path);
    }
    const off_t size = ::lseek(fd.get(), 0, SEEK_END);
    if (size < 0) fail("--disk {}: cannot size it: {}", disk.path, errno_text(errno));
    sizes.push_back(static_cast<uint64_t>(size));
  }
  return sizes;
}

std::string incompatibility(const SourceVm& source, const MigrationHello& hello,
                            const DestinationVm& destination,
                            const std::vector<uint64_t>& destination_disk_sizes,
                            uint64_t available_memory) {
  std::vector<std::string> out;
  const MachineConfig& s = source.config;
  const MachineConfig& d = destination.machine;
  if (hello.memory_base != virt::kDramBase || hello.memory_size != s.mem_size ||
      hello.cpus != s.cpus) {
    out.push_back(fmt::format(
        "the source's HELLO ({} MiB at {:#x}, {} harts) does not match its description ({} MiB, "
        "{} harts)",
        mib(hello.memory_size), hello.memory_base, hello.cpus, mib(s.mem_size), s.cpus));
  }
  if (destination.mem_size && s.mem_size != *destination.mem_size) {
    out.push_back(
        fmt::format("the source's VM has {} MiB of memory, this destination's --mem is {} MiB",
                    mib(s.mem_size), mib(*destination.mem_size)));
  }
  if (s.mem_size > available_memory) {
    out.push_back(fmt::format(
        "the source's VM has {} MiB of memory, more than this host has available ({} MiB)",
        mib(s.mem_size), mib(available_memory)));
  }
  if (destination.cpus && s.cpus != *destination.cpus) {
    out.push_back(fmt::format("the source's VM has {} harts, this destination's --cpus is {}",
                              s.cpus, *destination.cpus));
  }

  if (s.disks.size() != d.disks.size()) {
    out.push_back(fmt::format("the source's VM has {} disks, this destination {} (--disk)",
                              s.disks.size(), d.disks.size()));
  } else {
    for (size_t i = 0; i < s.disks.size(); ++i) {
      if (source.disk_sizes[i] != destination_disk_sizes[i]) {
        out.push_back(fmt::format("disk {}: {} bytes on the source, --disk {} has {}", i,
                                  source.disk_sizes[i], d.disks[i].path,
                                  destination_disk_sizes[i]));
      }
      if (s.disks[i].read_only != d.disks[i].read_only) {
        out.push_back(fmt::format("disk {}: {} on the source, --disk {} is {}", i,
                                  s.disks[i].read_only ? "read-only" : "read-write",
                                  d.disks[i].path,
                                  d.disks[i].read_only ? "read-only" : "read-write"));
      }
    }
  }

  const std::vector<net::MacAddress> s_nics = nic_macs(s.nets);
  const std::vector<net::MacAddress> d_nics = nic_macs(d.nets);
  if (s_nics.size() != d_nics.size()) {
    out.push_back(fmt::format("the source's VM has {} network devices, this destination {} (--net)",
                              s_nics.size(), d_nics.size()));
  } else {
    for (size_t i = 0; i < s_nics.size(); ++i) {
      if (s_nics[i] != d_nics[i]) {
        out.push_back(fmt::format("network device {}: MAC {} on the source, {} here", i,
                                  mac_text(s_nics[i]), mac_text(d_nics[i])));
      }
    }
  }
  compare_device(out, s.rng, d.rng, "a virtio-rng device", "--rng");
  compare_device(out, s.balloon, d.balloon, "a virtio-balloon device", "--balloon");
  compare_device(out, s.virtio_console, d.virtio_console, "a virtio console", "--console virtio");

  std::string text;
  for (const std::string& line : out) text += (text.empty() ? "" : "; ") + line;
  return text;
}

MachineConfig destination_config(const SourceVm& source, const DestinationVm& destination) {
  MachineConfig config = destination.machine;
  const MachineConfig& s = source.config;
  config.mem_size = s.mem_size;
  config.cpus = s.cpus;
  config.deterministic = s.deterministic;
  config.bios = s.bios;
  config.kernel = s.kernel;
  config.initrd = s.initrd;
  config.cmdline = s.cmdline;
  return config;
}

}  // namespace vessel
