#include "vm/migration.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <numeric>

#include "base/error.hpp"
#include "base/preopen.hpp"
#include "base/safe_file.hpp"
#include "base/sandbox.hpp"
#include "devices/net/net_options.hpp"
#include "devices/virtio/blk.hpp"
#include "memory/host_memory.hpp"
#include "platform/guest_clock.hpp"
#include "platform/virt_map.hpp"
#include "vm/migration_stream.hpp"
#include "vm/snapshot.hpp"

namespace vessel {

namespace {

constexpr int kIoTimeoutSeconds = 30;

// Closes the socket however the migration ends.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

void set_timeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

addrinfo* resolve(const HostPort& hp, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* result = nullptr;
  const int rc =
      getaddrinfo(hp.host.empty() ? nullptr : hp.host.c_str(), hp.port.c_str(), &hints, &result);
  if (rc != 0) fail("cannot resolve {}:{}: {}", hp.host, hp.port, gai_strerror(rc));
  return result;
}

int connect_to(const std::string& text) {
  const HostPort hp = parse_host_port(text);
  addrinfo* list = resolve(hp, false);
  int err = 0;
  for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    set_timeouts(fd, kIoTimeoutSeconds);
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      freeaddrinfo(list);
      return fd;
    }
    err = errno;
    close(fd);
  }
  freeaddrinfo(list);
  fail("cannot connect to {}: {}", text, std::strerror(err));
}

std::vector<uint64_t> dirty_pages(const std::vector<uint64_t>& bitmap) {
  std::vector<uint64_t> pages;
  for (size_t w = 0; w < bitmap.size(); ++w) {
    uint64_t bits = bitmap[w];
    while (bits != 0) {
      pages.push_back(w * 64 + static_cast<uint64_t>(__builtin_ctzll(bits)));
      bits &= bits - 1;
    }
  }
  return pages;
}

double result_ms(uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

double mib(uint64_t bytes) {
  return static_cast<double>(bytes) / (1 << 20);
}

// One migration per VM: two would share its one dirty log, and the start of
// one would clear what the other still has to send. Held for the whole
// migration; a second one for the same VM is refused before it connects.
class MigrationSlot {
 public:
  MigrationSlot(const Machine& vm, const std::string& to) : vm_(&vm) {
    const std::lock_guard lock(mutex_);
    const auto [it, inserted] = running_.emplace(vm_, to);
    if (!inserted) {
      fail("a migration of this VM (to {}) is running; one at a time, try again once it has ended",
           it->second);
    }
  }
  ~MigrationSlot() {
    const std::lock_guard lock(mutex_);
    running_.erase(vm_);
  }
  MigrationSlot(const MigrationSlot&) = delete;
  MigrationSlot& operator=(const MigrationSlot&) = delete;

 private:
  const Machine* vm_;
  static inline std::mutex mutex_;
  static inline std::map<const Machine*, std::string> running_;
};

// The address of the other end, for the log.
std::string peer_name(int fd) {
  sockaddr_storage address{};
  socklen_t len = sizeof address;
  char host[NI_MAXHOST] = "?";
  char port[NI_MAXSERV] = "?";
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &len) == 0) {
    getnameinfo(reinterpret_cast<sockaddr*>(&address), len, host, sizeof host, port, sizeof port,
                NI_NUMERICHOST | NI_NUMERICSERV);
  }
  return address.ss_family == AF_INET6 ? fmt::format("[{}]:{}", host, port)
                                       : fmt::format("{}:{}", host, port);
}

// Reads the destination's answer: READY, or ERROR with its reason.
void expect_ready(MigrationReceiver& reply, std::string_view after) {
  const MigrationReceiver::Kind kind = reply.next(nullptr);
  if (kind == MigrationReceiver::Kind::kError) {
    fail("the destination refused the VM: {}", reply.error());
  }
  if (kind != MigrationReceiver::Kind::kReady) fail("the destination did not answer the {}", after);
}

// The destination's own configuration, checked before anyone can connect:
// its disks can be sized, its networks parse.
std::vector<uint64_t> check_destination(const DestinationVm& vm) {
  for (const std::string& spec : vm.machine.nets) net::parse_net_options(spec);
  return measure_disks(vm.machine.disks);
}

}  // namespace

HostPort parse_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    fail("'{}' is not HOST:PORT", text);
  }
  HostPort hp{text.substr(0, colon), text.substr(colon + 1)};
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  }
  for (char c : hp.port) {
    if (c < '0' || c > '9') fail("'{}' is not HOST:PORT (bad port)", text);
  }
  return hp;
}

nlohmann::json migrate_vm(Machine& vm, const MigrateOptions& options,
                          const std::function<void(const nlohmann::json&)>& progress) {
  const uint64_t start_ns = GuestClock::host_ns();
  const MigrationSlot slot(vm, options.to);
  Socket sock(connect_to(options.to));
  std::unique_ptr<MigrationChannel> channel;
  try {
    channel = open_migration_channel(sock.fd(), options.security, TlsRole::kClient,
                                     parse_host_port(options.to).host, "destination");
  } catch (const Error& e) {
    fail("migration failed, the VM keeps running here: {}", e.what());
  }
  MigrationSender sender(*channel);
  MigrationReceiver reply(*channel, "destination");

  // However we leave, the guest stops paying for dirty tracking.
  struct StopLog {
    Machine& vm;
    bool started = false;
    ~StopLog() {
      if (!started) return;
      try {
        vm.mailbox().call([this] { vm.memory().stop_dirty_log(); });
      } catch (const Error&) {
        // The VM has stopped (migrated, or quit meanwhile): nothing to undo.
      }
    }
  } stop_log{vm};

  try {
    MigrationHello hello;
    uint64_t pages = 0;
    vm.mailbox().call([&] {
      const state::Section vm_section = describe_vm(vm.config());
      hello.memory_base = vm.memory().base();
      hello.memory_size = vm.memory().size();
      hello.cpus = vm.config().cpus;
      hello.config.assign(vm_section.payload.begin(), vm_section.payload.end());
      pages = vm.memory().pages();
    });
    sender.send_hello(hello);
    // The destination checks that the VM fits it before any page goes.
    expect_ready(reply, "HELLO");
    vm.mailbox().call([&] { vm.memory().start_dirty_log(); });
    stop_log.started = true;

    // Round 1: everything, while the guest runs.
    std::vector<uint64_t> todo(pages);
    std::iota(todo.begin(), todo.end(), uint64_t{0});
    unsigned round = 0;
    for (;;) {
      ++round;
      const uint64_t round_start = GuestClock::host_ns();
      const uint64_t wire_before = sender.stats().bytes_on_wire;
      const uint64_t data_before = sender.stats().pages - sender.stats().zero_pages;
      const std::vector<uint64_t> sent = std::move(todo);
      sender.send_pages(vm.memory(), sent);
      // Until the destination has applied the round: its time is the pages'
      // real cost, and the stop below starts with nothing in flight.
      sender.send_sync();
      expect_ready(reply, "SYNC");
      const double round_ms =
          std::max(1e-3, static_cast<double>(GuestClock::host_ns() - round_start) / 1e6);
      // The cost of a page with data: zero pages cost next to nothing, and
      // round 1 is mostly zero pages, so counting them would promise a last
      // round far shorter than it turns out.
      const uint64_t data_pages =
          std::max<uint64_t>(1, sender.stats().pages - sender.stats().zero_pages - data_before);
      const double ms_per_page = round_ms / static_cast<double>(data_pages);

      std::vector<uint64_t> bitmap;
      vm.mailbox().call([&] { bitmap = vm.memory().take_dirty(); });
      todo = dirty_pages(bitmap);
      const double dirty_rate = mib(todo.size() * GuestMemory::kPageSize) / (round_ms / 1e3);
      progress({{"round", round},
                {"sent_mib", mib(sender.stats().bytes_on_wire - wire_before)},
                {"dirty_pages", todo.size()},
                {"dirty_rate_mib_s", dirty_rate}});
      const double expected_ms = static_cast<double>(todo.size()) * ms_per_page;
      if (round >= options.max_rounds) break;
      // The limit is a ceiling, not the aim: while each round leaves at most
      // 3/4 of what it sent (the guest dirties slower than pages go out),
      // one more shortens the stop (a round of 26 MiB leaves 10). Stop once
      // the rest fits a twentieth of the limit, or fits the limit and rounds
      // no longer shrink it (the guest rewrites its working set as fast).
      // A quarter was too soon: the busy bench guest's third round left
      // 1466 pages (7.6 ms of stop) where a fourth, 10 ms more, left 312.
      const auto limit = static_cast<double>(options.max_downtime_ms);
      const bool shrinking = todo.size() * 4 <= sent.size() * 3;
      if (expected_ms <= limit / 20 || (expected_ms <= limit && !shrinking)) break;
    }

    // Stop and copy, on the VM thread so the guest cannot run meanwhile.
    // The downtime counts from the stop request, as QEMU's does (it reads
    // the clock before it stops its vCPUs): the VM thread has to wake up
    // and the harts to park before the task runs, and the guest is as good
    // as stopped meanwhile. (Counted from the task's start, a VM thread
    // that waited its turn on a loaded host hid milliseconds.)
    nlohmann::json result;
    const uint64_t pause_ns = GuestClock::host_ns();
    vm.mailbox().call([&] {
      const uint64_t stopped_ns = GuestClock::host_ns();
      vm.quiesce();
      // What the last round found dirty, plus what was dirtied since.
      std::vector<uint64_t> last = dirty_pages(vm.memory().take_dirty());
      last.insert(last.end(), todo.begin(), todo.end());
      std::sort(last.begin(), last.end());
      last.erase(std::unique(last.begin(), last.end()), last.end());
      // Raw: the guest waits for these (set_compression).
      sender.set_compression(false);
      sender.send_pages(vm.memory(), last);
      const uint64_t pages_done_ns = GuestClock::host_ns();
      std::vector<state::Section> sections = vm.save_state();
      sections.insert(sections.begin(), describe_vm(vm.config()));
      sender.send_state(state::encode(sections));
      // The destination opens the disks before it confirms.
      vm.release_host_locks();
      struct Relock {
        Machine& vm;
        bool armed = true;
        ~Relock() {
          if (armed) vm.retake_host_locks();
        }
      } relock{vm};
      sender.send_done();
      const uint64_t sent_ns = GuestClock::host_ns();
      expect_ready(reply, "VM");
      // Commit: the destination runs only once it reads this. (A cut inside
      // these last 16 bytes would lose the VM; every earlier cut leaves it
      // running here.)
      sender.send_ready();
      relock.armed = false;
      const double downtime_ms = static_cast<double>(GuestClock::host_ns() - pause_ns) / 1e6;
      const double total_ms = static_cast<double>(GuestClock::host_ns() - start_ns) / 1e6;
      const StreamStats& st = sender.stats();
      result = {
          {"rounds", round + 1},
          {"last_round_pages", last.size()},
          {"pages_sent", st.pages},
          {"zero_pages", st.zero_pages},
          {"compressed_pages", st.compressed_pages},
          {"bytes_on_wire", st.bytes_on_wire},
          {"total_ms", total_ms},
          {"downtime_ms", downtime_ms},
          // Where the downtime went: stopping the guest, the last pages,
          // the state, and the destination building the VM until it
          // confirmed. On one loaded host the parts blur: the destination
          // may run while this thread waits for its turn.
          {"downtime_stop_ms", result_ms(stopped_ns - pause_ns)},
          {"downtime_pages_ms", static_cast<double>(pages_done_ns - stopped_ns) / 1e6},
          {"downtime_state_ms", static_cast<double>(sent_ns - pages_done_ns) / 1e6},
          {"downtime_destination_ms", downtime_ms - static_cast<double>(sent_ns - pause_ns) / 1e6},
          {"security", describe_security(options.security)},
          {"message",
           fmt::format(
               "migrated to {} in {:.0f} ms: {} rounds, {:.1f} MiB sent, downtime {:.1f} "
               "ms (stop {:.1f} ms, {} last pages {:.1f} ms, state {:.1f} ms, destination {:.1f} "
               "ms), {}",
               options.to, total_ms, round + 1, mib(st.bytes_on_wire), downtime_ms,
               result_ms(stopped_ns - pause_ns), last.size(), result_ms(pages_done_ns - stopped_ns),
               result_ms(sent_ns - pages_done_ns), downtime_ms - result_ms(sent_ns - pause_ns),
               describe_security(options.security))}};
      vm.stop_with(0, result["message"].get<std::string>());
    });
    return result;
  } catch (const Error& e) {
    // Tell the destination to discard what it has, if it still listens.
    try {
      sender.send_error(e.what());
    } catch (const Error&) {
    }
    fail("migration failed, the VM keeps running here: {}", e.what());
  }
}

namespace {

// /dev/net/tun attached to the tap NAME, with TapBackend's errors.
UniqueFd attach_tap(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    fail("--net tap={}: an interface name is 1 to {} characters", name, IFNAMSIZ - 1);
  }
  UniqueFd tun(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!tun.valid()) fail("--net tap={}: cannot open /dev/net/tun: {}", name, std::strerror(errno));
  ifreq request{};
  request.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::memcpy(request.ifr_name, name.data(), name.size());
  if (::ioctl(tun.get(), TUNSETIFF, &request) < 0) {
    const int err = errno;
    fail("--net tap={}: cannot attach to the tap interface: {}{}", name, std::strerror(err),
         err == EPERM ? " (needs CAP_NET_ADMIN or a persistent tap owned by this user)" : "");
  }
  return tun;
}

// Everything the destination's own command line names, opened now (with
// the errors `vessel run` would give) so that the VM can be built from them
// once locked down: the disks, the console log, each tap (attached now, as
// root: --user has no CAP_NET_ADMIN). The disks' locks are taken and the
// host port forwards bound only when the VM is built: on one host, the
// source holds them until it has sent its last page; a forward below 1024
// makes --user keep CAP_NET_BIND_SERVICE for that.
void open_destination_files(const MachineConfig& machine) {
  for (const DiskConfig& disk : machine.disks) {
    preopen::keep(preopen::disk_key(disk.path, disk.read_only),
                  virtio::VirtioBlk::open_image(disk.path, disk.read_only));
  }
  if (!machine.console_log.empty()) {
    preopen::keep(preopen::log_key(machine.console_log), open_log_file(machine.console_log));
  }
  for (const std::string& spec : machine.nets) {
    const net::NetOptions options = net::parse_net_options(spec);
    for (const net::HostForward& rule : options.hostfwd) {
      if (rule.host_port != 0 && rule.host_port < 1024) sandbox::keep_net_bind_service();
    }
    if (options.kind != net::NetOptions::Kind::kTap) continue;
    preopen::keep(preopen::tap_key(options.tap_name), attach_tap(options.tap_name));
  }
  keep_host_memory_files_open();
}

}  // namespace

std::unique_ptr<Machine> receive_vm(const ReceiveOptions& options) {
  const std::vector<uint64_t> own_disk_sizes = check_destination(options.vm);
  open_destination_files(options.vm.machine);
  const HostPort hp = parse_host_port(options.listen);
  addrinfo* list = resolve(hp, true);
  int listener = -1;
  int err = 0;
  for (addrinfo* a = list; a != nullptr && listener < 0; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 1) == 0) {
      listener = fd;
    } else {
      err = errno;
      close(fd);
    }
  }
  freeaddrinfo(list);
  if (listener < 0) fail("cannot listen on {}: {}", options.listen, std::strerror(err));
  Socket listen_sock(listener);
  // From here on the stream is the peer's: --jail and --user now, and the
  // seccomp filter before its first byte (base/sandbox.hpp).
  sandbox::lock_down();
  sandbox::confine_thread(sandbox::Role::kReceive);
  spdlog::info("waiting for a migration on {} ({})", options.listen,
               describe_security(options.security));
  if (options.accept_timeout_seconds > 0) {
    pollfd p{listener, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(options.accept_timeout_seconds * 1000)) <= 0) {
      fail("no migration arrived on {} within {} s", options.listen,
           options.accept_timeout_seconds);
    }
  }
  const int conn = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn < 0) fail("accept on {}: {}", options.listen, std::strerror(errno));
  Socket sock(conn);
  set_timeouts(conn, kIoTimeoutSeconds);
  const std::string peer = peer_name(conn);

  std::unique_ptr<MigrationChannel> channel;
  try {
    channel = open_migration_channel(conn, options.security, TlsRole::kServer, "", "source");
  } catch (const Error& e) {
    fail("migration from {} refused: {}", peer, e.what());
  }
  MigrationReceiver in(*channel, "source");
  MigrationSender out(*channel);
  // Set once the source has had its answer: a refusal is not followed by a
  // second, vaguer one.
  bool answered = false;
  bool refused = false;  // the VM did not fit: nothing went wrong
  try {
    if (in.next(nullptr) != MigrationReceiver::Kind::kHello) fail("the source sent no HELLO");
    const MigrationHello& hello = in.hello();
    // Everything is checked before anything is allocated or opened; the
    // source learns only that its VM does not fit.
    SourceVm source;
    std::string mismatch;
    try {
      source = parse_source_vm(hello.config);
      mismatch =
          incompatibility(source, hello, options.vm, own_disk_sizes, host_available_memory());
    } catch (const Error& e) {
      mismatch = e.what();
    }
    if (!mismatch.empty()) {
      answered = refused = true;
      out.send_error(kIncompatibleReply);
      fail("{}: {}", kIncompatibleReply, mismatch);
    }
    const MachineConfig config = destination_config(source, options.vm);
    auto memory = std::make_unique<GuestMemory>(virt::kDramBase, config.mem_size);
    // Huge pages now, where the Machine will ask for them anyway (build()):
    // the pages arriving then fault in 2 MiB at a time, not 4 KiB (a fault
    // costs several microseconds in a nested VM, a page's copy one).
    memory->use_huge_pages(config.balloon || config.page_sharing);
    out.send_ready();
    for (;;) {
      const MigrationReceiver::Kind kind = in.next(memory.get());
      if (kind == MigrationReceiver::Kind::kPages || kind == MigrationReceiver::Kind::kState) {
        continue;
      }
      if (kind == MigrationReceiver::Kind::kSync) {
        out.send_ready();
        continue;
      }
      if (kind == MigrationReceiver::Kind::kError) {
        answered = true;
        fail("the source gave up: {}", in.error());
      }
      if (kind == MigrationReceiver::Kind::kDone) break;
      fail("unexpected message from the source");
    }
    const uint64_t done_ns = GuestClock::host_ns();  // DONE read: the source waits from here
    const std::vector<uint8_t> blob = in.take_state();
    const std::vector<state::Section> sections = state::decode(blob);
    // Only now are this destination's disks opened and its forwards bound:
    // on one host, the source has just released them.
    auto vm = std::make_unique<Machine>(config, std::move(memory));
    vm->load_state(sections);
    out.send_ready();
    const double build_ms = result_ms(GuestClock::host_ns() - done_ns);
    // Run only once the source commits: until then it may still resume.
    if (in.next(nullptr) != MigrationReceiver::Kind::kReady) {
      answered = true;
      fail("the source did not commit the migration");
    }
    // The build is part of the downtime the source reports.
    spdlog::info(
        "migration received from {} over {}: {} pages ({} zero), {:.1f} MiB; the VM built from "
        "its state in {:.1f} ms",
        peer, describe_security(options.security), in.stats().pages, in.stats().zero_pages,
        mib(in.stats().bytes_on_wire), build_ms);
    return vm;
  } catch (const Error& e) {
    if (!answered) {
      try {
        out.send_error(kFailedReply);
      } catch (const Error&) {
      }
    }
    if (refused) fail("migration from {} refused: {}", peer, e.what());
    fail("migration from {} failed, nothing kept: {}", peer, e.what());
  }
}

}  // namespace vessel
