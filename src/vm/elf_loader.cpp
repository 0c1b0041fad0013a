// ELF64 parsing is written here with glibc's <elf.h> definitions rather than
// libelf: the loader needs only the header, the program headers and one
// symbol table, and every offset is bounds-checked against the file in a few
// lines, which keeps a malformed file from ever reading out of bounds.
#include "vm/elf_loader.hpp"

#include <elf.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/error.hpp"

namespace vessel {

namespace {

bool in_file(std::span<const uint8_t> image, uint64_t offset, uint64_t size) {
  return offset <= image.size() && size <= image.size() - offset;
}

template <typename T>
T read_struct(std::span<const uint8_t> image, uint64_t offset) {
  T value;
  std::memcpy(&value, image.data() + offset, sizeof(T));
  return value;
}

void find_htif_symbols(std::span<const uint8_t> image, const Elf64_Ehdr& eh, ElfProgram& prog) {
  if (eh.e_shoff == 0 || eh.e_shentsize != sizeof(Elf64_Shdr)) return;
  if (!in_file(image, eh.e_shoff, uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr))) return;
  for (unsigned i = 0; i < eh.e_shnum; ++i) {
    const auto sh = read_struct<Elf64_Shdr>(image, eh.e_shoff + i * sizeof(Elf64_Shdr));
    if (sh.sh_type != SHT_SYMTAB || sh.sh_entsize != sizeof(Elf64_Sym)) continue;
    if (sh.sh_link >= eh.e_shnum || !in_file(image, sh.sh_offset, sh.sh_size)) continue;
    const auto strtab =
        read_struct<Elf64_Shdr>(image, eh.e_shoff + sh.sh_link * sizeof(Elf64_Shdr));
    if (!in_file(image, strtab.sh_offset, strtab.sh_size)) continue;
    for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= sh.sh_size; off += sizeof(Elf64_Sym)) {
      const auto sym = read_struct<Elf64_Sym>(image, sh.sh_offset + off);
      if (sym.st_name >= strtab.sh_size) continue;
      const char* name =
          reinterpret_cast<const char*>(image.data() + strtab.sh_offset + sym.st_name);
      const size_t max_len = strtab.sh_size - sym.st_name;
      const std::string_view sv(name, strnlen(name, max_len));
      if (sv == "tohost") prog.tohost = sym.st_value;
      if (sv == "fromhost") prog.fromhost = sym.st_value;
    }
  }
}

}  // namespace

std::vector<uint8_t> read_file(const std::string& path, const char* what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail("{} '{}' is a directory", what, path);
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail("cannot open {} '{}': {}", what, path, std::strerror(errno));
  const std::streamoff size = in.tellg();
  if (size < 0) fail("cannot read {} '{}'", what, path);
  std::vector<uint8_t> data(static_cast<size_t>(size));
  in.seekg(0);
  // One read of the whole file: kernels and initrds are megabytes.
  if (!in.read(reinterpret_cast<char*>(data.data()), size)) fail("cannot read {} '{}'", what, path);
  return data;
}

bool looks_like_elf(std::span<const uint8_t> image) {
  return image.size() >= 4 && std::memcmp(image.data(), ELFMAG, SELFMAG) == 0;
}

ElfProgram load_elf(std::span<const uint8_t> image, const std::string& path, GuestMemory& memory) {
  if (!looks_like_elf(image) || image.size() < sizeof(Elf64_Ehdr)) {
    fail("'{}' is not an ELF file", path);
  }
  const auto eh = read_struct<Elf64_Ehdr>(image, 0);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
    fail("'{}' is not a 64-bit little-endian ELF file", path);
  }
  if (eh.e_machine != EM_RISCV)
    fail("'{}' is not a RISC-V program (ELF machine {})", path, eh.e_machine);
  if (eh.e_type != ET_EXEC) fail("'{}' is not a statically linked executable", path);
  if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
      !in_file(image, eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr))) {
    fail("'{}' has a malformed program header table", path);
  }

  ElfProgram prog;
  prog.entry = eh.e_entry;
  prog.lowest = UINT64_MAX;
  bool loaded_any = false;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    const auto ph = read_struct<Elf64_Phdr>(image, eh.e_phoff + i * sizeof(Elf64_Phdr));
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    if (ph.p_filesz > ph.p_memsz || !in_file(image, ph.p_offset, ph.p_filesz)) {
      fail("'{}': segment {} lies outside the file", path, i);
    }
    if (!memory.contains(ph.p_paddr, ph.p_memsz)) {
      fail(
          "'{}': segment {} at {:#x}..{:#x} lies outside guest RAM {:#x}..{:#x} (try a larger "
          "--mem)",
          path, i, ph.p_paddr, ph.p_paddr + ph.p_memsz, memory.base(), memory.end());
    }
    uint8_t* dst = memory.host_ptr(ph.p_paddr, ph.p_memsz);
    std::memcpy(dst, image.data() + ph.p_offset, ph.p_filesz);
    std::memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
    prog.lowest = std::min(prog.lowest, ph.p_paddr);
    prog.highest = std::max(prog.highest, ph.p_paddr + ph.p_memsz);
    loaded_any = true;
  }
  if (!loaded_any) fail("'{}' has no loadable segments", path);
  if (!memory.contains(prog.entry, 2)) {
    fail("'{}': entry point {:#x} is outside guest RAM", path, prog.entry);
  }
  find_htif_symbols(image, eh, prog);
  return prog;
}

}  // namespace vessel
