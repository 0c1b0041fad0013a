// vessel's built-in SBI: calls as a guest kernel makes them, checked against
// the SBI v2.0 spec's return values, on a host that records what happened.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "platform/sbi.hpp"

namespace vessel {
namespace {

class RecordingHost final : public SbiHost {
 public:
  explicit RecordingHost(unsigned harts)
      : state(harts, HartState::kStopped),
        timers(harts, 0),
        ipis(harts, 0),
        fences(harts, 0),
        ram(4096) {
    state[0] = HartState::kStarted;
  }
  unsigned num_harts() const override { return static_cast<unsigned>(state.size()); }
  void set_timer(unsigned hart, uint64_t deadline) override { timers[hart] = deadline; }
  void send_ipi(unsigned hart) override { ++ipis[hart]; }
  void remote_fence(unsigned hart) override { ++fences[hart]; }
  HartState hart_state(unsigned hart) const override { return state[hart]; }
  void hart_start(unsigned hart, uint64_t addr, uint64_t opaque) override {
    state[hart] = HartState::kStarted;
    start_addr = addr;
    start_opaque = opaque;
  }
  void hart_stop(unsigned hart) override { state[hart] = HartState::kStopped; }
  void system_reset(uint32_t type, uint32_t reason) override {
    reset_type = static_cast<int>(type);
    reset_reason = static_cast<int>(reason);
  }
  void console_write(uint8_t byte) override { console.push_back(static_cast<char>(byte)); }
  int console_read() override {
    if (input.empty()) return -1;
    const int c = static_cast<uint8_t>(input.front());
    input.erase(0, 1);
    return c;
  }
  bool read_physical(uint64_t gpa, std::span<uint8_t> out) override {
    if (gpa < kBase || gpa - kBase > ram.size() || out.size() > ram.size() - (gpa - kBase))
      return false;
    std::memcpy(out.data(), ram.data() + (gpa - kBase), out.size());
    return true;
  }
  bool write_physical(uint64_t gpa, std::span<const uint8_t> in) override {
    if (gpa < kBase || gpa - kBase > ram.size() || in.size() > ram.size() - (gpa - kBase))
      return false;
    std::memcpy(ram.data() + (gpa - kBase), in.data(), in.size());
    return true;
  }

  static constexpr uint64_t kBase = 0x80000000;
  std::vector<HartState> state;
  std::vector<uint64_t> timers;
  std::vector<int> ipis, fences;
  std::vector<uint8_t> ram;
  uint64_t start_addr = 0, start_opaque = 0;
  int reset_type = -1, reset_reason = -1;
  std::string console, input;
};

SbiCall call(uint64_t ext, uint64_t fid, std::initializer_list<uint64_t> args = {},
             unsigned hart = 0) {
  SbiCall c;
  c.ext = ext;
  c.fid = fid;
  unsigned i = 0;
  for (uint64_t a : args) c.arg[i++] = a;
  c.hart = hart;
  return c;
}

TEST(Sbi, BaseReportsVersionTwoAndProbesExtensions) {
  RecordingHost host(1);
  const SbiRet version = sbi_dispatch(call(sbi_ext::kBase, 0), host);
  EXPECT_EQ(version.error, 0);
  EXPECT_EQ(version.value, 2u << 24);
  for (uint64_t ext : {sbi_ext::kTime, sbi_ext::kIpi, sbi_ext::kRfence, sbi_ext::kHsm,
                       sbi_ext::kSrst, sbi_ext::kDbcn}) {
    EXPECT_EQ(sbi_dispatch(call(sbi_ext::kBase, 3, {ext}), host).value, 1u) << std::hex << ext;
  }
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kBase, 3, {0x12345678}), host).value, 0u);
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kBase, 99), host).error, sbi_error::kNotSupported);
}

TEST(Sbi, UnknownExtensionIsNotSupported) {
  RecordingHost host(1);
  EXPECT_EQ(sbi_dispatch(call(0x0bad0bad, 0), host).error, sbi_error::kNotSupported);
}

TEST(Sbi, SetTimerReachesTheCallingHart) {
  RecordingHost host(2);
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kTime, 0, {12345}, 1), host).error, 0);
  EXPECT_EQ(host.timers[1], 12345u);
  EXPECT_EQ(host.timers[0], 0u);
}

TEST(Sbi, IpiMaskAndBase) {
  RecordingHost host(4);
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kIpi, 0, {0b101, 1}), host).error, 0);  // harts 1 and 3
  EXPECT_EQ(host.ipis, (std::vector<int>{0, 1, 0, 1}));
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kIpi, 0, {0, ~uint64_t{0}}), host).error, 0);  // all
  EXPECT_EQ(host.ipis, (std::vector<int>{1, 2, 1, 2}));
  // A mask naming a hart that does not exist is refused and sends nothing.
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kIpi, 0, {0b11, 3}), host).error, sbi_error::kInvalidParam);
  EXPECT_EQ(host.ipis, (std::vector<int>{1, 2, 1, 2}));
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kIpi, 0, {1, ~uint64_t{0} - 1}), host).error,
            sbi_error::kInvalidParam);
}

TEST(Sbi, RemoteFences) {
  RecordingHost host(2);
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kRfence, 1, {0b10, 0, 0, 4096}), host).error, 0);
  EXPECT_EQ(host.fences, (std::vector<int>{0, 1}));
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kRfence, 3, {1, 0}), host).error, sbi_error::kNotSupported);
}

TEST(Sbi, HsmStartStatusStop) {
  RecordingHost host(2);
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kHsm, 2, {1}), host).value,
            static_cast<uint64_t>(HartState::kStopped));
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kHsm, 0, {1, 0x80200000, 42}), host).error, 0);
  EXPECT_EQ(host.start_addr, 0x80200000u);
  EXPECT_EQ(host.start_opaque, 42u);
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kHsm, 2, {1}), host).value,
            static_cast<uint64_t>(HartState::kStarted));
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kHsm, 0, {1, 0x80200000, 0}), host).error,
            sbi_error::kAlreadyAvailable);
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kHsm, 0, {7, 0x80200000, 0}), host).error,
            sbi_error::kInvalidParam);
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kHsm, 2, {7}), host).error, sbi_error::kInvalidParam);
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kHsm, 1, {}, 1), host).error, 0);
  EXPECT_EQ(host.state[1], HartState::kStopped);
}

TEST(Sbi, SystemResetValidatesTypeAndReason) {
  RecordingHost host(1);
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kSrst, 0, {3, 0}), host).error, sbi_error::kInvalidParam);
  EXPECT_EQ(host.reset_type, -1);
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kSrst, 0, {0, 1}), host).error, 0);
  EXPECT_EQ(host.reset_type, 0);
  EXPECT_EQ(host.reset_reason, 1);
}

TEST(Sbi, DebugConsoleWriteReadsGuestMemoryWithinBounds) {
  RecordingHost host(1);
  std::memcpy(host.ram.data() + 16, "hello", 5);
  const SbiRet ret = sbi_dispatch(call(sbi_ext::kDbcn, 0, {5, RecordingHost::kBase + 16, 0}), host);
  EXPECT_EQ(ret.error, 0);
  EXPECT_EQ(ret.value, 5u);
  EXPECT_EQ(host.console, "hello");
  // Outside RAM, an address overflowing, or a high half: refused, nothing printed.
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kDbcn, 0, {5, 0x1000, 0}), host).error,
            sbi_error::kInvalidParam);
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kDbcn, 0, {16, ~uint64_t{0} - 4, 0}), host).error,
            sbi_error::kInvalidParam);
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kDbcn, 0, {5, RecordingHost::kBase, 1}), host).error,
            sbi_error::kInvalidParam);
  EXPECT_EQ(host.console, "hello");
  // A huge length is clamped to a bounded write, not a huge allocation.
  const SbiRet big =
      sbi_dispatch(call(sbi_ext::kDbcn, 0, {~uint64_t{0}, RecordingHost::kBase, 0}), host);
  EXPECT_EQ(big.error, 0);
  EXPECT_LE(big.value, 4096u);
}

TEST(Sbi, DebugConsoleReadAndWriteByte) {
  RecordingHost host(1);
  host.input = "ab";
  const SbiRet ret = sbi_dispatch(call(sbi_ext::kDbcn, 1, {8, RecordingHost::kBase, 0}), host);
  EXPECT_EQ(ret.error, 0);
  EXPECT_EQ(ret.value, 2u);
  EXPECT_EQ(host.ram[0], 'a');
  EXPECT_EQ(host.ram[1], 'b');
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kDbcn, 2, {'z'}), host).error, 0);
  EXPECT_EQ(host.console, "z");
}

TEST(Sbi, LegacyConsoleReturnsInA0) {
  RecordingHost host(1);
  EXPECT_TRUE(sbi_dispatch(call(sbi_ext::kLegacyPutchar, 0, {'x'}), host).legacy);
  EXPECT_EQ(host.console, "x");
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kLegacyGetchar, 0), host).error, -1);
  host.input = "q";
  EXPECT_EQ(sbi_dispatch(call(sbi_ext::kLegacyGetchar, 0), host).error, 'q');
}

}  // namespace
}  // namespace vessel
