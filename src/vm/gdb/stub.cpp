#include "vm/gdb/stub.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "engine/riscv/decoder.hpp"
#include "engine/riscv/hart.hpp"
#include "platform/guest_clock.hpp"
#include "vm/gdb/insn_access.hpp"
#include "vm/machine.hpp"

namespace vessel::gdb {

namespace {

// How often a running VM looks for a Ctrl-C (or, detached, a new client).
constexpr uint64_t kPollNs = 2'000'000;
// How long one call waits for a client packet while the VM is held: the
// scheduler checks signals and --timeout in between.
constexpr int kWaitMs = 100;
// `k` ends vessel as a killed process would.
constexpr int kKilledStatus = 128 + 9;

}  // namespace

Stub::Stub(Machine& machine, Listener listener)
    : machine_(machine),
      listener_(std::move(listener)),
      session_(std::make_unique<Session>(static_cast<Target&>(*this))),
      skip_check_(machine.num_harts(), false),
      held_ticks_(machine.guest_time()) {}

// ---- the scheduler's hooks ----

bool Stub::before_round() {
  if (history_ != nullptr) replay_boundary();
  if (pending_stop_) {
    const StopEvent event = *pending_stop_;
    pending_stop_.reset();
    halt(event);
  }
  switch (state_) {
    case State::kRunning:
    case State::kDetached: {
      const uint64_t now = GuestClock::host_ns();
      if (now - last_poll_ns_ < kPollNs) return true;
      last_poll_ns_ = now;
      if (state_ == State::kDetached) {
        // A new client stops the VM where it is, as attaching would.
        if (accept_client()) return false;
        return true;
      }
      if (!pump_client()) {
        spdlog::info("gdb: the client went away; the VM runs on");
        detach();
        return true;
      }
      handle_events();  // a Ctrl-C halts
      return state_ != State::kHalted;
    }
    case State::kWaitingForClient:
      if (wait_readable(listener_.fd(), kWaitMs)) accept_client();
      return false;
    case State::kHalted: return serve_halted(kWaitMs);
  }
  return false;
}

uint64_t Stub::run_hart(unsigned i, uint64_t budget, StopReason& stop) {
  if (history_ != nullptr) return run_hart_replay(i, budget, stop);
  rv::Hart& hart = machine_.hart(i);
  if (state_ == State::kHalted || state_ == State::kWaitingForClient || pending_stop_) {
    stop = StopReason::kRequested;
    return 0;
  }
  last_hart_ = i;
  if (step_tid_ != 0) {
    if (step_tid_ != i + 1) {  // the others wait while one thread steps
      stop = StopReason::kRequested;
      return 0;
    }
    return step_one(hart, stop);
  }
  if (session_->breakpoints().empty()) return static_cast<Vcpu&>(hart).run(budget, stop);
  // One instruction at a time, each checked first.
  uint64_t retired = 0;
  stop = StopReason::kBudget;
  for (uint64_t n = 0; n < budget; ++n) {
    if (skip_check_[i]) {
      // Resuming from where it stopped: gdb expects the instruction there
      // to run (it steps over its own breakpoints the same way).
      skip_check_[i] = false;
    } else if (auto event = check_before(hart, i)) {
      pending_stop_ = event;
      stop = StopReason::kRequested;
      break;
    }
    StopReason s;
    retired += static_cast<Vcpu&>(hart).run(1, s);
    if (s != StopReason::kBudget) {
      stop = s;
      break;
    }
  }
  return retired;
}

uint64_t Stub::step_one(rv::Hart& hart, StopReason& stop) {
  // One instruction, or the trap or interrupt taken instead.
  const uint64_t retired = static_cast<Vcpu&>(hart).run(1, stop);
  pending_stop_ = StopEvent{StopEvent::Reason::kSignal, step_tid_, kSigTrap};
  return retired;
}

void Stub::vm_exited(int status) {
  if (client_.open() && state_ == State::kRunning) {
    send_packet(
        stop_reply(StopEvent{StopEvent::Reason::kExited, 1, 0, WatchKind::kWrite, 0, status}));
  }
  client_.close();
}

std::optional<StopEvent> Stub::check_before(rv::Hart& hart, unsigned i) {
  const Breakpoints& bps = session_->breakpoints();
  const unsigned tid = i + 1;
  if (const auto hardware = bps.breakpoint_at(hart.pc)) {
    return StopEvent{*hardware ? StopEvent::Reason::kHwBreak : StopEvent::Reason::kSwBreak, tid,
                     kSigTrap};
  }
  if (!bps.has_watches()) return std::nullopt;
  // Decode the next instruction as the hart would fetch it; if it cannot
  // be fetched, running it takes a fetch fault and no data access happens.
  const uint64_t pc = hart.pc;
  uint64_t pa = 0;
  uint16_t low = 0, high = 0;
  if (!hart.translate_debug(pc, rv::Access::kFetch, pa) ||
      !machine_.memory().read(pa, {reinterpret_cast<uint8_t*>(&low), 2})) {
    return std::nullopt;
  }
  uint32_t raw = low;
  if (rv::insn_length(low) == 4) {
    if (!hart.translate_debug(pc + 2, rv::Access::kFetch, pa) ||
        !machine_.memory().read(pa, {reinterpret_cast<uint8_t*>(&high), 2})) {
      return std::nullopt;
    }
    raw |= static_cast<uint32_t>(high) << 16;
  }
  const rv::DecodedInsn d = rv::decode(raw, static_cast<unsigned>(pc & 0xfff));
  const auto access = memory_access(d, hart.x);
  if (!access) return std::nullopt;
  const auto hit = bps.check_access(access->addr, access->size, access->load, access->store);
  if (!hit) return std::nullopt;
  StopEvent event{StopEvent::Reason::kWatch, tid, kSigTrap};
  event.watch_kind = hit->kind;
  event.addr = hit->addr;
  return event;
}

// ---- the client ----

bool Stub::accept_client() {
  auto connection = listener_.accept();
  if (!connection) return false;
  client_ = std::move(*connection);
  reader_ = PacketReader{};
  events_.clear();
  last_reply_.clear();
  session_ = std::make_unique<Session>(static_cast<Target&>(*this));
  session_->set_reverse(history_ != nullptr);
  spdlog::info("gdb: client connected; the VM is halted");
  // gdb asks with `?` where the target stopped: hart 0, wherever it is.
  const StopEvent event{StopEvent::Reason::kSignal, 1,
                        state_ == State::kDetached ? kSigInt : kSigTrap};
  if (state_ != State::kWaitingForClient) held_ticks_ = machine_.guest_time();
  state_ = State::kHalted;
  stopped_tid_ = event.tid;
  session_->set_last_stop(event);
  return true;
}

bool Stub::serve_halted(int wait_ms) {
  if (killed_) return false;
  if (!client_.open()) {  // a send failed: the client is gone
    spdlog::info("gdb: the client went away; the VM runs on");
    detach();
    return true;
  }
  if (!events_.empty()) handle_events();
  if (state_ != State::kHalted) return state_ != State::kWaitingForClient && !killed_;
  if (!wait_readable(client_.fd(), wait_ms)) return false;
  if (!pump_client()) {
    spdlog::info("gdb: the client went away; the VM runs on");
    detach();
    return true;
  }
  handle_events();
  return state_ == State::kRunning || state_ == State::kDetached;
}

bool Stub::pump_client() {
  std::string data;
  const bool open = client_.read_available(data);
  std::vector<Event> fresh;
  reader_.feed(data, fresh);
  for (Event& e : fresh) events_.push_back(std::move(e));
  return open;
}

void Stub::handle_events() {
  while (!events_.empty() && !killed_) {
    Event e = std::move(events_.front());
    events_.pop_front();
    const bool acks = !session_->no_ack();
    switch (e.kind) {
      case Event::Kind::kAck: break;
      case Event::Kind::kNak:
        if (acks && state_ == State::kHalted && !last_reply_.empty()) client_.send(last_reply_);
        break;
      case Event::Kind::kInterrupt:
        if (state_ == State::kRunning) {
          halt(StopEvent{StopEvent::Reason::kSignal, last_hart_ + 1, kSigInt});
        }
        break;
      case Event::Kind::kBadChecksum:
        if (acks) client_.send("-");
        break;
      case Event::Kind::kMalformed:
        if (acks) client_.send("+");
        if (state_ == State::kHalted) send_packet("E01");
        break;
      case Event::Kind::kPacket: {
        if (acks) client_.send("+");
        if (state_ != State::kHalted) {
          // All-stop: a client sends nothing but Ctrl-C while the VM runs.
          spdlog::debug("gdb: packet while running ignored");
          break;
        }
        const Outcome o = session_->handle(e.payload);
        if (o.reply) send_packet(*o.reply);
        switch (o.action) {
          case Outcome::Action::kNone: break;
          case Outcome::Action::kResume: resume(o.step_tid); break;
          case Outcome::Action::kDetach:
            spdlog::info("gdb: detached; the VM runs on");
            detach();
            break;
          case Outcome::Action::kKill: kill(); break;
          case Outcome::Action::kReverseStep:
          case Outcome::Action::kReverseContinue:
            reverse(o.action == Outcome::Action::kReverseStep, o.step_tid);
            break;
        }
        break;
      }
    }
    if (!client_.open()) break;
  }
}

void Stub::send_packet(const std::string& payload) {
  last_reply_ = frame(payload);
  client_.send(last_reply_);
}

void Stub::halt(const StopEvent& event) {
  if (history_ != nullptr) {  // a Ctrl-C ends a search or a run to a target too
    search_.active = false;
    stop_at_.reset();
    going_back_ = false;
  }
  held_ticks_ = machine_.guest_time();
  state_ = State::kHalted;
  step_tid_ = 0;
  stopped_tid_ = event.tid;
  session_->set_last_stop(event);
  if (client_.open()) send_packet(stop_reply(event));
}

void Stub::resume(unsigned step_tid) {
  if (history_ != nullptr && !resume_replay(step_tid)) return;
  // Guest time stood still meanwhile (a replay's follows the instruction
  // count anyway).
  if (history_ == nullptr) machine_.set_guest_time(held_ticks_);
  state_ = State::kRunning;
  step_tid_ = history_ != nullptr ? 0 : step_tid;  // a replay steps by target point
  // The thread gdb saw stop goes on with the instruction it stopped at (as
  // gdb steps over its own breakpoints there); any other hart that sits on
  // a breakpoint has not hit it yet, and will.
  std::fill(skip_check_.begin(), skip_check_.end(), false);
  if (stopped_tid_ >= 1 && stopped_tid_ <= skip_check_.size()) skip_check_[stopped_tid_ - 1] = true;
  last_poll_ns_ = GuestClock::host_ns();
  if (history_ != nullptr) return;  // resume_replay() set the step's target
  // A hart that is not started (SBI HSM) cannot step: report it at once.
  if (step_tid != 0 && !machine_.hart_running(step_tid - 1)) {
    pending_stop_ = StopEvent{StopEvent::Reason::kSignal, step_tid, kSigTrap};
  }
}

void Stub::detach() {
  if (state_ == State::kHalted && history_ == nullptr) machine_.set_guest_time(held_ticks_);
  session_->breakpoints().clear();
  client_.close();
  events_.clear();
  state_ = State::kDetached;
  step_tid_ = 0;
  pending_stop_.reset();
  // A replay goes on to its end without the debugger (and is checked there).
  stop_at_.reset();
  search_.active = false;
  rewind_ = Rewind::kNone;
  if (end_status_) {
    const int status = *end_status_;
    end_status_.reset();
    machine_.finish(status);
  }
}

void Stub::kill() {
  killed_ = true;
  client_.close();
  events_.clear();
  machine_.stop_with(kKilledStatus, "killed from gdb");
}

// ---- the machine as gdb sees it ----

unsigned Stub::threads() const {
  return machine_.num_harts();
}

std::optional<uint64_t> Stub::read_register(unsigned tid, const RegRef& reg) {
  if (tid < 1 || tid > machine_.num_harts()) return std::nullopt;
  rv::Hart& hart = machine_.hart(tid - 1);
  switch (reg.kind) {
    case RegRef::Kind::kX: return reg.index == 0 ? 0 : hart.x[reg.index];
    case RegRef::Kind::kPc: return hart.pc;
    case RegRef::Kind::kF: return hart.fp.f[reg.index];
    case RegRef::Kind::kCsr: return hart.read_csr_raw(reg.index);
    case RegRef::Kind::kPriv: return static_cast<uint64_t>(hart.priv());
  }
  return std::nullopt;
}

bool Stub::write_register(unsigned tid, const RegRef& reg, uint64_t value) {
  if (tid < 1 || tid > machine_.num_harts()) return false;
  rv::Hart& hart = machine_.hart(tid - 1);
  switch (reg.kind) {
    case RegRef::Kind::kX:
      if (reg.index != 0) hart.x[reg.index] = value;  // x0 stays zero
      return true;
    case RegRef::Kind::kPc:
      hart.pc = value & ~uint64_t{1};  // IALIGN is 16 with the C extension
      return true;
    case RegRef::Kind::kF: hart.fp.f[reg.index] = value; return true;
    case RegRef::Kind::kCsr: return hart.write_csr_debug(reg.index, value);
    case RegRef::Kind::kPriv:
      if (value != 0 && value != 1 && value != 3) return false;
      hart.set_priv_debug(static_cast<rv::Priv>(value));
      return true;
  }
  return false;
}

size_t Stub::read_memory(unsigned tid, uint64_t addr, std::span<uint8_t> out) {
  if (tid < 1 || tid > machine_.num_harts()) return 0;
  rv::Hart& hart = machine_.hart(tid - 1);
  size_t done = 0;
  while (done < out.size()) {
    const uint64_t va = addr + done;
    const size_t chunk = std::min<size_t>(out.size() - done, 4096 - (va & 0xfff));
    uint64_t pa = 0;
    if (!hart.translate_debug(va, rv::Access::kLoad, pa)) break;
    // RAM only: reading a device register can have side effects (a UART
    // read takes a byte from its FIFO).
    if (!machine_.memory().read(pa, out.subspan(done, chunk))) break;
    done += chunk;
  }
  return done;
}

bool Stub::write_memory(unsigned tid, uint64_t addr, std::span<const uint8_t> in) {
  if (tid < 1 || tid > machine_.num_harts()) return false;
  rv::Hart& hart = machine_.hart(tid - 1);
  // Every page is checked before any byte is written.
  struct Piece {
    uint64_t pa;
    size_t offset, len;
  };
  std::vector<Piece> pieces;
  for (size_t done = 0; done < in.size();) {
    const uint64_t va = addr + done;
    const size_t chunk = std::min<size_t>(in.size() - done, 4096 - (va & 0xfff));
    uint64_t pa = 0;
    if (!hart.translate_debug(va, rv::Access::kStore, pa)) return false;
    if (!machine_.memory().contains(pa, chunk)) return false;
    pieces.push_back({pa, done, chunk});
    done += chunk;
  }
  // GuestMemory::write is the one gate (dirty logging, shared pages, code
  // pages' generations); the harts then drop what they cached.
  for (const Piece& p : pieces) machine_.memory().write(p.pa, in.subspan(p.offset, p.len));
  for (unsigned h = 0; h < machine_.num_harts(); ++h) machine_.hart(h).flush_translations();
  return true;
}

std::string Stub::thread_info(unsigned tid) {
  if (tid < 1 || tid > machine_.num_harts()) return {};
  rv::Hart& hart = machine_.hart(tid - 1);
  static constexpr const char* kModes[] = {"U-mode", "S-mode", "?", "M-mode"};
  std::string s =
      fmt::format("hart {} {}", tid - 1, kModes[static_cast<unsigned>(hart.priv()) & 3]);
  if (!machine_.hart_running(tid - 1)) s += ", stopped";
  if (hart.waiting()) s += ", in WFI";
  return s;
}

}  // namespace vessel::gdb
