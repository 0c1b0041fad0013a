#include "vm/machine_config.hpp"

#include "base/error.hpp"
#include "platform/virt_map.hpp"

namespace vessel {

nlohmann::json config_to_json(const MachineConfig& c) {
  nlohmann::json disks = nlohmann::json::array();
  for (const DiskConfig& d : c.disks)
    disks.push_back({{"path", d.path}, {"read_only", d.read_only}});
  return {{"mem_size", c.mem_size},
          {"cpus", c.cpus},
          {"bios", c.bios},
          {"kernel", c.kernel},
          {"initrd", c.initrd},
          {"cmdline", c.cmdline},
          {"deterministic", c.deterministic},
          {"disks", disks},
          {"nets", c.nets},
          {"rng", c.rng},
          {"virtio_console", c.virtio_console},
          {"balloon", c.balloon},
          {"page_sharing", c.page_sharing},
          {"sharing_rate", c.sharing_rate},
          {"sharing_break_percent", c.sharing_break_percent}};
}

namespace {

template <typename T>
T get(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) fail("VM configuration: '{}' is missing", key);
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("VM configuration: '{}' has the wrong type", key);
  }
}

}  // namespace

MachineConfig config_from_json(const nlohmann::json& j) {
  MachineConfig c;
  c.mem_size = get<uint64_t>(j, "mem_size");
  if (c.mem_size < (uint64_t{1} << 20) || c.mem_size > (uint64_t{1} << 40) ||
      (c.mem_size & 0xfff) != 0) {
    fail("VM configuration: memory size {} is out of range", c.mem_size);
  }
  c.cpus = get<unsigned>(j, "cpus");
  if (c.cpus < 1 || c.cpus > virt::kMaxHarts) fail("VM configuration: {} harts", c.cpus);
  c.bios = get<std::string>(j, "bios");
  c.kernel = get<std::string>(j, "kernel");
  c.initrd = get<std::string>(j, "initrd");
  c.cmdline = get<std::string>(j, "cmdline");
  c.deterministic = get<bool>(j, "deterministic");
  const auto disks = get<nlohmann::json>(j, "disks");
  if (!disks.is_array() || disks.size() > virt::kVirtioSlots) fail("VM configuration: bad disks");
  for (const auto& d : disks) {
    c.disks.push_back({get<std::string>(d, "path"), get<bool>(d, "read_only")});
  }
  c.nets = get<std::vector<std::string>>(j, "nets");
  if (c.nets.size() > virt::kVirtioSlots) fail("VM configuration: too many networks");
  c.rng = get<bool>(j, "rng");
  c.virtio_console = get<bool>(j, "virtio_console");
  c.balloon = get<bool>(j, "balloon");
  c.page_sharing = get<bool>(j, "page_sharing");
  c.sharing_rate = get<uint64_t>(j, "sharing_rate");
  // Absent from the snapshots and migrations of older vessels: the default.
  if (j.contains("sharing_break_percent")) {
    c.sharing_break_percent = get<unsigned>(j, "sharing_break_percent");
    if (c.sharing_break_percent > 100) fail("VM configuration: sharing_break_percent above 100");
  }
  return c;
}

}  // namespace vessel
