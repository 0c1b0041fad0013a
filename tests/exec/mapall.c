// Maps anonymous memory without touching it until mmap fails: the address
// space runs out (under vessel exec, the guest's 64 GiB; natively, the
// host process's 128 TiB), and that must be ENOMEM for the program, never
// the end of vessel. The chunk halves on each failure down to one page, so
// at the end not one page of address space is left. Then the program
// still works: the mappings it got are usable, and after it gives them
// back it can map again. The amount differs from the native run: its line
// starts with "amount:" for the test to set aside.
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { kMaxMaps = 1 << 18 };  // 128 TiB of 1 GiB chunks fits
static struct {
  char* at;
  size_t len;
} maps[kMaxMaps];

int main(void) {
  // stdout's buffer now, while there is address space for it.
  printf("mapping until mmap fails\n");
  size_t chunk = (size_t)1 << 30, total = 0;
  int n = 0, other_error = 0;
  while (chunk >= 4096 && n < kMaxMaps) {
    char* p = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      if (errno != ENOMEM) other_error = errno;
      chunk /= 2;
      continue;
    }
    maps[n].at = p;
    maps[n].len = chunk;
    ++n;
    total += chunk;
  }
  printf("stopped by ENOMEM, down to a single page: %d\n", chunk < 4096 && other_error == 0);
  if (other_error != 0) printf("other error: %s\n", strerror(other_error));
  printf("amount: %zu MiB in %d mappings\n", total >> 20, n);
  printf("more than 32 GiB: %d\n", total > ((size_t)32 << 30));
  // Every page is taken: one more page is ENOMEM too.
  errno = 0;
  void* one = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("one more page: %s\n", one == MAP_FAILED ? strerror(errno) : "mapped");

  // The first and last mappings work (a few pages touched, no more).
  strcpy(maps[0].at, "first");
  strcpy(maps[n - 1].at + maps[n - 1].len - 8, "last");
  printf("usable: %s %s\n", maps[0].at, maps[n - 1].at + maps[n - 1].len - 8);

  int bad = 0;
  for (int i = 0; i < n; ++i) bad += munmap(maps[i].at, maps[i].len) != 0;
  char* again = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("munmap failures: %d, mmap after: %d, reads zero: %d\n", bad, again != MAP_FAILED,
         again != MAP_FAILED && again[12345] == 0);
  return 0;
}
