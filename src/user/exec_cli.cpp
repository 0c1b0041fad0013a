// `vessel exec [OPTIONS] PROGRAM [ARGS...]` and `vessel binfmt ...`.
//
// Options are parsed by hand, not by CLI11: everything from PROGRAM on
// belongs to the guest (`vessel exec ls --help` must reach ls), as with
// `vessel ctl`.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "user/process.hpp"

namespace vessel::user {

namespace {

constexpr const char* kExecUsage =
    "Usage: vessel exec [--sysroot DIR] [--strace] [--engine interp|jit] PROGRAM [ARGS...]\n"
    "Runs a riscv64 Linux program as a host process.\n"
    "  --sysroot DIR   where absolute paths (the dynamic linker, its libraries) are looked\n"
    "                  up first (default /usr/riscv64-linux-gnu, Debian's libc6-riscv64-cross)\n"
    "  --strace        print every system call on stderr\n"
    "  --engine E      interp or jit (default jit)\n";

constexpr const char* kBinfmtName = "vessel-riscv64";
constexpr const char* kBinfmtDir = "/proc/sys/fs/binfmt_misc";
// The program name that makes vessel act as the binfmt_misc interpreter.
constexpr const char* kBinfmtLink = "vessel-binfmt-riscv64";

}  // namespace

int exec_main(int argc, char** argv) {
  ExecOptions options;
  int i = 0;
  auto value = [&](std::string_view option) -> std::string {
    if (i + 1 >= argc) fail("{} needs a value", option);
    return argv[++i];
  };
  for (; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "-h" || arg == "--help") {
      std::cout << kExecUsage;
      return 0;
    }
    if (arg.size() < 2 || arg.substr(0, 2) != "--") break;  // PROGRAM
    if (arg == "--sysroot") {
      options.sysroot = value(arg);
    } else if (arg == "--strace") {
      options.strace = true;
    } else if (arg == "--engine") {
      const std::string name = value(arg);
      const auto engine = parse_engine(name);
      if (!engine) fail("--engine '{}' is not an engine: interp or jit", name);
      options.engine = *engine;
    } else if (arg == "--argv0") {
      options.argv0 = value(arg);
    } else {
      fail("exec: unknown option {} (see vessel exec --help)", arg);
    }
  }
  if (i >= argc) fail("exec: no program given (see vessel exec --help)");
  options.program = argv[i];
  options.args.assign(argv + i + 1, argv + argc);
  Process process(options);
  process.run();
}

int binfmt_interpreter_main(int argc, char** argv) {
  // binfmt_misc with the P flag: argv = [interpreter, full path, original
  // argv[0], original argv[1...]].
  if (argc < 3) fail("binfmt: started without a program (see vessel binfmt --help)");
  ExecOptions options;
  options.program = argv[1];
  options.argv0 = argv[2];
  options.args.assign(argv + 3, argv + argc);
  Process process(options);
  process.run();
}

bool is_binfmt_interpreter(const char* argv0) {
  const std::string_view name = argv0;
  const size_t slash = name.rfind('/');
  return name.substr(slash == std::string_view::npos ? 0 : slash + 1) == kBinfmtLink;
}

int binfmt_main(int argc, char** argv) {
  const std::string what = argc > 0 ? argv[0] : "";
  if (what == "-h" || what == "--help" || what.empty()) {
    std::cout << "Usage: vessel binfmt install|remove|status\n"
              << "Registers vessel with the kernel's binfmt_misc, so that riscv64 Linux\n"
              << "programs run directly (./hello) through vessel exec. Needs root and\n"
              << kBinfmtDir << " mounted.\n";
    return what.empty() ? 2 : 0;
  }
  if (what != "install" && what != "remove" && what != "status") {
    fail("binfmt: unknown command {} (install, remove or status)", what);
  }
  if (argc > 1) fail("binfmt: unexpected argument {}", argv[1]);
  const std::string entry = std::string(kBinfmtDir) + "/" + kBinfmtName;
  if (what == "status") {
    std::ifstream in(entry);
    if (!in) {
      std::cout << "not installed\n";
      return 1;
    }
    std::cout << in.rdbuf();
    return 0;
  }
  if (access((std::string(kBinfmtDir) + "/register").c_str(), F_OK) != 0) {
    fail("binfmt: {} is not mounted (mount -t binfmt_misc none {})", kBinfmtDir, kBinfmtDir);
  }
  if (what == "remove") {
    std::ofstream out(entry);
    if (!out) fail("binfmt: {} is not installed", kBinfmtName);
    out << "-1";
    out.close();
    if (!out) fail("binfmt: cannot remove {} (root needed)", kBinfmtName);
    return 0;
  }
  // The interpreter: a link to this vessel under the name that selects
  // binfmt mode, next to it.
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) fail("binfmt: cannot find vessel's own path");
  self[n] = '\0';
  std::string dir = self;
  dir = dir.substr(0, dir.rfind('/'));
  const std::string link = dir + "/" + kBinfmtLink;
  unlink(link.c_str());
  if (symlink(self, link.c_str()) != 0)
    fail("binfmt: cannot create {}: {}", link, errno_text(errno));
  // ELF64, little-endian, version 1, ET_EXEC or ET_DYN, EM_RISCV (243).
  const std::string rule = std::string(":") + kBinfmtName +
                           ":M::\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
                           "\\x00\\x02\\x00\\xf3\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00"
                           "\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:" +
                           link + ":PF";
  std::ofstream out(std::string(kBinfmtDir) + "/register");
  out << rule;
  out.close();
  if (!out) fail("binfmt: the kernel refused the registration (root needed; already installed?)");
  std::cout << "installed: riscv64 programs now run through " << link << "\n";
  return 0;
}

}  // namespace vessel::user
