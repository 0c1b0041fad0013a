// Boot image handling: the RISC-V Linux Image header, where kernel, initrd
// and device tree go, and the ELF loader, with crafted bad files.
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "base/error.hpp"
#include "vm/boot.hpp"
#include "vm/elf_loader.hpp"

namespace vessel {
namespace {

constexpr uint64_t kRam = 0x80000000;
constexpr uint64_t kMiB = 1 << 20;

std::vector<uint8_t> linux_image(uint64_t text_offset, uint64_t image_size,
                                 size_t file_size = 4096) {
  std::vector<uint8_t> f(file_size, 0);
  std::memcpy(f.data() + 8, &text_offset, 8);
  std::memcpy(f.data() + 16, &image_size, 8);
  std::memcpy(f.data() + 48, "RISCV\0\0\0", 8);
  std::memcpy(f.data() + 56, "RSC\x05", 4);
  return f;
}

TEST(LinuxImage, ParsesHeader) {
  const LinuxImage img = parse_linux_image(linux_image(0x200000, 8 * kMiB), "Image");
  EXPECT_EQ(img.text_offset, 0x200000u);
  EXPECT_EQ(img.image_size, 8 * kMiB);
}

TEST(LinuxImage, RejectsWhatIsNotAnImage) {
  std::vector<uint8_t> garbage(4096, 0x41);
  EXPECT_THROW(parse_linux_image(garbage, "x"), Error);
  EXPECT_THROW(parse_linux_image(std::vector<uint8_t>(10, 0), "x"), Error);
  std::vector<uint8_t> elf(4096, 0);
  std::memcpy(elf.data(),
              "\x7f"
              "ELF",
              4);
  try {
    parse_linux_image(elf, "vmlinux");
    FAIL() << "an ELF file was accepted as an Image";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ELF"), std::string::npos);
  }
  EXPECT_THROW(parse_linux_image(linux_image(1ull << 40, 4096), "x"), Error);
}

TEST(LinuxLayout, KernelAtTextOffsetDtbAtTopInitrdBelow) {
  GuestMemory mem(kRam, 256 * kMiB);
  const LinuxLayout l =
      plan_linux_layout(parse_linux_image(linux_image(0x200000, 16 * kMiB), "I"), 8 * kMiB, mem);
  EXPECT_EQ(l.kernel, kRam + 0x200000);
  EXPECT_EQ(l.dtb % (2 * kMiB), 0u);
  EXPECT_LE(l.dtb + l.dtb_room, mem.end());
  EXPECT_GE(l.initrd, l.kernel + 16 * kMiB);
  EXPECT_LE(l.initrd + 8 * kMiB, l.dtb - 4096);  // room for fw_dynamic_info
}

TEST(LinuxLayout, RefusesTooLittleMemory) {
  GuestMemory mem(kRam, 16 * kMiB);
  const LinuxImage img = parse_linux_image(linux_image(0x200000, 12 * kMiB), "I");
  EXPECT_THROW(plan_linux_layout(img, 0, mem), Error);
  GuestMemory mem2(kRam, 64 * kMiB);
  EXPECT_THROW(plan_linux_layout(img, 60 * kMiB, mem2), Error);
  EXPECT_NO_THROW(plan_linux_layout(img, 4 * kMiB, mem2));
}

std::vector<uint8_t> tiny_elf(uint64_t paddr, uint64_t filesz, uint64_t memsz,
                              uint16_t machine = EM_RISCV) {
  std::vector<uint8_t> f(sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + filesz, 0);
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_type = ET_EXEC;
  eh.e_machine = machine;
  eh.e_entry = paddr;
  eh.e_phoff = sizeof(Elf64_Ehdr);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 1;
  Elf64_Phdr ph{};
  ph.p_type = PT_LOAD;
  ph.p_offset = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
  ph.p_paddr = paddr;
  ph.p_vaddr = paddr;
  ph.p_filesz = filesz;
  ph.p_memsz = memsz;
  std::memcpy(f.data(), &eh, sizeof eh);
  std::memcpy(f.data() + sizeof eh, &ph, sizeof ph);
  for (uint64_t i = 0; i < filesz; ++i) f[ph.p_offset + i] = static_cast<uint8_t>(i + 1);
  return f;
}

TEST(ElfLoader, LoadsSegmentAndZeroesBss) {
  GuestMemory mem(kRam, kMiB);
  std::memset(mem.host_ptr(kRam, 64), 0xee, 64);
  const ElfProgram p = load_elf(tiny_elf(kRam, 16, 32), "p.elf", mem);
  EXPECT_EQ(p.entry, kRam);
  EXPECT_EQ(mem.host_ptr(kRam, 1)[0], 1);
  EXPECT_EQ(mem.host_ptr(kRam + 15, 1)[0], 16);
  EXPECT_EQ(mem.host_ptr(kRam + 16, 1)[0], 0);     // bss zeroed
  EXPECT_EQ(mem.host_ptr(kRam + 32, 1)[0], 0xee);  // beyond memsz untouched
  EXPECT_FALSE(p.tohost.has_value());
}

TEST(ElfLoader, RejectsBadFiles) {
  GuestMemory mem(kRam, kMiB);
  EXPECT_THROW(load_elf(std::vector<uint8_t>{1, 2, 3}, "x", mem), Error);
  EXPECT_THROW(load_elf(tiny_elf(kRam, 16, 16, EM_X86_64), "x", mem), Error);
  EXPECT_THROW(load_elf(tiny_elf(kRam - 4096, 16, 16), "x", mem), Error);       // below RAM
  EXPECT_THROW(load_elf(tiny_elf(kRam + kMiB - 8, 16, 16), "x", mem), Error);   // past the end
  EXPECT_THROW(load_elf(tiny_elf(~uint64_t{0} - 8, 16, 16), "x", mem), Error);  // wraps
  auto truncated = tiny_elf(kRam, 64, 64);
  truncated.resize(truncated.size() - 10);
  EXPECT_THROW(load_elf(truncated, "x", mem), Error);
  auto bad_ph = tiny_elf(kRam, 16, 16);
  Elf64_Ehdr eh;
  std::memcpy(&eh, bad_ph.data(), sizeof eh);
  eh.e_phnum = 1000;
  std::memcpy(bad_ph.data(), &eh, sizeof eh);
  EXPECT_THROW(load_elf(bad_ph, "x", mem), Error);
  auto filesz_over_memsz = tiny_elf(kRam, 16, 8);
  EXPECT_THROW(load_elf(filesz_over_memsz, "x", mem), Error);
}

}  // namespace
}  // namespace vessel
