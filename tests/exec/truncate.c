// A file truncated under a live mapping: every access to a page the file
// no longer reaches is SIGBUS for the program (its handler siglongjmps
// out), whichever way it comes: a load, a store, a hot loop, and system
// calls given such a page fail with EFAULT (a copy the kernel makes, and
// copies vessel makes itself: a struct written back, a path read). Each
// kind of access is the first after the truncation on its own page, as
// vessel learns of the truncation only from the fault. Pages the file
// still reaches stay good, and growing the file back makes the others
// good again. Then one thread's system calls write into a page another
// thread keeps making read-only and writable again: each call succeeds
// or fails with EFAULT.
// Usage: truncate SCRATCH_FILE
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fault_probe.h"

enum { kPages = 8, kPage = 4096 };
static long sum_page(volatile uint8_t* p) {
  long sum = 0;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < kPage; ++i) sum += p[i];
  }
  return sum;
}

static volatile uint8_t* shared_page;
static atomic_int stop_flipping;

static void* flipper(void* arg) {
  (void)arg;
  while (!atomic_load(&stop_flipping)) {
    mprotect((void*)shared_page, kPage, PROT_READ);
    mprotect((void*)shared_page, kPage, PROT_READ | PROT_WRITE);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  catch_memory_faults();

  const int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, kPages * kPage) != 0) return 1;
  volatile uint8_t* p = mmap(NULL, kPages * kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return 1;
  for (int i = 0; i < kPages; ++i) memset((void*)(p + i * kPage), i + 1, kPage);
  strcpy((char*)(p + 2 * kPage), "/dev/null");
  long before = 0;
  for (int i = 0; i < kPages; ++i) before += sum_page(p + i * kPage);
  printf("sum of every page before: %ld\n", before);

  // Another process (here: this one, through the file) cuts the file to
  // one page.
  if (ftruncate(fd, kPage) != 0) return 1;
  errno = 0;
  long r = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void*)(p + 1 * kPage));
  printf("clock_gettime into page 1: %ld %s\n", r, strerror(errno));
  errno = 0;
  r = open((const char*)(p + 2 * kPage), O_RDONLY);
  printf("open of a path in page 2: %ld %s\n", r, strerror(errno));
  int pipefd[2];
  if (pipe(pipefd) != 0) return 1;
  errno = 0;
  r = write(pipefd[1], (const void*)(p + 3 * kPage), 10);
  printf("write(2) from page 3: %ld %s\n", r, strerror(errno));
  try_read("read of page 4", p + 4 * kPage + 100);
  try_write("write to page 5", p + 5 * kPage + 200, 9);
  printf("hot loop over page 6\n");
  if (PROBE_AT(p + 6 * kPage)) printf("  sum %ld, no signal\n", sum_page(p + 6 * kPage));
  try_read("read of page 4 again", p + 4 * kPage + 300);
  try_read("read of page 0, still in the file", p + 10);

  // Grown back: the cut pages read the file's new zeros.
  if (ftruncate(fd, kPages * kPage) != 0) return 1;
  try_read("read of page 4 after growing back", p + 4 * kPage + 100);
  r = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void*)(p + 1 * kPage));
  printf("clock_gettime into page 1 after growing back: %ld\n", r);
  munmap((void*)p, kPages * kPage);
  close(fd);
  unlink(argv[1]);

  // mprotect racing system calls that write into the page.
  shared_page = mmap(NULL, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (shared_page == MAP_FAILED) return 1;
  pthread_t t;
  if (pthread_create(&t, NULL, flipper, NULL) != 0) return 1;
  int odd = 0;
  char msg[64], drain[64];
  memset(msg, 'm', sizeof msg);
  for (int i = 0; i < 20000; ++i) {
    if (write(pipefd[1], msg, sizeof msg) != (ssize_t)sizeof msg) ++odd;
    errno = 0;
    const ssize_t n = read(pipefd[0], (void*)(shared_page + 128), sizeof msg);
    if (n < 0 && errno == EFAULT) {
      if (read(pipefd[0], drain, sizeof drain) != (ssize_t)sizeof drain) ++odd;
    } else if (n != (ssize_t)sizeof msg) {
      ++odd;
    }
    errno = 0;
    r = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void*)(shared_page + 256));
    if (r != 0 && errno != EFAULT) ++odd;
  }
  atomic_store(&stop_flipping, 1);
  pthread_join(t, NULL);
  printf("racing mprotect: every call succeeded or gave EFAULT: %d\n", odd == 0);
  return 0;
}
