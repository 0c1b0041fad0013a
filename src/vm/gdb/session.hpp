// One gdb connection's commands (gdb manual, "Packets", "General Query
// Packets", "Stop Reply Packets"), over an abstract Target so that the
// replies can be tested and fuzzed without a VM. The session keeps what the
// protocol itself keeps: the selected threads, the breakpoints, no-ack mode,
// the last stop. Every malformed command gets an "E" reply, an unknown one
// the empty reply that means "not supported"; none throws.
//
// Threads are harts: thread id N is hart N - 1 (gdb reserves 0 and -1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vm/gdb/breakpoints.hpp"
#include "vm/gdb/registers.hpp"

namespace vessel::gdb {

class Target {
 public:
  virtual ~Target() = default;
  virtual unsigned threads() const = 0;
  // nullopt: the register cannot be read now.
  virtual std::optional<uint64_t> read_register(unsigned tid, const RegRef& reg) = 0;
  virtual bool write_register(unsigned tid, const RegRef& reg, uint64_t value) = 0;
  // Memory as thread `tid`'s hart sees it (its current address
  // translation). Reads up to out.size() bytes and returns how many it
  // could before the first fault.
  virtual size_t read_memory(unsigned tid, uint64_t addr, std::span<uint8_t> out) = 0;
  // All or nothing as far as the checks go: false if any byte faults.
  virtual bool write_memory(unsigned tid, uint64_t addr, std::span<const uint8_t> in) = 0;
  // A line for `info threads`.
  virtual std::string thread_info(unsigned tid) = 0;
};

// Why the target stopped, for the stop reply.
struct StopEvent {
  enum class Reason : uint8_t { kSignal, kSwBreak, kHwBreak, kWatch, kExited };
  // A replay's end of history (reverse debugging): "replaylog:begin" when
  // going back past the start, "replaylog:end" at the end of the log.
  enum class History : uint8_t { kNone, kBegin, kEnd };
  Reason reason = Reason::kSignal;
  unsigned tid = 1;
  int signal = 5;  // SIGTRAP; 2 (SIGINT) for an interrupt
  WatchKind watch_kind = WatchKind::kWrite;
  uint64_t addr = 0;    // the watched address
  int exit_status = 0;  // kExited
  History history = History::kNone;
};
inline constexpr int kSigInt = 2;
inline constexpr int kSigTrap = 5;

std::string stop_reply(const StopEvent& event);

// What the caller must do after a packet.
struct Outcome {
  // kReverseStep / kReverseContinue: `bs` / `bc` (only when reverse
  // execution is on, see Session::set_reverse).
  enum class Action : uint8_t { kNone, kResume, kDetach, kKill, kReverseStep, kReverseContinue };
  std::optional<std::string> reply;  // the reply packet's payload, if any
  Action action = Action::kNone;
  unsigned step_tid = 0;  // kResume: single-step this thread (others stay put); 0 = continue all
};

class Session {
 public:
  explicit Session(Target& target) : target_(target) {}

  Outcome handle(std::string_view packet);

  Breakpoints& breakpoints() { return breakpoints_; }
  const Breakpoints& breakpoints() const { return breakpoints_; }
  bool no_ack() const { return no_ack_; }
  // A replay: `bs` and `bc` are accepted and qSupported advertises them.
  void set_reverse(bool on) { reverse_ = on; }
  // The stop that `?` reports (the caller sets it whenever the target stops).
  void set_last_stop(const StopEvent& event) { last_stop_ = event; }
  // The thread g/m/p use (Hg).
  unsigned general_thread() const { return g_thread_; }

 private:
  Outcome query(std::string_view packet);
  Outcome v_packet(std::string_view packet);
  Outcome set_thread(std::string_view packet);
  Outcome read_registers();
  Outcome write_registers(std::string_view hex);
  Outcome read_register(std::string_view args);
  Outcome write_register(std::string_view args);
  Outcome read_memory(std::string_view args);
  Outcome write_memory(std::string_view args, bool binary);
  Outcome search_memory(std::string_view args);
  Outcome breakpoint(std::string_view packet, bool insert);
  Outcome resume(std::string_view args, bool step);
  Outcome vcont(std::string_view actions);
  std::optional<unsigned> parse_thread(std::string_view text, bool allow_all) const;
  bool valid_thread(unsigned tid) const { return tid >= 1 && tid <= target_.threads(); }

  Target& target_;
  Breakpoints breakpoints_;
  bool no_ack_ = false;
  bool reverse_ = false;
  unsigned g_thread_ = 1;
  unsigned c_thread_ = 0;  // 0: all threads
  StopEvent last_stop_;
};

}  // namespace vessel::gdb
