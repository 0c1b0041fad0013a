/* Zicsr/Zicntr: cycle, time, instret (and mcycle/minstret) are readable and
 * monotonic; time follows the CLINT mtime; mcounteren/scounteren gate
 * access from S- and U-mode. */
#include "test.h"

#define CHECK_ILLEGAL_TAKEN \
        la t0, trap_info; ld t1, TI_ARMED(t0); bnez t1, fail; \
        ld t1, TI_CAUSE(t0); li t2, CAUSE_ILLEGAL_INSTRUCTION; bne t1, t2, fail;

TEST_BEGIN
        /* 1-3: each counter increases over a loop */
        TEST_NUM(1)
        rdcycle s0
        li t3, 1000
1:      addi t3, t3, -1
        bnez t3, 1b
        rdcycle s1
        bgeu s0, s1, fail
        TEST_NUM(2)
        rdinstret s0
        li t3, 1000
2:      addi t3, t3, -1
        bnez t3, 2b
        rdinstret s1
        sub s2, s1, s0
        li t2, 2000
        bltu s2, t2, fail               /* at least the 2000 loop instructions */
        TEST_NUM(3)
        rdtime s0
        li t3, 200000
3:      addi t3, t3, -1
        bnez t3, 3b
        rdtime s1
        bgeu s0, s1, fail
        /* 4: many reads never go backwards */
        TEST_NUM(4)
        li t3, 200
        rdcycle s0
        rdinstret s2
        rdtime s4
4:      rdcycle s1
        rdinstret s3
        rdtime s5
        bltu s1, s0, fail
        bgeu s2, s3, fail               /* instret strictly increases */
        bltu s5, s4, fail
        mv s0, s1
        mv s2, s3
        mv s4, s5
        addi t3, t3, -1
        bnez t3, 4b
        /* 5: time lies between two reads of the CLINT mtime */
        TEST_NUM(5)
        li t4, CLINT_MTIME
        ld s0, 0(t4)
        rdtime s1
        ld s2, 0(t4)
        bltu s1, s0, fail
        bltu s2, s1, fail
        /* 6: mcycle / minstret alias cycle / instret */
        TEST_NUM(6)
        csrr s0, minstret
        rdinstret s1
        csrr s2, minstret
        bltu s1, s0, fail
        bltu s2, s1, fail
        csrr s0, mcycle
        rdcycle s1
        bltu s1, s0, fail
        /* 7: minstret is writable; counting continues from the new value */
        TEST_NUM(7)
        li t3, 0x100000000
        csrw minstret, t3
        rdinstret s0
        bltu s0, t3, fail
        sub s0, s0, t3
        li t2, 1000000
        bgeu s0, t2, fail
        /* 8: mcycle is writable */
        TEST_NUM(8)
        li t3, 0x200000000
        csrw mcycle, t3
        rdcycle s0
        bltu s0, t3, fail

        /* 9: S-mode may read cycle/time/instret when mcounteren allows */
        TEST_NUM(9)
        csrwi mcounteren, 7
        csrwi scounteren, 0
        MRET_TO(PRV_S, 10f)
10:     rdcycle s0
        rdtime s0
        rdinstret s0
        GOTO_M(11f)
11:
        /* 10-12: S-mode reads trap when the mcounteren bit is clear */
        TEST_NUM(10)
        csrwi mcounteren, 6             /* CY clear */
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 12f, PRV_M)
        MRET_TO(PRV_S, 13f)
13:     rdcycle s0
        j fail
12:     CHECK_ILLEGAL_TAKEN
        TEST_NUM(11)
        csrwi mcounteren, 5             /* TM clear */
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 14f, PRV_M)
        MRET_TO(PRV_S, 15f)
15:     rdtime s0
        j fail
14:     CHECK_ILLEGAL_TAKEN
        TEST_NUM(12)
        csrwi mcounteren, 3             /* IR clear */
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 16f, PRV_M)
        MRET_TO(PRV_S, 17f)
17:     rdinstret s0
        j fail
16:     CHECK_ILLEGAL_TAKEN

        /* 13: U-mode needs both mcounteren and scounteren */
        TEST_NUM(13)
        csrwi mcounteren, 7
        csrwi scounteren, 7
        MRET_TO(PRV_U, 20f)
20:     rdcycle s0
        rdtime s0
        rdinstret s0
        GOTO_M(21f)
21:     TEST_NUM(14)
        csrwi scounteren, 6             /* scounteren.CY clear */
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 22f, PRV_M)
        MRET_TO(PRV_U, 23f)
23:     rdcycle s0
        j fail
22:     CHECK_ILLEGAL_TAKEN
        TEST_NUM(15)
        csrwi scounteren, 7
        csrwi mcounteren, 6             /* mcounteren.CY clear */
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 24f, PRV_M)
        MRET_TO(PRV_U, 25f)
25:     rdcycle s0
        j fail
24:     CHECK_ILLEGAL_TAKEN
        /* 16: U-mode can never read the M-mode counters */
        TEST_NUM(16)
        csrwi mcounteren, 7
        TRAP_RESET
        EXPECT_TRAP_MODE(CAUSE_ILLEGAL_INSTRUCTION, 26f, PRV_M)
        MRET_TO(PRV_U, 27f)
27:     csrr s0, minstret
        j fail
26:     CHECK_ILLEGAL_TAKEN
        csrwi mcounteren, 7
        csrwi scounteren, 7
        TEST_PASS
