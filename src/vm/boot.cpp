#include "vm/boot.hpp"

#include <cstring>

#include "base/error.hpp"

namespace vessel {

namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kDtbRoom = 64 * 1024;
// The kernel needs room to run beyond its image: page tables, memblock,
// the initramfs unpacked into page cache. Below this, boot fails in ways
// that are hard to read, so vessel refuses up front.
constexpr uint64_t kMinFreeForKernel = 16 * kMiB;

uint64_t align_down(uint64_t v, uint64_t a) {
  return v & ~(a - 1);
}

template <typename T>
T read_le(std::span<const uint8_t> data, size_t offset) {
  T v;
  std::memcpy(&v, data.data() + offset, sizeof(T));
  return v;
}

}  // namespace

LinuxImage parse_linux_image(std::span<const uint8_t> file, const std::string& path) {
  // Header layout: code0 u32, code1 u32, text_offset u64, image_size u64,
  // flags u64, version u32, res1 u32, res2 u64, magic u64 "RISCV\0\0\0"
  // (deprecated), magic2 u32 "RSC\x05", res3 u32.
  constexpr size_t kHeaderSize = 64;
  if (file.size() < kHeaderSize) fail("'{}' is too small to be a RISC-V Linux Image", path);
  const bool magic2 = std::memcmp(file.data() + 56, "RSC\x05", 4) == 0;
  const bool magic = std::memcmp(file.data() + 48, "RISCV\0\0\0", 8) == 0;
  if (!magic && !magic2) {
    if (file.size() >= 4 && std::memcmp(file.data(),
                                        "\x7f"
                                        "ELF",
                                        4) == 0) {
      fail("'{}' is an ELF file, not a RISC-V Linux Image (use arch/riscv/boot/Image)", path);
    }
    fail("'{}' is not a RISC-V Linux Image (no RISC-V magic in its header)", path);
  }
  LinuxImage image;
  image.text_offset = read_le<uint64_t>(file, 8);
  image.image_size = read_le<uint64_t>(file, 16);
  if (image.image_size == 0) image.image_size = file.size();
  if (image.image_size < file.size()) image.image_size = file.size();
  if (image.text_offset > (1ull << 32) || image.image_size > (1ull << 32)) {
    fail("'{}' has an implausible Image header (offset {:#x}, size {:#x})", path, image.text_offset,
         image.image_size);
  }
  return image;
}

LinuxLayout plan_linux_layout(const LinuxImage& image, uint64_t initrd_size,
                              const GuestMemory& memory) {
  LinuxLayout layout;
  layout.kernel = memory.base() + (image.text_offset != 0 ? image.text_offset : 2 * kMiB);
  const uint64_t kernel_end = layout.kernel + image.image_size;
  if (memory.end() < kernel_end + kDtbRoom) {
    fail("--mem {} MiB is too small for the kernel ({} MiB)", memory.size() / kMiB,
         (image.image_size + kMiB - 1) / kMiB);
  }
  layout.dtb = align_down(memory.end() - kDtbRoom, 2 * kMiB);
  if (layout.dtb < kernel_end) layout.dtb = align_down(memory.end() - kDtbRoom, 4096);
  layout.dtb_room = memory.end() - layout.dtb;
  if (initrd_size != 0) {
    // One page under the device tree stays free for fw_dynamic_info.
    if (initrd_size + 4096 > layout.dtb - kernel_end) {
      fail("--mem {} MiB is too small for the kernel and the {} MiB initrd", memory.size() / kMiB,
           (initrd_size + kMiB - 1) / kMiB);
    }
    layout.initrd = align_down(layout.dtb - 4096 - initrd_size, 4096);
  }
  const uint64_t lowest_used = initrd_size != 0 ? layout.initrd : layout.dtb;
  if (lowest_used - kernel_end < kMinFreeForKernel) {
    fail("--mem {} MiB is too small: the kernel and initrd leave less than {} MiB free",
         memory.size() / kMiB, kMinFreeForKernel / kMiB);
  }
  return layout;
}

void load_raw(std::span<const uint8_t> image, const std::string& path, GuestMemory& memory,
              uint64_t addr) {
  if (image.empty()) fail("'{}' is empty", path);
  if (!memory.write(addr, image)) {
    fail("'{}' ({} bytes) does not fit in guest RAM at {:#x}", path, image.size(), addr);
  }
}

uint64_t place_device_tree(const std::vector<uint8_t>& dtb, GuestMemory& memory) {
  uint64_t addr = align_down(memory.end() - std::max<uint64_t>(dtb.size(), kDtbRoom), 2 * kMiB);
  if (addr < memory.base()) addr = memory.base();
  if (!memory.write(addr, dtb)) fail("guest RAM is too small for the device tree");
  return addr;
}

uint64_t write_fw_dynamic_info(GuestMemory& memory, const LinuxLayout& layout) {
  // OpenSBI include/sbi/fw_dynamic.h: magic, version, next_addr, next_mode,
  // options, boot_hart (version 2; -1 lets OpenSBI pick by lottery).
  constexpr uint64_t kMagic = 0x4942534f;  // "OSBI"
  constexpr uint64_t kNextModeS = 1;
  const uint64_t info[6] = {kMagic, 2, layout.kernel, kNextModeS, 0, ~uint64_t{0}};
  const uint64_t addr = layout.dtb - 4096;
  if (!memory.write(addr, {reinterpret_cast<const uint8_t*>(info), sizeof info})) {
    fail("guest RAM is too small for the firmware hand-off");
  }
  return addr;
}

}  // namespace vessel
