// What a migration destination accepts: the source's description checked
// against the destination's own configuration, never used to open anything.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/error.hpp"
#include "platform/virt_map.hpp"
#include "vm/migration_compat.hpp"

namespace vessel {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kPlenty = uint64_t{1} << 40;

// A source description as the HELLO carries it: the configuration and the
// disks' sizes.
std::string describe(const MachineConfig& config, const std::vector<uint64_t>& disk_sizes) {
  nlohmann::json disks = nlohmann::json::array();
  for (const uint64_t size : disk_sizes) disks.push_back({{"size", size}, {"dev", 1}, {"ino", 2}});
  return nlohmann::json{{"config", config_to_json(config)}, {"disks", disks}}.dump();
}

MigrationHello hello_for(const MachineConfig& config) {
  MigrationHello hello;
  hello.memory_base = virt::kDramBase;
  hello.memory_size = config.mem_size;
  hello.cpus = config.cpus;
  return hello;
}

class MigrationCompatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_.mem_size = 256 * kMiB;
    source_.cpus = 2;
    source_.kernel = "/boot/the-sources-kernel";
    source_.cmdline = "console=ttyS0";
    source_.disks = {{"/etc/shadow", false}, {"/srv/b.img", true}};
    source_.nets = {"user,hostfwd=tcp:127.0.0.1:8080-:80", "none",
                    "tap=tap0,mac=52:54:00:00:00:02"};
    source_.rng = true;
    destination_.machine.disks = {{"/var/vm/a.img", false}, {"/var/vm/b.img", true}};
    destination_.machine.nets = {"user", "user,mac=52:54:00:00:00:02"};
    destination_.machine.rng = true;
    destination_.machine.console_log = "/var/log/vm.log";
  }

  // The mismatches for the current source and destination.
  std::string check(uint64_t available = kPlenty) {
    const SourceVm vm = parse_source_vm(describe(source_, source_disks_));
    return incompatibility(vm, hello_for(source_), destination_, destination_disks_, available);
  }

  MachineConfig source_;
  std::vector<uint64_t> source_disks_ = {64 * kMiB, kMiB};
  DestinationVm destination_;
  std::vector<uint64_t> destination_disks_ = {64 * kMiB, kMiB};
};

TEST_F(MigrationCompatTest, AMatchingVmFits) {
  EXPECT_EQ(check(), "");
  destination_.mem_size = 256 * kMiB;
  destination_.cpus = 2;
  EXPECT_EQ(check(), "");
}

TEST_F(MigrationCompatTest, TheDestinationRunsItsOwnDevicesAndTheSourcesGuest) {
  const SourceVm vm = parse_source_vm(describe(source_, source_disks_));
  const MachineConfig config = destination_config(vm, destination_);
  ASSERT_EQ(config.disks.size(), 2u);
  EXPECT_EQ(config.disks[0].path, "/var/vm/a.img");  // never the source's /etc/shadow
  EXPECT_EQ(config.nets, destination_.machine.nets);
  EXPECT_EQ(config.console_log, "/var/log/vm.log");
  EXPECT_EQ(config.mem_size, 256 * kMiB);
  EXPECT_EQ(config.cpus, 2u);
  EXPECT_EQ(config.kernel, "/boot/the-sources-kernel");
  EXPECT_EQ(config.cmdline, "console=ttyS0");
}

TEST_F(MigrationCompatTest, MemoryAgainstMemAndTheHost) {
  destination_.mem_size = 512 * kMiB;
  EXPECT_EQ(check(), "the source's VM has 256 MiB of memory, this destination's --mem is 512 MiB");
  destination_.mem_size.reset();
  EXPECT_EQ(check(128 * kMiB),
            "the source's VM has 256 MiB of memory, more than this host has available (128 MiB)");
}

TEST_F(MigrationCompatTest, HugeMemoryIsRefusedBeforeAnythingIsAllocated) {
  source_.mem_size = uint64_t{1} << 40;  // 1 TiB: in range for the format
  EXPECT_NE(check(8ull << 30).find("more than this host has available"), std::string::npos);
  // Beyond what vessel supports at all, the description itself is refused.
  source_.mem_size = uint64_t{1} << 50;
  EXPECT_THROW(parse_source_vm(describe(source_, source_disks_)), Error);
}

TEST_F(MigrationCompatTest, Harts) {
  destination_.cpus = 4;
  EXPECT_EQ(check(), "the source's VM has 2 harts, this destination's --cpus is 4");
}

TEST_F(MigrationCompatTest, Disks) {
  destination_disks_[0] = 32 * kMiB;
  EXPECT_EQ(check(), "disk 0: 67108864 bytes on the source, --disk /var/vm/a.img has 33554432");
  destination_disks_[0] = 64 * kMiB;
  destination_.machine.disks[1].read_only = false;
  EXPECT_EQ(check(), "disk 1: read-only on the source, --disk /var/vm/b.img is read-write");
  destination_.machine.disks.pop_back();
  destination_disks_.pop_back();
  EXPECT_EQ(check(), "the source's VM has 2 disks, this destination 1 (--disk)");
}

TEST_F(MigrationCompatTest, NetworksByCountAndMac) {
  destination_.machine.nets = {"user"};
  EXPECT_EQ(check(), "the source's VM has 2 network devices, this destination 1 (--net)");
  destination_.machine.nets = {"user", "user"};
  EXPECT_EQ(check(),
            "network device 1: MAC 52:54:00:00:00:02 on the source, 52:54:00:12:34:56 here");
}

TEST_F(MigrationCompatTest, OtherDevices) {
  destination_.machine.rng = false;
  destination_.machine.balloon = true;
  EXPECT_EQ(check(),
            "the source's VM has a virtio-rng device, this destination has none (--rng); this "
            "destination has a virtio-balloon device (--balloon), the source's VM has none");
  destination_.machine.rng = true;
  destination_.machine.balloon = false;
  source_.virtio_console = true;
  EXPECT_EQ(check(),
            "the source's VM has a virtio console, this destination has none (--console virtio)");
}

TEST_F(MigrationCompatTest, AHelloThatContradictsItsDescription) {
  const SourceVm vm = parse_source_vm(describe(source_, source_disks_));
  MigrationHello hello = hello_for(source_);
  hello.memory_size = 4ull << 30;
  EXPECT_NE(incompatibility(vm, hello, destination_, destination_disks_, kPlenty)
                .find("does not match its description"),
            std::string::npos);
}

TEST_F(MigrationCompatTest, MalformedDescriptions) {
  EXPECT_THROW(parse_source_vm("not json"), Error);
  EXPECT_THROW(parse_source_vm("{}"), Error);
  // Disks without sizes, or fewer sizes than disks.
  nlohmann::json j = nlohmann::json::parse(describe(source_, source_disks_));
  j["disks"][0].erase("size");
  EXPECT_THROW(parse_source_vm(j.dump()), Error);
  EXPECT_THROW(parse_source_vm(describe(source_, {kMiB})), Error);
  source_.nets = {"carrier-pigeon"};
  EXPECT_THROW(parse_source_vm(describe(source_, source_disks_)), Error);
}

}  // namespace
}  // namespace vessel
