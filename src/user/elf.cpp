#include "user/elf.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "user/address_space.hpp"

namespace vessel::user {

namespace {

constexpr uint16_t kEtExec = 2, kEtDyn = 3;
constexpr uint16_t kEmRiscv = 243;
constexpr uint32_t kPtLoad = 1, kPtInterp = 3, kPtPhdr = 6, kPtGnuStack = 0x6474e551;
constexpr uint32_t kPfX = 1, kPfW = 2, kPfR = 4;
constexpr uint64_t kMaxInterpPath = 4096;

template <typename T>
T get(std::span<const uint8_t> b, uint64_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof(T));  // little-endian host and file
  return v;
}

}  // namespace

bool looks_like_riscv_elf(std::span<const uint8_t> head) {
  return head.size() >= 20 && std::memcmp(head.data(), "\177ELF", 4) == 0 && head[4] == 2 &&
         head[5] == 1 && get<uint16_t>(head, 18) == kEmRiscv;
}

std::string parse_elf(std::span<const uint8_t> head, uint64_t file_size, ElfImage& out,
                      uint64_t& need) {
  need = 0;
  out = ElfImage{};
  if (head.size() < kElfHeaderSize || std::memcmp(head.data(), "\177ELF", 4) != 0) {
    return "not an ELF file";
  }
  if (head[4] != 2 || head[5] != 1) return "not a 64-bit little-endian ELF file";
  if (get<uint16_t>(head, 18) != kEmRiscv) return "not a RISC-V ELF file";
  const uint16_t type = get<uint16_t>(head, 16);
  if (type != kEtExec && type != kEtDyn)
    return "not an executable (ELF type is neither EXEC nor DYN)";
  if (get<uint32_t>(head, 20) != 1) return "unknown ELF version";
  out.dynamic = type == kEtDyn;
  out.entry = get<uint64_t>(head, 24);
  out.phoff = get<uint64_t>(head, 32);
  const uint16_t phentsize = get<uint16_t>(head, 54);
  out.phnum = get<uint16_t>(head, 56);
  if (phentsize != kElfPhdrSize) return "bad program header size";
  if (out.phnum == 0 || out.phnum > kElfMaxPhdrs) return "bad number of program headers";
  const uint64_t table_size = uint64_t{out.phnum} * kElfPhdrSize;
  if (out.phoff > file_size || table_size > file_size - out.phoff) {
    return "program headers lie outside the file";
  }
  if (head.size() < out.phoff + table_size) {
    need = out.phoff + table_size;
    return {};
  }

  uint64_t last_end = 0;
  bool have_load = false;
  for (unsigned i = 0; i < out.phnum; ++i) {
    const uint64_t p = out.phoff + uint64_t{i} * kElfPhdrSize;
    const uint32_t ptype = get<uint32_t>(head, p);
    const uint32_t flags = get<uint32_t>(head, p + 4);
    const uint64_t offset = get<uint64_t>(head, p + 8);
    const uint64_t vaddr = get<uint64_t>(head, p + 16);
    const uint64_t filesz = get<uint64_t>(head, p + 32);
    const uint64_t memsz = get<uint64_t>(head, p + 40);
    switch (ptype) {
      case kPtLoad: {
        if (memsz == 0) continue;  // Linux skips empty segments too
        if (filesz > memsz) return fmt::format("segment {}: file size exceeds memory size", i);
        if (offset > file_size || filesz > file_size - offset) {
          return fmt::format("segment {}: lies outside the file", i);
        }
        if (vaddr >= AddressSpace::kLimit || memsz > AddressSpace::kLimit - vaddr) {
          return fmt::format("segment {}: address {:#x}+{:#x} out of range", i, vaddr, memsz);
        }
        if ((vaddr & 4095) != (offset & 4095)) {
          return fmt::format("segment {}: address and file offset disagree within a page", i);
        }
        if (have_load && vaddr < last_end) {
          return fmt::format("segment {}: overlaps or precedes the one before", i);
        }
        ElfSegment s;
        s.vaddr = vaddr;
        s.memsz = memsz;
        s.offset = offset;
        s.filesz = filesz;
        s.prot = ((flags & kPfR) ? kProtRead : 0) | ((flags & kPfW) ? kProtWrite : 0) |
                 ((flags & kPfX) ? kProtExec : 0);
        out.segments.push_back(s);
        if (!have_load) out.lowest = AddressSpace::page_down(vaddr);
        last_end = vaddr + memsz;
        have_load = true;
        break;
      }
      case kPtInterp:
        if (out.interp_size != 0) return "more than one interpreter";
        if (filesz < 2 || filesz > kMaxInterpPath || offset > file_size ||
            filesz > file_size - offset) {
          return "bad interpreter path";
        }
        out.interp_offset = offset;
        out.interp_size = filesz;
        break;
      case kPtPhdr: out.phdr_vaddr = vaddr; break;
      case kPtGnuStack: out.executable_stack = (flags & kPfX) != 0; break;
      default: break;
    }
  }
  if (!have_load) return "no loadable segment";
  out.highest = AddressSpace::page_up(last_end);
  if (out.highest > AddressSpace::kLimit) return "segments out of range";
  if (!out.dynamic && out.lowest < AddressSpace::kMinAddr) {
    return fmt::format("loads at {:#x}, below the lowest address allowed ({:#x})", out.lowest,
                       AddressSpace::kMinAddr);
  }
  if (out.phdr_vaddr == 0) {
    // No PT_PHDR: the headers are visible if a segment maps them from the
    // file (usually the first, from offset 0).
    for (const ElfSegment& s : out.segments) {
      if (out.phoff >= s.offset && out.phoff + table_size <= s.offset + s.filesz) {
        out.phdr_vaddr = s.vaddr + (out.phoff - s.offset);
        break;
      }
    }
  }
  return {};
}

}  // namespace vessel::user
