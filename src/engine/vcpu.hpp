// The engine seam: what a machine needs from a virtual CPU, whatever executes
// its instructions. rv::Hart implements it with two executors over the same
// architectural state (engine/riscv/hart_state.hpp): the interpreter, the
// reference, and the binary translator (engine/riscv/jit/).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/state.hpp"

namespace vessel {

// Which executor runs guest code.
enum class Engine : uint8_t { kInterp, kJit };

std::string_view engine_name(Engine engine);
// "interp" or "jit"; nullopt for anything else.
std::optional<Engine> parse_engine(std::string_view name);

// Why run() returned before its budget ran out.
enum class StopReason : uint8_t { kBudget, kWfi, kRequested };

// Figures for --stats and `vessel ctl stats`.
struct EngineStats {
  uint64_t blocks_translated = 0;     // translations made (the JIT)
  uint64_t cache_bytes = 0;           // generated code in the cache now
  uint64_t cache_flushes = 0;         // times the cache was full and emptied
  uint64_t invalidations = 0;         // translations dropped because their page was written
  uint64_t interpreted = 0;           // instructions the translator left to the interpreter
  uint64_t translation_failures = 0;  // blocks the emitter refused (a translator bug)
  double translate_seconds = 0;       // host time spent translating

  // A VM's figures are the sum of its harts' (each has its own caches).
  EngineStats& operator+=(const EngineStats& o) {
    blocks_translated += o.blocks_translated;
    cache_bytes += o.cache_bytes;
    cache_flushes += o.cache_flushes;
    invalidations += o.invalidations;
    interpreted += o.interpreted;
    translation_failures += o.translation_failures;
    translate_seconds += o.translate_seconds;
    return *this;
  }
};

class Vcpu {
 public:
  virtual ~Vcpu() = default;

  // Executes up to `budget` instructions and returns how many retired; `stop`
  // says why it returned early. Pending interrupts are taken first. The count
  // is exact whatever the engine: run(a) then run(b) equals run(a + b).
  virtual uint64_t run(uint64_t budget, StopReason& stop) = 0;
  // Whether a run that ends for its budget ends exactly there (the default,
  // which --deterministic runs, lockstep and replay need). Off, an engine
  // may end it a little early, where finishing the budget would cost more
  // than it is worth (the translator: a block longer than what is left);
  // the retired count it returns is still exact.
  virtual void set_exact_budget(bool exact) = 0;
  // Ends the current run() at the next point where the engine looks.
  virtual void request_stop() = 0;
  // In WFI with nothing to wake it / an enabled interrupt is pending.
  virtual bool waiting() const = 0;
  virtual bool wake_pending() const = 0;
  // Drops the LR reservation (a scheduler switching harts on one thread).
  virtual void clear_reservation() = 0;
  // Drops cached translations (remote fences) / cached write pointers.
  virtual void flush_translations() = 0;
  virtual void flush_write_translations() = 0;
  // Retired instructions since reset.
  virtual uint64_t instret() const = 0;
  virtual Engine engine() const = 0;

  virtual void save_state(state::Writer& w) const = 0;
  virtual void load_state(state::Reader& r) = 0;
};

}  // namespace vessel
