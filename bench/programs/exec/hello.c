/* vessel exec benchmark, start-up: a dynamically linked hello (the dynamic
 * linker, libc.so.6 and their relocations are most of its run). */
#include <stdio.h>

int main(void) {
  puts("hello");
  return 0;
}
