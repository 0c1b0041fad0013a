#include "engine/riscv/hart.hpp"

#include "engine/riscv/csr_numbers.hpp"

namespace vessel::rv {

Hart::Hart(unsigned id, GuestMemory& memory, Bus& bus, CodeCache& code, const GuestClock& clock,
           HartIrqPins& pins)
    : id_(id), memory_(memory), bus_(bus), code_(code), clock_(clock), pins_(pins) {
  reset(0);
}

void Hart::reset(uint64_t start_pc, Priv priv) {
  pc = start_pc;
  for (auto& r : x) r = 0;
  fp = FpState{};
  priv_ = priv;
  wfi_ = false;
  stop_requested_ = false;
  resv_host_ = 0;
  mstatus_ = 0;
  medeleg_ = mideleg_ = mie_ = mip_ = 0;
  mtvec_ = mscratch_ = mepc_ = mcause_ = mtval_ = 0;
  mcounteren_ = menvcfg_ = mcountinhibit_ = 0;
  stvec_ = sscratch_ = sepc_ = scause_ = stval_ = 0;
  scounteren_ = senvcfg_ = satp_ = 0;
  cycle_offset_ = instret_offset_ = 0;
  for (auto& r : pmpcfg_) r = 0;
  for (auto& r : pmpaddr_) r = 0;
  flush_tlbs();
  select_tlbs();
}

void Hart::enter_supervisor(uint64_t start_pc, uint64_t a0, uint64_t a1) {
  reset(start_pc, Priv::kSupervisor);
  medeleg_ = cause::kDelegable;
  mideleg_ = irq::kDelegable;
  mcounteren_ = 0x7;  // cycle, time, instret
  // OpenSBI leaves scounteren = CY|TM|IR for the kernel, and Linux relies on
  // it (the vDSO reads `time` from U-mode), so vessel's SBI does the same.
  scounteren_ = 0x7;
  x[10] = a0;
  x[11] = a1;
  select_tlbs();
}

void Hart::set_engine(Engine engine) {
  engine_ = engine;
}

uint64_t Hart::run(uint64_t budget, StopReason& stop) {
  if (engine_ == Engine::kJit) return run_translated(budget, stop);
  return interpret(budget, stop);
}

}  // namespace vessel::rv
