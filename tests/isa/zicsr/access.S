/* Zicsr: illegal CSR accesses raise illegal-instruction (cause 2) with
 * mtval = the instruction bits (0 also accepted): writes to read-only CSRs
 * (even with rd = x0 or a zero value), unimplemented CSRs, CSRs of a higher
 * privilege level; reads with rs1 = x0 of read-only CSRs are legal. */
#include "test.h"

/* the trap at label `insn` was an illegal instruction with a sane mtval */
#define CHECK_ILLEGAL(insn) \
        la t0, trap_info; ld t1, TI_ARMED(t0); bnez t1, fail; \
        ld t1, TI_CAUSE(t0); li t2, CAUSE_ILLEGAL_INSTRUCTION; bne t1, t2, fail; \
        ld t1, TI_TVAL(t0); beqz t1, 99f; la t2, insn; lwu t2, 0(t2); bne t1, t2, fail; \
        99: ;

/* run `code` at label `insn` in M-mode, expecting an illegal instruction */
#define ILLEGAL_M(n, code...) \
        TEST_NUM(n); TRAP_RESET; EXPECT_TRAP_SKIP(CAUSE_ILLEGAL_INSTRUCTION); \
        .option push; .option norvc; 98: code; .option pop; CHECK_ILLEGAL(98b)

/* run `code` in privilege `mode`, expecting an illegal instruction,
   then continue in M-mode */
#define ILLEGAL_IN(n, mode, code...) \
        TEST_NUM(n); TRAP_RESET; EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 97f, PRV_M); \
        MRET_TO(mode, 96f); \
        .option push; .option norvc; 96: code; .option pop; j fail; \
        97: CHECK_ILLEGAL(96b); LOAD_TRAP_MPP(t1); li t2, mode; bne t1, t2, fail;

/* run `code` in privilege `mode`; it must not trap; back in M-mode */
#define LEGAL_IN(n, mode, code...) \
        TEST_NUM(n); TRAP_RESET; MRET_TO(mode, 95f); \
        95: code; GOTO_M(94f); 94: ;

TEST_BEGIN
        /* writes to read-only CSRs (csr[11:10] == 3) */
        ILLEGAL_M(1, csrw mhartid, zero)
        ILLEGAL_M(2, csrrw x0, mvendorid, zero)
        ILLEGAL_M(3, csrrwi x0, marchid, 0)
        ILLEGAL_M(4, csrw cycle, zero)
        ILLEGAL_M(5, csrwi instret, 1)
        li t3, 1
        ILLEGAL_M(6, csrrs t4, time, t3)
        ILLEGAL_M(7, csrrc t4, mimpid, t3)
        ILLEGAL_M(8, csrrsi t4, mhartid, 1)
        /* reads of read-only CSRs are legal, including csrrs/csrrc with x0
           and the immediate forms with uimm = 0 */
        TEST_NUM(9)
        TRAP_RESET
        csrrs t4, mhartid, x0
        csrrc t4, mvendorid, x0
        csrrsi t4, marchid, 0
        csrrci t4, mimpid, 0
        csrr t4, cycle
        csrr t4, time
        csrr t4, instret
        la t0, trap_info
        ld t1, TI_COUNT(t0)
        bnez t1, fail
        /* unimplemented CSR numbers */
        ILLEGAL_M(10, csrr t4, 0x8ff)
        ILLEGAL_M(11, csrw 0x7ff, zero)
        ILLEGAL_M(12, csrr t4, 0x5ff)

        /* S-mode: M-level CSRs are inaccessible, S-level ones accessible */
        ILLEGAL_IN(13, PRV_S, csrr t4, mscratch)
        ILLEGAL_IN(14, PRV_S, csrw mstatus, zero)
        ILLEGAL_IN(15, PRV_S, csrr t4, mhartid)
        ILLEGAL_IN(16, PRV_S, csrr t4, misa)
        ILLEGAL_IN(17, PRV_S, csrw mtvec, zero)
        LEGAL_IN(18, PRV_S, csrr t4, sstatus; li t5, 0x77; csrw sscratch, t5; csrr t6, sscratch)
        TEST_NUM(18)
        CHECK_EQ(t6, 0x77)
        /* U-mode: S- and M-level CSRs are inaccessible */
        ILLEGAL_IN(19, PRV_U, csrr t4, sscratch)
        ILLEGAL_IN(20, PRV_U, csrr t4, sstatus)
        ILLEGAL_IN(21, PRV_U, csrr t4, mstatus)
        ILLEGAL_IN(22, PRV_U, csrw stvec, zero)
        ILLEGAL_IN(23, PRV_U, csrr t4, satp)
        /* U-mode: the FP CSRs are accessible (FS != Off) */
        LEGAL_IN(24, PRV_U, csrr t4, fcsr; csrwi fflags, 1; csrr t6, fflags; csrwi fflags, 0)
        TEST_NUM(24)
        CHECK_EQ(t6, 1)
        TEST_PASS
