// A file mapping longer than its file, then the file grows: pages that
// were past the end (SIGBUS) now read the file's new bytes, as on Linux,
// through the mapping (plain loads, a hot loop, stores seen by pread) and
// as a system call's buffer. A page still past the new end stays SIGBUS.
// Shared and private mappings; growth by ftruncate and by write.
// Usage: filegrow SCRATCH_FILE
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fault_probe.h"

// Sums bytes of [p, p + len) in a loop hot enough to be translated.
static long hot_sum(volatile uint8_t* p, int len) {
  long sum = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < len; ++i) sum += p[i];
  }
  return sum;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  catch_memory_faults();

  const int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 1;
  if (write(fd, "start", 5) != 5) return 1;
  // One page of file, four of mapping.
  volatile uint8_t* p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  volatile uint8_t* q = mmap(NULL, 4 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED || q == MAP_FAILED) return 1;
  try_read("shared, page 1 before growing", p + 4096 + 10);
  try_read("private, page 1 before growing", q + 4096 + 10);
  try_read("shared, page 2 before growing", p + 2 * 4096);

  // Grows to three pages by ftruncate: pages 1 and 2 read zeros, page 3
  // is still past the end.
  if (ftruncate(fd, 3 * 4096) != 0) return 1;
  try_read("shared, page 1 after ftruncate", p + 4096 + 10);
  try_read("private, page 1 after ftruncate", q + 4096 + 10);
  try_read("shared, page 3 after ftruncate", p + 3 * 4096 + 1);
  p[2 * 4096 + 5] = 'S';  // a store through the mapping lands in the file
  char c = 0;
  const ssize_t got = pread(fd, &c, 1, 2 * 4096 + 5);
  printf("pread of the stored byte: %zd %c\n", got, c);
  printf("private sees it: %c\n", q[2 * 4096 + 5]);

  // Grows to four pages by write: page 3 reads the written bytes, in a
  // hot loop too, and serves as a system call's buffer.
  char data[4096];
  memset(data, 3, sizeof data);
  if (pwrite(fd, data, sizeof data, 3 * 4096) != (ssize_t)sizeof data) return 1;
  try_read("shared, page 3 after write", p + 3 * 4096 + 1);
  try_read("private, page 3 after write", q + 3 * 4096 + 100);
  printf("hot sum of page 3: %ld\n", hot_sum(p + 3 * 4096, 4096));
  int pipefd[2];
  if (pipe(pipefd) != 0) return 1;
  errno = 0;
  printf("write(2) from page 3: %zd\n", write(pipefd[1], (const void*)(q + 3 * 4096), 100));
  printf("read(2) into page 3: %zd\n", read(pipefd[0], (void*)(p + 3 * 4096 + 200), 100));

  munmap((void*)p, 4 * 4096);
  munmap((void*)q, 4 * 4096);
  close(fd);
  unlink(argv[1]);
  return 0;
}
