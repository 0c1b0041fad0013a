// A hostile replay log (vessel replay DIR reads DIR/log.bin) against the
// log reader and the record decoders it checks with.
//
// The input is tried two ways, because a mutated file rarely keeps its
// xxh64 checksums right and would otherwise never reach the records:
//   1. as a whole log file;
//   2. as the record stream inside a well-formed file (valid header and
//      checksummed blocks built around it).
// replay::LogError is the only acceptable failure; a log that validates
// must read the same records a second time.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "vm/replay_log.hpp"

namespace {

using namespace vessel::replay;

void check(std::vector<uint8_t> file) {
  uint64_t count = 0;
  try {
    LogReader reader(file, "fuzz");
    count = reader.validate();
  } catch (const LogError&) {
    return;
  }
  // It validated: reading it again gives as many records, each decodable.
  LogReader again(std::move(file), "fuzz");
  uint64_t n = 0;
  while (auto r = again.next()) {
    ++n;
    if (r->kind == Kind::kCheckpoint) {
      const Checkpoint cp = decode_checkpoint(r->payload);
      if (!describe_difference(cp, cp).empty()) std::abort();
      if (decode_checkpoint(encode_checkpoint(cp)).parts.size() != cp.parts.size()) std::abort();
    }
  }
  if (n != count) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  spdlog::set_level(spdlog::level::off);
  const std::span<const uint8_t> input(data, size);
  check(std::vector<uint8_t>(input.begin(), input.end()));
  check(build_log_file({{"format", "vessel-replay"}}, input));
  return 0;
}
