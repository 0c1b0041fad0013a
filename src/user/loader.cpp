#include "user/loader.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace vessel::user {

namespace {

// Auxiliary vector keys (include/uapi/linux/auxvec.h).
constexpr uint64_t kAtNull = 0, kAtPhdr = 3, kAtPhent = 4, kAtPhnum = 5, kAtPagesz = 6, kAtBase = 7,
                   kAtFlags = 8, kAtEntry = 9, kAtUid = 11, kAtEuid = 12, kAtGid = 13, kAtEgid = 14,
                   kAtHwcap = 16, kAtClktck = 17, kAtSecure = 23, kAtRandom = 25, kAtHwcap2 = 26,
                   kAtExecfn = 31;

struct OpenElf {
  UniqueFd fd;
  ElfImage elf;
};

OpenElf open_elf(const std::string& path) {
  OpenElf f;
  f.fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!f.fd.valid()) fail("{}: {}", path, errno_text(errno));
  struct stat st {};
  if (fstat(f.fd.get(), &st) != 0) fail("{}: {}", path, errno_text(errno));
  if (!S_ISREG(st.st_mode)) fail("{}: not a regular file", path);
  if (access(path.c_str(), X_OK) != 0) fail("{}: {}", path, errno_text(errno));
  const auto file_size = static_cast<uint64_t>(st.st_size);
  std::vector<uint8_t> head(std::min<uint64_t>(file_size, 4096));
  if (pread(f.fd.get(), head.data(), head.size(), 0) != static_cast<ssize_t>(head.size())) {
    fail("{}: cannot read the ELF header", path);
  }
  uint64_t need = 0;
  std::string error = parse_elf(head, file_size, f.elf, need);
  if (error.empty() && need != 0) {
    head.resize(need);  // parse_elf checked that `need` lies inside the file
    if (pread(f.fd.get(), head.data(), head.size(), 0) != static_cast<ssize_t>(head.size())) {
      fail("{}: cannot read the program headers", path);
    }
    error = parse_elf(head, file_size, f.elf, need);
  }
  if (!error.empty()) fail("{}: {}", path, error);
  return f;
}

// Maps the PT_LOAD segments at `bias`; returns the end of the highest one.
void map_segments(AddressSpace& space, const OpenElf& f, uint64_t bias, const std::string& path) {
  for (const ElfSegment& s : f.elf.segments) {
    const uint64_t start = AddressSpace::page_down(s.vaddr + bias);
    const uint64_t file_end = s.vaddr + bias + s.filesz;
    const uint64_t mem_end = AddressSpace::page_up(s.vaddr + bias + s.memsz);
    uint64_t anon_from = start;
    if (s.filesz != 0) {
      const uint64_t len = AddressSpace::page_up(file_end) - start;
      const int err =
          space.map_file(start, len, s.prot, false, f.fd.get(), AddressSpace::page_down(s.offset));
      if (err != 0) fail("{}: cannot map a segment: {}", path, errno_text(err));
      // The rest of the last file page belongs to .bss: zero, not file bytes.
      const uint64_t tail = AddressSpace::page_up(file_end) - file_end;
      if (tail != 0 && s.memsz > s.filesz) {
        const std::vector<uint8_t> zeros(tail);
        space.poke(file_end, zeros.data(), tail);
      }
      anon_from = AddressSpace::page_up(file_end);
    }
    if (mem_end > anon_from) space.map_anonymous(anon_from, mem_end - anon_from, s.prot);
  }
}

// Chooses where a program's segments go; throws if they do not fit.
uint64_t choose_bias(AddressSpace& space, const ElfImage& elf, uint64_t want_base,
                     const std::string& path) {
  const uint64_t span = elf.highest - elf.lowest;
  if (!elf.dynamic) {
    if (!AddressSpace::valid_range(elf.lowest, span) || !space.is_free(elf.lowest, span)) {
      fail("{}: its segments collide with memory in use", path);
    }
    return 0;
  }
  const uint64_t base = space.find_free(span, want_base);
  if (base == 0) fail("{}: no room for its segments", path);
  return base - elf.lowest;
}

std::string read_interp(const OpenElf& f, const std::string& path) {
  std::string interp(f.elf.interp_size, '\0');
  if (pread(f.fd.get(), interp.data(), interp.size(), static_cast<off_t>(f.elf.interp_offset)) !=
      static_cast<ssize_t>(interp.size())) {
    fail("{}: cannot read the interpreter's path", path);
  }
  if (interp.back() != '\0' || interp.find('\0') != interp.size() - 1) {
    fail("{}: bad interpreter path", path);
  }
  interp.pop_back();
  return interp;
}

}  // namespace

std::string sysroot_path(const std::string& sysroot, const std::string& path) {
  if (sysroot.empty() || path.empty() || path[0] != '/') return path;
  std::string candidate = sysroot + path;
  struct stat st {};
  if (lstat(candidate.c_str(), &st) == 0) return candidate;
  return path;
}

Loaded load_program(AddressSpace& space, const ExecImage& image) {
  Loaded out;
  const OpenElf exe = open_elf(image.path);
  const uint64_t bias = choose_bias(space, exe.elf, kPieBase, image.path);
  map_segments(space, exe, bias, image.path);
  out.exe_entry = exe.elf.entry + bias;
  out.entry = out.exe_entry;
  out.phnum = exe.elf.phnum;
  out.phdr = exe.elf.phdr_vaddr != 0 ? exe.elf.phdr_vaddr + bias : 0;
  out.brk = exe.elf.highest + bias;

  // The stack, and mmap's room below it, before the interpreter goes there.
  space.map_anonymous(kStackTop - kStackSize, kStackSize, kProtRead | kProtWrite);
  space.set_mmap_top(kMmapTop);

  if (exe.elf.interp_size != 0) {
    const std::string interp = read_interp(exe, image.path);
    const std::string interp_host = sysroot_path(image.sysroot, interp);
    const OpenElf ld = open_elf(interp_host);
    if (ld.elf.interp_size != 0) fail("{}: the interpreter wants an interpreter", interp_host);
    const uint64_t ld_bias = choose_bias(space, ld.elf, 0, interp_host);
    map_segments(space, ld, ld_bias, interp_host);
    out.interp_base = ld.elf.lowest + ld_bias;
    out.entry = ld.elf.entry + ld_bias;
  }

  // The initial stack (Linux's create_elf_tables): strings at the top,
  // AT_RANDOM's bytes, then argc, argv, envp and auxv from the 16-aligned sp.
  uint64_t p = kStackTop - 8;
  uint64_t room = kStackSize / 4;  // as Linux limits argv + envp
  auto push_string = [&](const std::string& s) {
    if (s.size() + 1 > room) fail("{}: argument list too long", image.path);
    room -= s.size() + 1;
    p -= s.size() + 1;
    space.poke(p, s.c_str(), s.size() + 1);
    return p;
  };
  const uint64_t execfn = push_string(image.execfn);
  std::vector<uint64_t> env_ptrs(image.envp.size()), arg_ptrs(image.argv.size());
  for (size_t i = image.envp.size(); i-- > 0;) env_ptrs[i] = push_string(image.envp[i]);
  for (size_t i = image.argv.size(); i-- > 0;) arg_ptrs[i] = push_string(image.argv[i]);
  uint8_t random[16];
  if (getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
    fail("getrandom: {}", errno_text(errno));
  }
  p = (p - sizeof random) & ~uint64_t{15};
  const uint64_t random_at = p;
  space.poke(random_at, random, sizeof random);

  std::vector<uint64_t> table;
  table.push_back(image.argv.size());
  table.insert(table.end(), arg_ptrs.begin(), arg_ptrs.end());
  table.push_back(0);
  table.insert(table.end(), env_ptrs.begin(), env_ptrs.end());
  table.push_back(0);
  auto aux = [&](uint64_t key, uint64_t value) {
    table.push_back(key);
    table.push_back(value);
  };
  if (out.phdr != 0) aux(kAtPhdr, out.phdr);
  aux(kAtPhent, kElfPhdrSize);
  aux(kAtPhnum, out.phnum);
  aux(kAtPagesz, AddressSpace::kPageSize);
  aux(kAtBase, out.interp_base);
  aux(kAtFlags, 0);
  aux(kAtEntry, out.exe_entry);
  aux(kAtUid, getuid());
  aux(kAtEuid, geteuid());
  aux(kAtGid, getgid());
  aux(kAtEgid, getegid());
  aux(kAtHwcap, kHwcap);
  aux(kAtHwcap2, 0);
  aux(kAtClktck, static_cast<uint64_t>(sysconf(_SC_CLK_TCK)));
  aux(kAtSecure, 0);
  aux(kAtRandom, random_at);
  aux(kAtExecfn, execfn);
  aux(kAtNull, 0);
  const uint64_t bytes = table.size() * 8;
  if (bytes > room) fail("{}: argument list too long", image.path);
  out.sp = (p - bytes) & ~uint64_t{15};
  space.poke(out.sp, table.data(), bytes);
  return out;
}

}  // namespace vessel::user
