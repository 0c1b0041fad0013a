// Code and data on one page, used by two threads at once: one thread calls
// a function on the page in a loop while another has system calls write
// data into the rest of the page (read(2) from a pipe, clock_gettime).
// Under vessel's translator the page is write-protected on the host while
// it holds translated code and made writable again when it is written, so
// the two threads keep fighting over its protection: every call and every
// system call must still succeed. The machine code is the host's own when
// built natively, so the output is the same either way.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "emit_function.h"

typedef long (*fn_t)(void);

enum { kRounds = 3000 };
static uint8_t* page;
static atomic_int writer_done;

static void* writer(void* arg) {
  (void)arg;
  int fds[2];
  if (pipe(fds) != 0) return (void*)1;
  long bad = 0;
  char msg[64];
  for (int i = 0; i < kRounds; ++i) {
    memset(msg, 'a' + i % 26, sizeof msg);
    if (write(fds[1], msg, sizeof msg) != (ssize_t)sizeof msg) ++bad;
    if (read(fds[0], page + 2048, sizeof msg) != (ssize_t)sizeof msg ||
        memcmp(page + 2048, msg, sizeof msg) != 0) {
      ++bad;
    }
    if (clock_gettime(CLOCK_MONOTONIC, (struct timespec*)(page + 3072)) != 0) ++bad;
  }
  atomic_store(&writer_done, 1);
  return (void*)bad;
}

int main(void) {
  page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return 1;
  emit(page, 42);
  const fn_t f = (fn_t)page;
  pthread_t w;
  if (pthread_create(&w, NULL, writer, NULL) != 0) return 1;
  long calls = 0, sum = 0;
  while (!atomic_load(&writer_done) || calls < 1000) {
    // As a guest JIT would before running code it may have rewritten: the
    // engine then looks at the page again (and write-protects it again).
    __builtin___clear_cache((char*)page, (char*)page + 16);
    sum += f();
    ++calls;
  }
  void* bad = NULL;
  pthread_join(w, &bad);
  printf("calls all returned 42: %d\n", sum == calls * 42);
  printf("system calls that failed or wrote wrong data: %ld\n", (long)bad);
  return 0;
}
