// Remote TLB shootdown check, run inside the Linux guest by test_smp_shootdown.sh.
//
// One writer thread, pinned to CPU 0, and a reader thread pinned to each other
// CPU share a page. Each round the writer maps a fresh page, fills it with a
// pattern of that round and publishes it; every reader reads it (so its hart
// holds the translation) and keeps reading while the writer takes the page
// away in one of four ways:
//   0  munmap                              -> the page must fault
//   1  mprotect(PROT_NONE)                 -> the page must fault
//   2  mmap(MAP_FIXED) a new page over it  -> the new pattern (the kernel may
//                                             hand back the same frame)
//   3  mremap a page filled beforehand     -> the new pattern (a different
//      onto it                                frame)
// then publishes "gone" with a release store. Linux returns from those calls
// only after every CPU that may hold the old translation flushed it (a remote
// sfence.vma through SBI, or IPIs under OpenSBI), so a reader that sees
// "gone" (acquire) and reads the address again must fault or see the new
// pattern. The old pattern means a hart kept a stale translation: the program
// prints a FAIL line and exits 1. "shootdown: N rounds ok" otherwise.
//
// Build: riscv64-linux-gnu-gcc -static -O2 -pthread shootdown.c -o shootdown
// Usage: shootdown [ROUNDS]   (default 2000)
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096
#define MAX_READERS 15

enum { MAPPED = 1, GONE = 2 };

static atomic_int state;  // round * 4 + MAPPED or GONE; negative: stop
static _Atomic(uint64_t *) page;
static atomic_int ready;  // readers that read the page this round
static atomic_int done;   // readers that checked the page after GONE
static atomic_int failed;

static __thread sigjmp_buf probe_jump;
static __thread volatile int probing;

static uint64_t old_pattern(long round) { return 0x5A5A000000000000ull | (uint64_t)round << 8 | 0x11; }
static uint64_t new_pattern(long round) { return 0xA5A5000000000000ull | (uint64_t)round << 8 | 0x22; }

static void on_segv(int sig) {
  if (!probing) {
    signal(sig, SIG_DFL);
    raise(sig);
  }
  siglongjmp(probe_jump, 1);
}

// Reads the word at p; returns 0 if the read faulted.
static int probe(volatile uint64_t *p, uint64_t *value) {
  probing = 1;
  if (sigsetjmp(probe_jump, 0)) {
    probing = 0;
    return 0;
  }
  *value = *p;
  probing = 0;
  return 1;
}

static void fill(uint64_t *p, uint64_t pattern) {
  for (size_t i = 0; i < PAGE / sizeof *p; i++) p[i] = pattern;
}

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (err != 0) {
    fprintf(stderr, "shootdown: cannot pin to CPU %d: %s\n", cpu, strerror(err));
    exit(2);
  }
}

// Waiting spins a while, then sleeps on a futex: harts outnumber host CPUs
// on a busy host, and a spinning hart would starve the one it waits for.
#define SPINS 2000

static void futex_wait(atomic_int *word, int value) {
  syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void futex_wake(atomic_int *word) { syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0); }

static void publish(atomic_int *word, int value) {
  atomic_store_explicit(word, value, memory_order_release);
  futex_wake(word);
}

static void count(atomic_int *word) {
  atomic_fetch_add_explicit(word, 1, memory_order_release);
  futex_wake(word);
}

// Waits until *word is want (or, for the state, negative: the writer stopped).
static int wait_for(atomic_int *word, int want) {
  int v;
  for (int i = 0;; i++) {
    v = atomic_load_explicit(word, memory_order_acquire);
    if (v == want || v < 0) return v;
    if (i >= SPINS) futex_wait(word, v);
  }
}

// Waits until *word is at least want.
static void wait_count(atomic_int *word, int want) {
  int v;
  for (int i = 0; (v = atomic_load_explicit(word, memory_order_acquire)) < want; i++) {
    if (i >= SPINS) futex_wait(word, v);
  }
}

static void report(const char *what, long round, int cpu, uint64_t got) {
  // Only the first failure prints: the others race with it.
  if (atomic_fetch_add(&failed, 1) == 0) {
    printf("shootdown: FAIL round %ld (mode %ld), CPU %d: %s 0x%016llx (old 0x%016llx, new 0x%016llx)\n",
           round, round % 4, cpu, what, (unsigned long long)got, (unsigned long long)old_pattern(round),
           (unsigned long long)new_pattern(round));
    fflush(stdout);
  }
}

static long rounds;

static void *reader(void *arg) {
  int cpu = (int)(intptr_t)arg;
  pin(cpu);
  for (long r = 0; r < rounds; r++) {
    if (wait_for(&state, r * 4 + MAPPED) < 0) return NULL;
    volatile uint64_t *p = atomic_load_explicit(&page, memory_order_relaxed);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
      if (!probe(p + (i * 61) % (PAGE / 8), &v) || v != old_pattern(r)) {
        report("the fresh page read", r, cpu, v);
        break;
      }
    }
    count(&ready);
    // Keep using the translation while the writer takes the page away (for a
    // while; then sleep): the old pattern, the new one or a fault are all
    // right until it says it is done.
    int s;
    for (int i = 0; (s = atomic_load_explicit(&state, memory_order_acquire)) == r * 4 + MAPPED; i++) {
      if (i < SPINS) {
        // (Mode 2 maps a zeroed page first, then fills it.)
        if (probe(p, &v) && v != old_pattern(r) && v != new_pattern(r) && !(v == 0 && r % 4 == 2))
          report("a changing page read", r, cpu, v);
      } else {
        futex_wait(&state, s);
      }
    }
    if (s != r * 4 + GONE) return NULL;
    // The page is gone: the old translation must be too, on this hart.
    if (probe(p, &v)) {
      if (v == old_pattern(r))
        report("STALE TLB: read the old pattern after the writer's change returned", r, cpu, v);
      else if (v != new_pattern(r) || r % 4 < 2)
        report("read an unexpected value after the change", r, cpu, v);
    }
    count(&done);
  }
  return NULL;
}

int main(int argc, char **argv) {
  rounds = argc > 1 ? atol(argv[1]) : 2000;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 2) {
    printf("shootdown: needs 2 or more CPUs, has %ld\n", cpus);
    return 2;
  }
  int readers = cpus - 1 > MAX_READERS ? MAX_READERS : (int)cpus - 1;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_segv;
  sa.sa_flags = SA_NODEFER;  // siglongjmp leaves the handler without sigreturn
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);

  atomic_store(&state, 0);  // no round yet
  pthread_t threads[MAX_READERS];
  for (int i = 0; i < readers; i++) {
    if (pthread_create(&threads[i], NULL, reader, (void *)(intptr_t)(i + 1)) != 0) {
      printf("shootdown: pthread_create failed\n");
      return 2;
    }
  }
  pin(0);

  int faults = 0;
  for (long r = 0; r < rounds && atomic_load(&failed) == 0; r++) {
    uint64_t *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      perror("shootdown: mmap");
      return 2;
    }
    fill(p, old_pattern(r));
    // Mode 3 moves a page filled beforehand over p: a frame of its own.
    uint64_t *spare = NULL;
    if (r % 4 == 3) {
      spare = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (spare == MAP_FAILED) {
        perror("shootdown: mmap");
        return 2;
      }
      fill(spare, new_pattern(r));
    }
    atomic_store_explicit(&page, p, memory_order_relaxed);
    atomic_store_explicit(&ready, 0, memory_order_relaxed);
    atomic_store_explicit(&done, 0, memory_order_relaxed);
    publish(&state, r * 4 + MAPPED);
    wait_count(&ready, readers);

    int err = 0;
    switch (r % 4) {
      case 0:
        err = munmap(p, PAGE);
        break;
      case 1:
        err = mprotect(p, PAGE, PROT_NONE);
        break;
      case 2: {
        uint64_t *q = mmap(p, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (q != p) err = -1;
        else fill(p, new_pattern(r));
        break;
      }
      case 3:
        if (mremap(spare, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, p) != p) err = -1;
        break;
    }
    if (err != 0) {
      perror("shootdown: taking the page away");
      publish(&state, -2);
      return 2;
    }
    publish(&state, r * 4 + GONE);
    wait_count(&done, readers);
    if (r % 4 != 0) munmap(p, PAGE);
    faults += r % 4 < 2;
  }
  if (atomic_load(&failed) != 0) {
    publish(&state, -2);
    return 1;
  }
  for (int i = 0; i < readers; i++) pthread_join(threads[i], NULL);
  printf("shootdown: %ld rounds ok (%d readers, %d unmapped or protected)\n", rounds, readers, faults);
  return 0;
}
