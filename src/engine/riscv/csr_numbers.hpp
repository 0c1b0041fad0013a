// CSR addresses and bit fields used by the hart (privileged spec, "Control and
// Status Registers" and the machine/supervisor chapters).
#pragma once

#include <cstdint>

namespace vessel::rv::csr {

// Unprivileged
inline constexpr uint16_t kFflags = 0x001, kFrm = 0x002, kFcsr = 0x003;
inline constexpr uint16_t kCycle = 0xC00, kTime = 0xC01, kInstret = 0xC02;
inline constexpr uint16_t kHpmCounter3 = 0xC03, kHpmCounter31 = 0xC1F;
// Supervisor
inline constexpr uint16_t kSstatus = 0x100, kSie = 0x104, kStvec = 0x105, kScounteren = 0x106;
inline constexpr uint16_t kSenvcfg = 0x10A, kSscratch = 0x140, kSepc = 0x141, kScause = 0x142;
inline constexpr uint16_t kStval = 0x143, kSip = 0x144, kStimecmp = 0x14D, kSatp = 0x180;
// Machine
inline constexpr uint16_t kMvendorid = 0xF11, kMarchid = 0xF12, kMimpid = 0xF13;
inline constexpr uint16_t kMhartid = 0xF14, kMconfigptr = 0xF15;
inline constexpr uint16_t kMstatus = 0x300, kMisa = 0x301, kMedeleg = 0x302, kMideleg = 0x303;
inline constexpr uint16_t kMie = 0x304, kMtvec = 0x305, kMcounteren = 0x306;
inline constexpr uint16_t kMenvcfg = 0x30A, kMcountinhibit = 0x320;
inline constexpr uint16_t kMhpmevent3 = 0x323, kMhpmevent31 = 0x33F;
inline constexpr uint16_t kMscratch = 0x340, kMepc = 0x341, kMcause = 0x342, kMtval = 0x343;
inline constexpr uint16_t kMip = 0x344;
inline constexpr uint16_t kPmpcfg0 = 0x3A0, kPmpcfg15 = 0x3AF;
inline constexpr uint16_t kPmpaddr0 = 0x3B0, kPmpaddr63 = 0x3EF;
inline constexpr uint16_t kMseccfg = 0x747;
inline constexpr uint16_t kMcycle = 0xB00, kMinstret = 0xB02;
inline constexpr uint16_t kMhpmcounter3 = 0xB03, kMhpmcounter31 = 0xB1F;
inline constexpr uint16_t kTselect = 0x7A0, kTdata1 = 0x7A1, kTdata2 = 0x7A2, kTdata3 = 0x7A3;

}  // namespace vessel::rv::csr

namespace vessel::rv::mstatus {
inline constexpr uint64_t kSie = 1ull << 1, kMie = 1ull << 3, kSpie = 1ull << 5;
inline constexpr uint64_t kMpie = 1ull << 7, kSpp = 1ull << 8;
inline constexpr unsigned kMppShift = 11;
inline constexpr uint64_t kMpp = 3ull << kMppShift;
inline constexpr unsigned kFsShift = 13;
inline constexpr uint64_t kFs = 3ull << kFsShift;
inline constexpr uint64_t kMprv = 1ull << 17, kSum = 1ull << 18, kMxr = 1ull << 19;
inline constexpr uint64_t kTvm = 1ull << 20, kTw = 1ull << 21, kTsr = 1ull << 22;
inline constexpr uint64_t kUxl = 2ull << 32, kSxl = 2ull << 34;  // XLEN 64, fixed
inline constexpr uint64_t kSd = 1ull << 63;
inline constexpr uint64_t kWritable =
    kSie | kMie | kSpie | kMpie | kSpp | kMpp | kFs | kMprv | kSum | kMxr | kTvm | kTw | kTsr;
inline constexpr uint64_t kSstatusMask =
    kSie | kSpie | kSpp | kFs | kSum | kMxr | (3ull << 32) | kSd;
}  // namespace vessel::rv::mstatus

namespace vessel::rv::irq {
inline constexpr uint64_t kSsip = 1ull << 1, kMsip = 1ull << 3, kStip = 1ull << 5;
inline constexpr uint64_t kMtip = 1ull << 7, kSeip = 1ull << 9, kMeip = 1ull << 11;
inline constexpr uint64_t kAll = kSsip | kMsip | kStip | kMtip | kSeip | kMeip;
inline constexpr uint64_t kDelegable = kSsip | kStip | kSeip;
}  // namespace vessel::rv::irq

namespace vessel::rv::cause {
inline constexpr uint64_t kInsnMisaligned = 0, kInsnAccess = 1, kIllegal = 2, kBreakpoint = 3;
inline constexpr uint64_t kLoadMisaligned = 4, kLoadAccess = 5, kStoreMisaligned = 6;
inline constexpr uint64_t kStoreAccess = 7, kEcallU = 8, kEcallS = 9, kEcallM = 11;
inline constexpr uint64_t kInsnPageFault = 12, kLoadPageFault = 13, kStorePageFault = 15;
inline constexpr uint64_t kInterrupt = 1ull << 63;
// Exceptions medeleg can delegate (all but ecall from M-mode).
inline constexpr uint64_t kDelegable = 0xB3FF;
}  // namespace vessel::rv::cause
