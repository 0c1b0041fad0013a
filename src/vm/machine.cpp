// A Machine's parts and how they are wired (machine_boot.cpp loads the
// guest, machine_run.cpp and hart_threads.cpp run it).
#include "vm/machine.hpp"

#include <algorithm>
#include <atomic>

#include "base/error.hpp"
#include "devices/net/net_options.hpp"
#include "devices/virtio/balloon.hpp"
#include "devices/virtio/blk.hpp"
#include "devices/virtio/net.hpp"
#include "devices/virtio/rng.hpp"
#include "memory/page_scanner.hpp"
#include "platform/virt_map.hpp"
#include "vm/debug_hooks.hpp"
#include "vm/journal.hpp"
#include "vm/sbi_glue.hpp"

namespace vessel {

thread_local rv::CodeCache* t_running_code = nullptr;

Machine::Machine(const MachineConfig& config, Journal* journal)
    : config_(config),
      journal_(journal),
      clock_(config.deterministic ? GuestClock::Mode::kDeterministic : GuestClock::Mode::kHost,
             &retired_) {
  memory_ = std::make_unique<GuestMemory>(virt::kDramBase, config_.mem_size);
  build();
}

Machine::Machine(const MachineConfig& config, std::unique_ptr<GuestMemory> memory, Journal* journal)
    : config_(config),
      journal_(journal),
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
  memory_->use_huge_pages(config_.balloon || config_.page_sharing);
  if (!config_.console_log.empty()) {
    console_ = std::make_unique<Console>(config_.console_log);
  } else {
    // A replay prints what the guest prints and reads nothing from the terminal.
    console_ =
        std::make_unique<Console>(replaying() ? Console::Input::kNone : Console::Input::kTerminal);
  }
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
    // Slices end exactly where the instruction count says only where the
    // count is the timeline.
    harts_.back()->set_exact_budget(config_.deterministic);
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
  unsigned disk_index = 0;
  for (const DiskConfig& disk : config_.disks) {
    auto blk = make_disk(disk_index++, disk);
    // A replayed disk does no host I/O: nothing to poll.
    PollSource* events = replaying() ? nullptr : blk.get();
    add_virtio(std::move(blk), events);
  }
  for (const std::string& spec : config_.nets) {
    const net::NetOptions options = net::parse_net_options(spec);
    std::unique_ptr<net::NetBackend> backend =
        make_net_backend(static_cast<unsigned>(net_backends_.size()), spec);
    if (!backend) continue;  // --net none
    auto device = options.mac ? std::make_unique<virtio::VirtioNet>(*backend, *options.mac)
                              : std::make_unique<virtio::VirtioNet>(*backend);
    net_backends_.push_back(std::move(backend));
    add_virtio(std::move(device), nullptr);
  }
  if (config_.rng) add_virtio(std::make_unique<virtio::Rng>(rng_source()), nullptr);
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
  // A replay under gdb holds its end of history (unless a signal ends it).
  if (debugger_ != nullptr && g_signal.load() == 0 && debugger_->hold_at_end(status)) {
    for (auto& h : harts_) h->request_stop();
    return;
  }
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
  auto from_terminal = [this] {
    int result = -1;
    console_->pump_input([&](uint8_t byte) {
      if (result >= 0) return false;
      result = byte;
      return true;
    });
    return result;
  };
  return journal_ != nullptr ? journal_->console_read(from_terminal) : from_terminal();
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

}  // namespace vessel
