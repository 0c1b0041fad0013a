// The gdb stub on a replay (`vessel replay DIR --gdb PORT`): reverse
// execution (gdb's `bs`/`bc`, reverse-stepi, reverse-continue, reverse
// watchpoints) over in-memory checkpoints (vm/replay_history.hpp).
//
// A replay must run exactly as recorded: the same slices in the same order
// with the same stops between rounds, where the log's inputs arrive. So the
// stub never ends a slice early to halt, as it does on a live VM; it halts
// *inside* run_hart, serving gdb there, and then goes on with the rest of the
// slice (run(a) then run(b) is run(a + b) on both engines). Going back ends
// the round on the spot (DebugHooks::abandon_round), puts back the latest
// checkpoint before the target and runs forward to the target exactly.
//
// Positions are VM-wide: a point is the VM's retired-instruction count (all
// harts, in the scheduler's order) plus the traps taken since (Stub::Point).
// reverse-stepi goes to the point one instruction earlier, whichever hart
// retired it; stepi to the next (with one hart, the thread's own previous
// and next instruction). reverse-continue searches the windows between
// checkpoints, newest first, running each one instruction at a time with the
// breakpoints and watchpoints checked, and stops at the last hit before
// where gdb was; none before the start: `replaylog:begin`. With only write
// watchpoints on globally mapped bytes, a window whose checkpoint delta
// does not hold their pages is passed over unrun (skippable_pages()). At the end of the
// log the replay holds (`replaylog:end`) instead of exiting, so gdb can go
// back from there; detaching lets it end (and be checked) as without gdb.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "engine/riscv/hart.hpp"
#include "vm/gdb/stub.hpp"
#include "vm/journal.hpp"
#include "vm/machine.hpp"
#include "vm/replay_history.hpp"

namespace vessel::gdb {

namespace {
constexpr int kWaitMs = 100;
}

void Stub::set_history(ReplayHistory* history) {
  history_ = history;
  step_search_ = std::getenv("VESSEL_GDB_STEP_SEARCH") != nullptr;
  session_->set_reverse(history != nullptr);
}

uint64_t Stub::position() const {
  return machine_.instructions() + slice_retired_;
}

Stub::Point Stub::here() const {
  return Point{position(), units_};
}

bool Stub::reached(const Point& p) const {
  if (position() != p.pos) return position() > p.pos;
  if (p.units == kUnknownUnits || units_ == kUnknownUnits) return true;
  return units_ >= p.units;
}

void Stub::account(uint64_t chunk, uint64_t retired, StopReason s) {
  slice_retired_ += retired;
  if (retired > 0) {
    // Exact only if the run ended on a retired instruction; a run of single
    // steps (breakpoints, searching, near a target) always is.
    units_ = retired == chunk && s == StopReason::kBudget ? 0 : kUnknownUnits;
  } else if (units_ != kUnknownUnits) {
    units_ += s == StopReason::kBudget ? chunk : 1;
  }
}

StopEvent Stub::history_event(StopEvent::History h) const {
  StopEvent e{StopEvent::Reason::kSignal, stopped_tid_, kSigTrap};
  e.history = h;
  return e;
}

bool Stub::hold_at_end(int status) {
  if (history_ == nullptr || killed_ || state_ == State::kDetached) return false;
  if (Journal* j = machine_.journal(); j != nullptr && j->diverged()) {
    // Searching one instruction at a time went another way than the
    // recording (the journal's checks say where): give the search up and go
    // back to where gdb was, instead of ending the replay.
    if (!search_.active) return false;
    search_failed_ = true;
    abandon_ = true;
    return true;
  }
  if (search_.active) return true;  // the window ends here (finish_window)
  if (!end_status_) {
    end_status_ = status;
    end_pending_ = true;
    spdlog::info("gdb: the replay reached the end of its log (status {}); holding there", status);
  }
  return true;
}

// Between rounds: a pending rewind, or a checkpoint if one is due.
void Stub::replay_boundary() {
  abandon_ = false;
  if (search_failed_) {
    search_failed_ = false;
    search_.active = false;
    spdlog::error(
        "gdb: reverse-continue gave up: stepping one instruction at a time went another way "
        "than the recording; back where it started");
    rewind_ = Rewind::kGoto;
    rewind_target_ = search_origin_;
    stop_at_event_ = StopEvent{StopEvent::Reason::kSignal, stopped_tid_, kSigTrap};
  }
  if (rewind_ != Rewind::kNone) {
    while (rewind_ != Rewind::kNone) perform_rewind();
  } else {
    history_->at_boundary();
  }
  if (end_pending_ && state_ != State::kDetached) {
    end_pending_ = false;
    halt(history_event(StopEvent::History::kEnd));
  }
}

void Stub::perform_rewind() {
  const Rewind what = rewind_;
  rewind_ = Rewind::kNone;
  stop_at_.reset();
  going_back_ = false;
  end_status_.reset();
  end_pending_ = false;
  std::fill(skip_check_.begin(), skip_check_.end(), false);
  slice_retired_ = 0;
  units_ = 0;  // a checkpoint's point counts its units from there
  switch (what) {
    case Rewind::kNone: return;
    case Rewind::kBegin:
      history_->restore_before(0);
      search_.active = false;
      halt(history_event(StopEvent::History::kBegin));
      return;
    case Rewind::kGoto: {
      const uint64_t at = history_->restore_before(rewind_target_.pos);
      if (at == rewind_target_.pos && rewind_target_.units == 0) {
        halt(stop_at_event_);  // the start: a checkpoint's point
        return;
      }
      stop_at_ = rewind_target_;
      going_back_ = true;  // to a known point: nothing is checked on the way
      state_ = State::kRunning;
      return;
    }
    case Rewind::kSearch: {
      // A window whose delta (the pages written in it) holds none of the
      // watched pages cannot hold a hit: passed over without running it.
      while (search_.pages) {
        const uint64_t start = history_->checkpoint_before(search_.end.pos);
        // Before anything is stepped, the machine stands where gdb was.
        const bool at_end = search_.stepped == 0 && search_.skipped == 0;
        const auto writes = history_->window_writes(start, *search_.pages, at_end);
        if (!writes || *writes) break;
        ++search_.skipped;
        if (start == 0) {  // not written since the start
          log_search();
          history_->restore_before(0);
          search_.active = false;
          halt(history_event(StopEvent::History::kBegin));
          return;
        }
        search_.end = Point{start, 0};
      }
      ++search_.stepped;
      search_.window_start = history_->restore_before(search_.end.pos);
      search_.hit.reset();
      search_.watch.reset();
      search_.active = true;
      state_ = State::kRunning;
      if (reached(search_.end)) finish_window();  // an empty window
      return;
    }
  }
}

// A watchpoint hit is reported just after the access: gdb's RISC-V port
// has non-steppable watchpoints (they fire before the access), so on a
// watchpoint stop gdb steps once more in the direction it is going, here
// backwards (`bs`), onto the instruction that made the access, and shows the
// value before it as "New value". Breakpoints are reported where they are.
void Stub::finish_window() {
  search_.active = false;
  abandon_ = true;
  if (search_.hit || search_.window_start == 0) log_search();
  if (search_.hit) {
    rewind_ = Rewind::kGoto;
    rewind_target_ = *search_.hit;
    stop_at_event_ = search_.hit_event;
  } else if (search_.window_start == 0) {
    rewind_ = Rewind::kBegin;
  } else {
    search_.end = Point{search_.window_start, 0};
    rewind_ = Rewind::kSearch;
  }
}

// A write watchpoint hit is a store that retires with the watched bytes'
// address, and a store dirties the page it writes; so if each watched byte
// lies in a page mapped the same in every address space (a global
// mapping, as the kernel's own are: the privileged spec's G bit) at the
// same guest-physical address throughout the history, a window whose
// delta does not hold that page had no hit. A breakpoint, or a read or
// access watchpoint, leaves no such trace: then every window is stepped.
std::optional<std::vector<uint64_t>> Stub::skippable_pages() {
  const Breakpoints& bps = session_->breakpoints();
  if (bps.has_breakpoints() || !bps.has_watches()) return std::nullopt;
  const GuestMemory& mem = machine_.memory();
  std::vector<uint64_t> pages;
  for (const Watch& w : bps.watches()) {
    if (w.kind != WatchKind::kWrite) return std::nullopt;
    for (uint64_t va = w.addr & ~uint64_t{0xfff}; va < w.addr + w.len; va += 0x1000) {
      std::optional<uint64_t> page;
      for (unsigned h = 0; h < machine_.num_harts(); ++h) {
        rv::Hart& hart = machine_.hart(h);
        uint64_t pa = 0;
        if (!hart.paging()) continue;  // paging off: it stores nowhere near
        if (!hart.translate_global(va, pa) || pa < mem.base() || pa - mem.base() >= mem.size()) {
          return std::nullopt;
        }
        const uint64_t p = (pa - mem.base()) / GuestMemory::kPageSize;
        if (page && *page != p) return std::nullopt;
        page = p;
      }
      if (!page) return std::nullopt;
      pages.push_back(*page);
    }
  }
  return pages;
}

void Stub::log_search() const {
  if (!search_.pages) return;
  spdlog::info(
      "gdb: reverse-continue stepped {} window(s) between checkpoints and passed over {} that "
      "wrote no watched page",
      search_.stepped, search_.skipped);
}

void Stub::reverse(bool step, unsigned tid) {
  const Point now = here();
  stop_at_.reset();
  going_back_ = false;
  if (step) {
    if (now.pos == 0 && now.units == 0) {
      halt(history_event(StopEvent::History::kBegin));
      return;
    }
    // Trap entries since the last instruction: back to before them;
    // otherwise back by one instruction.
    rewind_target_ =
        now.units != 0 && now.units != kUnknownUnits ? Point{now.pos, 0} : Point{now.pos - 1, 0};
    stop_at_event_ = StopEvent{StopEvent::Reason::kSignal, tid == 0 ? 1 : tid, kSigTrap};
    rewind_ = Rewind::kGoto;
  } else if (session_->breakpoints().empty()) {
    rewind_ = Rewind::kBegin;  // nothing to stop at on the way back
  } else {
    search_ = Search{};
    search_.end = now;
    if (!step_search_) search_.pages = skippable_pages();
    search_origin_ = now;
    rewind_ = Rewind::kSearch;
  }
  state_ = State::kRunning;
  abandon_ = true;  // inside a slice: end the round; between rounds: harmless
}

bool Stub::resume_replay(unsigned step_tid) {
  if (end_status_) {
    // Nothing runs past the end of the log.
    halt(history_event(StopEvent::History::kEnd));
    return false;
  }
  stop_at_.reset();
  going_back_ = false;
  if (step_tid != 0) {
    stop_at_ = Point{position() + 1, 0};
    stop_at_event_ = StopEvent{StopEvent::Reason::kSignal, step_tid, kSigTrap};
  }
  return true;
}

bool Stub::wait_inside_slice() {
  while (state_ == State::kHalted && !killed_ && g_signal.load() == 0) serve_halted(kWaitMs);
  if (killed_ || abandon_ || g_signal.load() != 0) return false;
  return state_ == State::kRunning || state_ == State::kDetached;
}

uint64_t Stub::run_hart_replay(unsigned i, uint64_t budget, StopReason& stop) {
  rv::Hart& hart = machine_.hart(i);
  Vcpu& vcpu = hart;
  stop = StopReason::kBudget;
  if (abandon_ || end_status_ || (state_ != State::kRunning && state_ != State::kDetached)) {
    stop = StopReason::kRequested;
    return 0;
  }
  last_hart_ = i;
  slice_retired_ = 0;
  uint64_t left = budget;
  for (;;) {
    if (search_.active && reached(search_.end)) {
      finish_window();
      stop = StopReason::kRequested;
      break;
    }
    if (stop_at_ && reached(*stop_at_)) {
      going_back_ = false;
      StopEvent e = stop_at_event_;
      if (e.reason == StopEvent::Reason::kSignal) e.tid = i + 1;  // who ran it
      stop_at_.reset();
      halt(e);
      if (!wait_inside_slice()) {
        stop = StopReason::kRequested;
        break;
      }
      // A breakpoint gdb saw hit: the instruction there runs now.
      if (e.reason == StopEvent::Reason::kSwBreak || e.reason == StopEvent::Reason::kHwBreak) {
        skip_check_[e.tid - 1] = true;
      }
      continue;
    }
    if (left == 0) break;
    const bool checking = search_.active || (state_ == State::kRunning && !going_back_ &&
                                             !session_->breakpoints().empty());
    if (checking) {
      if (skip_check_[i]) {
        skip_check_[i] = false;
      } else if (auto event = check_before(hart, i)) {
        if (search_.active) {
          if (event->reason == StopEvent::Reason::kWatch) {
            // Recorded once the access has run: see finish_window().
            search_.watch = *event;
          } else {
            search_.hit = here();
            search_.hit_event = *event;
          }
        } else {
          halt(*event);
          if (!wait_inside_slice()) {
            stop = StopReason::kRequested;
            break;
          }
          skip_check_[i] = true;
          continue;
        }
      }
    }
    uint64_t chunk = checking ? 1 : left;
    if (stop_at_)
      chunk = std::min(chunk, position() < stop_at_->pos ? stop_at_->pos - position() : 1);
    if (search_.active && position() < search_.end.pos) {
      chunk = std::min(chunk, search_.end.pos - position());
    }
    StopReason s;
    const uint64_t retired = vcpu.run(chunk, s);
    account(chunk, retired, s);
    if (search_.watch) {
      // The access happened unless the instruction trapped (a page fault:
      // it runs again after the handler, and is checked again then).
      if (retired > 0) {
        search_.hit = here();
        search_.hit_event = *search_.watch;
      }
      search_.watch.reset();
    }
    if (end_pending_ && state_ != State::kDetached) {
      end_pending_ = false;
      halt(history_event(StopEvent::History::kEnd));
      wait_inside_slice();
      stop = StopReason::kRequested;
      break;
    }
    // A stop the hart asked of itself in the chunk's last instruction (an
    // SBI remote fence to itself, say) ends the slice where the unsplit run
    // would have ended it.
    if (s == StopReason::kBudget && chunk < left && hart.stop_pending()) s = StopReason::kRequested;
    if (s != StopReason::kBudget) {
      stop = s;
      break;
    }
    left -= chunk;
  }
  const uint64_t retired = slice_retired_;
  slice_retired_ = 0;
  return retired;
}

}  // namespace vessel::gdb
