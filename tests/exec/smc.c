// Self-modifying code, as a guest JIT makes it: a function written into an
// executable mapping, called often enough to be translated, then rewritten
// in place (the translation must go) and called again; also a write to a
// page of code made read-only by mprotect, caught by a SIGSEGV handler that
// makes it writable again (the guest's fault still reaches the guest).
// The machine code is the host's own when built natively, so the output is
// the same either way.
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "emit_function.h"

typedef long (*fn_t)(void);

static sigjmp_buf back;
static uint8_t* page;

static void on_segv(int sig, siginfo_t* info, void* uc) {
  (void)sig;
  (void)uc;
  printf("SIGSEGV at the code page: %d\n", (uint8_t*)info->si_addr == page + 64);
  mprotect(page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
  siglongjmp(back, 1);
}

int main(void) {
  page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return 1;
  fn_t f = (fn_t)page;
  for (long round = 1; round <= 4; ++round) {
    emit(page, round * 10);
    long sum = 0;
    for (int i = 0; i < 1000; ++i) sum += f();
    printf("round %ld: %ld\n", round, sum);
  }
  // A second function on the same page, written while the first runs hot.
  fn_t g = (fn_t)(page + 64);
  emit(page + 64, 7);
  long sum = 0;
  for (int i = 0; i < 1000; ++i) sum += f() + g();
  printf("two functions: %ld\n", sum);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  mprotect(page, 4096, PROT_READ | PROT_EXEC);
  if (sigsetjmp(back, 1) == 0) {
    emit(page + 64, 9);  // faults: the handler makes the page writable
    printf("no fault\n");
    return 1;
  }
  emit(page + 64, 9);
  sum = 0;
  for (int i = 0; i < 1000; ++i) sum += g();
  printf("after the fault: %ld\n", sum);
  return 0;
}
