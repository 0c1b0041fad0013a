// Measured launch: the digest covers every byte of every input, the same
// inputs give the same digest, the framing keeps items apart, and a measured
// machine hands the guest the digest of its launch in the device tree.
#include <gtest/gtest.h>
#include <libfdt.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "devices/virtio/balloon.hpp"
#include "devices/virtio/blk.hpp"
#include "devices/virtio/rng.hpp"
#include "platform/fdt.hpp"
#include "temp_dir.hpp"
#include "vm/attestation.hpp"
#include "vm/control.hpp"
#include "vm/launch_digest.hpp"
#include "vm/machine.hpp"

namespace vessel {
namespace {

std::vector<uint8_t> bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 13);
  return v;
}

std::vector<uint8_t> measured_tree() {
  BoardDescription board;
  board.bootargs = "console=ttyS0";
  board.launch_digest = true;
  return build_device_tree(board);
}

// Owns the buffers a LaunchInputs points into.
struct Inputs {
  nlohmann::json machine = describe_machine(512 << 20, 2, true, {});
  std::vector<uint8_t> firmware = bytes(40, 1);
  std::vector<uint8_t> kernel = bytes(64, 2);
  std::vector<uint8_t> initrd = bytes(48, 3);
  std::string cmdline = "console=ttyS0 quiet";
  std::vector<uint8_t> dtb = measured_tree();

  Sha256Digest digest() const {
    return launch_digest({machine, firmware, kernel, initrd, cmdline, dtb});
  }
};

TEST(LaunchDigest, SameInputsSameDigest) {
  const Inputs a, b;
  EXPECT_EQ(a.digest(), b.digest());
  // Fixed by the format: a change of it shows here (and must bump its version).
  EXPECT_EQ(format_digest(a.digest()).size(), 7u + 64u);
}

TEST(LaunchDigest, EveryByteOfEveryInputCounts) {
  const Inputs base;
  std::set<Sha256Digest> seen{base.digest()};
  size_t changes = 0;
  const auto each_byte = [&](auto member) {
    const size_t size = (Inputs().*member).size();
    ASSERT_GT(size, 0u);
    for (size_t i = 0; i < size; ++i) {
      Inputs changed;
      (changed.*member)[i] ^= 0x01;
      EXPECT_TRUE(seen.insert(changed.digest()).second) << "byte " << i << " left it unchanged";
      ++changes;
    }
  };
  each_byte(&Inputs::firmware);
  each_byte(&Inputs::kernel);
  each_byte(&Inputs::initrd);
  each_byte(&Inputs::cmdline);
  each_byte(&Inputs::dtb);
  // A byte more or less at the end counts too.
  Inputs longer;
  longer.kernel.push_back(0);
  EXPECT_TRUE(seen.insert(longer.digest()).second);
  // And every part of the machine.
  for (const nlohmann::json& machine :
       {describe_machine(256 << 20, 2, true, {}), describe_machine(512 << 20, 1, true, {}),
        describe_machine(512 << 20, 2, false, {})}) {
    Inputs changed;
    changed.machine = machine;
    EXPECT_TRUE(seen.insert(changed.digest()).second) << machine.dump();
  }
  EXPECT_GT(changes, 1000u);  // the device tree alone is over a kilobyte
}

TEST(LaunchDigest, LengthPrefixesKeepItemsApart) {
  const Inputs base;
  // The last byte of the command line moved to the start of the initrd:
  // the concatenation is the same, the digest must not be.
  Inputs moved;
  moved.initrd.insert(moved.initrd.begin(), static_cast<uint8_t>(moved.cmdline.back()));
  moved.cmdline.pop_back();
  EXPECT_NE(moved.digest(), base.digest());
  // The end of the kernel as the start of the initrd.
  Inputs shifted;
  shifted.initrd.insert(shifted.initrd.begin(), shifted.kernel.back());
  shifted.kernel.pop_back();
  EXPECT_NE(shifted.digest(), base.digest());
  // The same bytes as firmware or as kernel are two different launches.
  Inputs as_firmware, as_kernel;
  as_firmware.firmware = as_kernel.kernel = bytes(64, 9);
  as_firmware.kernel.clear();
  as_kernel.firmware.clear();
  EXPECT_NE(as_firmware.digest(), as_kernel.digest());
}

TEST(LaunchDigest, FormatAndParse) {
  Sha256Digest d{};
  for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint8_t>(i * 9);
  const std::string text = format_digest(d);
  EXPECT_TRUE(text.starts_with("sha256:"));
  EXPECT_EQ(parse_digest(text), d);
  EXPECT_EQ(parse_digest(text.substr(7)), d);
  std::string upper = text.substr(7);
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_EQ(parse_digest(upper), d);
  for (const std::string& bad :
       {std::string(), std::string("sha256:"), text.substr(0, 70), text + "0", text + "00",
        "sha1:" + text.substr(7), "sha256:" + std::string(64, 'g')}) {
    EXPECT_FALSE(parse_digest(bad).has_value()) << bad;
  }
}

TEST(LaunchDigest, DeviceTreePropertyIsFilledInPlace) {
  std::vector<uint8_t> dtb = measured_tree();
  const std::vector<uint8_t> before = dtb;
  const int chosen = fdt_path_offset(dtb.data(), "/chosen");
  int size = 0;
  const auto* zeros =
      static_cast<const uint8_t*>(fdt_getprop(dtb.data(), chosen, kLaunchDigestProperty, &size));
  ASSERT_NE(zeros, nullptr);
  ASSERT_EQ(size, 32);
  EXPECT_EQ(std::vector<uint8_t>(zeros, zeros + 32), std::vector<uint8_t>(32, 0));

  Sha256Digest d{};
  d.fill(0xa5);
  fill_launch_digest(dtb, d);
  ASSERT_EQ(dtb.size(), before.size());
  const auto* filled =
      static_cast<const uint8_t*>(fdt_getprop(dtb.data(), chosen, kLaunchDigestProperty, &size));
  ASSERT_EQ(size, 32);
  EXPECT_EQ(std::memcmp(filled, d.data(), 32), 0);
  size_t differing = 0;
  for (size_t i = 0; i < dtb.size(); ++i) differing += dtb[i] != before[i];
  EXPECT_EQ(differing, 32u);

  // A tree without the property, a digest of another size, a broken blob.
  std::vector<uint8_t> plain = build_device_tree(BoardDescription{});
  EXPECT_THROW(fill_launch_digest(plain, d), Error);
  EXPECT_THROW(fill_launch_digest(dtb, std::vector<uint8_t>(31)), Error);
  std::vector<uint8_t> empty;
  EXPECT_THROW(fill_launch_digest(empty, d), Error);
}

TEST(LaunchDigest, MachineDescribesItsDevicesInSlotOrder) {
  const test::TempDir dir("vessel-measure");
  std::ofstream(dir.file("disk.img"), std::ios::binary) << std::string(64 * 512, '\0');
  virtio::VirtioBlk disk(dir.file("disk.img"), true);
  virtio::Rng rng;
  virtio::Balloon balloon;
  virtio::VirtioDevice* devices[] = {&rng, &disk, &balloon};
  const nlohmann::json m = describe_machine(1 << 30, 4, false, devices);
  EXPECT_EQ(m.dump(),
            R"({"cpus":4,"devices":[{"type":"virtio-rng"},{"read_only":true,"sectors":64,)"
            R"("type":"virtio-blk"},{"type":"virtio-balloon"}],"firmware":"bios",)"
            R"("memory":1073741824})");
  EXPECT_EQ(describe_machine(1 << 20, 1, true, {})["firmware"],
            std::string("vessel-sbi ") + VESSEL_VERSION);
}

// A whole machine: a bare-metal program (a jump to itself) booted measured.
class MeasuredMachineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const uint32_t jump_to_self = 0x0000006f;  // jal x0, 0
    std::ofstream(program_, std::ios::binary)
        .write(reinterpret_cast<const char*>(&jump_to_self), sizeof jump_to_self);
    std::ofstream(disk_, std::ios::binary) << std::string(8192, '\0');
  }

  MachineConfig config() {
    MachineConfig c;
    c.mem_size = 16 << 20;
    c.bios = program_;
    c.engine = Engine::kInterp;
    c.max_instructions = 1000;
    c.console_log = dir_.file("console" + std::to_string(runs_++) + ".log");
    c.measure_launch = true;
    c.disks.push_back({disk_, false});
    c.rng = true;
    return c;
  }

  // Boots `c`, returns its digest and checks what the guest was given: the
  // device tree at a1 carries the digest, and the digest is that of the
  // documented inputs with the property zeroed.
  std::optional<Sha256Digest> boot(const MachineConfig& c) {
    Machine machine(c);
    EXPECT_EQ(machine.run().status, kExitLimit);
    const std::optional<Sha256Digest> digest = machine.launch_digest();
    if (!digest) return digest;
    const uint64_t dtb_addr = machine.hart(0).x[11];
    std::vector<uint8_t> header(sizeof(fdt_header));
    EXPECT_TRUE(machine.memory().read(dtb_addr, header));
    std::vector<uint8_t> dtb(fdt_totalsize(header.data()));
    EXPECT_TRUE(machine.memory().read(dtb_addr, dtb));
    const int chosen = fdt_path_offset(dtb.data(), "/chosen");
    int size = 0;
    auto* property =
        static_cast<uint8_t*>(fdt_getprop_w(dtb.data(), chosen, kLaunchDigestProperty, &size));
    EXPECT_NE(property, nullptr);
    if (property == nullptr) return digest;
    EXPECT_EQ(std::memcmp(property, digest->data(), 32), 0);
    std::memset(property, 0, 32);
    std::ifstream in(c.bios, std::ios::binary);
    const std::vector<uint8_t> firmware{std::istreambuf_iterator<char>(in), {}};
    const nlohmann::json description = {
        {"cpus", c.cpus},
        {"devices", nlohmann::json::array({nlohmann::json{{"type", "virtio-blk"},
                                                          {"sectors", 16},
                                                          {"read_only", c.disks[0].read_only}},
                                           nlohmann::json{{"type", "virtio-rng"}}})},
        {"firmware", "bios"},
        {"memory", c.mem_size}};
    EXPECT_EQ(launch_digest({description, firmware, {}, {}, {}, dtb}), *digest);
    return digest;
  }

  // Runs `c` on a thread until `body` is done with it, then quits it through
  // a control handler that signs with key_; returns its exit status.
  int while_running(MachineConfig c, const std::function<void(Machine&, VmControl&)>& body) {
    c.max_instructions = 0;
    c.timeout_seconds = 120;  // a safety net; quit ends it
    Machine machine(c);
    VmControl control({&machine}, nullptr, &key_);
    int status = -1;
    std::thread vm([&] { status = machine.run().status; });
    body(machine, control);
    control.handle({{"cmd", "quit"}}, kNoProgress);
    vm.join();
    return status;
  }

  static inline const api::Progress kNoProgress = [](const api::Json&) {};
  test::TempDir dir_{"vessel-measure"};
  std::string program_ = dir_.file("loop.bin");
  std::string disk_ = dir_.file("disk.img");
  int runs_ = 0;
  const crypto::Ed25519Key key_ = crypto::Ed25519Key::generate();
};

TEST_F(MeasuredMachineTest, GuestSeesTheDigestOfItsLaunch) {
  const auto first = boot(config());
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(boot(config()), first);  // the same launch again

  MachineConfig more_memory = config();
  more_memory.mem_size = 32 << 20;
  MachineConfig read_only = config();
  read_only.disks[0].read_only = true;
  MachineConfig two_harts = config();
  two_harts.cpus = 2;
  std::set<Sha256Digest> digests{*first};
  for (const MachineConfig& c : {more_memory, read_only, two_harts}) {
    const auto d = boot(c);
    ASSERT_TRUE(d.has_value());
    EXPECT_TRUE(digests.insert(*d).second);
  }
  // One byte more in the program.
  std::ofstream(program_, std::ios::binary | std::ios::app).put('\0');
  const auto changed = boot(config());
  ASSERT_TRUE(changed.has_value());
  EXPECT_TRUE(digests.insert(*changed).second);
}

// `vessel ctl attest` as the control socket's handler answers it: a quote of
// the running VM's digest, signed with the key vessel was given.
TEST_F(MeasuredMachineTest, ControlAttestsTheRunningVm) {
  const int status = while_running(config(), [&](Machine& machine, VmControl& control) {
    const api::Json quote = control.handle({{"cmd", "attest"}, {"nonce", "n-1"}}, kNoProgress);
    const Sha256Digest digest = *machine.launch_digest();  // set before the mailbox ran
    EXPECT_EQ(verify_quote(quote.dump(), key_, {digest, "n-1"}), "n-1");
    const api::Json no_nonce = control.handle({{"cmd", "attest"}}, kNoProgress);
    EXPECT_EQ(verify_quote(no_nonce.dump(), key_, {digest, ""}), "");
    EXPECT_THROW(control.handle({{"cmd", "attest"}, {"nonce", "a\nb"}}, kNoProgress), Error);
    EXPECT_THROW(control.handle({{"cmd", "attest"}, {"nonce", 5}}, kNoProgress), Error);
    EXPECT_THROW(control.handle({{"cmd", "attest"}, {"vm", 1}}, kNoProgress), Error);
    VmControl keyless({&machine}, nullptr);
    try {
      keyless.handle({{"cmd", "attest"}}, kNoProgress);
      ADD_FAILURE() << "attested without a key";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "no attestation key: start vessel with --attest-key FILE");
    }
  });
  EXPECT_EQ(status, 0);
}

TEST_F(MeasuredMachineTest, UnmeasuredVmIsNotAttested) {
  MachineConfig c = config();
  c.measure_launch = false;
  while_running(c, [&](Machine&, VmControl& control) {
    try {
      control.handle({{"cmd", "attest"}}, kNoProgress);
      ADD_FAILURE() << "attested an unmeasured VM";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "VM 0 has no launch digest (it was not launched with --measure)");
    }
  });
}

TEST_F(MeasuredMachineTest, UnmeasuredLaunchHasNoDigest) {
  MachineConfig c = config();
  c.measure_launch = false;
  Machine machine(c);
  EXPECT_EQ(machine.run().status, kExitLimit);
  EXPECT_FALSE(machine.launch_digest().has_value());
}

}  // namespace
}  // namespace vessel
