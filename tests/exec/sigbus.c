// A file mapping longer than its file: the rest of the file's last page
// reads as zeros, and a page wholly past the end of the file is a SIGBUS
// (BUS_ADRERR at the address) for reads and writes alike, which a handler
// catches (sigsetjmp/siglongjmp). A system call given such a buffer fails
// with EFAULT; a write the mapping's protection forbids is still SIGSEGV.
// Usage: sigbus SCRATCH_FILE
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

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 1;
  char data[100];
  memset(data, 'x', sizeof data);
  if (write(fd, data, sizeof data) != (ssize_t)sizeof data) return 1;

  catch_memory_faults();

  // One page of file, two pages of mapping.
  volatile uint8_t* p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return 1;
  printf("last byte of the file: %c, past it in its page: %d\n", p[99], p[200]);
  for (int i = 0; i < 3; ++i) try_read("read of the page past EOF", p + 4096 + 8 + i * 1000);
  try_write("write to it, read-only mapping", p + 4096 + 16, 7);
  int pipefd[2];
  if (pipe(pipefd) != 0) return 1;
  errno = 0;
  const ssize_t n = write(pipefd[1], (const void*)(p + 4096), 10);
  printf("write(2) from the page past EOF: %zd, EFAULT: %d\n", n, errno == EFAULT);
  // A loop over the page: the translator's hot path, not just the first access.
  static volatile long sum = 0;  // kept across the siglongjmp
  if (PROBE_AT(p + 4096)) {
    for (int i = 0; i < 100000; ++i) sum += p[i % 8192 < 4096 ? i % 4096 : 4096];
    printf("loop ended without a signal\n");
  }
  printf("sum before the signal: %ld\n", sum);
  munmap((void*)p, 8192);

  // Private and writable: writes past EOF are SIGBUS too.
  volatile uint8_t* q = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (q == MAP_FAILED) return 1;
  q[50] = 'y';
  printf("private copy: %c\n", q[50]);
  try_write("write past EOF, private writable mapping", q + 4096 + 100, 7);
  try_read("read past EOF, private writable mapping", q + 8191);
  munmap((void*)q, 8192);

  // A mapping that starts past the end of the file.
  volatile uint8_t* r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096);
  if (r == MAP_FAILED) return 1;
  try_read("read of a mapping wholly past EOF", r + 1);
  munmap((void*)r, 4096);
  close(fd);
  unlink(argv[1]);
  return 0;
}
