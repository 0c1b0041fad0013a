// Probes of a program's own memory accesses that may fault, for the
// tests/exec programs about file mappings (sigbus.c, filegrow.c,
// truncate.c): each probe prints its name, then what the access did, or the
// signal with its si_code and whether si_addr was the probed address. The
// output is compared with the same program run natively.
#pragma once

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static sigjmp_buf probe_back;
static volatile uint8_t* probe_addr;

static inline void probe_on_fault(int sig, siginfo_t* info, void* uc) {
  (void)uc;
  printf("  %s code %d at the address: %d\n", sig == SIGBUS ? "SIGBUS" : "SIGSEGV", info->si_code,
         (volatile uint8_t*)info->si_addr == probe_addr);
  siglongjmp(probe_back, 1);
}

// SIGBUS and SIGSEGV end the probe that raised them.
static inline void catch_memory_faults(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = probe_on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &sa, NULL);
  sigaction(SIGSEGV, &sa, NULL);
}

// Expands to a probe of `body` at address `at`: `if (PROBE_AT(at)) body;`.
#define PROBE_AT(at) (probe_addr = (at), sigsetjmp(probe_back, 1) == 0)

static inline void try_read(const char* what, volatile uint8_t* at) {
  printf("%s\n", what);
  if (PROBE_AT(at)) printf("  read %d, no signal\n", *at);
}

static inline void try_write(const char* what, volatile uint8_t* at, uint8_t value) {
  printf("%s\n", what);
  if (PROBE_AT(at)) {
    *at = value;
    printf("  wrote, no signal\n");
  }
}
