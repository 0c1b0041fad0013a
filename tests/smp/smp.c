/* Harness of the multi-hart litmus programs: see smp.h. */
#include "smp.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vessel_rt.h"

#define SMP_EXIT_STUCK 200        /* a hart waited past the deadline */
#define SMP_EXIT_BAD_HARTS 201    /* no usable hart count in the device tree */
#define SMP_DEADLINE_S 60         /* litmus runs take seconds; this is for hangs */
#define SMP_SPIN_CHECK_EVERY 4096 /* spins between two mtime reads */

/* Written by hart 0 before it releases the others (smp_start.S waits on
 * smp_release with acquire ordering). In .data, not .bss: the other harts
 * read smp_release while hart 0 is still clearing .bss. */
__attribute__((section(".data"))) volatile uint32_t smp_release;
static unsigned smp_nharts;
static uint64_t smp_deadline;

static volatile uint32_t barrier_count SMP_ALIGNED;
static volatile uint32_t barrier_generation SMP_ALIGNED;
static volatile uint32_t harts_done SMP_ALIGNED;
static uint32_t stuck_reporter;

static int checks_run;
static int first_failed_check;

__attribute__((noreturn)) static void smp_park(void) {
  for (;;) __asm__ volatile("wfi");
}

static void put_decimal(uint64_t v) {
  char buf[24];
  int i = sizeof buf;
  buf[--i] = 0;
  do buf[--i] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  vrt_puts(&buf[i]);
}

void smp_spin_check(unsigned hart, const char* what, unsigned* spins) {
  if (++*spins % SMP_SPIN_CHECK_EVERY != 0 || vrt_mtime() < smp_deadline) return;
  /* The first hart to give up reports and stops the machine, the others
   * stay quiet; raw UART output, as hart 0 may be inside printf. */
  if (__atomic_exchange_n(&stuck_reporter, 1, __ATOMIC_ACQUIRE) != 0) smp_park();
  vrt_puts("\nlitmus ");
  vrt_puts(litmus_name);
  vrt_puts(": FAIL: hart ");
  put_decimal(hart);
  vrt_puts(" stuck in ");
  vrt_puts(what);
  vrt_puts("\n");
  vrt_exit(SMP_EXIT_STUCK);
}

void smp_barrier(unsigned hart, unsigned nharts) {
  const uint32_t generation = __atomic_load_n(&barrier_generation, __ATOMIC_ACQUIRE);
  if (__atomic_add_fetch(&barrier_count, 1, __ATOMIC_ACQ_REL) == nharts) {
    /* The last to arrive: nobody touches the count until the generation moves. */
    barrier_count = 0;
    __atomic_store_n(&barrier_generation, generation + 1, __ATOMIC_RELEASE);
    return;
  }
  SMP_SPIN_UNTIL(hart, "a barrier",
                 __atomic_load_n(&barrier_generation, __ATOMIC_ACQUIRE) != generation);
}

static uint32_t be32(const uint8_t* p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The number of /cpus/cpu@N nodes in the flattened device tree at dtb (vessel
 * and QEMU both describe every hart there, ids 0..N-1), 0 if it is not one. */
static unsigned fdt_count_harts(uint64_t dtb) {
  const uint8_t* fdt = (const uint8_t*)(uintptr_t)dtb;
  if (fdt == NULL || be32(fdt) != 0xd00dfeedu) return 0;
  const uint8_t* p = fdt + be32(fdt + 8);  /* off_dt_struct */
  const uint8_t* end = p + be32(fdt + 36); /* size_dt_struct */
  int depth = 0, in_cpus = 0;
  unsigned harts = 0;
  while (p + 4 <= end) {
    const uint32_t token = be32(p);
    p += 4;
    switch (token) {
      case 1: { /* FDT_BEGIN_NODE: the name, NUL-terminated, padded to 4 */
        const char* name = (const char*)p;
        p += (strlen(name) + 4) & ~(size_t)3;
        ++depth;
        if (depth == 2 && strcmp(name, "cpus") == 0) in_cpus = 1;
        if (depth == 3 && in_cpus && strncmp(name, "cpu@", 4) == 0) ++harts;
        break;
      }
      case 2: /* FDT_END_NODE */
        if (depth == 2) in_cpus = 0;
        --depth;
        break;
      case 3: /* FDT_PROP: length, name offset, value padded to 4 */
        p += 8 + ((be32(p) + 3) & ~(uint32_t)3);
        break;
      case 4: break;        /* FDT_NOP */
      case 9: return harts; /* FDT_END */
      default: return 0;
    }
  }
  return harts;
}

static void run_hart(unsigned hart) {
  smp_barrier(hart, smp_nharts); /* start together: the harts' loops overlap */
  litmus_hart(hart, smp_nharts);
  __atomic_fetch_add(&harts_done, 1, __ATOMIC_RELEASE);
}

/* Called by smp_start.S on every hart but 0, once hart 0 released it. */
__attribute__((noreturn)) void smp_secondary_main(uint64_t hart) {
  if (hart < smp_nharts) run_hart((unsigned)hart);
  smp_park();
}

void litmus_expect_eq(const char* what, uint64_t got, uint64_t want) {
  ++checks_run;
  if (got == want) return;
  printf("litmus %s: FAIL check %d (%s): got %" PRIu64 " (0x%" PRIx64 "), want %" PRIu64 "\n",
         litmus_name, checks_run, what, got, got, want);
  if (first_failed_check == 0) first_failed_check = checks_run;
}

void litmus_expect_zero(const char* what, uint64_t count) {
  ++checks_run;
  if (count == 0) return;
  printf("litmus %s: FAIL check %d (%s): %" PRIu64 " times\n", litmus_name, checks_run, what,
         count);
  if (first_failed_check == 0) first_failed_check = checks_run;
}

int main(void) {
  const unsigned nharts = fdt_count_harts(vrt_boot_dtb);
  if (nharts == 0 || nharts > SMP_MAX_HARTS) {
    printf("litmus %s: FAIL: %u harts in the device tree, want 1 to %d\n", litmus_name, nharts,
           SMP_MAX_HARTS);
    return SMP_EXIT_BAD_HARTS;
  }
  smp_nharts = nharts;
  smp_deadline = vrt_mtime() + (uint64_t)SMP_DEADLINE_S * VRT_MTIME_HZ;
  litmus_setup(nharts);
  __atomic_store_n(&smp_release, 1, __ATOMIC_RELEASE);
  run_hart(0);
  SMP_SPIN_UNTIL(0, "waiting for the other harts to finish",
                 __atomic_load_n(&harts_done, __ATOMIC_ACQUIRE) == nharts);
  litmus_check(nharts);
  return first_failed_check;
}
