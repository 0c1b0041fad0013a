#include "vm/gdb/insn_access.hpp"

namespace vessel::gdb {

std::optional<MemAccess> memory_access(const rv::DecodedInsn& d, const uint64_t* x) {
  using rv::Op;
  const uint64_t base = d.rs1 == 0 ? 0 : x[d.rs1];
  const uint64_t addr = base + static_cast<uint64_t>(static_cast<int64_t>(d.imm));
  auto load = [&](unsigned size) { return MemAccess{addr, size, true, false}; };
  auto store = [&](unsigned size) { return MemAccess{addr, size, false, true}; };
  switch (d.op) {
    case Op::LB:
    case Op::LBU: return load(1);
    case Op::LH:
    case Op::LHU: return load(2);
    case Op::LW:
    case Op::LWU:
    case Op::FLW: return load(4);
    case Op::LD:
    case Op::FLD: return load(8);
    case Op::SB: return store(1);
    case Op::SH: return store(2);
    case Op::SW:
    case Op::FSW: return store(4);
    case Op::SD:
    case Op::FSD: return store(8);
    // The A extension addresses x[rs1] itself (no offset).
    case Op::LR_W: return MemAccess{base, 4, true, false};
    case Op::LR_D: return MemAccess{base, 8, true, false};
    case Op::SC_W: return MemAccess{base, 4, false, true};
    case Op::SC_D: return MemAccess{base, 8, false, true};
    case Op::AMO_W: return MemAccess{base, 4, true, true};
    case Op::AMO_D: return MemAccess{base, 8, true, true};
    default: return std::nullopt;
  }
}

}  // namespace vessel::gdb
