// The registers the stub shows gdb, and the target description that names
// them (gdb manual, "Target Descriptions"; the features gdb's RISC-V port
// looks for are org.gnu.gdb.riscv.cpu, .fpu, .csr and .virtual).
//
// Register numbers follow the layout gdb's own RISC-V port uses, so that a
// client without the description still agrees: x0-x31 are 0-31, pc 32,
// f0-f31 33-64, CSR n is 65 + n (fflags 66, frm 67, fcsr 68, sstatus 321,
// mstatus 833, ...) and the virtual `priv` register (the current privilege
// level: 0 U, 1 S, 3 M) is 65 + 4096.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vessel::gdb {

struct RegRef {
  enum class Kind : uint8_t { kX, kPc, kF, kCsr, kPriv };
  Kind kind;
  uint16_t index;  // x/f register number, or CSR address
  unsigned bytes;  // size in the protocol
};

inline constexpr unsigned kPcRegnum = 32;
inline constexpr unsigned kFirstFRegnum = 33;
inline constexpr unsigned kFirstCsrRegnum = 65;
inline constexpr unsigned kPrivRegnum = kFirstCsrRegnum + 4096;
// The `g` packet carries x0-x31 and pc; gdb reads the rest with `p`.
inline constexpr unsigned kGPacketRegs = 33;

// The register behind a protocol register number; nullopt if there is none.
std::optional<RegRef> register_for(unsigned regnum);

// target.xml, for qXfer:features:read.
const std::string& target_xml();

}  // namespace vessel::gdb
