// Where boot images go in guest RAM: the Linux RISC-V Image header
// (Documentation/riscv/boot-image-header.rst), the placement of kernel,
// initrd and device tree, and OpenSBI's fw_dynamic hand-off structure.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "memory/guest_memory.hpp"

namespace vessel {

struct LinuxImage {
  uint64_t text_offset = 0;  // load offset from the start of RAM
  uint64_t image_size = 0;   // bytes the kernel occupies once loaded (incl. bss)
};

// Validates the RISC-V Image header. Throws Error if the file is not one.
LinuxImage parse_linux_image(std::span<const uint8_t> file, const std::string& path);

struct LinuxLayout {
  uint64_t kernel = 0;    // load address (= entry)
  uint64_t initrd = 0;    // start, if any
  uint64_t dtb = 0;       // device tree address
  uint64_t dtb_room = 0;  // bytes reserved for the device tree
};

// Kernel at RAM base + text_offset (2 MiB on RV64, where firmware leaves
// room), the device tree at the top of RAM on a 2 MiB boundary as QEMU does,
// the initrd just below it. Throws Error if RAM is too small.
LinuxLayout plan_linux_layout(const LinuxImage& image, uint64_t initrd_size,
                              const GuestMemory& memory);

// Copies a raw binary to `addr`. Throws Error if it does not fit in RAM.
void load_raw(std::span<const uint8_t> image, const std::string& path, GuestMemory& memory,
              uint64_t addr);

// Places a device tree near the top of RAM (2 MiB aligned) and returns its address.
uint64_t place_device_tree(const std::vector<uint8_t>& dtb, GuestMemory& memory);

// Writes OpenSBI's struct fw_dynamic_info (version 2) just below the device
// tree and returns its address, for a2 at firmware entry.
uint64_t write_fw_dynamic_info(GuestMemory& memory, const LinuxLayout& layout);

}  // namespace vessel
