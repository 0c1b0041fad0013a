// The physical memory map of QEMU's `virt` board (hw/riscv/virt.c), which
// stock firmware and kernels expect. Addresses and sizes, nothing else.
#pragma once

#include <cstdint>

namespace vessel::virt {

inline constexpr uint64_t kTestBase = 0x0010'0000;  // SiFive test finisher
inline constexpr uint64_t kTestSize = 0x1000;
inline constexpr uint64_t kClintBase = 0x0200'0000;
inline constexpr uint64_t kClintSize = 0x1'0000;
inline constexpr uint64_t kPvpanicBase = 0x0300'0000;  // not in QEMU's virt map; unused there
inline constexpr uint64_t kPvpanicSize = 0x2;
inline constexpr uint64_t kPlicBase = 0x0c00'0000;
inline constexpr uint64_t kPlicSize = 0x60'0000;  // enough for 8 harts x 2 contexts
inline constexpr uint64_t kUartBase = 0x1000'0000;
inline constexpr uint64_t kUartSize = 0x100;
inline constexpr uint32_t kUartIrq = 10;
inline constexpr uint64_t kVirtioBase = 0x1000'1000;  // 8 slots of 0x1000
inline constexpr uint64_t kVirtioStride = 0x1000;
inline constexpr unsigned kVirtioSlots = 8;
inline constexpr uint32_t kVirtioIrqBase = 1;  // slot i interrupts on PLIC source 1 + i
inline constexpr uint64_t kDramBase = 0x8000'0000;

inline constexpr uint32_t kPlicSources = 96;  // sources 1..95, as QEMU's virt
inline constexpr unsigned kMaxHarts = 8;

}  // namespace vessel::virt
