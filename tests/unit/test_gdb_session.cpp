// The gdb stub's commands (vm/gdb/session.hpp) against a fake target: each
// command's reply on crafted input, malformed commands, breakpoints and
// watchpoints, resume actions, the target description, and the
// instruction-access decoding that watchpoints use.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "engine/riscv/csr_numbers.hpp"
#include "engine/riscv/decoder.hpp"
#include "vm/gdb/insn_access.hpp"
#include "vm/gdb/packet.hpp"
#include "vm/gdb/registers.hpp"
#include "vm/gdb/session.hpp"

namespace vessel::gdb {
namespace {

std::string fmt_hex(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

// Two harts; memory 0x1000-0x2fff readable, 0x1000-0x1fff writable.
class FakeTarget final : public Target {
 public:
  FakeTarget() {
    for (size_t i = 0; i < mem.size(); ++i) mem[i] = static_cast<uint8_t>(i);
    for (unsigned t = 0; t < 2; ++t) {
      for (unsigned r = 0; r < 32; ++r) x[t][r] = r == 0 ? 0 : (t + 1) * 0x100 + r;
      pc[t] = 0x80000000 + t * 0x10;
    }
  }
  unsigned threads() const override { return 2; }
  std::optional<uint64_t> read_register(unsigned tid, const RegRef& reg) override {
    const unsigned t = tid - 1;
    switch (reg.kind) {
      case RegRef::Kind::kX: return x[t][reg.index];
      case RegRef::Kind::kPc: return pc[t];
      case RegRef::Kind::kF: return 0x3ff0000000000000;  // 1.0
      case RegRef::Kind::kCsr: return reg.index == rv::csr::kMhartid ? t : 0x42;
      case RegRef::Kind::kPriv: return 1;
    }
    return std::nullopt;
  }
  bool write_register(unsigned tid, const RegRef& reg, uint64_t value) override {
    const unsigned t = tid - 1;
    if (reg.kind == RegRef::Kind::kX) {
      if (reg.index != 0) x[t][reg.index] = value;
      return true;
    }
    if (reg.kind == RegRef::Kind::kPc) {
      pc[t] = value;
      return true;
    }
    return false;
  }
  size_t read_memory(unsigned, uint64_t addr, std::span<uint8_t> out) override {
    size_t n = 0;
    while (n < out.size() && addr + n >= 0x1000 && addr + n < 0x3000) {
      out[n] = mem[addr + n - 0x1000];
      ++n;
    }
    return n;
  }
  bool write_memory(unsigned, uint64_t addr, std::span<const uint8_t> in) override {
    if (addr < 0x1000 || addr + in.size() > 0x2000 || addr + in.size() < addr) return false;
    std::memcpy(&mem[addr - 0x1000], in.data(), in.size());
    return true;
  }
  std::string thread_info(unsigned tid) override { return "hart " + std::to_string(tid - 1); }

  std::array<std::array<uint64_t, 32>, 2> x{};
  std::array<uint64_t, 2> pc{};
  std::array<uint8_t, 0x2000> mem{};
};

class GdbSession : public ::testing::Test {
 protected:
  std::string ask(std::string_view packet) {
    const Outcome o = session.handle(packet);
    last = o;
    return o.reply.value_or("<none>");
  }
  FakeTarget target;
  Session session{target};
  Outcome last;
};

TEST_F(GdbSession, Supported) {
  const std::string r = ask("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
  EXPECT_NE(r.find("PacketSize=4000"), std::string::npos) << r;
  EXPECT_NE(r.find("qXfer:features:read+"), std::string::npos);
  EXPECT_NE(r.find("swbreak+"), std::string::npos);
  EXPECT_EQ(ask("vCont?"), "vCont;c;C;s;S");
  EXPECT_EQ(ask("vMustReplyEmpty"), "");
  EXPECT_EQ(ask("qSomethingNew"), "");
  EXPECT_FALSE(session.no_ack());
  EXPECT_EQ(ask("QStartNoAckMode"), "OK");
  EXPECT_TRUE(session.no_ack());
}

TEST_F(GdbSession, TargetDescription) {
  std::string xml;
  for (uint64_t offset = 0;;) {
    const std::string r = ask("qXfer:features:read:target.xml:" + fmt_hex(offset) + ",100");
    ASSERT_FALSE(r.empty());
    ASSERT_TRUE(r[0] == 'm' || r[0] == 'l') << r;
    xml += r.substr(1);
    offset += r.size() - 1;
    if (r[0] == 'l') break;
  }
  EXPECT_EQ(xml, target_xml());
  for (const char* needle :
       {"org.gnu.gdb.riscv.cpu", "org.gnu.gdb.riscv.fpu", "org.gnu.gdb.riscv.csr",
        "org.gnu.gdb.riscv.virtual", "name=\"priv\"", "name=\"sepc\"", "name=\"satp\"",
        "name=\"mcause\"", "name=\"pc\"", "name=\"ft0\"", "name=\"fcsr\""}) {
    EXPECT_NE(xml.find(needle), std::string::npos) << needle;
  }
  EXPECT_EQ(ask("qXfer:features:read:other.xml:0,100"), "E00");
  EXPECT_EQ(ask("qXfer:features:read:target.xml:zz,100"), "E16");
  EXPECT_EQ(ask("qXfer:features:read:target.xml:ffffff,100"), "l");
}

TEST_F(GdbSession, Threads) {
  EXPECT_EQ(ask("qfThreadInfo"), "m1,2");
  EXPECT_EQ(ask("qsThreadInfo"), "l");
  EXPECT_EQ(ask("qC"), "QC1");
  EXPECT_EQ(ask("T2"), "OK");
  EXPECT_EQ(ask("T3"), "E16");
  EXPECT_EQ(ask("Hg2"), "OK");
  EXPECT_EQ(ask("qC"), "QC2");
  EXPECT_EQ(ask("Hg3"), "E16");
  EXPECT_EQ(ask("Hg-1"), "E16");  // registers of "all threads" mean nothing
  EXPECT_EQ(ask("Hc-1"), "OK");
  EXPECT_EQ(ask("Hx1"), "E16");
  EXPECT_EQ(ask("H"), "E16");
  EXPECT_EQ(ask("qThreadExtraInfo,2"), to_hex(std::string_view("hart 1")));
  EXPECT_EQ(ask("qAttached"), "1");
}

TEST_F(GdbSession, Registers) {
  const std::string g = ask("g");
  ASSERT_EQ(g.size(), 33u * 16);
  EXPECT_EQ(g.substr(0, 16), "0000000000000000");       // x0
  EXPECT_EQ(g.substr(16, 16), le_hex(0x101, 8));        // ra of hart 0
  EXPECT_EQ(g.substr(32 * 16), le_hex(0x80000000, 8));  // pc
  EXPECT_EQ(ask("p20"), le_hex(0x80000000, 8));         // 0x20 = pc
  EXPECT_EQ(ask("Hg2"), "OK");
  EXPECT_EQ(ask("p1"), le_hex(0x201, 8));
  EXPECT_EQ(ask("p21"), le_hex(0x3ff0000000000000, 8));  // f0
  EXPECT_EQ(ask("p42"), le_hex(0x42, 4));                // fflags: 65 + 1, 32 bits
  EXPECT_EQ(ask("p" + fmt_hex(65 + rv::csr::kMhartid)), le_hex(1, 8));
  EXPECT_EQ(ask("p" + fmt_hex(kPrivRegnum)), le_hex(1, 8));
  EXPECT_EQ(ask("p" + fmt_hex(65 + 0x7c0)), "E16");  // a CSR the hart lacks
  EXPECT_EQ(ask("pzz"), "E16");
  EXPECT_EQ(ask("p"), "E16");
  EXPECT_EQ(ask("P5=" + le_hex(0xdead, 8)), "OK");
  EXPECT_EQ(target.x[1][5], 0xdeadu);
  EXPECT_EQ(ask("P0=" + le_hex(7, 8)), "OK");
  EXPECT_EQ(target.x[1][0], 0u);
  EXPECT_EQ(ask("P5=12"), "E16");  // too short
  EXPECT_EQ(ask("P5"), "E16");
  EXPECT_EQ(ask("P21=" + le_hex(1, 8)), "E0e");  // the target refused
  // G: whole registers only.
  std::string regs;
  for (unsigned r = 0; r < 33; ++r) regs += le_hex(r * 3, 8);
  EXPECT_EQ(ask("G" + regs), "OK");
  EXPECT_EQ(target.x[1][7], 21u);
  EXPECT_EQ(target.pc[1], 96u);
  EXPECT_EQ(ask("G" + regs + "00"), "E16");
  EXPECT_EQ(ask("G123"), "E16");
}

TEST_F(GdbSession, Memory) {
  EXPECT_EQ(ask("m1000,4"), "00010203");
  EXPECT_EQ(ask("m2ffe,8"), "feff");  // a short read up to the fault
  EXPECT_EQ(ask("m3000,4"), "E0e");
  EXPECT_EQ(ask("m0,4"), "E0e");
  EXPECT_EQ(ask("m1000,0"), "");
  EXPECT_EQ(ask("m1000"), "E16");
  EXPECT_EQ(ask("m1000,zz"), "E16");
  EXPECT_EQ(ask("mffffffffffffffff,ffffffffffffffff"), "E0e");  // absurd length: bounded
  EXPECT_EQ(ask("m1000,ffffffff").size(), kMaxPayload);         // capped, not allocated
  EXPECT_EQ(ask("M1000,2:abcd"), "OK");
  EXPECT_EQ(target.mem[0], 0xab);
  EXPECT_EQ(ask("M1000,2:abc"), "E16");
  EXPECT_EQ(ask("M1000,3:abcd"), "E16");
  EXPECT_EQ(ask("M2000,1:00"), "E0e");
  EXPECT_EQ(ask("M1000,1"), "E16");
  EXPECT_EQ(ask("X1000,0:"), "OK");  // gdb's probe
  EXPECT_EQ(ask(std::string("X1004,3:\x00}#", 11)), "OK");
  EXPECT_EQ(target.mem[4], 0);
  EXPECT_EQ(target.mem[5], '}');
  EXPECT_EQ(target.mem[6], '#');
  EXPECT_EQ(ask("X1004,4:ab"), "E16");
}

TEST_F(GdbSession, BreakpointsAndWatchpoints) {
  EXPECT_EQ(ask("Z0,80000000,4"), "OK");
  EXPECT_EQ(ask("Z1,80000010,2"), "OK");
  EXPECT_EQ(session.breakpoints().breakpoint_at(0x80000000), false);
  EXPECT_EQ(session.breakpoints().breakpoint_at(0x80000010), true);
  EXPECT_FALSE(session.breakpoints().breakpoint_at(0x80000004));
  EXPECT_EQ(ask("z0,80000000,4"), "OK");
  EXPECT_FALSE(session.breakpoints().breakpoint_at(0x80000000));
  EXPECT_EQ(ask("Z2,1000,8"), "OK");
  EXPECT_EQ(ask("Z3,2000,4"), "OK");
  EXPECT_EQ(ask("Z4,3000,1"), "OK");
  const Breakpoints& b = session.breakpoints();
  // A store overlapping the write watch, reported at an address inside it.
  auto hit = b.check_access(0xffc, 8, false, true);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->kind, WatchKind::kWrite);
  EXPECT_EQ(hit->addr, 0x1000u);
  EXPECT_FALSE(b.check_access(0x1000, 8, true, false));  // a load: not a write watch
  EXPECT_FALSE(b.check_access(0x1008, 8, false, true));  // just past it
  EXPECT_TRUE(b.check_access(0x2002, 1, true, false));
  EXPECT_FALSE(b.check_access(0x2002, 1, false, true));
  EXPECT_TRUE(b.check_access(0x3000, 1, false, true));  // access: both
  EXPECT_TRUE(b.check_access(0x3000, 1, true, false));
  // An access that wraps around the address space covers both ends.
  EXPECT_FALSE(b.check_access(0xfffffffffffffffc, 8, false, true));
  EXPECT_EQ(ask("Z2,0,4"), "OK");
  EXPECT_TRUE(b.check_access(0xfffffffffffffffc, 8, false, true));
  EXPECT_EQ(ask("z2,0,4"), "OK");
  EXPECT_EQ(ask("z2,1000,8"), "OK");
  EXPECT_FALSE(b.check_access(0x1000, 8, false, true));
  // Malformed or impossible.
  EXPECT_EQ(ask("Z2,1000,0"), "E1c");
  EXPECT_EQ(ask("Z2,fffffffffffffff0,100"), "E1c");  // wraps around
  EXPECT_EQ(ask("Z2,1000,ffffffff"), "E1c");         // absurd length
  EXPECT_EQ(ask("Z5,1000,4"), "");                   // unknown type: unsupported
  EXPECT_EQ(ask("Z0"), "E16");
  EXPECT_EQ(ask("Z0,zz,4"), "E16");
  EXPECT_EQ(ask("Z01000,4"), "E16");
  // The table is bounded.
  for (unsigned i = 0; i < Breakpoints::kMaxBreakpoints; ++i) {
    ask("Z0," + fmt_hex(0x90000000 + 4 * i) + ",4");
  }
  EXPECT_EQ(ask("Z0,a0000000,4"), "E1c");
  // Detach clears everything.
  EXPECT_EQ(ask("D"), "OK");
  EXPECT_EQ(last.action, Outcome::Action::kDetach);
  EXPECT_TRUE(session.breakpoints().empty());
}

TEST_F(GdbSession, ResumeActions) {
  EXPECT_EQ(ask("c"), "<none>");
  EXPECT_EQ(last.action, Outcome::Action::kResume);
  EXPECT_EQ(last.step_tid, 0u);
  ask("s");
  EXPECT_EQ(last.action, Outcome::Action::kResume);
  EXPECT_EQ(last.step_tid, 1u);
  ask("Hc2");
  ask("s");
  EXPECT_EQ(last.step_tid, 2u);
  ask("c80001000");
  EXPECT_EQ(target.pc[1], 0x80001000u);
  EXPECT_EQ(ask("cxyz"), "E16");
  ask("C05");
  EXPECT_EQ(last.action, Outcome::Action::kResume);
  ask("vCont;s:2;c");
  EXPECT_EQ(last.action, Outcome::Action::kResume);
  EXPECT_EQ(last.step_tid, 2u);
  ask("vCont;c");
  EXPECT_EQ(last.step_tid, 0u);
  ask("vCont;S05:1;c");
  EXPECT_EQ(last.step_tid, 1u);
  EXPECT_EQ(ask("vCont;s:9"), "E16");
  EXPECT_EQ(ask("vCont;x"), "E16");
  EXPECT_EQ(ask("vCont;"), "E16");
  EXPECT_EQ(ask("vCont;;c"), "E16");
  EXPECT_EQ(ask("vCont;sgarbage"), "E16");
  EXPECT_EQ(last.action, Outcome::Action::kNone);
  ask("k");
  EXPECT_EQ(last.action, Outcome::Action::kKill);
  EXPECT_FALSE(last.reply);
}

TEST_F(GdbSession, StopReplies) {
  EXPECT_EQ(ask("?"), "T05thread:1;");
  StopEvent e;
  e.reason = StopEvent::Reason::kSwBreak;
  e.tid = 2;
  session.set_last_stop(e);
  EXPECT_EQ(ask("?"), "T05swbreak:;thread:2;");
  e.reason = StopEvent::Reason::kHwBreak;
  EXPECT_EQ(stop_reply(e), "T05hwbreak:;thread:2;");
  e.reason = StopEvent::Reason::kWatch;
  e.addr = 0x80001000;
  EXPECT_EQ(stop_reply(e), "T05watch:80001000;thread:2;");
  e.watch_kind = WatchKind::kRead;
  EXPECT_EQ(stop_reply(e), "T05rwatch:80001000;thread:2;");
  e.watch_kind = WatchKind::kAccess;
  EXPECT_EQ(stop_reply(e), "T05awatch:80001000;thread:2;");
  e = StopEvent{};
  e.signal = kSigInt;
  EXPECT_EQ(stop_reply(e), "T02thread:1;");
  e.reason = StopEvent::Reason::kExited;
  e.exit_status = 3;
  EXPECT_EQ(stop_reply(e), "W03");
}

// `bs` / `bc` (reverse execution): only on a replay, and only bare.
TEST_F(GdbSession, ReverseExecution) {
  // A live VM: not supported (the empty reply), not advertised.
  EXPECT_EQ(ask("bs"), "");
  EXPECT_EQ(ask("bc"), "");
  EXPECT_EQ(last.action, Outcome::Action::kNone);
  EXPECT_EQ(ask("qSupported").find("Reverse"), std::string::npos);
  session.set_reverse(true);
  const std::string r = ask("qSupported:swbreak+");
  EXPECT_NE(r.find(";ReverseStep+;ReverseContinue+"), std::string::npos) << r;
  EXPECT_EQ(ask("bs"), "<none>");  // the stop reply comes when the target stops
  EXPECT_EQ(last.action, Outcome::Action::kReverseStep);
  EXPECT_EQ(last.step_tid, 1u);
  ask("Hc2");
  EXPECT_EQ(ask("bc"), "<none>");
  EXPECT_EQ(last.action, Outcome::Action::kReverseContinue);
  EXPECT_EQ(last.step_tid, 2u);
  for (const char* bad : {"b", "bx", "bs1", "bc ", "bss", "bc;1", "bs:1", "b\xff"}) {
    EXPECT_EQ(ask(bad), "E16") << bad;
    EXPECT_EQ(last.action, Outcome::Action::kNone) << bad;
  }
}

TEST_F(GdbSession, HistoryStopReplies) {
  StopEvent e;
  e.history = StopEvent::History::kBegin;
  EXPECT_EQ(stop_reply(e), "T05replaylog:begin;thread:1;");
  e.history = StopEvent::History::kEnd;
  e.tid = 2;
  EXPECT_EQ(stop_reply(e), "T05replaylog:end;thread:2;");
  e.reason = StopEvent::Reason::kWatch;
  e.addr = 0x1000;
  e.history = StopEvent::History::kNone;
  EXPECT_EQ(stop_reply(e), "T05watch:1000;thread:2;");
}

TEST_F(GdbSession, GarbageNeverThrows) {
  for (const char* p : {"",
                        "Z",
                        "z9",
                        "m",
                        "M",
                        "X",
                        "p",
                        "P=",
                        "H",
                        "T",
                        "q",
                        "v",
                        "vCont",
                        "qXfer:features:read:",
                        "qThreadExtraInfo,",
                        "qThreadExtraInfo,zz",
                        "c,",
                        "s-1",
                        "\xff\xfe",
                        "Z2,1,1;cond",
                        "Hg0"}) {
    EXPECT_NO_THROW(session.handle(p)) << p;
  }
}

TEST(GdbRegisters, Numbering) {
  EXPECT_EQ(register_for(0)->kind, RegRef::Kind::kX);
  EXPECT_EQ(register_for(32)->kind, RegRef::Kind::kPc);
  EXPECT_EQ(register_for(33)->kind, RegRef::Kind::kF);
  EXPECT_EQ(register_for(64)->index, 31);
  EXPECT_EQ(register_for(65 + rv::csr::kSstatus)->index, rv::csr::kSstatus);
  EXPECT_EQ(register_for(65 + rv::csr::kFcsr)->bytes, 4u);
  EXPECT_EQ(register_for(kPrivRegnum)->kind, RegRef::Kind::kPriv);
  EXPECT_FALSE(register_for(65));  // CSR 0 (ustatus): not implemented
  EXPECT_FALSE(register_for(kPrivRegnum + 1));
}

// Watchpoints look at the next instruction's effective address.
TEST(GdbInsnAccess, DecodesLoadsStoresAndAtomics) {
  uint64_t x[33] = {};
  x[10] = 0x1000;  // a0
  x[2] = 0x8000;   // sp
  // sd a1, 8(a0)
  auto a = memory_access(rv::decode(0x00b53423, 0), x);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->addr, 0x1008u);
  EXPECT_EQ(a->size, 8u);
  EXPECT_TRUE(a->store);
  EXPECT_FALSE(a->load);
  // lw a2, -4(a0)
  a = memory_access(rv::decode(0xffc52603, 0), x);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->addr, 0xffcu);
  EXPECT_EQ(a->size, 4u);
  EXPECT_TRUE(a->load);
  // c.sdsp a0, 16(sp): 0xe82a
  a = memory_access(rv::decode(0xe82a, 0), x);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->addr, 0x8010u);
  EXPECT_EQ(a->size, 8u);
  EXPECT_TRUE(a->store);
  // amoadd.d a0, a1, (a0): both a load and a store
  a = memory_access(rv::decode(0x00b5352f, 0), x);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->addr, 0x1000u);
  EXPECT_TRUE(a->load && a->store);
  // add a0, a0, a1: no memory
  EXPECT_FALSE(memory_access(rv::decode(0x00b50533, 0), x));
}

// qSearch:memory: gdb's `find` done by the stub (the fake's memory is
// 0x1000..0x3000, byte i holding i & 0xff).
TEST_F(GdbSession, SearchMemory) {
  const std::string pattern = "\x10\x11\x12";
  // The first match from the start; the next one 256 bytes on.
  EXPECT_EQ(ask("qSearch:memory:1000;2000;" + pattern), "1,1010");
  EXPECT_EQ(ask("qSearch:memory:1011;1fef;" + pattern), "1,1110");
  // Not in the range (it ends one byte short of the match), and none at all.
  EXPECT_EQ(ask("qSearch:memory:1000;12;" + pattern), "0");
  EXPECT_EQ(ask("qSearch:memory:1000;13;" + pattern), "1,1010");
  EXPECT_EQ(ask("qSearch:memory:1000;2000;\x10\x12"), "0");
  // A pattern that holds ';' (binary, after the framer's unescaping).
  EXPECT_EQ(ask("qSearch:memory:1000;2000;:;<"), "1,103a");
  // The last bytes of memory; a range past its end: a match before the
  // end, else an error, as gdb's own search gives for memory it cannot read.
  EXPECT_EQ(ask("qSearch:memory:1000;2000;\xfd\xfe\xff"), "1,10fd");
  EXPECT_EQ(ask("qSearch:memory:2f00;100;\xfd\xfe\xff"), "1,2ffd");
  EXPECT_EQ(ask("qSearch:memory:2f00;200;\x01\x02"), "1,2f01");
  EXPECT_EQ(ask("qSearch:memory:2f00;200;\x10\x12"), "E0e");
  // Malformed: no pattern, no length, not hex; a range at the top of the
  // address space does not wrap.
  EXPECT_EQ(ask("qSearch:memory:1000;2000;"), "E16");
  EXPECT_EQ(ask("qSearch:memory:1000;" + pattern), "E16");
  EXPECT_EQ(ask("qSearch:memory:zz;10;" + pattern), "E16");
  EXPECT_EQ(ask("qSearch:memory:ffffffffffffffff;10;" + pattern), "0");
}

// A match across two of the stub's reads (a packet's size each) is found.
TEST(GdbSessionSearch, AcrossChunks) {
  class Big final : public Target {
   public:
    unsigned threads() const override { return 1; }
    std::optional<uint64_t> read_register(unsigned, const RegRef&) override { return 0; }
    bool write_register(unsigned, const RegRef&, uint64_t) override { return false; }
    size_t read_memory(unsigned, uint64_t addr, std::span<uint8_t> out) override {
      for (size_t i = 0; i < out.size(); ++i) {
        if (addr + i >= mem.size()) return i;
        out[i] = mem[addr + i];
      }
      return out.size();
    }
    bool write_memory(unsigned, uint64_t, std::span<const uint8_t>) override { return false; }
    std::string thread_info(unsigned) override { return ""; }
    std::vector<uint8_t> mem = std::vector<uint8_t>(3 * kMaxPayload);
  } big;
  Session s(big);
  const uint64_t at = kMaxPayload - 2;  // 0x3ffe: straddles the first read's end
  std::memcpy(&big.mem[at], "NEEDLE", 6);
  EXPECT_EQ(s.handle("qSearch:memory:0;c000;NEEDLE").reply, "1,3ffe");
  EXPECT_EQ(s.handle("qSearch:memory:1;bfff;NEEDLE").reply, "1,3ffe");
  EXPECT_EQ(s.handle("qSearch:memory:3ffe;6;NEEDLE").reply, "1,3ffe");
  EXPECT_EQ(s.handle("qSearch:memory:3fff;8001;NEEDLE").reply, "0");
  // Past the end of memory: an error (no match before it).
  EXPECT_EQ(s.handle("qSearch:memory:0;c001;NEEDLX").reply, "E0e");
}

}  // namespace
}  // namespace vessel::gdb
