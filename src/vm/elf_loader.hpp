// Loading a bare-metal RISC-V ELF program into guest memory.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "memory/guest_memory.hpp"

namespace vessel {

struct ElfProgram {
  uint64_t entry = 0;
  uint64_t lowest = 0;             // lowest loaded physical address
  uint64_t highest = 0;            // one past the highest loaded physical address
  std::optional<uint64_t> tohost;  // HTIF symbols, if the program defines them
  std::optional<uint64_t> fromhost;
};

// Reads and validates the file as an ELF64 little-endian RISC-V executable.
// Throws Error with a one-line reason for anything else.
std::vector<uint8_t> read_file(const std::string& path, const char* what);
bool looks_like_elf(std::span<const uint8_t> image);

// Loads every PT_LOAD segment at its physical address. Throws Error if the
// file is malformed or a segment lies outside guest RAM.
ElfProgram load_elf(std::span<const uint8_t> image, const std::string& path, GuestMemory& memory);

}  // namespace vessel
