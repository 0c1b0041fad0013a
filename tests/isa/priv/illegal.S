/* Privileged: illegal instructions raise cause 2 with mtval = the
 * instruction bits (16-bit ones zero-extended); 0 is also accepted.
 * Unimplemented opcodes, the all-zero instruction, reserved compressed
 * encodings, privileged instructions from lower modes, sfence.vma and satp
 * with mstatus.TVM in S-mode. */
#include "test.h"

#define CHECK_ILLEGAL_BITS(bits) \
        la t0, trap_info; ld t1, TI_ARMED(t0); bnez t1, fail; \
        ld t1, TI_CAUSE(t0); li t2, CAUSE_ILLEGAL_INSTRUCTION; bne t1, t2, fail; \
        ld t1, TI_TVAL(t0); beqz t1, 99f; li t2, bits; bne t1, t2, fail; 99: ;

/* a 32-bit word / 16-bit half that must be illegal in M-mode */
#define ILLEGAL32(n, bits) \
        TEST_NUM(n); TRAP_RESET; EXPECT_TRAP_SKIP(CAUSE_ILLEGAL_INSTRUCTION); \
        .word bits; CHECK_ILLEGAL_BITS(bits)
#define ILLEGAL16(n, bits) \
        TEST_NUM(n); TRAP_RESET; EXPECT_TRAP_SKIP(CAUSE_ILLEGAL_INSTRUCTION); \
        .half bits; CHECK_ILLEGAL_BITS(bits)

/* `insn` executed in `mode` must be illegal; continue in M */
#define ILLEGAL_IN(n, mode, bits, insn...) \
        TEST_NUM(n); TRAP_RESET; EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 97f, PRV_M); \
        MRET_TO(mode, 96f); \
        96: insn; j fail; \
        97: CHECK_ILLEGAL_BITS(bits); LOAD_TRAP_MPP(t1); li t2, mode; bne t1, t2, fail;

TEST_BEGIN
        ILLEGAL16(1, 0x0000)            /* all-zero parcel */
        ILLEGAL32(2, 0xffffffff)
        ILLEGAL32(3, 0x0000000b)        /* custom-0 */
        ILLEGAL32(4, 0x0000002b)        /* custom-1 */
        ILLEGAL32(5, 0x00007057)        /* OP-V (vsetvli): no V extension */
        ILLEGAL32(6, 0xfe000033)        /* OP with funct7 = 0x7f */
        ILLEGAL32(7, 0x00007003)        /* LOAD funct3 = 7 */
        ILLEGAL32(8, 0x00007023)        /* STORE funct3 = 7 */
        ILLEGAL32(9, 0x00002063)        /* BRANCH funct3 = 2 */
        ILLEGAL32(10, 0x00001067)       /* JALR funct3 = 1 */
        ILLEGAL32(11, 0xc0001073)       /* unimp = csrrw x0, cycle, x0 */
        ILLEGAL32(12, 0x0200103b)       /* OP-32 funct7 = 1, funct3 = 1 (no mulhw) */
        ILLEGAL32(13, 0xf800202f)       /* AMO funct5 = 0x1f */
        ILLEGAL32(14, 0x20005013)       /* srli with imm[11:6] = 0x08 */
        ILLEGAL16(15, 0x0004)           /* c.addi4spn with nzuimm = 0 */
        ILLEGAL16(16, 0x4002)           /* c.lwsp rd = x0 */
        ILLEGAL16(17, 0x6081)           /* c.lui x1, 0 */
        ILLEGAL16(18, 0x6101)           /* c.addi16sp 0 */
        ILLEGAL16(19, 0x8002)           /* c.jr x0 */
        ILLEGAL16(20, 0x6002)           /* c.ldsp rd = x0 */
        ILLEGAL32(21, 0x30208073)       /* mret with rs1 != 0 */

        /* privileged instructions from lower modes */
        ILLEGAL_IN(30, PRV_U, 0x12000073, sfence.vma)
        ILLEGAL_IN(31, PRV_U, 0x30200073, mret)
        ILLEGAL_IN(32, PRV_U, 0x10200073, sret)
        ILLEGAL_IN(33, PRV_S, 0x30200073, mret)
        ILLEGAL_IN(34, PRV_U, 0x18002e73, csrr t3, satp)
        /* S-mode with TVM = 1: sfence.vma and satp are illegal */
        li t0, MSTATUS_TVM
        csrs mstatus, t0
        ILLEGAL_IN(35, PRV_S, 0x12000073, sfence.vma)
        ILLEGAL_IN(36, PRV_S, 0x18002e73, csrr t3, satp)
        ILLEGAL_IN(37, PRV_S, 0x18001073, csrw satp, zero)
        li t0, MSTATUS_TVM
        csrc mstatus, t0
        /* TVM = 0: both work in S-mode */
        TEST_NUM(38)
        TRAP_RESET
        MRET_TO(PRV_S, 1f)
1:      sfence.vma
        csrr t3, satp
        csrw satp, zero
        GOTO_M(2f)
2:      la t0, trap_info
        ld t1, TI_COUNT(t0)
        bnez t1, fail
        /* M-mode ignores TVM */
        TEST_NUM(39)
        li t0, MSTATUS_TVM
        csrs mstatus, t0
        sfence.vma
        csrr t3, satp
        csrc mstatus, t0
        la t0, trap_info
        ld t1, TI_COUNT(t0)
        bnez t1, fail
        TEST_PASS
