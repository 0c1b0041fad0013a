// Arbitrary bytes from a gdb client, through the stub's framer and command
// handler against a small fake target: never a crash, never an allocation
// sized by the client, every reply frames and unframes to itself.
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "vm/gdb/packet.hpp"
#include "vm/gdb/session.hpp"

namespace {

using namespace vessel::gdb;

class FuzzTarget final : public Target {
 public:
  unsigned threads() const override { return 3; }
  std::optional<uint64_t> read_register(unsigned tid, const RegRef& reg) override {
    check(tid);
    return reg.index * 0x0101010101010101ull;
  }
  bool write_register(unsigned tid, const RegRef&, uint64_t) override {
    check(tid);
    return true;
  }
  size_t read_memory(unsigned tid, uint64_t addr, std::span<uint8_t> out) override {
    check(tid);
    if (out.size() > kMaxPayload) std::abort();  // the session bounds reads
    size_t n = 0;
    while (n < out.size() && addr + n >= kBase && addr + n < kBase + sizeof ram) {
      out[n] = ram[addr + n - kBase];
      ++n;
    }
    return n;
  }
  bool write_memory(unsigned tid, uint64_t addr, std::span<const uint8_t> in) override {
    check(tid);
    if (addr < kBase || in.size() > sizeof ram || addr - kBase > sizeof ram - in.size()) {
      return false;
    }
    std::memcpy(ram + (addr - kBase), in.data(), in.size());
    return true;
  }
  std::string thread_info(unsigned tid) override {
    check(tid);
    return "hart";
  }

 private:
  static constexpr uint64_t kBase = 0x1000;
  void check(unsigned tid) const {
    if (tid < 1 || tid > 3) std::abort();  // the session must validate thread ids
  }
  uint8_t ram[4096] = {};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzTarget target;
  Session session(target);
  // A replay's session too (bs/bc accepted), on odd-sized inputs.
  session.set_reverse((size & 1) != 0);
  PacketReader reader;
  std::vector<Event> events;
  // In two pieces, as a socket may deliver them.
  const size_t half = size / 2;
  reader.feed(std::span<const uint8_t>(data, half), events);
  reader.feed(std::span<const uint8_t>(data + half, size - half), events);
  for (const Event& e : events) {
    if (e.payload.size() > kMaxPayload) std::abort();
    if (e.kind != Event::Kind::kPacket) continue;
    const Outcome o = session.handle(e.payload);
    if ((o.action == Outcome::Action::kReverseStep ||
         o.action == Outcome::Action::kReverseContinue) &&
        (o.step_tid < 1 || o.step_tid > 3)) {
      std::abort();  // the thread a reverse step names is a valid one
    }
    if (!o.reply) continue;
    // Every reply survives framing.
    PacketReader check;
    std::vector<Event> back;
    check.feed(frame(*o.reply), back);
    if (o.reply->size() <= kMaxPayload &&
        (back.size() != 1 || back[0].kind != Event::Kind::kPacket || back[0].payload != *o.reply)) {
      std::abort();
    }
  }
  // The raw input as a payload: decoding it never grows past the limit.
  const auto decoded = decode_payload(std::string_view(reinterpret_cast<const char*>(data), size));
  if (decoded && decoded->size() > kMaxPayload) std::abort();
  return 0;
}
