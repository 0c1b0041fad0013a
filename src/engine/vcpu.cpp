#include "engine/vcpu.hpp"

namespace vessel {

std::string_view engine_name(Engine engine) {
  return engine == Engine::kJit ? "jit" : "interp";
}

std::optional<Engine> parse_engine(std::string_view name) {
  if (name == "interp") return Engine::kInterp;
  if (name == "jit") return Engine::kJit;
  return std::nullopt;
}

}  // namespace vessel
