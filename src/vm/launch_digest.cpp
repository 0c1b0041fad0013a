#include "vm/launch_digest.hpp"

#include <fmt/format.h>

#include "devices/virtio/blk.hpp"
#include "devices/virtio/net.hpp"

namespace vessel {

namespace {

constexpr std::string_view kDigestPrefix = "sha256:";

nlohmann::json describe_device(virtio::VirtioDevice& device) {
  switch (device.device_id()) {
    case virtio::kIdBlock: {
      const auto& blk = dynamic_cast<const virtio::VirtioBlk&>(device);
      return {{"type", "virtio-blk"},
              {"sectors", blk.capacity_sectors()},
              {"read_only", blk.read_only()}};
    }
    case virtio::kIdNet: {
      const net::MacAddress& m = dynamic_cast<const virtio::VirtioNet&>(device).mac();
      return {{"type", "virtio-net"},
              {"mac", fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2],
                                  m[3], m[4], m[5])}};
    }
    case virtio::kIdRng: return {{"type", "virtio-rng"}};
    case virtio::kIdBalloon: return {{"type", "virtio-balloon"}};
    case virtio::kIdConsole: return {{"type", "virtio-console"}};
    default: return {{"type", fmt::format("virtio-{}", device.device_id())}};
  }
}

}  // namespace

Sha256Digest launch_digest(const LaunchInputs& in) {
  crypto::Sha256 sha;
  sha.update_framed("vessel-launch-digest-v1");
  // dump() of an object writes its keys sorted (nlohmann::json keeps them in
  // a std::map), without spaces: one text for one description.
  const std::string machine = in.machine.dump();
  const auto item = [&sha](std::string_view name, const auto& bytes) {
    sha.update_framed(name);
    sha.update_framed(bytes);
  };
  item("machine", std::string_view(machine));
  item("firmware", in.firmware);
  item("kernel", in.kernel);
  item("initrd", in.initrd);
  item("cmdline", in.cmdline);
  item("device-tree", in.device_tree);
  return sha.finish();
}

nlohmann::json describe_machine(uint64_t memory_bytes, unsigned cpus, bool builtin_sbi,
                                std::span<virtio::VirtioDevice* const> devices) {
  nlohmann::json list = nlohmann::json::array();
  for (virtio::VirtioDevice* device : devices) list.push_back(describe_device(*device));
  return {{"cpus", cpus},
          {"devices", list},
          {"firmware", builtin_sbi ? std::string("vessel-sbi ") + VESSEL_VERSION : "bios"},
          {"memory", memory_bytes}};
}

std::string format_digest(const Sha256Digest& digest) {
  return std::string(kDigestPrefix) + crypto::to_hex(digest);
}

std::optional<Sha256Digest> parse_digest(std::string_view text) {
  if (text.starts_with(kDigestPrefix)) text.remove_prefix(kDigestPrefix.size());
  const auto bytes = crypto::from_hex(text);
  Sha256Digest digest{};
  if (!bytes || bytes->size() != digest.size()) return std::nullopt;
  std::copy(bytes->begin(), bytes->end(), digest.begin());
  return digest;
}

}  // namespace vessel
