// vessel exec's ELF loader with hostile files: the header parser, then (for
// what it accepts) loading into a fresh address space from a memfd, which
// maps segments and builds the initial stack. Nothing may crash; a bad file
// is an Error.
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.hpp"
#include "user/address_space.hpp"
#include "user/elf.hpp"
#include "user/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vessel::user;
  ElfImage elf;
  uint64_t need = 0;
  std::span<const uint8_t> bytes(data, size);
  std::string error = parse_elf(bytes, size, elf, need);
  if (error.empty() && need != 0) {
    if (need > size) __builtin_trap();  // parse_elf promised it lies in the file
    error = parse_elf(bytes.first(need), size, elf, need);
  }
  if (!error.empty()) return 0;
  for (const ElfSegment& s : elf.segments) {
    // What the loader relies on.
    if (s.filesz > s.memsz || s.offset + s.filesz > size ||
        s.vaddr + s.memsz > AddressSpace::kLimit) {
      __builtin_trap();
    }
  }
  const int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (write(fd, data, size) == static_cast<ssize_t>(size)) {
    fchmod(fd, 0700);
    AddressSpace space;
    ExecImage image;
    image.path = "/proc/self/fd/" + std::to_string(fd);
    image.execfn = "fuzz";
    image.sysroot = "/nonexistent-sysroot";
    image.argv = {"fuzz"};
    try {
      load_program(space, image);
    } catch (const vessel::Error&) {
    }
  }
  close(fd);
  return 0;
}
