// A Machine's side of record and replay (vm/journal.hpp): the devices whose
// host side goes through the journal, the scheduler's stops, and console
// input and output as the journal sees them.
#include <algorithm>

#include "devices/net/net_options.hpp"
#include "devices/virtio/blk.hpp"
#include "vm/journal.hpp"
#include "vm/machine.hpp"

namespace vessel {

bool Machine::replaying() const {
  return journal_ != nullptr && journal_->replaying();
}

std::function<size_t(std::span<uint8_t>)> Machine::rng_source() {
  if (journal_ == nullptr) return {};  // virtio::Rng's default: the host's getrandom()
  return [journal = journal_](std::span<uint8_t> out) { return journal->rng(out); };
}

std::unique_ptr<virtio::VirtioBlk> Machine::make_disk(unsigned index, const DiskConfig& disk) {
  std::unique_ptr<virtio::VirtioBlk> blk;
  if (replaying()) {
    // The guest sees the disk it was recorded with; its file is not opened
    // (the data read comes from the log).
    const ReplayDiskInfo info = journal_->replay_disk_info(index);
    blk = std::make_unique<virtio::VirtioBlk>(disk.path, info.capacity_sectors, info.read_only,
                                              info.discard, journal_->disk_backend(index, nullptr));
    blk->set_serial(info.serial);
  } else {
    blk = std::make_unique<virtio::VirtioBlk>(disk.path, disk.read_only);
    if (journal_ == nullptr) return blk;
    blk->wrap_backend([&](std::unique_ptr<BlockBackend> inner) {
      return journal_->disk_backend(index, std::move(inner));
    });
  }
  blk->set_max_read(Journal::kMaxDiskRead);
  journal_->attach_disk(index, blk.get());
  return blk;
}

std::unique_ptr<net::NetBackend> Machine::make_net_backend(unsigned index,
                                                           const std::string& spec) {
  const net::NetOptions options = net::parse_net_options(spec);
  if (options.kind == net::NetOptions::Kind::kNone) return nullptr;
  // A replay opens no socket and no tap: frames come from the log.
  if (replaying()) return journal_->net_backend(index, nullptr);
  std::unique_ptr<net::NetBackend> backend = net::open_net_backend(options);
  if (!backend) return nullptr;
  events_.add(backend.get());
  if (journal_ == nullptr) return backend;
  return journal_->net_backend(index, std::move(backend));
}

bool Machine::host_stop(int status) {
  if (journal_ != nullptr && journal_->recording()) {
    journal_->stop_from_host(status);
    return false;
  }
  finish(status);
  return true;
}

void Machine::journal_boundary() {
  if (journal_ == nullptr) return;
  if (const std::optional<int> status = journal_->boundary(*this, retired_)) {
    console_->flush();
    finish(*status);
  }
}

void Machine::begin_deterministic() {
  if (config_.deterministic) return;
  // Every hart is parked (this runs in a mailbox task): they leave for good,
  // and their count goes into retired_ before the clock starts reading it.
  if (threads_running_) end_hart_threads();
  config_.deterministic = true;
  clock_.set_mode(GuestClock::Mode::kDeterministic);
  for (auto& h : harts_) h->set_exact_budget(true);
  // The timer pins as a restore of the recording's start state computes
  // them (Clint and SbiFirmware load_state): hart threads raised only their
  // own, after their slices, so a deadline that passed just before the
  // switch may not show yet here, while the replay sees it at once.
  update_timer_pins();
  switched_deterministic_ = true;
}

void Machine::end_deterministic() {
  if (!switched_deterministic_) return;  // it was deterministic from the start
  switched_deterministic_ = false;
  config_.deterministic = false;
  clock_.set_mode(GuestClock::Mode::kHost);
  for (auto& h : harts_) h->set_exact_budget(false);
  // run_round_robin() returns at its next round if hart_threads() is true
  // again, and run() starts them.
}

size_t Machine::deliver_console_input(std::span<const uint8_t> bytes) {
  if (virtio_console_ != nullptr) {
    // Whole blocks, so a paste fills the guest's receive buffers instead of
    // taking one buffer per byte.
    const auto block = bytes.first(std::min(bytes.size(), virtio_console_->rx_space()));
    return virtio_console_->receive(block) ? block.size() : 0;
  }
  size_t n = 0;
  while (n < bytes.size() && uart_->receive(bytes[n])) ++n;
  return n;
}

uint64_t Machine::console_output_digest(uint64_t& bytes) {
  console_->flush();
  bytes = console_->output_bytes();
  return console_->output_digest();
}

}  // namespace vessel
