// The architectural state of a hart that executors touch on every
// instruction, as plain data at fixed offsets: the interpreter names the
// fields, the binary translator's generated code addresses them relative to a
// host register holding a HartState* (offsetof below is valid because the
// struct is standard-layout).
//
// The rest of a hart (CSRs other than mstatus, privilege, the TLBs) lives in
// rv::Hart, which derives from this; generated code reaches it only through
// the pointers here and through helper calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "engine/riscv/fpu.hpp"

namespace vessel::rv {

struct Tlb;

struct HartState {
  uint64_t pc = 0;
  uint64_t x[33] = {};  // x[32] is the write sink for rd = x0
  FpState fp;
  // mstatus without the read-only fields (UXL, SXL, SD). Every write goes
  // through Hart::write_mstatus except the FS "dirty" update that FP
  // instructions make, which generated code does itself.
  uint64_t mstatus_ = 0;
  // The software TLBs of the current translation contexts (Hart::select_tlbs
  // keeps them current): instruction fetch and data access.
  Tlb* fetch_tlb_ = nullptr;
  Tlb* data_tlb_ = nullptr;
  // Budget left in the current run, in dispatches; translated blocks take
  // their length from it on entry (jit/dispatch.cpp).
  int64_t remaining_ = 0;
  // Where a translated block that ended in an unlinked direct jump came from
  // (the jump to patch), or 0.
  uint64_t chain_site_ = 0;
  // The LR reservation: the host address of the bytes an LR read (0: none)
  // and the value it read (sign-extended for LR.W). An SC succeeds if it
  // writes there while memory still holds that value: a compare-and-swap on
  // the host, which is how harts on several host threads see each other's
  // stores in between (atomic.cpp).
  uint64_t resv_host_ = 0;
  uint64_t resv_value_ = 0;
};
static_assert(std::is_standard_layout_v<HartState>);

}  // namespace vessel::rv
