#include "vm/lockstep.hpp"

#include <atomic>
#include <barrier>
#include <cstring>
#include <random>
#include <thread>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "base/error.hpp"
#include "base/log.hpp"
#include "base/state.hpp"
#include "vm/machine.hpp"

namespace vessel {

namespace {

constexpr uint64_t kMemoryEvery = 1024;  // rounds between comparisons of RAM

// Each hart's state in the snapshot format: everything architectural.
std::vector<std::vector<uint8_t>> hart_states(Machine& m) {
  std::vector<std::vector<uint8_t>> out;
  for (unsigned i = 0; i < m.num_harts(); ++i) {
    state::Writer w;
    m.hart(i).save_state(w);
    out.push_back(w.take());
  }
  return out;
}

// What differs between two harts' states, in words (hart_state.cpp's layout:
// u32 id, u64 pc, u64 x[32], ...).
std::string describe(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  const auto u64_at = [](const std::vector<uint8_t>& v, size_t at) {
    uint64_t x = 0;
    if (at + 8 <= v.size()) std::memcpy(&x, &v[at], 8);
    return x;
  };
  std::string s = fmt::format("pc interp {:#x}, jit {:#x}", u64_at(a, 4), u64_at(b, 4));
  for (unsigned r = 1; r < 32; ++r) {
    const uint64_t x = u64_at(a, 12 + 8 * r), y = u64_at(b, 12 + 8 * r);
    if (x != y) s += fmt::format("; x{} interp {:#x}, jit {:#x}", r, x, y);
  }
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return s + fmt::format(" (first differing byte of the state at {})", i);
}

std::string memory_difference(Machine& a, Machine& b) {
  const uint8_t* p = a.memory().host_base();
  const uint8_t* q = b.memory().host_base();
  const uint64_t size = a.memory().size();
  // SAFETY: both map all `size` bytes of RAM (same configuration).
  if (std::memcmp(p, q, size) == 0) return "";
  uint64_t i = 0;
  while (p[i] == q[i]) ++i;
  return fmt::format("RAM at {:#x}: interp {:#04x}, jit {:#04x}", a.memory().base() + i, p[i],
                     q[i]);
}

}  // namespace

int run_lockstep(MachineConfig config, const LockstepOptions& options) {
  config.deterministic = true;
  config.engine = Engine::kInterp;
  Machine interp(config);
  // The interpreter's console is the terminal; the translator's copy of it
  // goes to a private file that is removed at the end.
  char dir_template[] = "/tmp/vessel-lockstep-XXXXXX";
  if (mkdtemp(dir_template) == nullptr)
    fail("cannot make a temporary directory: {}", errno_text(errno));
  const std::string dir = dir_template;
  struct RemoveDir {
    std::string dir;
    ~RemoveDir() {
      std::remove((dir + "/jit-console.log").c_str());
      rmdir(dir.c_str());
    }
  } remove_dir{dir};
  config.engine = Engine::kJit;
  config.console_log = dir + "/jit-console.log";
  Machine jit(config);

  // The check's own test: VESSEL_LOCKSTEP_PERTURB=N flips a bit of the
  // translator's t0 after round N, which must be reported at the next one.
  const char* perturb_env = std::getenv("VESSEL_LOCKSTEP_PERTURB");
  const uint64_t perturb_round =
      perturb_env != nullptr ? std::strtoull(perturb_env, nullptr, 10) : 0;
  uint64_t rounds = 0;
  bool diverged = false;
  std::atomic<bool> one_ended = false;
  // Runs with both machines stopped (or one of them ended).
  auto compare = [&]() noexcept {
    if (diverged) return;
    ++rounds;
    if (one_ended) {
      // The other ends now too if they agree (its status is set already and
      // stays); if not, the results compared below differ.
      interp.finish(kExitLockstepDiverged);
      jit.finish(kExitLockstepDiverged);
      return;
    }
    std::string what;
    const auto a = hart_states(interp), b = hart_states(jit);
    for (unsigned i = 0; i < a.size() && what.empty(); ++i) {
      if (a[i] != b[i]) what = fmt::format("hart {}: {}", i, describe(a[i], b[i]));
    }
    if (what.empty() && rounds % kMemoryEvery == 0) what = memory_difference(interp, jit);
    if (what.empty()) {
      if (rounds == perturb_round) jit.hart(0).x[5] ^= 1;
      return;
    }
    diverged = true;
    spdlog::error(
        "lockstep: the engines differ after round {} ({} instructions by the interpreter): {}",
        rounds, interp.hart(0).instret(), what);
    interp.finish(kExitLockstepDiverged);
    jit.finish(kExitLockstepDiverged);
  };
  std::barrier sync(2, compare);

  // The same slice lengths on both: each machine draws from its own copy.
  auto hooks_for = [&](std::mt19937_64& rng) {
    Machine::SliceHooks h;
    h.budget = [&rng, max = options.max_slice] { return 1 + rng() % max; };
    h.after_round = [&sync] { sync.arrive_and_wait(); };
    return h;
  };
  std::mt19937_64 rng_interp(options.seed), rng_jit(options.seed);
  interp.set_slice_hooks(hooks_for(rng_interp));
  jit.set_slice_hooks(hooks_for(rng_jit));

  RunResult jit_result;
  std::exception_ptr jit_error;
  std::thread jit_thread([&] {
    try {
      jit_result = jit.run();
    } catch (...) {
      jit_error = std::current_exception();
    }
    one_ended = true;
    sync.arrive_and_drop();
  });
  RunResult interp_result;
  try {
    interp_result = interp.run();
  } catch (...) {
    one_ended = true;
    sync.arrive_and_drop();
    jit_thread.join();
    throw;
  }
  one_ended = true;
  sync.arrive_and_drop();
  jit_thread.join();
  if (jit_error) std::rethrow_exception(jit_error);
  if (diverged) return kExitLockstepDiverged;
  std::string what;
  if (interp_result.status != jit_result.status) {
    what = fmt::format("exit status interp {}, jit {}", interp_result.status, jit_result.status);
  } else if (interp_result.instructions != jit_result.instructions) {
    what = fmt::format("instructions interp {}, jit {}", interp_result.instructions,
                       jit_result.instructions);
  } else {
    what = memory_difference(interp, jit);
  }
  if (!what.empty()) {
    spdlog::error("lockstep: the engines differ at the end: {}", what);
    return kExitLockstepDiverged;
  }
  spdlog::info("lockstep: the engines agreed over {} instructions in {} rounds",
               interp_result.instructions, rounds);
  return interp_result.status;
}

}  // namespace vessel
