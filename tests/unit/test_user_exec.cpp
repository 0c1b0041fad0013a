// vessel exec's parts below the system calls: ELF header checks with crafted
// bad files, the address space (mappings, protections, EFAULT checks), the
// riscv64 struct stat, the initial stack and auxiliary vector, and a hart in
// user mode whose traps come back to the caller (both engines).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <vector>

#include "base/error.hpp"
#include "devices/bus.hpp"
#include "engine/riscv/code_cache.hpp"
#include "engine/riscv/csr_numbers.hpp"
#include "engine/riscv/hart.hpp"
#include "hart_test_support.hpp"
#include "temp_dir.hpp"
#include "user/address_space.hpp"
#include "user/elf.hpp"
#include "user/host_faults.hpp"
#include "user/loader.hpp"
#include "user/riscv_abi.hpp"
#include "user/strace.hpp"
#include "user/syscalls.hpp"

namespace vessel::user {
namespace {

namespace as = rv::test::as;

// ---- A crafted ELF file: header, program headers, then code ----
struct Phdr {
  uint32_t type = 1, flags = 5;
  uint64_t offset = 0, vaddr = 0x10000, paddr = 0, filesz = 0x200, memsz = 0x200, align = 4096;
};

std::vector<uint8_t> make_elf(const std::vector<Phdr>& phdrs, uint16_t type = 2,
                              uint64_t entry = 0x10100, size_t file_size = 0x200) {
  std::vector<uint8_t> f(std::max<size_t>(file_size, 64 + 56 * phdrs.size()), 0);
  const uint8_t ident[16] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
  std::memcpy(f.data(), ident, 16);
  auto put16 = [&](size_t at, uint16_t v) { std::memcpy(&f[at], &v, 2); };
  auto put32 = [&](size_t at, uint32_t v) { std::memcpy(&f[at], &v, 4); };
  auto put64 = [&](size_t at, uint64_t v) { std::memcpy(&f[at], &v, 8); };
  put16(16, type);
  put16(18, 243);
  put32(20, 1);
  put64(24, entry);
  put64(32, 64);
  put16(52, 64);
  put16(54, 56);
  put16(56, static_cast<uint16_t>(phdrs.size()));
  for (size_t i = 0; i < phdrs.size(); ++i) {
    const size_t p = 64 + 56 * i;
    put32(p, phdrs[i].type);
    put32(p + 4, phdrs[i].flags);
    put64(p + 8, phdrs[i].offset);
    put64(p + 16, phdrs[i].vaddr);
    put64(p + 24, phdrs[i].paddr);
    put64(p + 32, phdrs[i].filesz);
    put64(p + 40, phdrs[i].memsz);
    put64(p + 48, phdrs[i].align);
  }
  return f;
}

std::string parse(const std::vector<uint8_t>& f, ElfImage& out) {
  uint64_t need = 0;
  return parse_elf(f, f.size(), out, need);
}

TEST(UserElf, AcceptsAStaticProgram) {
  ElfImage elf;
  EXPECT_EQ(parse(make_elf({Phdr{}}), elf), "");
  EXPECT_FALSE(elf.dynamic);
  EXPECT_EQ(elf.entry, 0x10100u);
  ASSERT_EQ(elf.segments.size(), 1u);
  EXPECT_EQ(elf.segments[0].prot, kProtRead | kProtExec);
  EXPECT_EQ(elf.lowest, 0x10000u);
  EXPECT_EQ(elf.highest, 0x11000u);
  EXPECT_EQ(elf.phdr_vaddr, 0x10040u);  // mapped by the segment from offset 0
}

TEST(UserElf, AsksForProgramHeadersBeyondWhatItGot) {
  auto f = make_elf({Phdr{}}, 2, 0x10100, 0x2000);
  // Move the table to 0x1000.
  std::memcpy(&f[0x1000], &f[64], 56);
  const uint64_t phoff = 0x1000;
  std::memcpy(&f[32], &phoff, 8);
  ElfImage elf;
  uint64_t need = 0;
  EXPECT_EQ(parse_elf(std::span<const uint8_t>(f.data(), 512), f.size(), elf, need), "");
  EXPECT_EQ(need, 0x1000u + 56);
  EXPECT_EQ(parse_elf(f, f.size(), elf, need), "");
  EXPECT_EQ(need, 0u);
}

TEST(UserElf, RejectsBadFiles) {
  struct Case {
    const char* why;
    std::function<void(std::vector<uint8_t>&)> spoil;
    const char* error;
  };
  const std::vector<Case> cases = {
      {"truncated", [](auto& f) { f.resize(40); }, "not an ELF file"},
      {"magic", [](auto& f) { f[1] = 'X'; }, "not an ELF file"},
      {"32-bit", [](auto& f) { f[4] = 1; }, "64-bit"},
      {"big-endian", [](auto& f) { f[5] = 2; }, "64-bit"},
      {"x86-64", [](auto& f) { f[18] = 62; }, "not a RISC-V"},
      {"relocatable", [](auto& f) { f[16] = 1; }, "not an executable"},
      {"version", [](auto& f) { f[20] = 2; }, "version"},
      {"phentsize", [](auto& f) { f[54] = 32; }, "program header size"},
      {"no phdrs", [](auto& f) { f[56] = 0; }, "number of program headers"},
      {"too many phdrs", [](auto& f) { f[57] = 1; }, "number of program headers"},
      {"phoff past the end", [](auto& f) { f[33] = 0x10; }, "outside the file"},
  };
  for (const Case& c : cases) {
    auto f = make_elf({Phdr{}});
    c.spoil(f);
    ElfImage elf;
    const std::string error = parse(f, elf);
    EXPECT_NE(error.find(c.error), std::string::npos) << c.why << ": " << error;
  }
}

TEST(UserElf, RejectsBadSegments) {
  struct Case {
    const char* why;
    Phdr p;
    const char* error;
  };
  Phdr big_file;
  big_file.filesz = 0x300;
  Phdr outside;
  outside.offset = 0x100;
  outside.vaddr = 0x10100;
  outside.filesz = 0x180;
  outside.memsz = 0x180;
  Phdr high;
  high.vaddr = AddressSpace::kLimit - 0x100;
  high.memsz = 0x1000;
  Phdr wrap;
  wrap.vaddr = ~uint64_t{0} - 0x10;
  Phdr skew;
  skew.vaddr = 0x10010;
  Phdr low;
  low.vaddr = 0x1000;
  const std::vector<Case> cases = {
      {"filesz > memsz", big_file, "file size exceeds"},
      {"past the file", outside, "outside the file"},
      {"above the limit", high, "out of range"},
      {"wrapping", wrap, "out of range"},
      {"offset and address skewed", skew, "disagree"},
      {"below mmap_min_addr", low, "below the lowest"},
  };
  for (const Case& c : cases) {
    ElfImage elf;
    const std::string error = parse(make_elf({c.p}), elf);
    EXPECT_NE(error.find(c.error), std::string::npos) << c.why << ": " << error;
  }
  Phdr second;
  second.vaddr = 0x10100;
  second.offset = 0x100;
  second.filesz = second.memsz = 0x10;
  ElfImage elf;
  EXPECT_NE(parse(make_elf({Phdr{}, second}), elf).find("overlaps"), std::string::npos);
  Phdr interp;
  interp.type = 3;
  interp.offset = 0x100;
  interp.filesz = 5000;
  EXPECT_NE(parse(make_elf({interp, Phdr{}}), elf).find("interpreter"), std::string::npos);
  Phdr note;
  note.type = 4;
  EXPECT_NE(parse(make_elf({note}), elf).find("no loadable segment"), std::string::npos);
}

TEST(UserElf, RecognisesRiscvElfHeads) {
  const auto f = make_elf({Phdr{}});
  EXPECT_TRUE(looks_like_riscv_elf(f));
  auto g = f;
  g[18] = 62;
  EXPECT_FALSE(looks_like_riscv_elf(g));
  EXPECT_FALSE(looks_like_riscv_elf(std::span<const uint8_t>(f.data(), 10)));
}

// ---- The address space ----
TEST(UserAddressSpace, MapsProtectsAndUnmaps) {
  AddressSpace space;
  constexpr uint64_t kA = 0x100000;
  EXPECT_TRUE(space.is_free(kA, 0x4000));
  space.map_anonymous(kA, 0x4000, kProtRead | kProtWrite);
  EXPECT_FALSE(space.is_free(kA + 0x3000, 0x2000));
  EXPECT_EQ(space.prot_at(kA + 0x1234), static_cast<int>(kProtRead | kProtWrite));
  EXPECT_TRUE(space.write_value(kA + 8, uint64_t{42}));
  uint64_t v = 0;
  EXPECT_TRUE(space.read_value(kA + 8, v));
  EXPECT_EQ(v, 42u);
  // Read-only in the middle: the region splits in three.
  EXPECT_EQ(space.protect(kA + 0x1000, 0x1000, kProtRead), 0);
  EXPECT_EQ(space.prot_at(kA + 0x1000), static_cast<int>(kProtRead));
  EXPECT_EQ(space.prot_at(kA + 0x2000), static_cast<int>(kProtRead | kProtWrite));
  EXPECT_EQ(space.host(kA + 0x1000, 8, kProtWrite), nullptr);
  EXPECT_NE(space.host(kA + 0x1000, 8, kProtRead), nullptr);
  // A range that runs from writable into read-only is not writable.
  EXPECT_EQ(space.host(kA + 0xff8, 16, kProtWrite), nullptr);
  // Unmapped in the middle: ranges across the hole fault.
  space.unmap(kA + 0x2000, 0x1000);
  EXPECT_EQ(space.prot_at(kA + 0x2000), -1);
  EXPECT_EQ(space.host(kA + 0x1ff8, 16, kProtRead), nullptr);
  EXPECT_EQ(space.protect(kA, 0x4000, kProtRead), ENOMEM);  // part unmapped: nothing changes
  EXPECT_EQ(space.prot_at(kA), static_cast<int>(kProtRead | kProtWrite));
  // Fresh anonymous memory over old memory reads as zero.
  space.map_anonymous(kA, 0x1000, kProtRead | kProtWrite);
  EXPECT_TRUE(space.read_value(kA + 8, v));
  EXPECT_EQ(v, 0u);
}

TEST(UserAddressSpace, RejectsPointersOutsideTheGuest) {
  AddressSpace space;
  uint64_t v = 0;
  EXPECT_FALSE(space.read_value(0, v));
  EXPECT_FALSE(space.read_value(AddressSpace::kLimit - 4, v));
  EXPECT_FALSE(space.read_value(AddressSpace::kLimit, v));  // the page tables live there
  EXPECT_FALSE(space.read_value(~uint64_t{0} - 3, v));
  EXPECT_EQ(space.host(0x100000, ~uint64_t{0}, kProtRead), nullptr);  // length wraps
  EXPECT_FALSE(AddressSpace::valid_range(0x1000, 0x1000));            // below kMinAddr
  EXPECT_FALSE(AddressSpace::valid_range(0x100000, 0x10));            // unaligned length
  EXPECT_FALSE(AddressSpace::valid_range(AddressSpace::kLimit - 0x1000, 0x2000));
}

TEST(UserAddressSpace, ReadsStringsUpToTheirEnd) {
  AddressSpace space;
  constexpr uint64_t kA = 0x200000;
  space.map_anonymous(kA, 0x1000, kProtRead | kProtWrite);
  // A string ending at the last byte of the page: fine although the next
  // page is unmapped.
  const char tail[] = "abc";
  space.poke(kA + 0x1000 - sizeof tail, tail, sizeof tail);
  std::string s;
  EXPECT_EQ(space.read_string(kA + 0x1000 - sizeof tail, 4096, s), 0);
  EXPECT_EQ(s, "abc");
  // Without its NUL it runs into the unmapped page.
  const char x = 'x';
  space.poke(kA + 0xfff, &x, 1);
  EXPECT_EQ(space.read_string(kA + 0xffc, 4096, s), EFAULT);
  const char long_name[] = "twenty characters...";
  space.poke(kA, long_name, sizeof long_name);
  EXPECT_EQ(space.read_string(kA, 16, s), ENAMETOOLONG);
  EXPECT_EQ(space.read_string(kA, 64, s), 0);
}

TEST(UserAddressSpace, CopiesFailWhenTheFileShrinksUnderAMapping) {
  // vessel's own copies (a system call's struct, a path) from and to a
  // page whose file was cut under it: EFAULT, not a host SIGBUS; the page
  // then counts as past the end, until the file grows back.
  AddressSpace space;
  install_host_fault_handler();
  set_fault_address_space(&space);
  test::TempDir dir;
  const std::string path = dir.path() + "/file";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 2 * 4096), 0);
  constexpr uint64_t kA = 0x200000;
  ASSERT_EQ(space.map_file(kA, 2 * 4096, kProtRead | kProtWrite, true, fd, 0), 0);
  uint64_t v = 7;
  EXPECT_TRUE(space.write_value(kA + 4096, v));
  ASSERT_EQ(ftruncate(fd, 4096), 0);
  EXPECT_FALSE(space.read_value(kA + 4096 + 8, v));
  EXPECT_TRUE(space.past_eof(kA + 4096));
  EXPECT_FALSE(space.write_value(kA + 4096, v));
  // A string that runs from the good page into the cut one.
  EXPECT_TRUE(space.write_value(kA + 4096 - 2, uint16_t{0x6261}));
  std::string s;
  EXPECT_EQ(space.read_string(kA + 4096 - 2, 100, s), EFAULT);
  EXPECT_TRUE(space.write_value(kA, v));  // the page the file still reaches
  ASSERT_EQ(ftruncate(fd, 2 * 4096), 0);
  EXPECT_TRUE(space.read_value(kA + 4096, v));
  EXPECT_EQ(v, 0u);  // the file's new bytes
  EXPECT_FALSE(space.past_eof(kA + 4096));
  close(fd);
  set_fault_address_space(nullptr);
  uninstall_host_fault_handler();
}

TEST(UserAddressSpace, FindsRoomTopDown) {
  AddressSpace space;
  space.set_mmap_top(0x10000000);
  const uint64_t a = space.find_free(0x3000, 0);
  EXPECT_EQ(a, 0x10000000u - 0x3000);
  space.map_anonymous(a, 0x3000, kProtRead);
  const uint64_t b = space.find_free(0x1000, 0);
  EXPECT_EQ(b, a - 0x1000);
  // A free hint is taken as it is.
  EXPECT_EQ(space.find_free(0x1000, 0x500000), 0x500000u);
  // A hint on used memory is not.
  EXPECT_NE(space.find_free(0x1000, a), a);
  EXPECT_EQ(space.find_free(AddressSpace::kLimit, 0), 0u);
}

// ---- riscv64's struct stat ----
TEST(UserAbi, StatHasTheGenericLayout) {
  EXPECT_EQ(offsetof(GuestStat, st_mode), 16u);
  EXPECT_EQ(offsetof(GuestStat, st_nlink), 20u);
  EXPECT_EQ(offsetof(GuestStat, st_rdev), 32u);
  EXPECT_EQ(offsetof(GuestStat, st_size), 48u);
  EXPECT_EQ(offsetof(GuestStat, st_blksize), 56u);
  EXPECT_EQ(offsetof(GuestStat, st_blocks), 64u);
  EXPECT_EQ(offsetof(GuestStat, st_atime_sec), 72u);
  EXPECT_EQ(offsetof(GuestStat, st_mtime_sec), 88u);
  EXPECT_EQ(offsetof(GuestStat, st_ctime_nsec), 112u);
  struct stat st {};
  st.st_mode = 0100644;
  st.st_nlink = uint64_t{1} << 33;  // saturates
  st.st_size = 12345;
  st.st_mtim.tv_sec = 99;
  st.st_mtim.tv_nsec = 7;
  const GuestStat g = to_guest_stat(st);
  EXPECT_EQ(g.st_mode, 0100644u);
  EXPECT_EQ(g.st_nlink, UINT32_MAX);
  EXPECT_EQ(g.st_size, 12345);
  EXPECT_EQ(g.st_mtime_sec, 99);
  EXPECT_EQ(g.st_mtime_nsec, 7u);
}

TEST(UserAbi, SyscallTableAndStraceResults) {
  EXPECT_STREQ(syscall_name(64), "write");
  EXPECT_STREQ(syscall_name(79), "newfstatat");
  EXPECT_STREQ(syscall_name(222), "mmap");
  EXPECT_EQ(syscall_name(1000), nullptr);
  EXPECT_EQ(strace_result(3), "3");
  EXPECT_EQ(strace_result(-ENOENT), "-1 ENOENT (No such file or directory)");
  EXPECT_EQ(strace_result(kNoResult), "?");
}

// ---- Loading: segments, the initial stack and the auxiliary vector ----
class UserLoad : public ::testing::Test {
 protected:
  test::TempDir dir;
  std::string write_program(const std::vector<uint32_t>& code) {
    auto f = make_elf({Phdr{}});
    std::memcpy(&f[0x100], code.data(), code.size() * 4);
    const std::string path = dir.file("prog");
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(f.data()), f.size());
    chmod(path.c_str(), 0755);
    return path;
  }
};

TEST_F(UserLoad, BuildsTheInitialStack) {
  AddressSpace space;
  ExecImage image;
  image.path = write_program({as::addi(as::a0, as::zero, 1)});
  image.execfn = "/bin/prog";
  image.argv = {"prog", "arg1"};
  image.envp = {"A=1"};
  const Loaded l = load_program(space, image);
  EXPECT_EQ(l.entry, 0x10100u);
  EXPECT_EQ(l.interp_base, 0u);
  EXPECT_EQ(l.sp % 16, 0u);
  EXPECT_EQ(l.brk, 0x11000u);
  std::vector<uint64_t> words(std::min<uint64_t>(64, (kStackTop - l.sp) / 8));
  ASSERT_TRUE(space.read(l.sp, words.data(), words.size() * 8));
  EXPECT_EQ(words[0], 2u);  // argc
  std::string s;
  EXPECT_EQ(space.read_string(words[1], 100, s), 0);
  EXPECT_EQ(s, "prog");
  EXPECT_EQ(space.read_string(words[2], 100, s), 0);
  EXPECT_EQ(s, "arg1");
  EXPECT_EQ(words[3], 0u);
  EXPECT_EQ(space.read_string(words[4], 100, s), 0);
  EXPECT_EQ(s, "A=1");
  EXPECT_EQ(words[5], 0u);
  std::map<uint64_t, uint64_t> aux;
  for (size_t i = 6; i + 1 < words.size() && words[i] != 0; i += 2) aux[words[i]] = words[i + 1];
  EXPECT_EQ(aux[6], 4096u);     // AT_PAGESZ
  EXPECT_EQ(aux[9], 0x10100u);  // AT_ENTRY
  EXPECT_EQ(aux[3], 0x10040u);  // AT_PHDR
  EXPECT_EQ(aux[5], 1u);        // AT_PHNUM
  EXPECT_EQ(aux[16], kHwcap);   // AT_HWCAP
  ASSERT_NE(aux[25], 0u);       // AT_RANDOM: 16 readable bytes
  uint8_t random[16];
  EXPECT_TRUE(space.read(aux[25], random, 16));
  EXPECT_EQ(space.read_string(aux[31], 100, s), 0);  // AT_EXECFN
  EXPECT_EQ(s, "/bin/prog");
  // The code is mapped read+exec, not writable.
  EXPECT_EQ(space.prot_at(0x10100), static_cast<int>(kProtRead | kProtExec));
  uint32_t insn = 0;
  EXPECT_TRUE(space.read_value(0x10100, insn));
  EXPECT_EQ(insn, as::addi(as::a0, as::zero, 1));
}

TEST_F(UserLoad, RefusesAMissingInterpreter) {
  Phdr interp;
  interp.type = 3;
  interp.offset = 0x180;
  interp.filesz = 12;
  auto f = make_elf({interp, Phdr{}});
  std::memcpy(&f[0x180], "/nonexist/x", 12);
  const std::string path = dir.file("dyn");
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(f.data()), f.size());
  chmod(path.c_str(), 0755);
  AddressSpace space;
  ExecImage image;
  image.path = path;
  image.argv = {"dyn"};
  try {
    load_program(space, image);
    FAIL() << "loaded without its interpreter";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexist/x"), std::string::npos) << e.what();
  }
}

// ---- A hart in user mode: traps come back to the caller ----
class UserHart : public ::testing::TestWithParam<Engine> {};

TEST_P(UserHart, EcallsAndFaultsEndTheRun) {
  AddressSpace space;
  constexpr uint64_t kCode = 0x10000, kData = 0x20000;
  space.map_anonymous(kCode, 0x1000, kProtRead | kProtWrite);
  const std::vector<uint32_t> code = {
      as::addi(as::a7, as::zero, 93), as::addi(as::a0, as::zero, 7), 0x00000073,  // ecall
      as::lui(as::t0, kData >> 12),   as::ld(as::t1, as::t0, 0),                  // mapped: fine
      as::sd(as::t1, as::t0, 0),  // read-only: faults
  };
  space.poke(kCode, code.data(), code.size() * 4);
  space.protect(kCode, 0x1000, kProtRead | kProtExec);
  space.map_anonymous(kData, 0x1000, kProtRead);
  Bus bus;
  uint64_t retired = 0;
  GuestClock clock(GuestClock::Mode::kDeterministic, &retired);
  HartIrqPins pins;
  rv::CodeCache cache(space.memory());
  rv::Hart hart(0, space.memory(), bus, cache, clock, pins);
  hart.set_engine(GetParam());
  hart.enter_user(kCode, space.satp());
  EXPECT_EQ(hart.priv(), rv::Priv::kUser);

  StopReason stop;
  hart.run(1000, stop);
  rv::Hart::UserTrap trap;
  ASSERT_TRUE(hart.take_user_trap(trap));
  EXPECT_EQ(trap.cause, rv::cause::kEcallU);
  EXPECT_EQ(hart.pc, kCode + 8);
  EXPECT_EQ(hart.x[as::a0], 7u);
  EXPECT_EQ(hart.x[as::a7], 93u);
  EXPECT_FALSE(hart.take_user_trap(trap));  // reported once

  hart.pc += 4;
  hart.run(1000, stop);
  ASSERT_TRUE(hart.take_user_trap(trap));
  EXPECT_EQ(trap.cause, rv::cause::kStorePageFault);
  EXPECT_EQ(trap.tval, kData);
  EXPECT_EQ(hart.pc, kCode + 20);

  // Unmapped code: an instruction page fault at the jump target.
  hart.pc = 0x30000;
  hart.run(1000, stop);
  ASSERT_TRUE(hart.take_user_trap(trap));
  EXPECT_EQ(trap.cause, rv::cause::kInsnPageFault);
  EXPECT_EQ(trap.tval, 0x30000u);
}

INSTANTIATE_TEST_SUITE_P(Engines, UserHart, ::testing::Values(Engine::kInterp, Engine::kJit),
                         [](const auto& info) { return std::string(engine_name(info.param)); });

}  // namespace
}  // namespace vessel::user
