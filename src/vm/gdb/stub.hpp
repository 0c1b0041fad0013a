// The gdb stub of `vessel run|restore --gdb`: the protocol session
// (session.hpp) over a TCP client (transport.hpp), attached to a Machine
// through DebugHooks.
//
// How it runs the guest (all-stop): with --gdb the machine uses the
// round-robin scheduler, every hart on the VM thread. With no breakpoint or
// watchpoint set, a hart runs its slices as usual, on either engine. With
// some set, the stub runs it one instruction at a time (Vcpu::run(1), exact
// on both engines) and checks the next pc against the breakpoints and the
// next instruction's data access against the watchpoints first; so nothing
// is patched into guest memory, no engine needs to know, and without --gdb
// nothing changes at all. A single step runs one instruction of one hart
// while the others wait. Guest time stands still while gdb holds the VM.
//
// States: waiting for the first client (the VM has not run an
// instruction), halted (serving packets), running (polling the client for
// Ctrl-C every millisecond or so), detached (the VM runs on; a new client
// that connects stops it again).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vm/debug_hooks.hpp"
#include "vm/gdb/packet.hpp"
#include "vm/gdb/session.hpp"
#include "vm/gdb/transport.hpp"

namespace vessel {

class Machine;
class ReplayHistory;

namespace rv {
class Hart;
}

namespace gdb {

class Stub final : public DebugHooks, private Target {
 public:
  Stub(Machine& machine, Listener listener);

  bool before_round() override;
  uint64_t run_hart(unsigned i, uint64_t budget, StopReason& stop) override;
  void vm_exited(int status) override;
  bool abandon_round() override { return abandon_; }
  bool hold_at_end(int status) override;

  // `vessel replay --gdb` (before run()): reverse execution over `history`'s
  // checkpoints (stub_replay.cpp).
  // A test aid: with VESSEL_GDB_STEP_SEARCH set, reverse-continue steps
  // every window, passing none over (the answer must be the same).
  void set_history(ReplayHistory* history);

 private:
  enum class State : uint8_t { kWaitingForClient, kHalted, kRunning, kDetached };

  // Target
  unsigned threads() const override;
  std::optional<uint64_t> read_register(unsigned tid, const RegRef& reg) override;
  bool write_register(unsigned tid, const RegRef& reg, uint64_t value) override;
  size_t read_memory(unsigned tid, uint64_t addr, std::span<uint8_t> out) override;
  bool write_memory(unsigned tid, uint64_t addr, std::span<const uint8_t> in) override;
  std::string thread_info(unsigned tid) override;

  // Serves the client for up to `wait_ms`; returns true once the VM may run.
  bool serve_halted(int wait_ms);
  // Reads what the client sent and handles it; false if it went away.
  bool pump_client();
  void handle_events();
  void send_packet(const std::string& payload);
  void halt(const StopEvent& event);
  void resume(unsigned step_tid);
  void detach();
  void kill();
  bool accept_client();
  // The stop the next instruction of `hart` would cause, if any.
  std::optional<StopEvent> check_before(rv::Hart& hart, unsigned i);
  uint64_t step_one(rv::Hart& hart, StopReason& stop);

  // ---- a replay (stub_replay.cpp) ----
  // A point of the replay: the VM's retired-instruction count, and how many
  // budget units (traps and interrupts taken, which retire nothing) were
  // used since the count got there. Halting "at" a point halts at the first
  // moment the replay is there, inside the slice that reached it.
  struct Point {
    uint64_t pos = 0;
    uint64_t units = 0;
  };
  static constexpr uint64_t kUnknownUnits = UINT64_MAX;
  enum class Rewind : uint8_t { kNone, kGoto, kSearch, kBegin };
  uint64_t position() const;
  Point here() const;
  bool reached(const Point& p) const;
  void account(uint64_t chunk, uint64_t retired, StopReason s);
  uint64_t run_hart_replay(unsigned i, uint64_t budget, StopReason& stop);
  void replay_boundary();
  void perform_rewind();
  void finish_window();
  // The guest-physical pages the watchpoints' bytes lie in when a window
  // of the history that wrote none of them cannot hold a hit: write
  // watchpoints only, no breakpoint, each byte through a global mapping.
  std::optional<std::vector<uint64_t>> skippable_pages();
  void log_search() const;
  void reverse(bool step, unsigned tid);
  bool resume_replay(unsigned step_tid);
  // Serves the client while halted inside a slice; false if the slice must
  // end here (going back, killed, a signal).
  bool wait_inside_slice();
  StopEvent history_event(StopEvent::History h) const;

  ReplayHistory* history_ = nullptr;
  uint64_t slice_retired_ = 0;  // retired so far by the run_hart in progress
  uint64_t units_ = 0;          // at the current position (kUnknownUnits after a long run)
  std::optional<Point> stop_at_;
  StopEvent stop_at_event_;
  Rewind rewind_ = Rewind::kNone;
  Point rewind_target_;
  struct Search {  // reverse-continue: windows between checkpoints, newest first
    bool active = false;
    Point end;  // searched up to here (excluded)
    uint64_t window_start = 0;
    std::optional<Point> hit;  // the last hit in the window so far
    StopEvent hit_event;
    std::optional<StopEvent> watch;  // the access about to run hits a watchpoint
    // skippable_pages() when the search began: windows whose delta holds
    // none of them are passed over without running them.
    std::optional<std::vector<uint64_t>> pages;
    uint64_t skipped = 0, stepped = 0;  // windows, for the log
  } search_;
  bool abandon_ = false;
  bool going_back_ = false;     // running from a checkpoint to stop_at_
  Point search_origin_;         // where gdb was when it asked for reverse-continue
  bool search_failed_ = false;  // that search went another way than the recording
  bool step_search_ = false;
  std::optional<int> end_status_;  // the end of the log, held
  bool end_pending_ = false;       // reached; its stop reply not sent yet

  Machine& machine_;
  Listener listener_;
  Connection client_;
  PacketReader reader_;
  std::unique_ptr<Session> session_;  // one per client
  std::deque<Event> events_;          // read but not handled yet
  std::string last_reply_;            // framed, for a '-' resend
  State state_ = State::kWaitingForClient;
  std::optional<StopEvent> pending_stop_;  // a hart hit something this round
  unsigned step_tid_ = 0;                  // the thread a single step runs (0: none)
  unsigned last_hart_ = 0;                 // the hart that ran last (Ctrl-C names it)
  unsigned stopped_tid_ = 1;               // the thread the last stop named
  std::vector<bool> skip_check_;           // per hart: resumed, not yet past its first instruction
  uint64_t held_ticks_ = 0;                // guest time when the VM was halted
  uint64_t last_poll_ns_ = 0;
  bool killed_ = false;
};

}  // namespace gdb
}  // namespace vessel
