// Parsing a RISC-V 64-bit Linux ELF executable's headers (System V gABI,
// "ELF Header" and "Program Header"; RISC-V ELF psABI for e_machine and
// e_flags). The file is untrusted: every offset, size and address is checked
// here, once, so the loader only maps what passed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vessel::user {

struct ElfSegment {  // a PT_LOAD
  uint64_t vaddr = 0;
  uint64_t memsz = 0;
  uint64_t offset = 0;
  uint64_t filesz = 0;
  uint32_t prot = 0;  // kProtRead/Write/Exec from p_flags
};

struct ElfImage {
  bool dynamic = false;  // ET_DYN: position-independent, loaded at a bias
  uint64_t entry = 0;
  uint64_t phoff = 0;
  uint16_t phnum = 0;
  uint64_t phdr_vaddr = 0;  // where the program headers are once loaded (0: nowhere)
  uint64_t lowest = 0;      // page-aligned span of the PT_LOADs
  uint64_t highest = 0;
  std::vector<ElfSegment> segments;
  // PT_INTERP: where the interpreter's path lies in the file (size 0: none).
  uint64_t interp_offset = 0;
  uint64_t interp_size = 0;
  bool executable_stack = false;  // PT_GNU_STACK with PF_X
};

inline constexpr uint64_t kElfHeaderSize = 64;
inline constexpr uint64_t kElfPhdrSize = 56;
inline constexpr unsigned kElfMaxPhdrs = 128;

// The bytes of the file's first part needed to parse it: the ELF header and
// the program header table. `file_size` is the whole file's size. Returns an
// empty string and fills `out`, or says what is wrong (one line).
// Call twice: first with at least the header (it then asks for more through
// `need` if the table lies further), then with `need` bytes.
std::string parse_elf(std::span<const uint8_t> head, uint64_t file_size, ElfImage& out,
                      uint64_t& need);

// True if the bytes start like a RISC-V ELF file (binfmt_misc's match, and
// execve's choice between vessel and the host).
bool looks_like_riscv_elf(std::span<const uint8_t> head);

}  // namespace vessel::user
