// Memory: malloc (brk and mmap), mmap of anonymous memory and of a file
// (private and shared), mprotect, mremap, munmap.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char** argv) {
  char* small = malloc(100);
  char* big = malloc(10 << 20);
  memset(small, 'a', 100);
  memset(big, 'b', 10 << 20);
  long sum = 0;
  for (int i = 0; i < (10 << 20); i += 4096) sum += big[i];
  printf("malloc sum %ld\n", sum);
  free(big);
  free(small);
  void* p = sbrk(0);
  printf("sbrk grows %d\n", sbrk(65536) == p && sbrk(0) == (char*)p + 65536);

  char* m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("anon zero %d\n", m[0] == 0 && m[3 * 4096 - 1] == 0);
  strcpy(m, "anonymous");
  printf("mprotect %d\n", mprotect(m, 4096, PROT_READ));
  printf("still reads %s\n", m);
  mprotect(m, 4096, PROT_READ | PROT_WRITE);  // mremap wants one mapping
  m = mremap(m, 3 * 4096, 64 * 4096, MREMAP_MAYMOVE);
  printf("mremap keeps %s\n", m);
  m[63 * 4096] = 1;
  printf("munmap %d\n", munmap(m, 64 * 4096));

  const char* path = argv[1];
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  char page[8192];
  for (int i = 0; i < 8192; ++i) page[i] = 'A' + i % 26;
  write(fd, page, sizeof page);
  char* f = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 4096);
  printf("file private at 4096: %.5s (%d)\n", f, f[0] == page[4096]);
  munmap(f, 8192);
  char* s = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  memcpy(s + 10, "SHARED", 6);
  msync(s, 8192, MS_SYNC);
  char back[6];
  pread(fd, back, 6, 10);
  printf("shared write reached the file: %.6s\n", back);
  munmap(s, 8192);
  char* p2 = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  printf("private copy sees file: %.4s\n", p2 + 10);
  close(fd);
  unlink(path);
  return 0;
}
