#include "vm/gdb/registers.hpp"

#include <fmt/format.h>

#include <iterator>

#include "engine/riscv/csr_numbers.hpp"

namespace vessel::gdb {

namespace {

struct CsrName {
  uint16_t number;
  const char* name;
};

// The CSRs the hart implements (engine/riscv/csr.cpp) that gdb knows by
// name. fflags, frm and fcsr are in the FPU feature instead.
namespace c = rv::csr;
constexpr CsrName kCsrs[] = {
    {c::kCycle, "cycle"},
    {c::kTime, "time"},
    {c::kInstret, "instret"},
    {c::kSstatus, "sstatus"},
    {c::kSie, "sie"},
    {c::kStvec, "stvec"},
    {c::kScounteren, "scounteren"},
    {c::kSscratch, "sscratch"},
    {c::kSepc, "sepc"},
    {c::kScause, "scause"},
    {c::kStval, "stval"},
    {c::kSip, "sip"},
    {c::kSatp, "satp"},
    {c::kMvendorid, "mvendorid"},
    {c::kMarchid, "marchid"},
    {c::kMimpid, "mimpid"},
    {c::kMhartid, "mhartid"},
    {c::kMstatus, "mstatus"},
    {c::kMisa, "misa"},
    {c::kMedeleg, "medeleg"},
    {c::kMideleg, "mideleg"},
    {c::kMie, "mie"},
    {c::kMtvec, "mtvec"},
    {c::kMcounteren, "mcounteren"},
    {c::kMscratch, "mscratch"},
    {c::kMepc, "mepc"},
    {c::kMcause, "mcause"},
    {c::kMtval, "mtval"},
    {c::kMip, "mip"},
    {c::kMcycle, "mcycle"},
    {c::kMinstret, "minstret"},
};

constexpr const char* kXNames[32] = {"zero", "ra", "sp",  "gp",  "tp", "t0", "t1", "t2",
                                     "fp",   "s1", "a0",  "a1",  "a2", "a3", "a4", "a5",
                                     "a6",   "a7", "s2",  "s3",  "s4", "s5", "s6", "s7",
                                     "s8",   "s9", "s10", "s11", "t3", "t4", "t5", "t6"};
constexpr const char* kFNames[32] = {"ft0", "ft1", "ft2",  "ft3",  "ft4", "ft5", "ft6",  "ft7",
                                     "fs0", "fs1", "fa0",  "fa1",  "fa2", "fa3", "fa4",  "fa5",
                                     "fa6", "fa7", "fs2",  "fs3",  "fs4", "fs5", "fs6",  "fs7",
                                     "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11"};

bool is_fp_csr(unsigned number) {
  return number == c::kFflags || number == c::kFrm || number == c::kFcsr;
}

bool is_listed_csr(unsigned number) {
  for (const CsrName& csr : kCsrs) {
    if (csr.number == number) return true;
  }
  return false;
}

std::string build_xml() {
  std::string xml =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target>\n"
      "<architecture>riscv:rv64</architecture>\n"
      "<feature name=\"org.gnu.gdb.riscv.cpu\">\n";
  for (unsigned i = 0; i < 32; ++i) {
    const char* type = i == 1 ? "code_ptr" : (i == 2 || i == 8) ? "data_ptr" : "int";
    xml += fmt::format("<reg name=\"{}\" bitsize=\"64\" type=\"{}\" regnum=\"{}\"/>\n", kXNames[i],
                       type, i);
  }
  xml +=
      fmt::format("<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\" regnum=\"{}\"/>\n", kPcRegnum);
  xml += "</feature>\n<feature name=\"org.gnu.gdb.riscv.fpu\">\n";
  xml +=
      "<union id=\"riscv_double\"><field name=\"float\" type=\"ieee_single\"/>"
      "<field name=\"double\" type=\"ieee_double\"/></union>\n";
  for (unsigned i = 0; i < 32; ++i) {
    xml += fmt::format("<reg name=\"{}\" bitsize=\"64\" type=\"riscv_double\" regnum=\"{}\"/>\n",
                       kFNames[i], kFirstFRegnum + i);
  }
  for (const auto& [number, name] :
       {std::pair{c::kFflags, "fflags"}, std::pair{c::kFrm, "frm"}, std::pair{c::kFcsr, "fcsr"}}) {
    xml += fmt::format("<reg name=\"{}\" bitsize=\"32\" type=\"int\" regnum=\"{}\"/>\n", name,
                       kFirstCsrRegnum + number);
  }
  xml += "</feature>\n<feature name=\"org.gnu.gdb.riscv.csr\">\n";
  for (const CsrName& csr : kCsrs) {
    xml += fmt::format("<reg name=\"{}\" bitsize=\"64\" type=\"int\" regnum=\"{}\"/>\n", csr.name,
                       kFirstCsrRegnum + csr.number);
  }
  xml += "</feature>\n<feature name=\"org.gnu.gdb.riscv.virtual\">\n";
  xml +=
      fmt::format("<reg name=\"priv\" bitsize=\"64\" type=\"int\" regnum=\"{}\"/>\n", kPrivRegnum);
  xml += "</feature>\n</target>\n";
  return xml;
}

}  // namespace

std::optional<RegRef> register_for(unsigned regnum) {
  using K = RegRef::Kind;
  if (regnum < 32) return RegRef{K::kX, static_cast<uint16_t>(regnum), 8};
  if (regnum == kPcRegnum) return RegRef{K::kPc, 0, 8};
  if (regnum >= kFirstFRegnum && regnum < kFirstFRegnum + 32) {
    return RegRef{K::kF, static_cast<uint16_t>(regnum - kFirstFRegnum), 8};
  }
  if (regnum == kPrivRegnum) return RegRef{K::kPriv, 0, 8};
  if (regnum >= kFirstCsrRegnum && regnum < kPrivRegnum) {
    const unsigned number = regnum - kFirstCsrRegnum;
    if (is_fp_csr(number)) return RegRef{K::kCsr, static_cast<uint16_t>(number), 4};
    if (is_listed_csr(number)) return RegRef{K::kCsr, static_cast<uint16_t>(number), 8};
  }
  return std::nullopt;
}

const std::string& target_xml() {
  static const std::string xml = build_xml();
  return xml;
}

}  // namespace vessel::gdb
