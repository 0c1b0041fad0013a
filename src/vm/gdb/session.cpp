#include "vm/gdb/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "vm/gdb/packet.hpp"

namespace vessel::gdb {

namespace {

Outcome reply(std::string text) {
  Outcome o;
  o.reply = std::move(text);
  return o;
}

// Errors: the numbers are errno values, as gdbserver sends them.
Outcome error(int code) {
  return reply(fmt::format("E{:02x}", code));
}
constexpr int kEInval = 0x16;  // EINVAL: a malformed command
constexpr int kEFault = 0x0e;  // EFAULT: memory that cannot be read or written
constexpr int kENoSpc = 0x1c;  // ENOSPC: no room for another breakpoint

Outcome unsupported() {
  return reply("");
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// "ADDR,LEN" (and what follows `tail_sep`, if given, in `tail`).
bool parse_addr_len(std::string_view args, uint64_t& addr, uint64_t& len,
                    std::string_view* tail = nullptr, char tail_sep = ':') {
  const size_t comma = args.find(',');
  if (comma == std::string_view::npos) return false;
  std::string_view len_text = args.substr(comma + 1);
  if (tail != nullptr) {
    const size_t sep = len_text.find(tail_sep);
    if (sep == std::string_view::npos) return false;
    *tail = len_text.substr(sep + 1);
    len_text = len_text.substr(0, sep);
  }
  const auto a = parse_hex_number(args.substr(0, comma));
  const auto l = parse_hex_number(len_text);
  if (!a || !l) return false;
  addr = *a;
  len = *l;
  return true;
}

// The largest `m` read: its hex reply must fit in a packet.
constexpr uint64_t kMaxRead = kMaxPayload / 2;

}  // namespace

std::string stop_reply(const StopEvent& e) {
  using R = StopEvent::Reason;
  if (e.reason == R::kExited) return fmt::format("W{:02x}", e.exit_status & 0xff);
  std::string s = fmt::format("T{:02x}", e.signal & 0xff);
  switch (e.reason) {
    case R::kSwBreak: s += "swbreak:;"; break;
    case R::kHwBreak: s += "hwbreak:;"; break;
    case R::kWatch: {
      const char* name = e.watch_kind == WatchKind::kWrite  ? "watch"
                         : e.watch_kind == WatchKind::kRead ? "rwatch"
                                                            : "awatch";
      s += fmt::format("{}:{:x};", name, e.addr);
      break;
    }
    default: break;
  }
  if (e.history == StopEvent::History::kBegin) s += "replaylog:begin;";
  if (e.history == StopEvent::History::kEnd) s += "replaylog:end;";
  s += fmt::format("thread:{:x};", e.tid);
  return s;
}

Outcome Session::handle(std::string_view p) {
  if (p.empty()) return unsupported();
  const char cmd = p[0];
  const std::string_view args = p.substr(1);
  switch (cmd) {
    case '?': return reply(stop_reply(last_stop_));
    case 'q':
    case 'Q': return query(p);
    case 'v': return v_packet(p);
    case 'H': return set_thread(args);
    case 'T': {
      const auto tid = parse_thread(args, false);
      return tid && valid_thread(*tid) ? reply("OK") : error(kEInval);
    }
    case 'g': return read_registers();
    case 'G': return write_registers(args);
    case 'p': return read_register(args);
    case 'P': return write_register(args);
    case 'm': return read_memory(args);
    case 'M': return write_memory(args, false);
    case 'X': return write_memory(args, true);
    case 'Z': return breakpoint(args, true);
    case 'z': return breakpoint(args, false);
    case 'c': return resume(args, false);
    case 's': return resume(args, true);
    case 'C':
    case 'S': {
      // "Csig[;addr]": the signal means nothing to a whole machine.
      const size_t semi = args.find(';');
      return resume(semi == std::string_view::npos ? std::string_view{} : args.substr(semi + 1),
                    cmd == 'S');
    }
    case 'D': {
      Outcome o = reply("OK");
      o.action = Outcome::Action::kDetach;
      breakpoints_.clear();
      return o;
    }
    case 'k': {
      Outcome o;  // gdb waits for no reply to `k`
      o.action = Outcome::Action::kKill;
      return o;
    }
    case 'b': {
      // Reverse execution (gdb manual, "bc", "bs"): neither takes arguments.
      if (!reverse_) return unsupported();
      if (p != "bs" && p != "bc") return error(kEInval);
      Outcome o;  // the stop reply comes when the target stops
      o.action = p == "bs" ? Outcome::Action::kReverseStep : Outcome::Action::kReverseContinue;
      o.step_tid = c_thread_ != 0 ? c_thread_ : g_thread_;
      return o;
    }
    default: return unsupported();
  }
}

Outcome Session::query(std::string_view p) {
  if (starts_with(p, "qSupported")) {
    return reply(
        fmt::format("PacketSize={:x};qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;"
                    "QStartNoAckMode+{}",
                    kMaxPayload, reverse_ ? ";ReverseStep+;ReverseContinue+" : ""));
  }
  if (p == "QStartNoAckMode") {
    no_ack_ = true;
    return reply("OK");
  }
  if (starts_with(p, "qXfer:features:read:")) {
    std::string_view rest = p.substr(20);
    const size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return error(kEInval);
    if (rest.substr(0, colon) != "target.xml") return error(0);  // E00: no such annex
    uint64_t offset = 0, len = 0;
    if (!parse_addr_len(rest.substr(colon + 1), offset, len)) return error(kEInval);
    const std::string& xml = target_xml();
    if (offset >= xml.size()) return reply("l");
    len = std::min<uint64_t>({len, xml.size() - offset, kMaxPayload / 2});
    const bool last = offset + len >= xml.size();
    return reply((last ? "l" : "m") + xml.substr(offset, len));
  }
  if (p == "qAttached") return reply("1");  // detaching leaves the VM running
  if (p == "qC") return reply(fmt::format("QC{:x}", g_thread_));
  if (p == "qfThreadInfo") {
    std::string s = "m";
    for (unsigned t = 1; t <= target_.threads(); ++t) {
      if (t > 1) s += ',';
      s += fmt::format("{:x}", t);
    }
    return reply(s);
  }
  if (p == "qsThreadInfo") return reply("l");
  if (starts_with(p, "qThreadExtraInfo,")) {
    const auto tid = parse_thread(p.substr(17), false);
    if (!tid || !valid_thread(*tid)) return error(kEInval);
    return reply(to_hex(target_.thread_info(*tid)));
  }
  if (starts_with(p, "qSymbol")) return reply("OK");
  if (starts_with(p, "qSearch:memory:")) return search_memory(p.substr(15));
  return unsupported();
}

Outcome Session::v_packet(std::string_view p) {
  if (p == "vCont?") return reply("vCont;c;C;s;S");
  if (starts_with(p, "vCont;")) return vcont(p.substr(6));
  if (starts_with(p, "vKill")) {
    Outcome o = reply("OK");
    o.action = Outcome::Action::kKill;
    return o;
  }
  return unsupported();  // vMustReplyEmpty, vFile, vRun, ...
}

std::optional<unsigned> Session::parse_thread(std::string_view text, bool allow_all) const {
  if (text == "-1") {
    if (!allow_all) return std::nullopt;
    return 0u;
  }
  const auto value = parse_hex_number(text);
  if (!value) return std::nullopt;
  if (*value == 0) return g_thread_;  // "any thread"
  if (*value > 0xffff) return std::nullopt;
  return static_cast<unsigned>(*value);
}

Outcome Session::set_thread(std::string_view args) {
  if (args.empty()) return error(kEInval);
  const char op = args[0];
  if (op != 'g' && op != 'c') return error(kEInval);
  const auto tid = parse_thread(args.substr(1), op == 'c');
  if (!tid) return error(kEInval);
  if (*tid != 0 && !valid_thread(*tid)) return error(kEInval);
  if (op == 'g') {
    g_thread_ = *tid;
  } else {
    c_thread_ = *tid;
  }
  return reply("OK");
}

Outcome Session::read_registers() {
  std::string s;
  s.reserve(kGPacketRegs * 16);
  for (unsigned r = 0; r < kGPacketRegs; ++r) {
    const auto ref = register_for(r);
    const auto value = target_.read_register(g_thread_, *ref);
    if (!value) return error(kEFault);
    s += le_hex(*value, ref->bytes);
  }
  return reply(s);
}

Outcome Session::write_registers(std::string_view hex) {
  // As many whole registers as were sent, in `g` order.
  if (hex.size() % 16 != 0 || hex.size() > kGPacketRegs * 16) return error(kEInval);
  std::vector<uint64_t> values;
  for (size_t i = 0; i < hex.size(); i += 16) {
    const auto value = parse_le_hex(hex.substr(i, 16), 8);
    if (!value) return error(kEInval);
    values.push_back(*value);
  }
  for (unsigned r = 0; r < values.size(); ++r) {
    if (!target_.write_register(g_thread_, *register_for(r), values[r])) return error(kEFault);
  }
  return reply("OK");
}

Outcome Session::read_register(std::string_view args) {
  const auto regnum = parse_hex_number(args);
  if (!regnum || *regnum > 0xffff) return error(kEInval);
  const auto ref = register_for(static_cast<unsigned>(*regnum));
  if (!ref) return error(kEInval);
  const auto value = target_.read_register(g_thread_, *ref);
  if (!value) return error(kEFault);
  return reply(le_hex(*value, ref->bytes));
}

Outcome Session::write_register(std::string_view args) {
  const size_t eq = args.find('=');
  if (eq == std::string_view::npos) return error(kEInval);
  const auto regnum = parse_hex_number(args.substr(0, eq));
  if (!regnum || *regnum > 0xffff) return error(kEInval);
  const auto ref = register_for(static_cast<unsigned>(*regnum));
  if (!ref) return error(kEInval);
  const auto value = parse_le_hex(args.substr(eq + 1), ref->bytes);
  if (!value) return error(kEInval);
  if (!target_.write_register(g_thread_, *ref, *value)) return error(kEFault);
  return reply("OK");
}

Outcome Session::read_memory(std::string_view args) {
  uint64_t addr = 0, len = 0;
  if (!parse_addr_len(args, addr, len)) return error(kEInval);
  len = std::min(len, kMaxRead);  // a shorter reply is allowed; gdb asks for the rest
  if (len == 0) return reply("");
  std::vector<uint8_t> buf(len);
  const size_t got = target_.read_memory(g_thread_, addr, buf);
  if (got == 0) return error(kEFault);
  return reply(to_hex({buf.data(), got}));
}

// gdb's `find` sends its whole range in one packet when the stub takes it,
// instead of reading it all over the wire 16 KB at a time (minutes for a
// guest's RAM). "ADDR;LEN;PATTERN", the pattern binary (the framer undid
// its escapes, as for `X`). Replies "1,ADDR" for the first match, "0" for
// none; memory that cannot be read before a match ends the search with an
// error, as gdb's own search does.
Outcome Session::search_memory(std::string_view args) {
  const size_t semi1 = args.find(';');
  if (semi1 == std::string_view::npos) return error(kEInval);
  const size_t semi2 = args.find(';', semi1 + 1);
  if (semi2 == std::string_view::npos) return error(kEInval);
  const auto addr = parse_hex_number(args.substr(0, semi1));
  const auto len = parse_hex_number(args.substr(semi1 + 1, semi2 - semi1 - 1));
  const std::string_view pattern = args.substr(semi2 + 1);
  if (!addr || !len || pattern.empty()) return error(kEInval);
  // The range ends at the top of the address space rather than wrapping.
  const uint64_t end = *len > UINT64_MAX - *addr ? UINT64_MAX : *addr + *len;
  if (end - *addr < pattern.size()) return reply("0");
  // Reads of a packet's size at most (as `m` reads are), overlapping by
  // the pattern's length less one, so a match across two of them is seen.
  constexpr uint64_t kRead = kMaxPayload;
  if (pattern.size() >= kRead) return error(kEInval);
  const uint64_t step = kRead - (pattern.size() - 1);
  std::vector<uint8_t> buf(kRead);
  for (uint64_t at = *addr;; at += step) {
    const uint64_t n = std::min(kRead, end - at);
    const size_t got = target_.read_memory(g_thread_, at, {buf.data(), n});
    const auto last = buf.begin() + static_cast<ptrdiff_t>(got);
    const auto hit = std::search(buf.begin(), last, pattern.begin(), pattern.end(),
                                 [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); });
    if (hit != last) return reply(fmt::format("1,{:x}", at + (hit - buf.begin())));
    if (got != n) return error(kEFault);
    if (at + n == end) return reply("0");
  }
}

Outcome Session::write_memory(std::string_view args, bool binary) {
  uint64_t addr = 0, len = 0;
  std::string_view data;
  if (!parse_addr_len(args, addr, len, &data)) return error(kEInval);
  std::vector<uint8_t> bytes;
  if (binary) {
    bytes.assign(data.begin(), data.end());  // the framer undid the escapes
  } else {
    auto decoded = from_hex(data);
    if (!decoded) return error(kEInval);
    bytes = std::move(*decoded);
  }
  if (bytes.size() != len) return error(kEInval);
  if (len == 0) return reply("OK");  // gdb probes for X with an empty write
  if (!target_.write_memory(g_thread_, addr, bytes)) return error(kEFault);
  return reply("OK");
}

Outcome Session::breakpoint(std::string_view args, bool insert) {
  // "TYPE,ADDR,KIND[;cond...]": conditions are not supported (not advertised).
  if (args.size() < 2 || args[1] != ',') return error(kEInval);
  const char type = args[0];
  uint64_t addr = 0, kind = 0;
  std::string_view rest = args.substr(2);
  const size_t semi = rest.find(';');
  if (semi != std::string_view::npos) rest = rest.substr(0, semi);
  if (!parse_addr_len(rest, addr, kind)) return error(kEInval);
  bool ok = false;
  switch (type) {
    case '0':
    case '1':
      ok = insert ? breakpoints_.add_breakpoint(addr, type == '1')
                  : breakpoints_.remove_breakpoint(addr, type == '1');
      break;
    case '2':
    case '3':
    case '4': {
      const WatchKind wk = type == '2'   ? WatchKind::kWrite
                           : type == '3' ? WatchKind::kRead
                                         : WatchKind::kAccess;
      const Watch w{addr, kind, wk};
      ok = insert ? breakpoints_.add_watch(w) : breakpoints_.remove_watch(w);
      break;
    }
    default: return unsupported();
  }
  return ok ? reply("OK") : error(kENoSpc);
}

Outcome Session::resume(std::string_view args, bool step) {
  const unsigned tid = c_thread_ != 0 ? c_thread_ : g_thread_;
  if (!args.empty()) {
    // "c ADDR": go on from ADDR.
    const auto addr = parse_hex_number(args);
    if (!addr) return error(kEInval);
    RegRef pc{RegRef::Kind::kPc, 0, 8};
    if (!target_.write_register(tid, pc, *addr)) return error(kEFault);
  }
  Outcome o;
  o.action = Outcome::Action::kResume;
  o.step_tid = step ? tid : 0;
  return o;
}

Outcome Session::vcont(std::string_view actions) {
  // "ACTION[:TID];ACTION[:TID]...": the first action naming a thread (or
  // none) applies to it. A step of one thread holds the others; continue
  // resumes all (all-stop: a machine's harts stop and go together).
  unsigned step_tid = 0;
  bool any = false;
  while (!actions.empty()) {
    const size_t semi = actions.find(';');
    std::string_view action = actions.substr(0, semi);
    actions = semi == std::string_view::npos ? std::string_view{} : actions.substr(semi + 1);
    if (action.empty()) return error(kEInval);
    std::optional<unsigned> tid;
    const size_t colon = action.find(':');
    if (colon != std::string_view::npos) {
      tid = parse_thread(action.substr(colon + 1), true);
      if (!tid || (*tid != 0 && !valid_thread(*tid))) return error(kEInval);
      action = action.substr(0, colon);
    }
    const char a = action[0];
    if (a == 'c' || a == 'C') {
      if (action.size() > 1 && (a == 'c' || !parse_hex_number(action.substr(1)))) {
        return error(kEInval);
      }
    } else if (a == 's' || a == 'S') {
      if (action.size() > 1 && (a == 's' || !parse_hex_number(action.substr(1)))) {
        return error(kEInval);
      }
      if (step_tid == 0) step_tid = tid && *tid != 0 ? *tid : g_thread_;
    } else {
      return error(kEInval);  // 't', 'r' are not advertised
    }
    any = true;
  }
  if (!any) return error(kEInval);
  Outcome o;
  o.action = Outcome::Action::kResume;
  o.step_tid = step_tid;
  return o;
}

}  // namespace vessel::gdb
