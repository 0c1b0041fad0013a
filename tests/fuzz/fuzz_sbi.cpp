// Arbitrary SBI calls (any extension, function and arguments) from a guest
// kernel, against vessel's SBI on a small host: never a crash, never a write
// outside the guest RAM window, hart states always valid.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "platform/sbi.hpp"

namespace {

using namespace vessel;

class FuzzHost final : public SbiHost {
 public:
  explicit FuzzHost(unsigned harts) : state(harts, HartState::kStopped), ram(8192) {
    state[0] = HartState::kStarted;
  }
  unsigned num_harts() const override { return static_cast<unsigned>(state.size()); }
  void set_timer(unsigned hart, uint64_t) override { check(hart); }
  void send_ipi(unsigned hart) override { check(hart); }
  void remote_fence(unsigned hart) override { check(hart); }
  HartState hart_state(unsigned hart) const override {
    check(hart);
    return state[hart];
  }
  void hart_start(unsigned hart, uint64_t, uint64_t) override {
    check(hart);
    state[hart] = HartState::kStarted;
  }
  void hart_stop(unsigned hart) override {
    check(hart);
    state[hart] = HartState::kStopped;
  }
  void system_reset(uint32_t type, uint32_t reason) override {
    if (type > 2 || reason > 1) std::abort();
  }
  void console_write(uint8_t) override {}
  int console_read() override { return reads++ % 3 == 0 ? -1 : 'a'; }
  bool read_physical(uint64_t gpa, std::span<uint8_t> out) override {
    if (!inside(gpa, out.size())) return false;
    if (out.empty()) return true;
    std::memcpy(out.data(), ram.data() + (gpa - kBase), out.size());
    return true;
  }
  bool write_physical(uint64_t gpa, std::span<const uint8_t> in) override {
    if (!inside(gpa, in.size())) return false;
    if (in.empty()) return true;
    std::memcpy(ram.data() + (gpa - kBase), in.data(), in.size());
    return true;
  }

  std::vector<HartState> state;

 private:
  static constexpr uint64_t kBase = 0x80000000;
  void check(unsigned hart) const {
    if (hart >= state.size()) std::abort();
  }
  bool inside(uint64_t gpa, uint64_t len) const {
    return gpa >= kBase && gpa - kBase <= ram.size() && len <= ram.size() - (gpa - kBase);
  }
  std::vector<uint8_t> ram;
  unsigned reads = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  FuzzHost host(in.ConsumeIntegralInRange<unsigned>(1, 8));
  static constexpr uint64_t kExtensions[] = {
      sbi_ext::kBase,           sbi_ext::kTime,          sbi_ext::kIpi,
      sbi_ext::kRfence,         sbi_ext::kHsm,           sbi_ext::kSrst,
      sbi_ext::kDbcn,           sbi_ext::kLegacyPutchar, sbi_ext::kLegacyGetchar,
      sbi_ext::kLegacySetTimer, sbi_ext::kLegacyShutdown};
  while (in.remaining_bytes() > 0) {
    SbiCall call;
    call.ext = in.ConsumeBool() ? in.PickValueInArray(kExtensions) : in.ConsumeIntegral<uint64_t>();
    call.fid = in.ConsumeIntegralInRange<uint64_t>(0, 8);
    for (auto& a : call.arg) {
      switch (in.ConsumeIntegralInRange<int>(0, 3)) {
        case 0: a = in.ConsumeIntegral<uint64_t>(); break;
        case 1: a = 0x80000000 + in.ConsumeIntegralInRange<uint64_t>(0, 9000); break;
        case 2: a = in.ConsumeIntegralInRange<uint64_t>(0, 16); break;
        default: a = ~uint64_t{0} - in.ConsumeIntegralInRange<uint64_t>(0, 16); break;
      }
    }
    call.hart = in.ConsumeIntegralInRange<unsigned>(0, host.num_harts() - 1);
    sbi_dispatch(call, host);
  }
  return 0;
}
