/* Self-checking helpers for the C ISA tests (tests/isa/c).
 *
 * Every CHECK* records one check; failures print the location and the values.
 * main() ends with `return check_done("name");`: prints a summary line and
 * returns 0 if everything passed, 1 otherwise.
 *
 * OPQ(x) hides a value from the optimiser (forces a memory round trip) so
 * that operations are executed by the guest, not folded at compile time.
 */
#ifndef VESSEL_ISA_C_CHECK_H
#define VESSEL_ISA_C_CHECK_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define OPQ(x)                           \
  ({                                     \
    __auto_type opq_v_ = (x);            \
    __asm__ volatile("" : "+m"(opq_v_)); \
    opq_v_;                              \
  })

static int check_count_;
static int check_failures_;

static inline uint64_t f64_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  return u;
}
static inline uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
static inline double f64_from_bits(uint64_t u) {
  double d;
  memcpy(&d, &u, 8);
  return d;
}
static inline float f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static inline void check_fail_head_(const char* file, int line) {
  check_failures_++;
  printf("FAIL %s:%d: ", file, line);
}

static inline void check_true_(int ok, const char* expr, const char* file, int line) {
  check_count_++;
  if (!ok) {
    check_fail_head_(file, line);
    printf("%s\n", expr);
  }
}

static inline void check_u64_(uint64_t got, uint64_t want, const char* expr, const char* file,
                              int line) {
  check_count_++;
  if (got != want) {
    check_fail_head_(file, line);
    printf("%s: got 0x%016" PRIx64 " (%" PRId64 "), want 0x%016" PRIx64 " (%" PRId64 ")\n", expr,
           got, (int64_t)got, want, (int64_t)want);
  }
}

static inline void check_str_(const char* got, const char* want, const char* expr, const char* file,
                              int line) {
  check_count_++;
  if (strcmp(got, want) != 0) {
    check_fail_head_(file, line);
    printf("%s: got \"%s\", want \"%s\"\n", expr, got, want);
  }
}

#define CHECK(cond) check_true_(!!(cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ(got, want) check_u64_((uint64_t)(got), (uint64_t)(want), #got, __FILE__, __LINE__)
#define CHECK_STR(got, want) check_str_((got), (want), #got, __FILE__, __LINE__)
/* Bit-exact floating-point checks against an IEEE encoding. */
#define CHECK_F64(got, bits) check_u64_(f64_bits(got), (uint64_t)(bits), #got, __FILE__, __LINE__)
#define CHECK_F32(got, bits) check_u64_(f32_bits(got), (uint32_t)(bits), #got, __FILE__, __LINE__)

static inline int check_done(const char* name) {
  if (check_failures_) {
    printf("%s: FAILED %d of %d checks\n", name, check_failures_, check_count_);
    return 1;
  }
  printf("%s: PASS (%d checks)\n", name, check_count_);
  return 0;
}

#endif
