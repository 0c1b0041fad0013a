#include "vm/sbi_glue.hpp"

#include "vm/machine.hpp"

namespace vessel {

// vessel's SBI runs on the thread of the hart that called it, without the
// device lock: each call below takes it only around what devices and other
// harts share, and never while it waits for another hart (a remote fence),
// which may need the lock to reach the point where it serves the request.
namespace {
thread_local rv::Hart* t_caller = nullptr;
}

SbiFirmware::SbiFirmware(Machine& machine)
    : machine_(machine), deadlines_(machine.num_harts(), UINT64_MAX) {}

bool SbiFirmware::handle_ecall(rv::Hart& hart) {
  SbiCall call;
  call.ext = hart.x[17];
  call.fid = hart.x[16];
  for (unsigned i = 0; i < 6; ++i) call.arg[i] = hart.x[10 + i];
  call.hart = hart.id();
  t_caller = &hart;
  const SbiRet ret = sbi_dispatch(call, *this);
  t_caller = nullptr;
  if (ret.legacy) {
    hart.x[10] = static_cast<uint64_t>(ret.error);
  } else {
    hart.x[10] = static_cast<uint64_t>(ret.error);
    hart.x[11] = ret.value;
  }
  return true;
}

void SbiFirmware::update_timers(uint64_t now) {
  for (unsigned h = 0; h < deadlines_.size(); ++h) {
    machine_.pins(h).set(HartIrqPins::kStip, now >= deadlines_[h]);
  }
}

uint64_t SbiFirmware::next_deadline() const {
  uint64_t next = UINT64_MAX;
  for (unsigned h = 0; h < deadlines_.size(); ++h) {
    if (machine_.hart_running(h) && deadlines_[h] < next) next = deadlines_[h];
  }
  return next;
}

unsigned SbiFirmware::num_harts() const {
  return machine_.num_harts();
}

void SbiFirmware::set_timer(unsigned hart, uint64_t deadline) {
  auto lock = machine_.device_lock();
  deadlines_[hart] = deadline;
  machine_.pins(hart).set(HartIrqPins::kStip, machine_.guest_time() >= deadline);
}

void SbiFirmware::send_ipi(unsigned hart) {
  machine_.hart(hart).raise_supervisor_software_interrupt();
}

void SbiFirmware::remote_fence(unsigned hart) {
  // One kind for all three fences (fence.i, sfence.vma, with an ASID): a
  // whole flush of the target's translations is always enough.
  constexpr uint32_t kWhat = rv::SmpSync::kFlushTlb | rv::SmpSync::kFenceI;
  rv::Hart& target = machine_.hart(hart);
  if (&target == t_caller) {
    target.do_requests(kWhat);
  } else {
    machine_.smp().request(target, kWhat, /*wait=*/true, t_caller);
  }
}

HartState SbiFirmware::hart_state(unsigned hart) const {
  return machine_.hart_running(hart) ? HartState::kStarted : HartState::kStopped;
}

void SbiFirmware::hart_start(unsigned hart, uint64_t start_addr, uint64_t opaque) {
  auto lock = machine_.device_lock();
  deadlines_[hart] = UINT64_MAX;
  machine_.start_hart(hart, start_addr, opaque);
}

void SbiFirmware::hart_stop(unsigned hart) {
  machine_.stop_hart(hart);
}

void SbiFirmware::system_reset(uint32_t type, uint32_t reason) {
  // Shutdown and both reboots end the run; a reason of "system failure" is
  // reported as a failure.
  machine_.finish(reason == 1 ? 1 : 0);
}

void SbiFirmware::console_write(uint8_t byte) {
  auto lock = machine_.device_lock();
  machine_.console_put(byte);
}

int SbiFirmware::console_read() {
  auto lock = machine_.device_lock();
  return machine_.console_get();
}

bool SbiFirmware::read_physical(uint64_t gpa, std::span<uint8_t> out) {
  return machine_.memory().read(gpa, out);
}

bool SbiFirmware::write_physical(uint64_t gpa, std::span<const uint8_t> in) {
  return machine_.memory().write(gpa, in);
}

// Layout, version 1: u32 number of harts, then per hart the u64 deadline
// (UINT64_MAX: no timer set).
void SbiFirmware::save_state(state::Writer& w) const {
  w.u32(static_cast<uint32_t>(deadlines_.size()));
  w.u64s(deadlines_);
}

void SbiFirmware::load_state(state::Reader& r) {
  const uint32_t count = r.u32();
  if (count != deadlines_.size()) {
    state::state_fail("state section '{}' is for {} harts, this machine has {}", r.what(), count,
                      deadlines_.size());
  }
  std::vector<uint64_t> deadlines(count);
  r.u64s(deadlines);
  r.expect_end();
  deadlines_ = std::move(deadlines);
  update_timers(machine_.guest_time());
}

}  // namespace vessel
