// The flattened device tree that tells firmware and the kernel what the
// board holds, laid out like QEMU's virt board (hw/riscv/virt.c create_fdt*)
// so stock OpenSBI and Linux find every device where they expect it.
// Bindings: Documentation/devicetree/bindings/{riscv/cpus.yaml,
// interrupt-controller/sifive,plic-1.0.0.yaml, timer/sifive,clint.yaml,
// serial/8250.yaml, power/reset/syscon-{poweroff,reboot}.yaml}.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "platform/guest_clock.hpp"
#include "platform/virt_map.hpp"

namespace vessel {

struct VirtioSlot {
  uint64_t base;  // e.g. virt::kVirtioBase + i * virt::kVirtioStride
  uint32_t irq;   // PLIC source, 1..95
};

struct BoardDescription {
  unsigned num_harts = 1;  // 1..virt::kMaxHarts
  std::string isa = "rv64imafdc";
  std::string mmu_type = "riscv,sv48";
  uint64_t ram_base = virt::kDramBase;
  uint64_t ram_size = uint64_t{128} << 20;
  std::string bootargs;                  // /chosen/bootargs, left out when empty
  std::optional<uint64_t> initrd_start;  // both or neither; end is exclusive
  std::optional<uint64_t> initrd_end;
  uint32_t timebase_frequency = GuestClock::kTimebaseHz;
  std::vector<VirtioSlot> virtio;  // one virtio,mmio node each, ascending by base
  bool uart = true;                // serial@10000000, also /chosen/stdout-path
  bool test_finisher = true;       // test@100000 plus the /poweroff and /reboot nodes
  bool pvpanic = false;            // pvpanic@3000000
  // /chosen/vessel,launch-digest: 32 zero bytes for fill_launch_digest().
  bool launch_digest = false;
};

// The blob is packed (totalsize is what it uses, well under 64 KiB), so
// firmware that edits it in place (OpenSBI grows it with fdt_open_into) needs
// free memory after wherever the machine puts it. Throws vessel::Error for a
// description that cannot be right (no harts, empty RAM, bad initrd range,
// virtio IRQ outside the PLIC, two virtio devices at one address, a NUL in a
// string, a tree over 64 KiB).
std::vector<uint8_t> build_device_tree(const BoardDescription& board);

// Where a measured launch (vm/launch_digest.hpp) tells the guest its digest.
inline constexpr char kLaunchDigestProperty[] = "vessel,launch-digest";
inline constexpr size_t kLaunchDigestSize = 32;

// Writes `digest` over the zeros of /chosen/vessel,launch-digest in a tree
// built with `launch_digest`; nothing else in the blob moves. Throws Error
// if the tree has no such property of kLaunchDigestSize bytes.
void fill_launch_digest(std::vector<uint8_t>& dtb, std::span<const uint8_t> digest);

}  // namespace vessel
