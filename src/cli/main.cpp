// vessel's command line: `vessel run | host | restore | receive | ctl | guest`,
// `vessel --version`.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_server.hpp"
#include "api/ctl_client.hpp"
#include "base/crypto.hpp"
#include "base/error.hpp"
#include "base/sandbox.hpp"
#include "base/size.hpp"
#include "memory/host_memory.hpp"
#include "memory/page_store.hpp"
#include "platform/virt_map.hpp"
#include "user/process.hpp"
#include "vm/attestation.hpp"
#include "vm/control.hpp"
#include "vm/elf_loader.hpp"
#include "vm/gdb/stub.hpp"
#include "vm/guest_command.hpp"
#include "vm/host.hpp"
#include "vm/lockstep.hpp"
#include "vm/machine.hpp"
#include "vm/migration.hpp"
#include "vm/record_replay.hpp"
#include "vm/replay_history.hpp"
#include "vm/snapshot.hpp"

namespace {

using vessel::fail;

uint64_t parse_mem(const std::string& text) {
  const auto size = vessel::parse_size(text);
  if (!size) fail("--mem '{}' is not a size (examples: 256M, 2G)", text);
  constexpr uint64_t kMin = uint64_t{1} << 20;
  if (*size < kMin) fail("--mem {} is too small: at least 1M", text);
  if ((*size & 0xfff) != 0) fail("--mem {} is not a multiple of 4 KiB", text);
  if (*size > (uint64_t{1} << 40)) fail("--mem {} is larger than vessel supports (1T)", text);
  const uint64_t available = vessel::host_available_memory();
  if (*size > available) {
    fail("--mem {} is more than the host's available memory ({} MiB)", text, available >> 20);
  }
  return *size;
}

vessel::DiskConfig parse_disk(const std::string& text) {
  vessel::DiskConfig disk;
  disk.path = text;
  const auto comma = text.rfind(',');
  if (comma != std::string::npos) {
    const std::string option = text.substr(comma + 1);
    if (option == "ro") {
      disk.read_only = true;
    } else if (option != "rw") {
      fail("--disk {}: unknown option '{}' (use PATH or PATH,ro)", text, option);
    }
    disk.path = text.substr(0, comma);
  }
  if (disk.path.empty()) fail("--disk needs a file name");
  return disk;
}

// --engine and --jit-cache, which run, host, restore and receive take.
struct EngineOptions {
  std::string engine = "jit";
  std::string jit_cache;
  uint32_t jit_warmup = 0;
  CLI::Option* jit_cache_option = nullptr;
  CLI::Option* jit_warmup_option = nullptr;

  void add_to(CLI::App* cmd) {
    cmd->add_option("--engine", engine,
                    "How guest code runs: interp (the interpreter) or jit (the binary translator)")
        ->capture_default_str();
    jit_cache_option = cmd->add_option(
        "--jit-cache", jit_cache,
        "Size of the translator's code cache, e.g. 64M (default 128M); emptied when full");
    jit_warmup_option =
        cmd->add_option("--jit-warmup", jit_warmup,
                        "Translate code the Nth time it is reached (default 64; 1: at once)")
            ->check(CLI::Range(1u, 1000000u));
  }
  vessel::Engine parsed_engine() const {
    const auto e = vessel::parse_engine(engine);
    if (!e) fail("--engine '{}' is not an engine: interp or jit", engine);
    // Options of the translator would be ignored by the interpreter.
    if (*e == vessel::Engine::kInterp) {
      for (const CLI::Option* option : {jit_cache_option, jit_warmup_option}) {
        if (option != nullptr && option->count() > 0) {
          fail("{} tunes the translator; it does nothing with --engine interp", option->get_name());
        }
      }
    }
    return *e;
  }
  uint64_t parsed_cache() const {
    if (jit_cache_option != nullptr && jit_cache_option->count() > 0 && jit_cache.empty()) {
      fail("--jit-cache needs a size (examples: 64M, 1G)");
    }
    if (jit_cache.empty()) return 0;
    const auto size = vessel::parse_size(jit_cache);
    if (!size) fail("--jit-cache '{}' is not a size (examples: 64M, 1G)", jit_cache);
    if (*size < (uint64_t{1} << 20) || *size > (uint64_t{4} << 30)) {
      fail("--jit-cache {} is out of range: 1M to 4G", jit_cache);
    }
    return *size;
  }
};

// The options `vessel run` and `vessel host` share.
struct RunOptions {
  vessel::MachineConfig config;
  std::string mem = "512M";
  std::vector<std::string> disks;
  std::string console = "uart";
  std::vector<std::string> guest_command;
  bool stats = false;
  std::string api_socket;
  EngineOptions engine;
};

// The devices of a VM, which `vessel run` and `vessel host` boot with and
// `vessel receive` checks an incoming VM against.
void add_device_options(CLI::App* cmd, vessel::MachineConfig& config,
                        std::vector<std::string>& disks, std::string& console) {
  cmd->add_option("--disk", disks,
                  "Raw disk image as virtio-blk: PATH or PATH,ro (repeatable: vda, vdb, ...)")
      ->allow_extra_args(false);
  cmd->add_option("--net", config.nets,
                  "virtio-net: user[,hostfwd=tcp:127.0.0.1:HOSTPORT-:GUESTPORT] | tap=NAME | none "
                  "(repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--rng", config.rng, "Add a virtio-rng device fed by the host's getrandom()");
  cmd->add_flag("--balloon", config.balloon,
                "Add a virtio-balloon device (ballooning, statistics, free page reporting)");
  cmd->add_option("--console", console,
                  "Where the terminal is attached: uart (ttyS0) or virtio (virtio-console)")
      ->check(CLI::IsMember({"uart", "virtio"}))
      ->capture_default_str();
}

void add_run_options(CLI::App* cmd, RunOptions& o) {
  vessel::MachineConfig& config = o.config;
  cmd->add_option("--bios", config.bios,
                  "Firmware or bare-metal program started in M-mode (ELF or raw binary)");
  cmd->add_option("--kernel", config.kernel, "RISC-V Linux Image to boot in S-mode");
  cmd->add_option("--initrd", config.initrd, "Initial ramdisk for the kernel");
  cmd->add_option("--cmdline", config.cmdline, "Kernel command line");
  cmd->add_option("--mem", o.mem, "Guest RAM size, e.g. 256M or 2G")->capture_default_str();
  cmd->add_option("--cpus", config.cpus, "Number of harts (1 to 8)")->capture_default_str();
  cmd->add_option("--max-instructions", config.max_instructions,
                  "Stop after this many instructions (exit status 124)");
  cmd->add_option("--timeout", config.timeout_seconds,
                  "Stop after this many seconds (exit status 124)");
  cmd->add_flag("--deterministic", config.deterministic,
                "Derive guest time from the instruction count instead of the host clock");
  cmd->add_flag("--stats", o.stats, "Print the instruction count and run time at exit");
  add_device_options(cmd, config, o.disks, o.console);
  cmd->add_flag("--share-pages", config.page_sharing,
                "Share identical guest pages copy-on-write (content-based page sharing)");
  cmd->add_option("--share-rate", config.sharing_rate,
                  "Pages per second the page-sharing scanner looks at")
      ->capture_default_str();
  cmd->add_option("--share-break", config.sharing_break_percent,
                  "Percent of a 2 MiB host huge page's guest pages that must be zero or "
                  "sharable before the scanner breaks it into 4 KiB pages to give them back "
                  "(0: any one; lower gives back more memory, higher keeps the guest faster)")
      ->check(CLI::Range(0u, 100u))
      ->capture_default_str();
  cmd->add_option("--api-socket", o.api_socket,
                  "Listen for `vessel ctl` requests on this unix socket");
  o.engine.add_to(cmd);
  cmd->add_option(
      "command", o.guest_command,
      "Command to run in the default guest (after --); its exit status becomes vessel's");
}

// `vessel receive`: the destination's own VM (its devices, with the options
// of `vessel run`; memory and harts if it wants to insist on them) and how
// the stream is protected.
struct ReceiveCli {
  vessel::ReceiveOptions options;
  std::vector<std::string> disks;
  std::string console = "uart";
  std::string mem;
  unsigned cpus = 1;
  std::string api_socket;
  vessel::MigrationSecurityFiles tls;
  EngineOptions engine;

  void add_to(CLI::App* cmd) {
    cmd->add_option("--listen", options.listen, "HOST:PORT to listen on")->required();
    add_device_options(cmd, options.vm.machine, disks, console);
    cmd->add_option("--console-log", options.vm.machine.console_log,
                    "Write the console to this file (created mode 0600) instead of the terminal");
    cmd->add_option("--mem", mem, "Accept only a VM with this much RAM (default: any that fits)");
    cmd->add_option("--cpus", cpus, "Accept only a VM with this many harts (default: any)");
    cmd->add_option("--tls-psk", tls.psk,
                    "Pre-shared key file (IDENTITY:HEX or HEX, as psktool writes): TLS 1.3 PSK");
    cmd->add_option("--tls-cert", tls.cert, "This destination's certificate (PEM), for TLS 1.3");
    cmd->add_option("--tls-key", tls.key, "Its private key (PEM)");
    cmd->add_option("--tls-ca", tls.ca,
                    "The CA (PEM) that must have signed the source's certificate");
    cmd->add_flag(
        "--insecure", tls.insecure,
        "Plain TCP: no authentication, no encryption (the source must say --insecure too)");
    cmd->add_option("--api-socket", api_socket,
                    "Listen for `vessel ctl` requests once the VM runs");
    engine.add_to(cmd);
    cmd->add_option("--accept-timeout", options.accept_timeout_seconds,
                    "Give up if no migration arrives within this many seconds");
  }

  // Checks the options; reads the key or certificate files.
  const vessel::ReceiveOptions& finish(const CLI::App& cmd) {
    const auto given = [&](const char* name) { return cmd.count(name) > 0; };
    for (const auto& [name, file] :
         {std::pair{"--tls-psk", &tls.psk}, std::pair{"--tls-cert", &tls.cert},
          std::pair{"--tls-key", &tls.key}, std::pair{"--tls-ca", &tls.ca}}) {
      if (given(name) && file->empty()) fail("{} needs a file name", name);
    }
    if (given("--console-log") && options.vm.machine.console_log.empty()) {
      fail("--console-log needs a file name");
    }
    if (given("--api-socket") && api_socket.empty()) fail("--api-socket needs a path");
    options.security = vessel::load_migration_security(tls, "receive");
    vessel::MachineConfig& machine = options.vm.machine;
    for (const std::string& disk : disks) machine.disks.push_back(parse_disk(disk));
    machine.virtio_console = console == "virtio";
    if (given("--mem")) options.vm.mem_size = parse_mem(mem);
    if (given("--cpus")) {
      if (cpus < 1 || cpus > vessel::virt::kMaxHarts) {
        fail("--cpus {} is out of range: 1 to {}", cpus, vessel::virt::kMaxHarts);
      }
      options.vm.cpus = cpus;
    }
    if (options.accept_timeout_seconds < 0) fail("--accept-timeout must not be negative");
    return options;
  }
};

// Options that would be ignored, refused instead: a user who names a file
// or a setting expects it to be used.
void refuse_ignored_options(const RunOptions& o, const CLI::App& cmd) {
  const auto given = [&](const char* name) { return cmd.count(name) > 0; };
  const vessel::MachineConfig& c = o.config;
  // An empty name would quietly mean "none": the default guest for --kernel.
  if (given("--bios") && c.bios.empty()) fail("--bios needs a file name");
  if (given("--kernel") && c.kernel.empty()) fail("--kernel needs a file name");
  if (given("--initrd") && c.initrd.empty()) fail("--initrd needs a file name");
  if (given("--api-socket") && o.api_socket.empty()) fail("--api-socket needs a path");
  // Without --kernel the default guest boots with its own initrd and command
  // line (or a bare-metal --bios program runs, which takes neither).
  if (c.kernel.empty()) {
    if (given("--initrd")) fail("--initrd needs --kernel (the default guest has its own initrd)");
    if (given("--cmdline")) {
      fail("--cmdline needs --kernel (to run a command in the default guest, put it after --)");
    }
  }
  if (given("--share-rate") && !c.page_sharing) fail("--share-rate needs --share-pages");
  if (given("--share-break") && !c.page_sharing) fail("--share-break needs --share-pages");
}

// Checks the options and fills in the default guest.
// `vessel run --lockstep`: both engines at once, compared (vm/lockstep.hpp).
struct LockstepCli {
  bool on = false;
  uint64_t seed = 1;
  uint64_t max_slice = vessel::LockstepOptions{}.max_slice;
  void add_to(CLI::App* cmd) {
    CLI::Option* flag = cmd->add_flag(
        "--lockstep", on,
        "Run the guest on both engines at once, comparing them as they go, and stop at the "
        "first difference (a check of the translator; implies --deterministic)");
    cmd->add_option("--lockstep-seed", seed, "Seed of the lockstep comparison points")
        ->needs(flag)
        ->capture_default_str();
    // Each comparison is a meeting of two threads: on a busy host that
    // costs more than the instructions between, so long runs compare less
    // often (the points stay random, inside blocks too).
    cmd->add_option("--lockstep-slice", max_slice,
                    "Longest run of instructions between two comparisons (each is 1 to this "
                    "many, at random)")
        ->needs(flag)
        ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32))
        ->capture_default_str();
  }
  // Options that would be ignored with --lockstep are refused.
  int run(const vessel::MachineConfig& config, const CLI::App& cmd) const {
    for (const char* name : {"--engine", "--jit-cache", "--jit-warmup", "--api-socket",
                             "--share-pages", "--measure", "--gdb"}) {
      if (cmd.count(name) != 0) fail("{} does not go with --lockstep", name);
    }
    vessel::LockstepOptions options;
    options.seed = seed;
    options.max_slice = max_slice;
    return vessel::run_lockstep(config, options);
  }
};

// `vessel run --record DIR` (vm/record_replay.hpp).
struct RecordCli {
  std::string dir;
  uint64_t checkpoint = vessel::Journal::kDefaultCheckpointInterval;
  void add_to(CLI::App* cmd) {
    CLI::Option* flag = cmd->add_option(
        "--record", dir,
        "Record the run into DIR (new or empty): its starting state and every input from "
        "outside the guest, for `vessel replay DIR` (implies --deterministic)");
    cmd->add_option("--record-checkpoint", checkpoint,
                    "Instructions between the state hashes a replay checks (a test aid)")
        ->needs(flag)
        ->check(CLI::Range(uint64_t{1000}, uint64_t{1} << 40))
        ->capture_default_str();
  }
  bool on(const CLI::App& cmd) const { return cmd.count("--record") > 0; }
  // What a recording cannot hold is refused.
  void check(const CLI::App& cmd, bool lockstep) const {
    if (dir.empty()) fail("--record needs a directory");
    if (lockstep) fail("--lockstep does not go with --record");
    for (const char* name : {"--api-socket", "--balloon", "--share-pages", "--jail", "--gdb"}) {
      if (cmd.count(name) != 0) fail("{} does not go with --record", name);
    }
    vessel::check_record_dir(dir);
  }
  int run(vessel::MachineConfig config, bool stats,
          const vessel::crypto::Ed25519Key* attest_key) const;
};

// `--gdb [HOST:]PORT` on run, restore and replay: the gdb stub (vm/gdb/stub.hpp).
struct GdbCli {
  std::string address;
  void add_to(CLI::App* cmd) {
    cmd->add_option("--gdb", address,
                    "Serve the GDB remote protocol on [HOST:]PORT (host 127.0.0.1 unless given; "
                    "port 0 picks a free one). The VM starts halted at its first instruction "
                    "until gdb connects and continues (like qemu -s -S); harts run in turn on "
                    "one thread");
  }
  std::optional<vessel::gdb::Address> parsed(const CLI::App& cmd) const {
    if (cmd.count("--gdb") == 0) return std::nullopt;
    if (address.empty()) fail("--gdb needs [HOST:]PORT (e.g. 1234 or 127.0.0.1:1234)");
    const vessel::gdb::Address a = vessel::gdb::parse_address(address);
    if (!a.loopback) {
      spdlog::warn("--gdb {}: not a loopback address: whoever can reach it controls the VM",
                   address);
    }
    return a;
  }
};

// `vessel replay DIR` (vm/record_replay.hpp).
struct ReplayCli {
  std::string dir;
  bool stats = false;
  std::string perturb;
  EngineOptions engine;
  GdbCli gdb;
  uint64_t checkpoint_interval = vessel::ReplayHistory::Options{}.interval;
  uint64_t checkpoint_mib = vessel::ReplayHistory::Options{}.max_bytes >> 20;
  void add_to(CLI::App* cmd) {
    cmd->add_option("dir", dir, "A directory `vessel run --record` wrote")->required();
    gdb.add_to(cmd);
    cmd->add_option("--gdb-checkpoint", checkpoint_interval,
                    "With --gdb: instructions between the in-memory checkpoints reverse "
                    "execution goes back to")
        ->check(CLI::Range(uint64_t{1} << 16, uint64_t{1} << 40))
        ->capture_default_str();
    cmd->add_option("--gdb-checkpoint-mib", checkpoint_mib,
                    "With --gdb: the most guest memory (MiB) the checkpoints keep copies of; "
                    "beyond it older checkpoints thin out")
        ->check(CLI::Range(uint64_t{16}, uint64_t{1} << 20))
        ->capture_default_str();
    cmd->add_flag("--stats", stats, "Print the instruction count and run time at exit");
    cmd->add_option("--replay-perturb", perturb,
                    "A test aid: change the Nth input of a kind (console:N, net:N, disk:N, "
                    "rng:N) to see the difference caught");
    engine.add_to(cmd);
    cmd->footer(
        "Exit status: the recording's own when the replay matches it; 3 when it diverges; 4 "
        "when the log was cut (its recording was killed): the replay matched up to the cut and "
        "stopped there; 1 for a log or start state that cannot be read.");
  }
  int run(const CLI::App& cmd) const;
};

vessel::MachineConfig finish_config(RunOptions& o, const CLI::App& cmd) {
  refuse_ignored_options(o, cmd);
  vessel::MachineConfig config = o.config;
  if (config.cpus < 1 || config.cpus > vessel::virt::kMaxHarts) {
    fail("--cpus {} is out of range: 1 to {}", config.cpus, vessel::virt::kMaxHarts);
  }
  if (config.timeout_seconds < 0) fail("--timeout must not be negative");
  if (config.page_sharing && config.sharing_rate == 0) fail("--share-rate must be above 0");
  config.mem_size = parse_mem(o.mem);
  config.engine = o.engine.parsed_engine();
  config.jit_cache_bytes = o.engine.parsed_cache();
  config.jit_warmup = o.engine.jit_warmup;
  config.virtio_console = o.console == "virtio";
  for (const std::string& disk : o.disks) config.disks.push_back(parse_disk(disk));
  if (config.kernel.empty() && config.bios.empty()) {
    // The default guest, optionally running one command.
    const vessel::DefaultGuest g = vessel::find_default_guest();
    config.kernel = g.kernel;
    config.initrd = g.initrd;
    if (config.cmdline.empty()) config.cmdline = vessel::default_cmdline(config.virtio_console);
  } else if (!o.guest_command.empty() && config.kernel.empty()) {
    fail("a guest command needs a Linux guest, not a bare-metal --bios program");
  }
  if (!o.guest_command.empty()) {
    config.cmdline += " " + vessel::encode_guest_command(o.guest_command);
  }
  // Linux/riscv keeps at most COMMAND_LINE_SIZE - 1 bytes of it and drops
  // the rest without a word: a cut command would run, wrongly.
  constexpr size_t kMaxKernelCmdline = 1023;
  if (!config.kernel.empty() && config.cmdline.size() > kMaxKernelCmdline) {
    fail("the kernel command line is {} bytes, Linux takes at most {}{}", config.cmdline.size(),
         kMaxKernelCmdline,
         o.guest_command.empty() ? "" : " (shorten the guest command, or put it on a disk)");
  }
  return config;
}

// A key or quote file's bytes as the text they hold.
std::string read_text_file(const std::string& path, const char* what) {
  const std::vector<uint8_t> bytes = vessel::read_file(path, what);
  return std::string(bytes.begin(), bytes.end());
}

// Measured launch, which only `vessel run` offers: restore and receive
// bring a VM that was launched elsewhere, and `vessel host` has no use for
// N identical digests.
struct MeasureOptions {
  bool measure = false;
  std::string attest_key;

  void add_to(CLI::App* cmd) {
    cmd->add_flag("--measure", measure,
                  "Print the launch digest (SHA-256 of firmware, kernel, initrd, command line, "
                  "device tree, machine) and give it to the guest in its device tree");
    cmd->add_option("--attest-key", attest_key,
                    "Ed25519 private key (PEM) that signs `vessel ctl SOCK attest` quotes");
  }
  // The key, loaded and checked before anything else starts.
  std::optional<vessel::crypto::Ed25519Key> load_key(const CLI::App& cmd,
                                                     const std::string& api_socket) const {
    if (cmd.count("--attest-key") == 0) return std::nullopt;
    if (attest_key.empty()) fail("--attest-key needs a file name");
    if (!measure) fail("--attest-key needs --measure (a quote signs the launch digest)");
    if (api_socket.empty()) fail("--attest-key needs --api-socket (quotes come from ctl attest)");
    return vessel::crypto::Ed25519Key::from_private_pem(
        read_text_file(attest_key, "attestation key"), attest_key);
  }
};

// `vessel ctl`, `verify` and `guest` keep a small allow-list once what they
// need is open (base/sandbox.hpp; off in sanitizer builds, as for the VM
// commands). They take no --sandbox option.
void configure_client_sandbox() {
  vessel::sandbox::Settings settings;
  settings.seccomp = !vessel::sandbox::sanitizer_build();
  vessel::sandbox::configure(settings);
}

void confine_client() {
  configure_client_sandbox();
  vessel::sandbox::confine_thread(vessel::sandbox::Role::kClient);
}

// `vessel verify QUOTE --expect DIGEST --key PUB [--nonce N]`.
struct VerifyOptions {
  std::string quote;
  std::string expect;
  std::string key;
  std::optional<std::string> nonce;

  void add_to(CLI::App* cmd) {
    cmd->add_option("quote", quote, "A saved `vessel ctl SOCK attest` reply (JSON)")->required();
    cmd->add_option("--expect", expect, "The launch digest it must carry (sha256:HEX)")->required();
    cmd->add_option("--key", key, "The host's Ed25519 public key (PEM) it must be signed with")
        ->required();
    cmd->add_option("--nonce", nonce, "The nonce it must carry");
  }
  int run() const {
    const auto expected = vessel::parse_digest(expect);
    if (!expected) fail("--expect '{}' is not a launch digest (sha256: and 64 hex digits)", expect);
    const auto public_key =
        vessel::crypto::Ed25519Key::from_public_pem(read_text_file(key, "public key"), key);
    const std::string text = read_text_file(quote, "quote");
    // The key parsed (OpenSSL has read its configuration), the quote read:
    // what is left is to parse it, and it may come from anyone.
    confine_client();
    std::string got_nonce;
    try {
      got_nonce = vessel::verify_quote(text, public_key, {*expected, nonce});
    } catch (const vessel::Error& e) {
      fail("{}: {}", quote, e.what());
    }
    std::printf("%s: verified: launch-digest=%s nonce='%s'\n", quote.c_str(),
                vessel::format_digest(*expected).c_str(), got_nonce.c_str());
    return 0;
  }
};

// --sandbox, --user, --jail: what run, host, restore and receive take.
struct SandboxCli {
  std::string mode = "on";
  std::string user;
  std::string jail;

  void add_to(CLI::App* cmd) {
    cmd->add_option("--sandbox", mode,
                    "Confine every thread to the system calls it needs (seccomp; default on, "
                    "off in sanitizer builds unless asked for)")
        ->check(CLI::IsMember({"on", "off"}))
        ->capture_default_str();
    cmd->add_option("--user", user,
                    "Drop from root to this user once files, sockets and devices are open");
    cmd->add_option("--jail", jail,
                    "chroot into DIR, in new mount, PID and IPC namespaces, once files are open "
                    "(paths given to later `ctl` requests are resolved inside it)");
  }
  bool given(const CLI::App& cmd) const {
    return cmd.count("--user") > 0 || cmd.count("--jail") > 0;
  }
  // Checks the options and configures the sandbox; with --jail, enters its
  // namespaces (vessel goes on in a child process). Call once every other
  // option has been checked and before anything is opened.
  void finish(const CLI::App& cmd) const {
    vessel::sandbox::Settings settings;
    settings.seccomp = mode == "on";
    // LeakSanitizer stops the world at exit with a forked ptrace tracer, and
    // the sanitizers read /proc when they report: not a VMM's system calls.
    if (vessel::sandbox::sanitizer_build() && cmd.count("--sandbox") == 0) settings.seccomp = false;
    if (cmd.count("--user") > 0) settings.user = vessel::sandbox::lookup_user(user);
    if (cmd.count("--jail") > 0) {
      vessel::sandbox::check_jail(jail);
      settings.jail = jail;
    }
    vessel::sandbox::configure(settings);
    vessel::sandbox::enter_jail();
  }
};

// The control socket, bound before the VM it controls exists (`vessel
// receive` binds it before it locks itself down and waits); its threads
// start with the VM.
struct ControlSocket {
  vessel::VmControl* control = nullptr;  // set once the VM exists
  std::unique_ptr<vessel::api::ApiServer> server;

  explicit ControlSocket(const std::string& path) {
    if (path.empty()) return;
    server = std::make_unique<vessel::api::ApiServer>(
        path,
        [this](const vessel::api::Json& request, const vessel::api::Progress& progress) {
          return control->handle(request, progress);
        },
        vessel::api::ApiServer::Start::kLater);
  }
};

// Runs one VM on this thread, with a control socket and a gdb stub if asked
// for.
int run_machine(vessel::Machine& machine, ControlSocket& socket, bool stats,
                const vessel::crypto::Ed25519Key* attest_key = nullptr,
                const std::optional<vessel::gdb::Address>& gdb = std::nullopt,
                vessel::ReplayHistory* history = nullptr) {
  std::unique_ptr<vessel::PageStore> store;
  if (machine.config().page_sharing) {
    store = std::make_unique<vessel::PageStore>();
    machine.set_page_store(store.get());
  }
  vessel::VmControl control({&machine}, store.get(), attest_key);
  socket.control = &control;
  std::unique_ptr<vessel::api::ApiServer>& server = socket.server;
  // Everything named on the command line is read or open now; no thread has
  // started yet.
  machine.load();
  std::unique_ptr<vessel::gdb::Stub> stub;
  if (gdb) {
    vessel::gdb::Listener listener(*gdb);
    spdlog::info("gdb: waiting for a client on {}:{}; the VM is halted until gdb continues",
                 gdb->host, listener.port());
    stub = std::make_unique<vessel::gdb::Stub>(machine, std::move(listener));
    if (history != nullptr) stub->set_history(history);
    machine.set_debugger(stub.get());
  }
  vessel::keep_host_memory_files_open();
  vessel::sandbox::lock_down();
  if (server) server->start();
  const vessel::RunResult result = machine.run();
  server.reset();
  if (stats) {
    std::fprintf(stderr, "vessel: instructions=%llu seconds=%.3f\n",
                 static_cast<unsigned long long>(result.instructions), result.seconds);
    if (result.hart_instret.size() > 1) {
      std::fprintf(stderr, "vessel: harts");
      for (size_t i = 0; i < result.hart_instret.size(); ++i) {
        std::fprintf(stderr, " hart%zu_instret=%llu", i,
                     static_cast<unsigned long long>(result.hart_instret[i]));
      }
      std::fprintf(stderr, "\n");
    }
    const vessel::EngineStats& e = result.engine_stats;
    std::fprintf(stderr, "vessel: engine=%s",
                 std::string(vessel::engine_name(result.engine)).c_str());
    if (result.engine == vessel::Engine::kJit) {
      std::fprintf(stderr,
                   " blocks=%llu cache_bytes=%llu translate_seconds=%.3f flushes=%llu "
                   "invalidations=%llu interpreted=%llu failed=%llu",
                   static_cast<unsigned long long>(e.blocks_translated),
                   static_cast<unsigned long long>(e.cache_bytes), e.translate_seconds,
                   static_cast<unsigned long long>(e.cache_flushes),
                   static_cast<unsigned long long>(e.invalidations),
                   static_cast<unsigned long long>(e.interpreted),
                   static_cast<unsigned long long>(e.translation_failures));
    }
    std::fprintf(stderr, "\n");
  }
  return result.status;
}

int run_machine(vessel::Machine& machine, const std::string& api_socket, bool stats,
                const vessel::crypto::Ed25519Key* attest_key = nullptr,
                const std::optional<vessel::gdb::Address>& gdb = std::nullopt,
                vessel::ReplayHistory* history = nullptr) {
  ControlSocket socket(api_socket);
  return run_machine(machine, socket, stats, attest_key, gdb, history);
}

int RecordCli::run(vessel::MachineConfig config, bool stats,
                   const vessel::crypto::Ed25519Key* attest_key) const {
  config.deterministic = true;
  // The journal outlives the machine, whose devices go through it.
  vessel::Journal journal(checkpoint);
  vessel::Machine machine(config, &journal);
  machine.load();
  vessel::start_recording(machine, journal, dir);
  const int status = run_machine(machine, "", stats, attest_key);
  return journal.finish(machine, status);
}

int ReplayCli::run(const CLI::App& cmd) const {
  const vessel::Engine e = engine.parsed_engine();
  const uint64_t cache = engine.parsed_cache();
  std::optional<vessel::Perturb> p;
  if (cmd.count("--replay-perturb") > 0) p = vessel::parse_perturb(perturb);
  const auto address = gdb.parsed(cmd);
  if (!address && (cmd.count("--gdb-checkpoint") > 0 || cmd.count("--gdb-checkpoint-mib") > 0)) {
    fail("--gdb-checkpoint and --gdb-checkpoint-mib go with --gdb");
  }
  std::unique_ptr<vessel::Journal> journal = vessel::open_replay(dir, p);
  // Reverse debugging's checkpoints own the dirty log (vm/replay_history.hpp).
  if (address) journal->ignore_memory_hashes();
  std::unique_ptr<vessel::Machine> machine = vessel::restore_for_replay(dir, *journal);
  machine->set_engine(e, cache, engine.jit_warmup);
  std::unique_ptr<vessel::ReplayHistory> history;
  if (address) {
    history = std::make_unique<vessel::ReplayHistory>(
        *machine, *journal, dir + "/start/memory.bin",
        vessel::ReplayHistory::Options{checkpoint_interval, checkpoint_mib << 20});
  }
  const int status = run_machine(*machine, "", stats, nullptr, address, history.get());
  return journal->finish(*machine, status);
}

}  // namespace

int main(int argc, char** argv) {
  // Thread-safe: `vessel host` runs VMs on threads, the control socket has its own.
  auto logger = spdlog::stderr_color_mt("vessel");
  logger->set_pattern("vessel: %v");
  spdlog::set_default_logger(logger);

  // `vessel exec` runs a riscv64 Linux program as this process (no VM, no
  // sandbox): its arguments are the guest's, so it parses its own options.
  if ((argc >= 2 && (std::string(argv[1]) == "exec" || std::string(argv[1]) == "binfmt")) ||
      vessel::user::is_binfmt_interpreter(argv[0])) {
    try {
      if (vessel::user::is_binfmt_interpreter(argv[0]))
        return vessel::user::binfmt_interpreter_main(argc, argv);
      if (std::string(argv[1]) == "exec") return vessel::user::exec_main(argc - 2, argv + 2);
      return vessel::user::binfmt_main(argc - 2, argv + 2);
    } catch (const vessel::Error& e) {
      spdlog::error("{}", e.what());
      return 1;
    }
  }

  // `vessel ctl SOCKET COMMAND...` takes its words as they are (its own
  // options such as --vm and --stop follow the socket path), so it bypasses
  // CLI11's option parsing.
  if (argc >= 2 && std::string(argv[1]) == "ctl") {
    std::vector<std::string> args(argv + 2, argv + argc);
    if (args.empty() || args.front() == "--help" || args.front() == "-h") {
      std::cout << "Usage: vessel ctl SOCKET [--vm N] COMMAND...\n"
                << vessel::api::ctl_usage() << "\n";
      return args.empty() ? 2 : 0;
    }
    const std::string socket = args.front();
    args.erase(args.begin());
    // run_ctl confines itself as a client once connected.
    configure_client_sandbox();
    return vessel::api::run_ctl(socket, args, std::cout, std::cerr);
  }

  CLI::App app{"vessel: a virtual machine monitor for 64-bit RISC-V guests"};
  app.set_version_flag("--version", std::string("vessel ") + VESSEL_VERSION);
  app.require_subcommand(1);

  RunOptions run_options;
  CLI::App* run = app.add_subcommand(
      "run", "Boot a guest: the default Linux guest, a kernel, or a bare-metal program");
  add_run_options(run, run_options);
  LockstepCli lockstep;
  lockstep.add_to(run);
  MeasureOptions measure_options;
  measure_options.add_to(run);
  SandboxCli run_sandbox;
  run_sandbox.add_to(run);
  RecordCli record;
  record.add_to(run);
  GdbCli run_gdb;
  run_gdb.add_to(run);

  RunOptions host_options;
  unsigned vms = 2;
  std::string console_dir = ".";
  CLI::App* host = app.add_subcommand(
      "host", "Run several identical VMs in one process (consoles in DIR/vm-N.log)");
  host->add_option("--vms", vms, "Number of VMs")->capture_default_str();
  host->add_option("--console-dir", console_dir, "Where the VMs' console logs go")
      ->capture_default_str();
  add_run_options(host, host_options);
  SandboxCli host_sandbox;
  host_sandbox.add_to(host);

  vessel::RestoreOptions restore_options;
  std::string restore_socket;
  bool restore_stats = false;
  CLI::App* restore = app.add_subcommand("restore", "Bring a VM back from a snapshot directory");
  restore->add_option("dir", restore_options.dir, "Snapshot directory (from `vessel ctl snapshot`)")
      ->required();
  restore->add_flag("--allow-disk-change", restore_options.allow_disk_change,
                    "Restore even if a disk was modified after the snapshot");
  restore->add_option("--api-socket", restore_socket,
                      "Listen for `vessel ctl` requests on this unix socket");
  restore->add_flag("--stats", restore_stats, "Print the instruction count and run time at exit");
  EngineOptions restore_engine;
  restore_engine.add_to(restore);
  SandboxCli restore_sandbox;
  restore_sandbox.add_to(restore);
  GdbCli restore_gdb;
  restore_gdb.add_to(restore);

  ReplayCli replay_cli;
  CLI::App* replay = app.add_subcommand(
      "replay", "Re-run a recording (`vessel run --record DIR`) exactly, without host input");
  replay_cli.add_to(replay);
  SandboxCli replay_sandbox;
  replay_sandbox.add_to(replay);

  ReceiveCli receive_cli;
  CLI::App* receive = app.add_subcommand(
      "receive",
      "Wait for a live migration and run the VM it brings, with this command line's devices");
  receive_cli.add_to(receive);
  SandboxCli receive_sandbox;
  receive_sandbox.add_to(receive);

  app.add_subcommand(
      "ctl",
      "Talk to a running vessel: ctl SOCKET [--vm N] stats | list | balloon SIZE | sharing on|off "
      "[--rate N] | snapshot DIR [--stop] | migrate HOST:PORT (--tls-psk FILE | --tls-cert FILE "
      "--tls-key FILE --tls-ca FILE | --insecure) [--max-downtime MS] | "
      "record start DIR | record stop | attest [NONCE] | pause | resume | quit");

  app.add_subcommand("exec",
                     "Run a riscv64 Linux program as a host process: exec [--sysroot DIR] "
                     "[--strace] [--engine interp|jit] PROGRAM [ARGS...]");
  app.add_subcommand("binfmt",
                     "Register vessel exec with binfmt_misc: binfmt install|remove|status");

  VerifyOptions verify_options;
  CLI::App* verify = app.add_subcommand(
      "verify", "Check a `vessel ctl attest` quote against a launch digest and a public key");
  verify_options.add_to(verify);

  CLI::App* guest =
      app.add_subcommand("guest", "Print where the default guest's kernel and initrd are");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (guest->parsed()) {
      const vessel::DefaultGuest g = vessel::find_default_guest();
      confine_client();
      std::printf("kernel %s\ninitrd %s\n", g.kernel.c_str(), g.initrd.c_str());
      return 0;
    }
    if (host->parsed()) {
      vessel::HostOptions options;
      options.vms = vms;
      // One process, many VMs: its statistics are per VM, through `ctl stats`.
      if (host->count("--stats") > 0) fail("--stats is not available with vessel host");
      options.config = finish_config(host_options, *host);
      options.api_socket = host_options.api_socket;
      options.console_dir = console_dir;
      host_sandbox.finish(*host);
      return vessel::run_host(options);
    }
    if (restore->parsed()) {
      const uint64_t start = vessel::GuestClock::host_ns();
      const vessel::Engine engine = restore_engine.parsed_engine();
      const uint64_t cache = restore_engine.parsed_cache();
      const auto gdb = restore_gdb.parsed(*restore);
      restore_sandbox.finish(*restore);
      std::unique_ptr<vessel::Machine> machine = vessel::restore_snapshot(restore_options);
      machine->set_engine(engine, cache, restore_engine.jit_warmup);
      spdlog::info("restored from {} in {:.2f} ms", restore_options.dir,
                   static_cast<double>(vessel::GuestClock::host_ns() - start) / 1e6);
      return run_machine(*machine, restore_socket, restore_stats, nullptr, gdb);
    }
    if (receive->parsed()) {
      const vessel::Engine engine = receive_cli.engine.parsed_engine();
      const uint64_t cache = receive_cli.engine.parsed_cache();
      const vessel::ReceiveOptions& options = receive_cli.finish(*receive);
      receive_sandbox.finish(*receive);
      ControlSocket socket(receive_cli.api_socket);
      std::unique_ptr<vessel::Machine> machine = vessel::receive_vm(options);
      machine->set_engine(engine, cache, receive_cli.engine.jit_warmup);
      return run_machine(*machine, socket, false);
    }
    if (verify->parsed()) return verify_options.run();
    if (replay->parsed()) {
      replay_sandbox.finish(*replay);
      return replay_cli.run(*replay);
    }
    vessel::MachineConfig config = finish_config(run_options, *run);
    if (record.on(*run)) record.check(*run, lockstep.on);
    if (lockstep.on) {
      // Its second VM runs on a thread of its own from the start.
      if (run_sandbox.given(*run)) fail("--user and --jail do not go with --lockstep");
      run_sandbox.finish(*run);
      return lockstep.run(config, *run);
    }
    config.measure_launch = measure_options.measure;
    const auto attest_key = measure_options.load_key(*run, run_options.api_socket);
    const auto gdb = run_gdb.parsed(*run);
    run_sandbox.finish(*run);
    if (record.on(*run)) {
      return record.run(config, run_options.stats, attest_key ? &*attest_key : nullptr);
    }
    if (!run_options.api_socket.empty() && !gdb) {
      // `vessel ctl record start` may record this VM from any point: its
      // inputs go through a journal that stands by until then.
      vessel::Journal journal(vessel::Journal::kDefaultCheckpointInterval);
      vessel::Machine machine(config, &journal);
      const int status = run_machine(machine, run_options.api_socket, run_options.stats,
                                     attest_key ? &*attest_key : nullptr);
      return journal.finish(machine, status);
    }
    vessel::Machine machine(config);
    return run_machine(machine, run_options.api_socket, run_options.stats,
                       attest_key ? &*attest_key : nullptr, gdb);
  } catch (const vessel::Error& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    spdlog::error("out of host memory");
    return 1;
  }
}
