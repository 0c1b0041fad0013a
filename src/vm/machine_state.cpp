// A Machine as data: its state in the state format (base/state.hpp), pause
// and resume, and the figures `vessel ctl stats` shows. Everything here runs
// on the VM thread (directly, or in a mailbox task).
#include <algorithm>
#include <thread>

#include "devices/virtio/balloon.hpp"
#include "memory/host_memory.hpp"
#include "memory/page_scanner.hpp"
#include "memory/page_store.hpp"
#include "vm/machine.hpp"
#include "vm/sbi_glue.hpp"

namespace vessel {

namespace {
constexpr uint32_t kMachineStateVersion = 1;
}

bool Machine::io_busy() const {
  return std::any_of(virtio_.begin(), virtio_.end(),
                     [](const auto& v) { return v->device().busy(); });
}

bool Machine::state_complete() const {
  return std::all_of(virtio_.begin(), virtio_.end(),
                     [](const auto& v) { return v->device().state_complete(); });
}

void Machine::rewind_state(const std::vector<state::Section>& sections) {
  console_->flush();
  load_state(sections);
  for (auto& h : harts_) h->flush_translations();
  {
    std::lock_guard lock(exit_mutex_);
    exit_status_.reset();
  }
  exit_requested_.store(false, std::memory_order_release);
}

void Machine::quiesce() {
  for (auto& v : virtio_) v->device().quiesce();
}

void Machine::release_host_locks() {
  for (auto& v : virtio_) v->device().release_host_locks();
  for (auto& b : net_backends_) b->release_host_ports();
}

void Machine::retake_host_locks() {
  for (auto& v : virtio_) v->device().retake_host_locks();
  for (auto& b : net_backends_) b->retake_host_ports();
}

void Machine::pause() {
  if (paused_) return;
  paused_ = true;
  paused_at_ticks_ = clock_.now();
  console_->flush();
}

void Machine::resume() {
  if (!paused_) return;
  paused_ = false;
  // Guest time stands still while paused, as on QEMU's `stop`/`cont`.
  clock_.set_now(paused_at_ticks_);
}

void Machine::stop_with(int status, const std::string& why) {
  console_->flush();
  if (!why.empty()) spdlog::info("{}", why);
  finish(status);
  paused_ = false;
}

std::vector<state::Section> Machine::save_state() const {
  return save_parts(/*busy_ok=*/false);
}

std::vector<state::Section> Machine::state_for_digest() const {
  return save_parts(/*busy_ok=*/true);
}

std::vector<state::Section> Machine::save_parts(bool busy_ok) const {
  std::vector<state::Section> sections;
  auto add = [&](std::string name, uint32_t version, const auto& part) {
    state::Writer w;
    part.save_state(w);
    sections.push_back({std::move(name), version, w.take()});
  };
  {
    state::Writer w;
    w.u32(static_cast<uint32_t>(harts_.size()));
    w.u32(static_cast<uint32_t>(virtio_.size()));
    for (const auto& v : virtio_) w.u32(v->device().device_id());
    w.u64(retired_);
    w.u64(paused_ ? paused_at_ticks_ : clock_.now());
    for (unsigned i = 0; i < harts_.size(); ++i) w.boolean(running_[i]);
    w.boolean(sbi_ != nullptr);
    w.boolean(tohost_.has_value());
    w.u64(tohost_.value_or(0));
    w.boolean(fromhost_.has_value());
    w.u64(fromhost_.value_or(0));
    sections.push_back({"machine", kMachineStateVersion, w.take()});
  }
  for (unsigned i = 0; i < harts_.size(); ++i) {
    add(fmt::format("hart{}", i), rv::Hart::kStateVersion, *harts_[i]);
  }
  add("clint", Clint::kStateVersion, *clint_);
  add("plic", Plic::kStateVersion, *plic_);
  add("uart", Uart16550::kStateVersion, *uart_);
  if (sbi_) add("sbi", SbiFirmware::kStateVersion, *sbi_);
  for (unsigned i = 0; i < virtio_.size(); ++i) {
    if (busy_ok && virtio_[i]->device().busy()) {
      sections.push_back({fmt::format("virtio{}", i), 0, {'b', 'u', 's', 'y'}});
      continue;
    }
    add(fmt::format("virtio{}", i), virtio::VirtioMmio::kStateVersion, *virtio_[i]);
  }
  return sections;
}

void Machine::load_state(const std::vector<state::Section>& sections) {
  const state::Section& ms = state::find(sections, "machine", kMachineStateVersion);
  state::Reader r(ms.payload, "machine");
  if (r.u32() != harts_.size()) state::state_fail("the saved VM has a different number of harts");
  if (r.u32() != virtio_.size()) {
    state::state_fail("the saved VM has a different number of virtio devices");
  }
  for (const auto& v : virtio_) {
    if (r.u32() != v->device().device_id()) state::state_fail("the saved VM has other devices");
  }
  const uint64_t retired = r.u64();
  const uint64_t ticks = r.u64();
  std::vector<bool> running(harts_.size());
  for (unsigned i = 0; i < harts_.size(); ++i) running[i] = r.boolean();
  const bool has_sbi = r.boolean();
  const bool has_tohost = r.boolean();
  const uint64_t tohost = r.u64();
  const bool has_fromhost = r.boolean();
  const uint64_t fromhost = r.u64();
  r.expect_end();
  if ((has_tohost && !memory_->contains(tohost, 8)) ||
      (has_fromhost && !memory_->contains(fromhost, 8))) {
    state::state_fail("machine: HTIF address outside guest memory");
  }

  // Guest time first: the CLINT and SBI timers drive their pins from it.
  retired_ = retired;
  clock_.set_now(ticks);
  auto load = [&](const std::string& name, uint32_t version, auto& part) {
    const state::Section& s = state::find(sections, name, version);
    state::Reader pr(s.payload, name);
    part.load_state(pr);
    pr.expect_end();
  };
  for (unsigned i = 0; i < harts_.size(); ++i) {
    load(fmt::format("hart{}", i), rv::Hart::kStateVersion, *harts_[i]);
  }
  load("clint", Clint::kStateVersion, *clint_);
  load("plic", Plic::kStateVersion, *plic_);
  load("uart", Uart16550::kStateVersion, *uart_);
  if (has_sbi) {
    sbi_ = std::make_unique<SbiFirmware>(*this);
    load("sbi", SbiFirmware::kStateVersion, *sbi_);
    for (auto& h : harts_) {
      h->sbi_handler = [this](rv::Hart& hart) { return sbi_->handle_ecall(hart); };
    }
  }
  for (unsigned i = 0; i < virtio_.size(); ++i) {
    load(fmt::format("virtio{}", i), virtio::VirtioMmio::kStateVersion, *virtio_[i]);
  }
  for (unsigned i = 0; i < harts_.size(); ++i) running_[i] = running[i];
  if (has_tohost) {
    tohost_ = tohost;
    memory_->set_page_flags(tohost, GuestMemory::kPageWatch);
  }
  if (has_fromhost) fromhost_ = fromhost;
  restored_ = true;
}

nlohmann::json Machine::stats() const {
  nlohmann::json j;
  j["instructions"] = retired_ + threaded_retired_.load(std::memory_order_relaxed);
  // Each hart's own exact count (minstret: since it was reset, across
  // snapshots and migrations).
  j["hart_instret"] = nlohmann::json::array();
  for (const auto& h : harts_) j["hart_instret"].push_back(h->instret());
  j["uptime_seconds"] =
      started_ns_ == 0 ? 0.0 : static_cast<double>(GuestClock::host_ns() - started_ns_) / 1e9;
  j["paused"] = paused_;
  // A recording started on a VM with a thread per hart runs it round-robin
  // until `record stop` (hart_threads.cpp).
  j["scheduler"] = threads_running_ ? "threads" : "round-robin";
  j["memory_bytes"] = memory_->size();
  const EngineStats e = engine_stats();
  j["engine"] = {{"name", std::string(engine_name(config_.engine))},
                 {"blocks_translated", e.blocks_translated},
                 {"cache_bytes", e.cache_bytes},
                 {"cache_flushes", e.cache_flushes},
                 {"translation_failures", e.translation_failures},
                 {"invalidations", e.invalidations},
                 {"interpreted", e.interpreted},
                 {"translate_seconds", e.translate_seconds}};
  if (balloon_ != nullptr) {
    nlohmann::json b;
    b["target_bytes"] = balloon_->target_bytes();
    b["actual_bytes"] = balloon_->actual_bytes();
    b["inflated_pages"] = balloon_->inflated_pages();
    b["deflated_pages"] = balloon_->deflated_pages();
    b["reported_bytes"] = balloon_->reported_bytes();
    const virtio::Balloon::BalloonStats gs = balloon_->stats();
    b["guest"] = gs.values;
    j["balloon"] = b;
  }
  if (scanner_) {
    const PageScannerStats st = scanner_->stats();
    j["sharing"] = {{"enabled", st.enabled},
                    {"rate_pages_per_second", st.rate},
                    {"pages_scanned", st.pages_scanned},
                    {"passes", st.passes},
                    {"zero_pages_released", st.zero_pages_released},
                    {"zero_pages_now", st.zero_now},
                    {"break_percent", st.break_percent},
                    {"huge_regions_broken", st.huge_regions_broken},
                    {"pages_shared", st.pages_shared},
                    {"shared_now", st.shared_now},
                    {"cow_breaks", st.cow_breaks},
                    {"shared_discards", st.shared_discards}};
  }
  return j;
}

}  // namespace vessel
