#include "vm/machine.hpp"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "base/error.hpp"
#include "base/sandbox.hpp"
#include "devices/net/net_options.hpp"
#include "devices/virtio/balloon.hpp"
#include "devices/virtio/blk.hpp"
#include "devices/virtio/net.hpp"
#include "devices/virtio/rng.hpp"
#include "memory/page_scanner.hpp"
#include "platform/fdt.hpp"
#include "platform/virt_map.hpp"
#include "vm/boot.hpp"
#include "vm/elf_loader.hpp"
#include "vm/sbi_glue.hpp"

namespace vessel {

std::atomic<int> g_signal{0};
thread_local rv::CodeCache* t_running_code = nullptr;

namespace {

constexpr uint64_t kInputPollNs = 1'000'000;  // check console input every millisecond of host time

void on_signal(int sig) {
  g_signal.store(sig);
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

std::string isa_string() {
  return "rv64imafdc_zicsr_zifencei_zba_zbb_zbs";
}

}  // namespace

Machine::Machine(const MachineConfig& config)
    : config_(config),
      clock_(config.deterministic ? GuestClock::Mode::kDeterministic : GuestClock::Mode::kHost,
             &retired_) {
  memory_ = std::make_unique<GuestMemory>(virt::kDramBase, config_.mem_size);
  build();
}

Machine::Machine(const MachineConfig& config, std::unique_ptr<GuestMemory> memory)
    : config_(config),
      clock_(config.deterministic ? GuestClock::Mode::kDeterministic : GuestClock::Mode::kHost,
             &retired_),
      memory_(std::move(memory)),
      restored_(true) {
  if (memory_->base() != virt::kDramBase || memory_->size() != config_.mem_size) {
    fail("guest memory does not match the VM configuration");
  }
  build();
}

// The parts every machine has, booted or restored.
void Machine::build() {
  if (!config_.balloon && !config_.page_sharing) memory_->use_huge_pages();
  console_ = config_.console_log.empty() ? std::make_unique<Console>()
                                         : std::make_unique<Console>(config_.console_log);
  for (unsigned i = 0; i < config_.cpus; ++i)
    code_.push_back(std::make_unique<rv::CodeCache>(*memory_));
  memory_->set_code_write_hook([](uint64_t page_gpa) {
    if (t_running_code != nullptr) t_running_code->invalidate(page_gpa);
  });
  std::vector<HartIrqPins*> pin_ptrs;
  for (unsigned i = 0; i < config_.cpus; ++i) {
    pins_.push_back(std::make_unique<HartIrqPins>());
    pin_ptrs.push_back(pins_.back().get());
  }
  for (unsigned i = 0; i < config_.cpus; ++i) {
    harts_.push_back(std::make_unique<rv::Hart>(i, *memory_, bus_, *code_[i], clock_, *pins_[i]));
    harts_.back()->set_smp(&smp_);
    smp_.add(harts_.back().get());
  }
  running_ = std::make_unique<std::atomic<bool>[]>(config_.cpus);
  set_engine(config_.engine, config_.jit_cache_bytes, config_.jit_warmup);
  memory_->set_write_protect_hook([this] { flush_write_translations_everywhere(); });

  clint_ = std::make_unique<Clint>(clock_, pin_ptrs);
  plic_ = std::make_unique<Plic>(pin_ptrs);
  uart_ = std::make_unique<Uart16550>(IrqLine(plic_.get(), virt::kUartIrq),
                                      [this](uint8_t byte) { console_->put(byte); });
  finisher_ = std::make_unique<SifiveTest>([this](FinisherEvent event) {
    switch (event.kind) {
      case FinisherEvent::Kind::kPass:
      case FinisherEvent::Kind::kReset: finish(0); break;  // reboot -f ends the run too
      case FinisherEvent::Kind::kFail:
        // An exit status holds 8 bits: a failure must never read as success.
        finish(event.code == 0 ? 1 : std::min<int>(event.code, 255));
        break;
    }
  });
  pvpanic_ = std::make_unique<Pvpanic>([this](PvpanicEvent event) {
    if (event == PvpanicEvent::kPanicked) {
      console_->flush();
      spdlog::error("the guest kernel panicked");
      finish(kExitGuestPanic);
    }
  });
  bus_.map(virt::kTestBase, virt::kTestSize, finisher_.get(), "test");
  bus_.map(virt::kClintBase, virt::kClintSize, clint_.get(), "clint");
  bus_.map(virt::kPvpanicBase, virt::kPvpanicSize, pvpanic_.get(), "pvpanic");
  bus_.map(virt::kPlicBase, virt::kPlicSize, plic_.get(), "plic");
  bus_.map(virt::kUartBase, virt::kUartSize, uart_.get(), "uart");
  events_.add(console_.get());
  events_.add(&mailbox_);
  events_.add(&wake_);
  add_virtio_devices();
}

// virtio-mmio slot i sits at virt::kVirtioBase + i * 0x1000 and interrupts on
// PLIC source 1 + i, as on QEMU's virt board; the device tree lists exactly
// the slots in use.
void Machine::add_virtio(std::unique_ptr<virtio::VirtioDevice> device, PollSource* events) {
  const unsigned slot = static_cast<unsigned>(virtio_.size());
  if (slot >= virt::kVirtioSlots) fail("too many virtio devices (at most {})", virt::kVirtioSlots);
  const uint64_t base = virt::kVirtioBase + slot * virt::kVirtioStride;
  virtio_.push_back(std::make_unique<virtio::VirtioMmio>(
      *memory_, IrqLine(plic_.get(), virt::kVirtioIrqBase + slot), std::move(device)));
  bus_.map(base, virt::kVirtioStride, virtio_.back().get(), fmt::format("virtio{}", slot));
  if (events != nullptr) events_.add(events);
}

void Machine::add_virtio_devices() {
  for (const DiskConfig& disk : config_.disks) {
    auto blk = std::make_unique<virtio::VirtioBlk>(disk.path, disk.read_only);
    PollSource* events = blk.get();
    add_virtio(std::move(blk), events);
  }
  for (const std::string& spec : config_.nets) {
    const net::NetOptions options = net::parse_net_options(spec);
    std::unique_ptr<net::NetBackend> backend = net::open_net_backend(options);
    if (!backend) continue;  // --net none
    auto device = options.mac ? std::make_unique<virtio::VirtioNet>(*backend, *options.mac)
                              : std::make_unique<virtio::VirtioNet>(*backend);
    events_.add(backend.get());
    net_backends_.push_back(std::move(backend));
    add_virtio(std::move(device), nullptr);
  }
  if (config_.rng) add_virtio(std::make_unique<virtio::Rng>(), nullptr);
  if (config_.balloon) {
    auto balloon = std::make_unique<virtio::Balloon>();
    balloon_ = balloon.get();
    add_virtio(std::move(balloon), nullptr);
  }
  if (config_.virtio_console) {
    auto console = std::make_unique<virtio::Console>([this](std::span<const uint8_t> bytes) {
      for (uint8_t b : bytes) console_->put(b);
    });
    virtio_console_ = console.get();
    add_virtio(std::move(console), nullptr);
  }
}

Machine::~Machine() {
  mailbox_.close();
}

void Machine::finish(int status) {
  {
    std::lock_guard lock(exit_mutex_);
    if (!exit_status_) exit_status_ = status;
  }
  exit_requested_.store(true, std::memory_order_release);
  for (auto& h : harts_) h->request_stop();
  for (auto& p : pins_) p->doorbell.ring();
  wake_.wake();
}

int Machine::console_get() {
  int result = -1;
  console_->pump_input([&](uint8_t byte) {
    if (result >= 0) return false;
    result = byte;
    return true;
  });
  return result;
}

// The hart is not running, so its thread (if it has one) does not touch
// its state until it sees running_ set.
void Machine::start_hart(unsigned hart, uint64_t pc, uint64_t opaque) {
  if (running_[hart].load(std::memory_order_acquire)) return;
  harts_[hart]->enter_supervisor(pc, hart, opaque);
  harts_[hart]->sbi_handler = [this](rv::Hart& h) { return sbi_->handle_ecall(h); };
  running_[hart].store(true, std::memory_order_release);
  pins_[hart]->doorbell.ring();
}

void Machine::stop_hart(unsigned hart) {
  running_[hart].store(false, std::memory_order_release);
  harts_[hart]->request_stop();
}

std::vector<uint8_t> Machine::device_tree(std::optional<uint64_t> initrd_start,
                                          std::optional<uint64_t> initrd_end) {
  BoardDescription board;
  board.num_harts = config_.cpus;
  board.isa = isa_string();
  board.mmu_type = "riscv,sv48";
  board.ram_base = memory_->base();
  board.ram_size = memory_->size();
  board.bootargs = config_.cmdline;
  board.initrd_start = initrd_start;
  board.initrd_end = initrd_end;
  board.pvpanic = true;
  board.launch_digest = config_.measure_launch;
  for (unsigned i = 0; i < virtio_.size(); ++i) {
    board.virtio.push_back({virt::kVirtioBase + i * virt::kVirtioStride, virt::kVirtioIrqBase + i});
  }
  return build_device_tree(board);
}

void Machine::load() {
  if (loaded_ || restored_) return;
  loaded_ = true;
  if (!config_.kernel.empty()) {
    boot_linux();
    return;
  }
  if (config_.bios.empty()) fail("nothing to run: give --bios PROGRAM or --kernel IMAGE");
  boot_bare_metal(read_file(config_.bios, "bios"));
}

// A bare-metal program or firmware alone: every hart starts at its entry in
// M-mode with a0 = hart id and a1 = the device tree, as on QEMU's virt board.
void Machine::boot_bare_metal(const std::vector<uint8_t>& image) {
  uint64_t entry = memory_->base();
  if (looks_like_elf(image)) {
    const ElfProgram prog = load_elf(image, config_.bios, *memory_);
    entry = prog.entry;
    tohost_ = prog.tohost;
    fromhost_ = prog.fromhost;
    if (tohost_) {
      if (!memory_->contains(*tohost_, 8)) fail("'{}': tohost is outside guest RAM", config_.bios);
      memory_->set_page_flags(*tohost_, GuestMemory::kPageWatch);
    }
  } else {
    load_raw(image, config_.bios, *memory_, memory_->base());
  }
  std::vector<uint8_t> dtb = device_tree(std::nullopt, std::nullopt);
  measure_launch(image, {}, {}, dtb);
  const uint64_t dtb_addr = place_device_tree(dtb, *memory_);
  for (unsigned i = 0; i < harts_.size(); ++i) {
    harts_[i]->reset(entry, rv::Priv::kMachine);
    harts_[i]->x[10] = i;
    harts_[i]->x[11] = dtb_addr;
    running_[i] = true;
  }
}

void Machine::boot_linux() {
  const std::vector<uint8_t> kernel = read_file(config_.kernel, "kernel");
  std::vector<uint8_t> initrd;
  if (!config_.initrd.empty()) initrd = read_file(config_.initrd, "initrd");
  std::vector<uint8_t> bios;  // read once: what is measured is what is loaded
  if (!config_.bios.empty()) bios = read_file(config_.bios, "bios");
  const LinuxImage image = parse_linux_image(kernel, config_.kernel);

  LinuxLayout layout = plan_linux_layout(image, initrd.size(), *memory_);
  std::optional<uint64_t> initrd_start, initrd_end;
  if (!initrd.empty()) {
    initrd_start = layout.initrd;
    initrd_end = layout.initrd + initrd.size();
  }
  // The device tree's size depends on its contents; build it, then place it.
  std::vector<uint8_t> dtb = device_tree(initrd_start, initrd_end);
  measure_launch(bios, kernel, initrd, dtb);
  if (dtb.size() > layout.dtb_room) fail("device tree too large ({} bytes)", dtb.size());
  memory_->write(layout.dtb, dtb);
  memory_->write(layout.kernel, kernel);
  if (!initrd.empty()) memory_->write(layout.initrd, initrd);

  if (config_.bios.empty()) {
    // vessel's own SBI: hart 0 enters the kernel in S-mode; the others wait
    // for SBI HSM hart_start.
    sbi_ = std::make_unique<SbiFirmware>(*this);
    start_hart(0, layout.kernel, layout.dtb);
    return;
  }
  // M-mode firmware (OpenSBI fw_dynamic or fw_jump) at the start of RAM;
  // all harts enter it, it picks a boot hart and starts the kernel.
  uint64_t entry = memory_->base();
  if (looks_like_elf(bios)) {
    entry = load_elf(bios, config_.bios, *memory_).entry;
  } else {
    load_raw(bios, config_.bios, *memory_, memory_->base());
  }
  const uint64_t info = write_fw_dynamic_info(*memory_, layout);
  for (unsigned i = 0; i < harts_.size(); ++i) {
    harts_[i]->reset(entry, rv::Priv::kMachine);
    harts_[i]->x[10] = i;
    harts_[i]->x[11] = layout.dtb;
    harts_[i]->x[12] = info;
    running_[i] = true;
  }
}

void Machine::measure_launch(std::span<const uint8_t> firmware, std::span<const uint8_t> kernel,
                             std::span<const uint8_t> initrd, std::vector<uint8_t>& dtb) {
  if (!config_.measure_launch) return;
  std::vector<virtio::VirtioDevice*> devices;
  for (const auto& mmio : virtio_) devices.push_back(&mmio->device());
  LaunchInputs inputs;
  inputs.machine = describe_machine(config_.mem_size, config_.cpus, config_.bios.empty(), devices);
  inputs.firmware = firmware;
  inputs.kernel = kernel;
  inputs.initrd = initrd;
  inputs.cmdline = kernel.empty() ? std::string_view() : config_.cmdline;
  inputs.device_tree = dtb;  // its digest property is still zero
  launch_digest_ = vessel::launch_digest(inputs);
  fill_launch_digest(dtb, *launch_digest_);
  spdlog::info("launch-digest={}", format_digest(*launch_digest_));
}

void Machine::service_htif() {
  if (!tohost_) return;
  uint64_t cmd = 0;
  memory_->read(*tohost_, {reinterpret_cast<uint8_t*>(&cmd), 8});
  if (cmd == 0) return;
  const uint64_t device = cmd >> 56;
  const uint64_t command = (cmd >> 48) & 0xff;
  const uint64_t payload = cmd & ((1ull << 48) - 1);
  uint64_t response = 0;
  if (device == 0 && command == 0 && (payload & 1) != 0) {
    const uint64_t code = payload >> 1;
    if (code != 0) {
      console_->flush();
      spdlog::error("guest reported failure: FAIL test {}", code);
    }
    finish(code == 0 ? 0 : static_cast<int>(std::clamp<uint64_t>(code, 1, 255)));
  } else if (device == 1 && command == 1) {
    console_->put(static_cast<uint8_t>(payload));
    response = (device << 56) | (command << 48);
  } else if (device == 1 && command == 0) {
    const int ch = console_get();
    response = (device << 56) | (command << 48) | static_cast<uint64_t>(ch < 0 ? 0 : ch + 1);
  } else {
    if (htif_log_limit_.allow()) spdlog::warn("unsupported HTIF request {:#x}", cmd);
  }
  const uint64_t zero = 0;
  memory_->write(*tohost_, {reinterpret_cast<const uint8_t*>(&zero), 8});
  if (fromhost_ && response != 0) {
    memory_->write(*fromhost_, {reinterpret_cast<const uint8_t*>(&response), 8});
  }
}

void Machine::service_devices(int64_t wait_ms) {
  events_.run_once(wait_ms);
  const uint64_t now = clock_.now();
  clint_->update();
  if (sbi_) sbi_->update_timers(now);
  service_console();
  if (scanner_ && !io_busy()) scanner_->step(GuestClock::host_ns());
}

// Console input to the guest, and Ctrl-a x.
void Machine::service_console() {
  if (virtio_console_ != nullptr) {
    // Whole blocks, so a paste fills the guest's receive buffers instead of
    // taking one buffer per byte.
    console_->pump_input_block([&](std::span<const uint8_t> bytes) -> size_t {
      const auto block = bytes.first(std::min(bytes.size(), virtio_console_->rx_space()));
      return virtio_console_->receive(block) ? block.size() : 0;
    });
  } else {
    console_->pump_input([&](uint8_t byte) { return uart_->receive(byte); });
  }
  if (console_->quit_requested()) {
    spdlog::info("quit requested from the console");
    finish(0);
  }
}

uint64_t Machine::next_wakeup_ticks() const {
  uint64_t next = clint_->next_deadline();
  if (sbi_) next = std::min(next, sbi_->next_deadline());
  return next;
}

// Every hart waits for an interrupt: sleep until the next timer deadline or
// console input, whichever comes first.
void Machine::wait_for_interrupt() {
  console_->flush();
  const uint64_t deadline = next_wakeup_ticks();
  if (clock_.mode() == GuestClock::Mode::kDeterministic) {
    // Guest time does not pass while nothing executes: jump to the deadline.
    if (deadline != UINT64_MAX) {
      if (deadline > clock_.now()) clock_.set_now(deadline);
      return;
    }
  }
  int64_t timeout_ms = 100;  // wake up regularly to notice signals and limits
  if (deadline != UINT64_MAX && clock_.mode() == GuestClock::Mode::kHost) {
    const uint64_t ns = clock_.host_ns_until(deadline);
    timeout_ms = static_cast<int64_t>(std::min<uint64_t>((ns + 999'999) / 1'000'000, 100));
  }
  service_devices(timeout_ms);
}

void Machine::set_engine(Engine engine, uint64_t jit_cache_bytes, uint32_t jit_warmup) {
  config_.engine = engine;
  config_.jit_cache_bytes = jit_cache_bytes;
  config_.jit_warmup = jit_warmup;
  for (auto& code : code_) {
    code->set_jit_capacity(jit_cache_bytes);
    code->set_jit_warmup(jit_warmup);
  }
  for (auto& h : harts_) h->set_engine(engine);
}

EngineStats Machine::engine_stats() const {
  EngineStats sum;
  for (const auto& h : harts_) sum += h->engine_stats();
  return sum;
}

bool Machine::hart_threads() const {
  return harts_.size() > 1 && !config_.deterministic && !slice_hooks_.budget &&
         !slice_hooks_.after_round;
}

RunResult Machine::run() {
  if (!restored_) load();
  if (config_.page_sharing) {
    if (page_store_ == nullptr) fail("page sharing needs a page store");
    scanner_ = std::make_unique<PageScanner>(*memory_, *page_store_);
    scanner_->set_rate(config_.sharing_rate);
    scanner_->set_enabled(true);
  }
  install_signal_handlers();
  // From here on the VM thread keeps only the system calls it needs.
  sandbox::confine_thread(sandbox::Role::kVm);
  const uint64_t start_ns = GuestClock::host_ns();
  started_ns_ = start_ns;
  const uint64_t timeout_ns =
      config_.timeout_seconds > 0 ? static_cast<uint64_t>(config_.timeout_seconds * 1e9) : 0;
  if (hart_threads()) {
    run_threaded(start_ns, timeout_ns);
  } else {
    run_round_robin(start_ns, timeout_ns);
  }
  console_->flush();
  mailbox_.close();
  // Gives shared pages back to the store while other VMs may run on.
  scanner_.reset();
  RunResult result;
  {
    std::lock_guard lock(exit_mutex_);
    result.status = exit_status_.value_or(1);
  }
  result.instructions = retired_;
  result.engine = config_.engine;
  result.engine_stats = engine_stats();
  for (const auto& h : harts_) result.hart_instret.push_back(h->instret());
  result.seconds = static_cast<double>(GuestClock::host_ns() - start_ns) / 1e9;
  return result;
}

bool Machine::check_limits(uint64_t now_ns, uint64_t start_ns, uint64_t timeout_ns) {
  if (const int sig = g_signal.load(); sig != 0) {
    console_->flush();
    spdlog::error("stopped by signal {}", sig);
    finish(128 + sig);
    return true;
  }
  const uint64_t retired = retired_ + threaded_retired_.load(std::memory_order_relaxed);
  if (config_.max_instructions != 0 && retired >= config_.max_instructions) {
    console_->flush();
    spdlog::error("stopped after {} instructions (--max-instructions)", retired);
    finish(kExitLimit);
    return true;
  }
  if (timeout_ns != 0 && now_ns - start_ns >= timeout_ns) {
    console_->flush();
    spdlog::error("stopped after {} seconds (--timeout)", config_.timeout_seconds);
    finish(kExitLimit);
    return true;
  }
  return false;
}

// Every hart on this thread, in turn.
void Machine::run_round_robin(uint64_t start_ns, uint64_t timeout_ns) {
  uint64_t last_poll_ns = start_ns;
  while (!exiting()) {
    mailbox_.run_pending();
    if (paused_) {
      // Only the mailbox (resume, snapshot, quit) and signals matter now.
      mailbox_.wait(100);
      if (const int sig = g_signal.load(); sig != 0) {
        spdlog::error("stopped by signal {}", sig);
        finish(128 + sig);
      }
      continue;
    }
    bool ran = false;
    for (unsigned i = 0; i < harts_.size() && !exiting(); ++i) {
      if (!running_[i]) continue;
      rv::Hart& hart = *harts_[i];
      if (hart.waiting() && !hart.wake_pending()) continue;
      if (harts_.size() > 1) hart.clear_reservation();
      uint64_t budget = slice_hooks_.budget ? slice_hooks_.budget() : kSliceInstructions;
      if (config_.max_instructions != 0) {
        budget = std::min(budget,
                          config_.max_instructions - std::min(config_.max_instructions, retired_));
      }
      if (budget == 0) break;
      StopReason stop;
      t_running_code = code_[i].get();
      // Active only while it runs: the others catch up with what changed
      // (smp_sync.hpp) before their next slice, so nobody waits for them.
      hart.set_active(true);
      retired_ += static_cast<Vcpu&>(hart).run(budget, stop);  // the engine seam
      hart.set_active(false);
      t_running_code = nullptr;
      ran = true;
    }
    if (slice_hooks_.after_round) slice_hooks_.after_round();
    for (unsigned i = 0; i < harts_.size(); ++i) {
      if (code_[i]->over_limit()) {  // the hart is not running: its TLBs can let go of the pages
        code_[i]->trim();
        harts_[i]->flush_translations();
      }
    }
    service_htif();
    const uint64_t now_ns = GuestClock::host_ns();
    if (now_ns - last_poll_ns >= kInputPollNs) {
      last_poll_ns = now_ns;
      service_devices(0);
      console_->flush();
    } else {
      clint_->update();
      if (sbi_) sbi_->update_timers(clock_.now());
    }
    if (exiting() || check_limits(now_ns, start_ns, timeout_ns)) break;
    if (!ran) {
      if (std::none_of(running_.get(), running_.get() + harts_.size(),
                       [](const std::atomic<bool>& r) { return r.load(); })) {
        console_->flush();
        spdlog::error("every hart has stopped");
        finish(1);
        break;
      }
      wait_for_interrupt();
    }
  }
}

void Machine::flush_write_translations_everywhere() {
  if (!threads_running_ || world_stopped_) {
    // Every hart is still (or there is only this thread): drop them here.
    for (auto& h : harts_) h->flush_write_translations();
    return;
  }
  // A device on some hart's thread (the balloon giving back shared pages):
  // the pages only become writable, so the others may drop theirs later.
  for (unsigned i = 0; i < harts_.size(); ++i) {
    if (t_running_code == code_[i].get()) {
      harts_[i]->flush_write_translations();
    } else {
      smp_.request(*harts_[i], rv::SmpSync::kFlushWrite, /*wait=*/false, nullptr);
    }
  }
}

}  // namespace vessel
