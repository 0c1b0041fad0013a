// The device tree as firmware and Linux read it: checked with libfdt and
// with the real dtc decompiler.
#include "platform/fdt.hpp"

#include <gtest/gtest.h>
#include <libfdt.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace vessel {
namespace {

BoardDescription full_board() {
  BoardDescription b;
  b.num_harts = 2;
  b.ram_size = uint64_t{512} << 20;
  b.bootargs = "console=ttyS0 earlycon=sbi";
  b.initrd_start = 0x8800'0000;
  b.initrd_end = 0x8810'0000;
  b.pvpanic = true;
  b.virtio = {{virt::kVirtioBase + virt::kVirtioStride, 2}, {virt::kVirtioBase, 1}};
  return b;
}

// Runs `dtc -I dtb -O dts` on the blob; returns its exit status and output.
std::pair<int, std::string> decompile(const std::vector<uint8_t>& blob) {
  char path[] = "/tmp/vessel-fdt-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, blob.data(), blob.size()), static_cast<ssize_t>(blob.size()));
  close(fd);
  const std::string cmd = std::string("dtc -q -I dtb -O dts ") + path + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  unlink(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string_view prop_string(const void* fdt, const char* node, const char* name) {
  const int off = fdt_path_offset(fdt, node);
  if (off < 0) return {};
  int len = 0;
  const auto* p = static_cast<const char*>(fdt_getprop(fdt, off, name, &len));
  if (p == nullptr || len <= 0) return {};
  return {p, static_cast<size_t>(len - 1)};  // without the last NUL
}

std::vector<uint32_t> prop_cells(const void* fdt, const char* node, const char* name) {
  const int off = fdt_path_offset(fdt, node);
  int len = 0;
  const auto* p = static_cast<const fdt32_t*>(fdt_getprop(fdt, off, name, &len));
  std::vector<uint32_t> cells;
  for (int i = 0; p != nullptr && i < len / 4; ++i) cells.push_back(fdt32_to_cpu(p[i]));
  return cells;
}

uint32_t phandle_of(const void* fdt, const char* path) {
  return fdt_get_phandle(fdt, fdt_path_offset(fdt, path));
}

TEST(Fdt, DefaultBoardIsValidAndSmall) {
  const std::vector<uint8_t> blob = build_device_tree(BoardDescription{});
  ASSERT_GE(blob.size(), sizeof(fdt_header));
  EXPECT_EQ(fdt_check_header(blob.data()), 0);
  EXPECT_EQ(fdt_totalsize(blob.data()), blob.size());
  EXPECT_LT(blob.size(), 64u * 1024);
  const void* fdt = blob.data();
  EXPECT_EQ(prop_string(fdt, "/cpus/cpu@0", "riscv,isa"), "rv64imafdc");
  EXPECT_EQ(prop_string(fdt, "/cpus/cpu@0", "mmu-type"), "riscv,sv48");
  EXPECT_EQ(prop_cells(fdt, "/cpus", "timebase-frequency"), std::vector<uint32_t>{10'000'000});
  EXPECT_EQ(prop_cells(fdt, "/memory@80000000", "reg"),
            (std::vector<uint32_t>{0, 0x8000'0000, 0, 128 << 20}));
  EXPECT_EQ(fdt_path_offset(fdt, "/soc/pvpanic@3000000"), -FDT_ERR_NOTFOUND);
  EXPECT_EQ(fdt_path_offset(fdt, "/cpus/cpu@1"), -FDT_ERR_NOTFOUND);
  EXPECT_EQ(fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "bootargs", nullptr), nullptr);
  EXPECT_EQ(fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "linux,initrd-start", nullptr),
            nullptr);
}

TEST(Fdt, CpusAndInterruptWiring) {
  const std::vector<uint8_t> blob = build_device_tree(full_board());
  const void* fdt = blob.data();
  ASSERT_EQ(fdt_check_header(fdt), 0);
  const uint32_t intc0 = phandle_of(fdt, "/cpus/cpu@0/interrupt-controller");
  const uint32_t intc1 = phandle_of(fdt, "/cpus/cpu@1/interrupt-controller");
  ASSERT_NE(intc0, 0u);
  ASSERT_NE(intc1, 0u);
  ASSERT_NE(intc0, intc1);
  EXPECT_EQ(prop_string(fdt, "/cpus/cpu@1", "device_type"), "cpu");
  EXPECT_EQ(prop_cells(fdt, "/cpus/cpu@1", "reg"), std::vector<uint32_t>{1});
  EXPECT_EQ(prop_string(fdt, "/cpus/cpu@1", "status"), "okay");
  EXPECT_EQ(prop_string(fdt, "/cpus/cpu@1/interrupt-controller", "compatible"), "riscv,cpu-intc");
  EXPECT_EQ(prop_cells(fdt, "/cpus/cpu@1/interrupt-controller", "#interrupt-cells"),
            std::vector<uint32_t>{1});
  EXPECT_EQ(prop_cells(fdt, "/cpus/cpu-map/cluster0/core1", "cpu"),
            std::vector<uint32_t>{phandle_of(fdt, "/cpus/cpu@1")});

  EXPECT_EQ(prop_cells(fdt, "/soc/clint@2000000", "interrupts-extended"),
            (std::vector<uint32_t>{intc0, 3, intc0, 7, intc1, 3, intc1, 7}));
  EXPECT_EQ(prop_cells(fdt, "/soc/plic@c000000", "interrupts-extended"),
            (std::vector<uint32_t>{intc0, 11, intc0, 9, intc1, 11, intc1, 9}));
  EXPECT_EQ(prop_cells(fdt, "/soc/plic@c000000", "riscv,ndev"), std::vector<uint32_t>{95});
  EXPECT_EQ(prop_cells(fdt, "/soc/plic@c000000", "#interrupt-cells"), std::vector<uint32_t>{1});
  EXPECT_EQ(prop_string(fdt, "/soc/plic@c000000", "compatible"),
            std::string_view("sifive,plic-1.0.0\0riscv,plic0", 29));
  EXPECT_EQ(
      fdt_node_check_compatible(fdt, fdt_path_offset(fdt, "/soc/clint@2000000"), "riscv,clint0"),
      0);

  const uint32_t plic = phandle_of(fdt, "/soc/plic@c000000");
  EXPECT_EQ(prop_cells(fdt, "/soc/serial@10000000", "interrupt-parent"),
            std::vector<uint32_t>{plic});
  EXPECT_EQ(prop_cells(fdt, "/soc/serial@10000000", "interrupts"), std::vector<uint32_t>{10});
  EXPECT_EQ(prop_cells(fdt, "/soc/serial@10000000", "clock-frequency"),
            std::vector<uint32_t>{3'686'400});
  EXPECT_EQ(prop_cells(fdt, "/soc/virtio_mmio@10002000", "interrupts"), std::vector<uint32_t>{2});
  EXPECT_EQ(prop_cells(fdt, "/soc/virtio_mmio@10001000", "reg"),
            (std::vector<uint32_t>{0, 0x1000'1000, 0, 0x1000}));
  // Sorted by address whatever the order given.
  EXPECT_LT(fdt_path_offset(fdt, "/soc/virtio_mmio@10001000"),
            fdt_path_offset(fdt, "/soc/virtio_mmio@10002000"));
}

TEST(Fdt, ChosenResetAndPvpanic) {
  const std::vector<uint8_t> blob = build_device_tree(full_board());
  const void* fdt = blob.data();
  EXPECT_EQ(prop_string(fdt, "/chosen", "bootargs"), "console=ttyS0 earlycon=sbi");
  EXPECT_EQ(prop_string(fdt, "/chosen", "stdout-path"), "/soc/serial@10000000");
  EXPECT_EQ(prop_cells(fdt, "/chosen", "linux,initrd-start"),
            (std::vector<uint32_t>{0, 0x8800'0000}));
  EXPECT_EQ(prop_cells(fdt, "/chosen", "linux,initrd-end"),
            (std::vector<uint32_t>{0, 0x8810'0000}));
  const uint32_t test = phandle_of(fdt, "/soc/test@100000");
  ASSERT_NE(test, 0u);
  EXPECT_EQ(fdt_node_check_compatible(fdt, fdt_path_offset(fdt, "/soc/test@100000"), "syscon"), 0);
  EXPECT_EQ(prop_cells(fdt, "/poweroff", "regmap"), std::vector<uint32_t>{test});
  EXPECT_EQ(prop_cells(fdt, "/poweroff", "value"), std::vector<uint32_t>{0x5555});
  EXPECT_EQ(prop_cells(fdt, "/reboot", "value"), std::vector<uint32_t>{0x7777});
  EXPECT_EQ(prop_string(fdt, "/reboot", "compatible"), "syscon-reboot");
  EXPECT_EQ(prop_string(fdt, "/soc/pvpanic@3000000", "compatible"), "qemu,pvpanic-mmio");
  EXPECT_EQ(prop_cells(fdt, "/soc/pvpanic@3000000", "reg"),
            (std::vector<uint32_t>{0, 0x300'0000, 0, 2}));
}

TEST(Fdt, DtcDecompilesIt) {
  const auto [status, dts] = decompile(build_device_tree(full_board()));
  ASSERT_EQ(status, 0) << dts;
  for (const char* expected : {"cpu@0 {",
                               "cpu@1 {",
                               "riscv,isa = \"rv64imafdc\";",
                               "memory@80000000 {",
                               "clint@2000000 {",
                               "plic@c000000 {",
                               "serial@10000000 {",
                               "test@100000 {",
                               "poweroff {",
                               "reboot {",
                               "pvpanic@3000000 {",
                               "virtio_mmio@10001000 {",
                               "virtio_mmio@10002000 {",
                               "compatible = \"ns16550a\";",
                               "compatible = \"riscv,cpu-intc\";",
                               "compatible = \"sifive,plic-1.0.0\\0riscv,plic0\";",
                               "compatible = \"sifive,clint0\\0riscv,clint0\";",
                               "bootargs = \"console=ttyS0 earlycon=sbi\";",
                               "stdout-path = \"/soc/serial@10000000\";",
                               "riscv,ndev = <0x5f>;",
                               "timebase-frequency = <0x989680>;",
                               "interrupt-controller;"}) {
    EXPECT_NE(dts.find(expected), std::string::npos) << expected << "\n" << dts;
  }
}

TEST(Fdt, EightHartsFitAndDecompile) {
  BoardDescription b = full_board();
  b.num_harts = virt::kMaxHarts;
  b.isa = "rv64imafdc_zicsr_zifencei_zba_zbb_zbs";
  b.mmu_type = "riscv,sv39";
  b.bootargs = std::string(2000, 'x');
  for (unsigned i = 0; i < virt::kVirtioSlots; ++i) {
    b.virtio.push_back({virt::kVirtioBase + i * virt::kVirtioStride + 0x10'0000, 10 + i});
  }
  const std::vector<uint8_t> blob = build_device_tree(b);
  EXPECT_EQ(fdt_check_header(blob.data()), 0);
  EXPECT_EQ(prop_string(blob.data(), "/cpus/cpu@7", "mmu-type"), "riscv,sv39");
  EXPECT_EQ(prop_cells(blob.data(), "/soc/plic@c000000", "interrupts-extended").size(), 32u);
  EXPECT_EQ(decompile(blob).first, 0);
}

TEST(Fdt, DevicesCanBeLeftOut) {
  BoardDescription b;
  b.uart = false;
  b.test_finisher = false;
  const std::vector<uint8_t> blob = build_device_tree(b);
  const void* fdt = blob.data();
  EXPECT_EQ(fdt_path_offset(fdt, "/soc/serial@10000000"), -FDT_ERR_NOTFOUND);
  EXPECT_EQ(fdt_path_offset(fdt, "/soc/test@100000"), -FDT_ERR_NOTFOUND);
  EXPECT_EQ(fdt_path_offset(fdt, "/poweroff"), -FDT_ERR_NOTFOUND);
  EXPECT_EQ(fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "stdout-path", nullptr), nullptr);
  EXPECT_EQ(decompile(blob).first, 0);
}

TEST(Fdt, RejectsImpossibleBoards) {
  auto with = [](auto change) {
    BoardDescription b;
    change(b);
    return b;
  };
  EXPECT_THROW(build_device_tree(with([](auto& b) { b.num_harts = 0; })), Error);
  EXPECT_THROW(build_device_tree(with([](auto& b) { b.num_harts = 9; })), Error);
  EXPECT_THROW(build_device_tree(with([](auto& b) { b.ram_size = 0; })), Error);
  EXPECT_THROW(build_device_tree(with([](auto& b) {
                 b.ram_base = ~uint64_t{0} - 10;
                 b.ram_size = 100;
               })),
               Error);
  EXPECT_THROW(build_device_tree(with([](auto& b) { b.initrd_start = 5; })), Error);
  EXPECT_THROW(build_device_tree(with([](auto& b) {
                 b.initrd_start = 10;
                 b.initrd_end = 5;
               })),
               Error);
  EXPECT_THROW(build_device_tree(with([](auto& b) {
                 b.virtio = {{virt::kVirtioBase, 0}};
               })),
               Error);
  EXPECT_THROW(build_device_tree(with([](auto& b) {
                 b.virtio = {{virt::kVirtioBase, 96}};
               })),
               Error);
  EXPECT_THROW(build_device_tree(with([](auto& b) {
                 b.virtio = {{virt::kVirtioBase, 1}, {virt::kVirtioBase, 2}};
               })),
               Error);
  EXPECT_THROW(build_device_tree(with([](auto& b) { b.bootargs = std::string("a\0b", 3); })),
               Error);
  EXPECT_THROW(build_device_tree(with([](auto& b) { b.isa = std::string(1, '\0'); })), Error);
  // Too big for the 64 KiB budget: an error, not a truncated blob.
  EXPECT_THROW(build_device_tree(with([](auto& b) { b.bootargs = std::string(70'000, 'a'); })),
               Error);
}

}  // namespace
}  // namespace vessel
