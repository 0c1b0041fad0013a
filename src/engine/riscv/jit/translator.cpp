#include "engine/riscv/jit/translator.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/riscv/decoder.hpp"
#include "engine/riscv/jit/emitter.hpp"
#include "engine/riscv/jit/op_info.hpp"
#include "memory/guest_ram.hpp"

namespace vessel::rv::jit {

Translation translate_block(BlockCache& cache, uint64_t va, uint64_t gpa, const uint8_t* page,
                            const uint8_t* next_page, Block& out, const char** error) {
  // Scan: which instructions the block holds.
  std::vector<Insn> insns;
  bool interpret_after = false;
  unsigned offset = static_cast<unsigned>(va & 0xfff);
  while (insns.size() < kMaxBlockInsns && offset < 4096) {
    uint16_t low;
    low = guest_ram_load<uint16_t>(page + offset);
    uint32_t raw = low;
    const bool crosses = insn_length(low) == 4 && offset == 4094;
    uint16_t high = 0;
    if (crosses) {
      if (next_page == nullptr) {  // its fetch faults: the interpreter's
        interpret_after = true;
        break;
      }
      high = guest_ram_load<uint16_t>(next_page);
      raw |= static_cast<uint32_t>(high) << 16;
    } else if (insn_length(low) == 4) {
      high = guest_ram_load<uint16_t>(page + offset + 2);
      raw |= static_cast<uint32_t>(high) << 16;
    }
    const DecodedInsn d = decode(raw, offset);
    if (!translatable(d)) {
      interpret_after = true;
      break;
    }
    const uint64_t at = (va & ~uint64_t{0xfff}) | offset;
    insns.push_back(Insn{d, at, crosses, high});
    offset += d.len;
    if (crosses || d.op == Op::JALR) break;
    if (d.op == Op::JAL) {
      // A plain jump (not a call) within the page: the block goes on at
      // its target, unless that is in the block already, so that code a
      // compiler laid out apart (a loop's test after its body, the rest of
      // an if) runs without leaving the block. Calls end it: following
      // them would copy a function into the block of every call in the
      // page (a kernel's boot, code that mostly runs once, then spends
      // more on translating: +3% host instructions, callgrind).
      const uint64_t target = at + static_cast<int64_t>(d.imm);
      if (d.rd != kZeroSink || (d.flags & kInPageTarget) == 0 ||
          std::any_of(insns.begin(), insns.end(), [&](const Insn& i) { return i.va == target; }))
        break;
      offset = static_cast<unsigned>(target & 0xfff);
    }
  }
  if (insns.empty()) {
    out = Block{};
    return Translation::kDone;
  }
  CodeBuffer& buffer = cache.buffer();
  try {
    Xbyak::CodeGenerator g(buffer.room(), buffer.cursor());
    Emitter e(g, cache, va, gpa, insns, interpret_after);
    e.emit();
    g.ready();
    out.code = g.getCode();
    out.insns = static_cast<uint32_t>(insns.size());
    out.bytes = static_cast<uint32_t>(g.getSize());
    buffer.commit(g.getSize());
    e.for_each_fault_site(
        [&cache](const uint8_t* site, const uint8_t* slow) { cache.add_fault_site(site, slow); });
  } catch (const Xbyak::Error& e) {
    // Nothing was committed: the buffer's cursor has not moved.
    if (static_cast<int>(e) == Xbyak::ERR_CODE_IS_TOO_BIG) return Translation::kNoRoom;
    *error = e.what();
    return Translation::kFailed;
  }
  return Translation::kDone;
}

}  // namespace vessel::rv::jit
