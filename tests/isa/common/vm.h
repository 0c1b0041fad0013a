/* vm.h -- page-table helpers for the paging tests (include after test.h).
 * Tables are 4 KiB-aligned arrays in .bss/.data; entries are written at
 * run time from labels or constants.  Clobbers t0, t1, t2. */
#ifndef VESSEL_ISA_VM_H
#define VESSEL_ISA_VM_H

#define PTE_AD    (PTE_A | PTE_D)
#define PTE_RW    (PTE_V | PTE_R | PTE_W | PTE_AD)
#define PTE_RWX   (PTE_V | PTE_R | PTE_W | PTE_X | PTE_AD)

/* table[index] = leaf/pointer to the page at label `target` with `flags` */
#define SET_PTE(table, index, target, flags) \
        la t0, table; la t1, target; srli t1, t1, 12; slli t1, t1, 10; \
        li t2, flags; or t1, t1, t2; sd t1, (index) * 8(t0);

/* table[index] = leaf for physical address `pa` (a constant) */
#define SET_PTE_PA(table, index, pa, flags) \
        la t0, table; li t1, (((pa) >> 12) << 10) | (flags); sd t1, (index) * 8(t0);

/* table[index] = raw value */
#define SET_PTE_RAW(table, index, value) \
        la t0, table; li t1, value; sd t1, (index) * 8(t0);

/* satp = mode | root PPN; then sfence.vma */
#define SET_SATP(mode, root) \
        la t0, root; srli t0, t0, 12; li t1, mode; or t0, t0, t1; csrw satp, t0; sfence.vma;

#define SATP_OFF csrw satp, zero; sfence.vma;

/* armed-trap check: cause and tval (a register) */
#define CHECK_TRAP_REG(cause, tvalreg) \
        la t0, trap_info; ld t1, TI_ARMED(t0); bnez t1, fail; \
        ld t1, TI_CAUSE(t0); li t2, cause; bne t1, t2, fail; \
        ld t1, TI_TVAL(t0); bne t1, tvalreg, fail;

#endif
