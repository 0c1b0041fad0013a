// Exit statuses and deaths by signal pass through to the parent (a shell).
#include <signal.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "segv") == 0) *(volatile int*)8 = 1;
  if (argc > 1 && strcmp(argv[1], "ill") == 0) {
#if defined(__riscv)
    __asm__ volatile(".4byte 0");  // all zeros: an illegal instruction
#else
    __asm__ volatile("ud2");
#endif
  }
  if (argc > 1 && strcmp(argv[1], "abort") == 0) abort();
  return argc > 2 ? atoi(argv[2]) : 0;
}
