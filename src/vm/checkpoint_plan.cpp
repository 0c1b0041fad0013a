#include "vm/checkpoint_plan.hpp"

#include <algorithm>

namespace vessel::checkpoint_plan {

std::optional<size_t> restore_index(std::span<const uint64_t> positions, uint64_t target) {
  if (positions.empty() || positions.front() != 0) return std::nullopt;
  if (target == 0) return 0;
  // The first position >= target; the one before it is < target.
  const auto it = std::lower_bound(positions.begin(), positions.end(), target);
  return static_cast<size_t>(it - positions.begin()) - 1;
}

bool due(std::span<const uint64_t> positions, uint64_t position, uint64_t interval) {
  if (positions.empty()) return true;
  return position >= positions.back() && position - positions.back() >= interval;
}

std::optional<size_t> drop_index(std::span<const uint64_t> positions, uint64_t now) {
  if (positions.size() < 3) return std::nullopt;
  std::optional<size_t> best;
  double best_score = 0;
  for (size_t k = 1; k + 1 < positions.size(); ++k) {
    const double gap = static_cast<double>(positions[k + 1] - positions[k - 1]);
    const double age = static_cast<double>(now >= positions[k] ? now - positions[k] : 0);
    const double score = gap / (age + 1.0);
    if (!best || score < best_score) {
      best = k;
      best_score = score;
    }
  }
  return best;
}

}  // namespace vessel::checkpoint_plan
