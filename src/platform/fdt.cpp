#include "platform/fdt.hpp"

#include <libfdt.h>

#include <algorithm>
#include <array>
#include <initializer_list>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "base/error.hpp"

namespace vessel {
namespace {

constexpr size_t kMaxBlobSize = size_t{64} * 1024;

// Fixed phandles: the tree is small and built in one pass, so every node
// that is referenced gets a number known before the reference is written.
constexpr uint32_t kPlicPhandle = 1;
constexpr uint32_t kTestPhandle = 2;
constexpr uint32_t cpu_phandle(unsigned hart) {
  return 3 + 2 * hart;
}
constexpr uint32_t intc_phandle(unsigned hart) {
  return 4 + 2 * hart;
}

// String lists are NUL-separated; sizeof keeps the final NUL.
constexpr char kClintCompatible[] = "sifive,clint0\0riscv,clint0";
constexpr char kPlicCompatible[] = "sifive,plic-1.0.0\0riscv,plic0";
constexpr char kTestCompatible[] = "sifive,test1\0sifive,test0\0syscon";

// The sequential-write API of libfdt, with errors turned into exceptions so
// the builder reads as the tree it writes.
class FdtWriter {
 public:
  FdtWriter() : blob_(kMaxBlobSize) {
    check(fdt_create(blob_.data(), static_cast<int>(blob_.size())));
    check(fdt_finish_reservemap(blob_.data()));
  }

  void begin(const std::string& name) { check(fdt_begin_node(blob_.data(), name.c_str())); }
  void end() { check(fdt_end_node(blob_.data())); }

  void u32(const char* name, uint32_t value) { check(fdt_property_u32(blob_.data(), name, value)); }
  void u64(const char* name, uint64_t value) { check(fdt_property_u64(blob_.data(), name, value)); }
  void string(const char* name, const std::string& value) {
    check(fdt_property_string(blob_.data(), name, value.c_str()));
  }
  template <size_t N>
  void strings(const char* name, const char (&list)[N]) {
    check(fdt_property(blob_.data(), name, list, N));
  }
  void empty(const char* name) { check(fdt_property(blob_.data(), name, nullptr, 0)); }
  void bytes(const char* name, std::span<const uint8_t> value) {
    check(fdt_property(blob_.data(), name, value.data(), static_cast<int>(value.size())));
  }
  void cells(const char* name, const std::vector<uint32_t>& values) {
    std::vector<fdt32_t> be;
    be.reserve(values.size());
    for (uint32_t v : values) be.push_back(cpu_to_fdt32(v));
    check(fdt_property(blob_.data(), name, be.data(), static_cast<int>(be.size() * 4)));
  }
  // A `reg` of one region with #address-cells = #size-cells = 2.
  void reg64(uint64_t base, uint64_t size) {
    cells("reg", {static_cast<uint32_t>(base >> 32), static_cast<uint32_t>(base),
                  static_cast<uint32_t>(size >> 32), static_cast<uint32_t>(size)});
  }

  std::vector<uint8_t> finish() {
    check(fdt_finish(blob_.data()));
    blob_.resize(fdt_totalsize(blob_.data()));
    return std::move(blob_);
  }

 private:
  static void check(int err) {
    if (err < 0) fail("device tree: {}", fdt_strerror(err));
  }

  std::vector<uint8_t> blob_;
};

std::string node(std::string_view name, uint64_t addr) {
  return fmt::format("{}@{:x}", name, addr);
}

void validate(const BoardDescription& b) {
  if (b.num_harts == 0 || b.num_harts > virt::kMaxHarts) {
    fail("device tree: {} harts (the virt board takes 1 to {})", b.num_harts, virt::kMaxHarts);
  }
  if (b.ram_size == 0 || b.ram_base + b.ram_size < b.ram_base) {
    fail("device tree: RAM at {:#x} of size {:#x} is not a usable range", b.ram_base, b.ram_size);
  }
  if (b.initrd_start.has_value() != b.initrd_end.has_value()) {
    fail("device tree: initrd needs both a start and an end");
  }
  if (b.initrd_start && *b.initrd_end < *b.initrd_start) {
    fail("device tree: initrd ends ({:#x}) before it starts ({:#x})", *b.initrd_end,
         *b.initrd_start);
  }
  // Tree strings are C strings: a NUL would silently cut them short.
  for (const auto& [what, text] : {std::pair<const char*, const std::string&>{"ISA", b.isa},
                                   {"MMU type", b.mmu_type},
                                   {"bootargs", b.bootargs}}) {
    if (text.find('\0') != std::string::npos) fail("device tree: {} contains a NUL byte", what);
  }
  for (const VirtioSlot& slot : b.virtio) {
    const auto same_base = [&](const VirtioSlot& other) { return other.base == slot.base; };
    if (std::count_if(b.virtio.begin(), b.virtio.end(), same_base) > 1) {
      fail("device tree: two virtio-mmio devices at {:#x}", slot.base);
    }
    if (slot.irq == 0 || slot.irq >= virt::kPlicSources) {
      fail("device tree: virtio-mmio at {:#x} uses IRQ {}, outside the PLIC's 1..{}", slot.base,
           slot.irq, virt::kPlicSources - 1);
    }
  }
}

void write_chosen(FdtWriter& w, const BoardDescription& b) {
  w.begin("chosen");
  if (!b.bootargs.empty()) w.string("bootargs", b.bootargs);
  if (b.uart) w.string("stdout-path", node("/soc/serial", virt::kUartBase));
  if (b.initrd_start) {
    w.u64("linux,initrd-start", *b.initrd_start);
    w.u64("linux,initrd-end", *b.initrd_end);
  }
  if (b.launch_digest) w.bytes(kLaunchDigestProperty, std::array<uint8_t, kLaunchDigestSize>{});
  w.end();
  if (b.uart) {
    w.begin("aliases");
    w.string("serial0", node("/soc/serial", virt::kUartBase));
    w.end();
  }
}

// syscon-poweroff and syscon-reboot drive the test finisher through its
// syscon regmap: Linux writes `value` at `offset`.
void write_reset_nodes(FdtWriter& w) {
  w.begin("poweroff");
  w.u32("value", 0x5555);
  w.u32("offset", 0);
  w.u32("regmap", kTestPhandle);
  w.string("compatible", "syscon-poweroff");
  w.end();
  w.begin("reboot");
  w.u32("value", 0x7777);
  w.u32("offset", 0);
  w.u32("regmap", kTestPhandle);
  w.string("compatible", "syscon-reboot");
  w.end();
}

void write_cpus(FdtWriter& w, const BoardDescription& b) {
  w.begin("cpus");
  w.u32("#address-cells", 1);
  w.u32("#size-cells", 0);
  w.u32("timebase-frequency", b.timebase_frequency);
  for (unsigned hart = 0; hart < b.num_harts; ++hart) {
    w.begin(fmt::format("cpu@{}", hart));
    w.u32("phandle", cpu_phandle(hart));
    w.string("device_type", "cpu");
    w.u32("reg", hart);
    w.string("status", "okay");
    w.string("compatible", "riscv");
    w.string("riscv,isa", b.isa);
    w.string("mmu-type", b.mmu_type);
    // The hart-local interrupt controller: its cells are mip bit numbers.
    w.begin("interrupt-controller");
    w.u32("#address-cells", 0);  // dtc warns about interrupt providers without it
    w.u32("#interrupt-cells", 1);
    w.empty("interrupt-controller");
    w.string("compatible", "riscv,cpu-intc");
    w.u32("phandle", intc_phandle(hart));
    w.end();
    w.end();
  }
  w.begin("cpu-map");
  w.begin("cluster0");
  for (unsigned hart = 0; hart < b.num_harts; ++hart) {
    w.begin(fmt::format("core{}", hart));
    w.u32("cpu", cpu_phandle(hart));
    w.end();
  }
  w.end();
  w.end();
  w.end();
}

// interrupts-extended = <&cpu0_intc a &cpu0_intc b &cpu1_intc a ...>
std::vector<uint32_t> per_hart_irqs(unsigned harts, std::initializer_list<uint32_t> irqs) {
  std::vector<uint32_t> cells;
  for (unsigned hart = 0; hart < harts; ++hart) {
    for (uint32_t irq : irqs) {
      cells.push_back(intc_phandle(hart));
      cells.push_back(irq);
    }
  }
  return cells;
}

void write_soc(FdtWriter& w, const BoardDescription& b) {
  w.begin("soc");
  w.u32("#address-cells", 2);
  w.u32("#size-cells", 2);
  w.string("compatible", "simple-bus");
  w.empty("ranges");

  if (b.test_finisher) {
    w.begin(node("test", virt::kTestBase));
    w.u32("phandle", kTestPhandle);
    w.reg64(virt::kTestBase, virt::kTestSize);
    w.strings("compatible", kTestCompatible);
    w.end();
  }

  w.begin(node("clint", virt::kClintBase));
  w.cells("interrupts-extended", per_hart_irqs(b.num_harts, {3, 7}));  // MSIP, MTIP
  w.reg64(virt::kClintBase, virt::kClintSize);
  w.strings("compatible", kClintCompatible);
  w.end();

  if (b.pvpanic) {
    w.begin(node("pvpanic", virt::kPvpanicBase));
    w.reg64(virt::kPvpanicBase, virt::kPvpanicSize);
    w.string("compatible", "qemu,pvpanic-mmio");
    w.end();
  }

  w.begin(node("plic", virt::kPlicBase));
  w.u32("phandle", kPlicPhandle);
  w.u32("riscv,ndev", virt::kPlicSources - 1);
  w.reg64(virt::kPlicBase, virt::kPlicSize);
  // Context 2h is hart h's M mode (MEIP, 11), 2h+1 its S mode (SEIP, 9).
  w.cells("interrupts-extended", per_hart_irqs(b.num_harts, {11, 9}));
  w.empty("interrupt-controller");
  w.strings("compatible", kPlicCompatible);
  w.u32("#address-cells", 0);
  w.u32("#interrupt-cells", 1);
  w.end();

  if (b.uart) {
    w.begin(node("serial", virt::kUartBase));
    w.u32("interrupts", virt::kUartIrq);
    w.u32("interrupt-parent", kPlicPhandle);
    w.u32("clock-frequency", 3'686'400);
    w.reg64(virt::kUartBase, virt::kUartSize);
    w.string("compatible", "ns16550a");
    w.end();
  }

  std::vector<VirtioSlot> slots = b.virtio;
  std::sort(slots.begin(), slots.end(),
            [](const VirtioSlot& x, const VirtioSlot& y) { return x.base < y.base; });
  for (const VirtioSlot& slot : slots) {
    w.begin(node("virtio_mmio", slot.base));
    w.u32("interrupts", slot.irq);
    w.u32("interrupt-parent", kPlicPhandle);
    w.reg64(slot.base, virt::kVirtioStride);
    w.string("compatible", "virtio,mmio");
    w.end();
  }
  w.end();
}

}  // namespace

std::vector<uint8_t> build_device_tree(const BoardDescription& board) {
  validate(board);
  FdtWriter w;
  w.begin("");
  w.u32("#address-cells", 2);
  w.u32("#size-cells", 2);
  w.string("compatible", "riscv-virtio");
  w.string("model", "riscv-virtio,qemu");
  write_chosen(w, board);
  if (board.test_finisher) write_reset_nodes(w);
  w.begin(node("memory", board.ram_base));
  w.string("device_type", "memory");
  w.reg64(board.ram_base, board.ram_size);
  w.end();
  write_cpus(w, board);
  write_soc(w, board);
  w.end();
  return w.finish();
}

void fill_launch_digest(std::vector<uint8_t>& dtb, std::span<const uint8_t> digest) {
  if (digest.size() != kLaunchDigestSize || fdt_check_full(dtb.data(), dtb.size()) != 0) {
    fail("device tree: cannot hold a launch digest");
  }
  const int chosen = fdt_path_offset(dtb.data(), "/chosen");
  int size = 0;
  // Only a property of the same size is overwritten: the tree's layout, and
  // with it every other byte that was measured, stays as it is.
  if (chosen < 0 || fdt_getprop(dtb.data(), chosen, kLaunchDigestProperty, &size) == nullptr ||
      size != static_cast<int>(kLaunchDigestSize) ||
      fdt_setprop_inplace(dtb.data(), chosen, kLaunchDigestProperty, digest.data(),
                          static_cast<int>(digest.size())) != 0) {
    fail("device tree: no room for the launch digest in /chosen");
  }
}

}  // namespace vessel
