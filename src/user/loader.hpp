// Loading a RISC-V Linux program into an AddressSpace as Linux's
// binfmt_elf does: the program's PT_LOAD segments (at a fixed address, or at
// a bias for a position-independent one), its interpreter (the dynamic
// linker, looked up in the sysroot) and the initial stack with argc, argv,
// envp and the auxiliary vector.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "user/address_space.hpp"
#include "user/elf.hpp"

namespace vessel::user {

struct ExecImage {
  std::string path;     // the file to load (a host path)
  std::string execfn;   // AT_EXECFN: the name it was run as
  std::string sysroot;  // where the interpreter's absolute path is looked up first
  std::vector<std::string> argv;
  std::vector<std::string> envp;
};

struct Loaded {
  uint64_t entry = 0;        // where the hart starts (the interpreter's entry if any)
  uint64_t sp = 0;           // the initial stack pointer (at argc)
  uint64_t brk = 0;          // the program break's start
  uint64_t exe_entry = 0;    // AT_ENTRY
  uint64_t interp_base = 0;  // AT_BASE (0 without an interpreter)
  uint64_t phdr = 0;         // AT_PHDR
  uint16_t phnum = 0;
};

// Where things go in the 64 GiB address space (Linux's layout, scaled down):
// a position-independent program at 4 GiB (its break after it), the stack
// at the top, mmap top-down below the stack.
inline constexpr uint64_t kPieBase = uint64_t{4} << 30;
inline constexpr uint64_t kStackSize = uint64_t{8} << 20;  // RLIMIT_STACK's default
inline constexpr uint64_t kStackTop = AddressSpace::kLimit;
inline constexpr uint64_t kMmapTop = kStackTop - kStackSize - (uint64_t{128} << 20);

// Throws Error with one line that names the file on anything wrong.
Loaded load_program(AddressSpace& space, const ExecImage& image);

// The host path for a guest's absolute path: under the sysroot if it exists
// there (as qemu-user's -L does), else the path itself.
std::string sysroot_path(const std::string& sysroot, const std::string& path);

// RISC-V hwcap bits for AT_HWCAP: one bit per single-letter extension.
inline constexpr uint64_t kHwcap = (1u << ('I' - 'A')) | (1u << ('M' - 'A')) | (1u << ('A' - 'A')) |
                                   (1u << ('F' - 'A')) | (1u << ('D' - 'A')) | (1u << ('C' - 'A'));

}  // namespace vessel::user
