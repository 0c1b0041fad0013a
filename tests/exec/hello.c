// The smallest check: output, arguments, the environment, the exit status.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  printf("hello from %s\n", sizeof(void*) == 8 ? "a 64-bit program" : "?");
  for (int i = 1; i < argc; ++i) printf("arg %d: %s\n", i, argv[i]);
  const char* v = getenv("VESSEL_EXEC_TEST");
  printf("env: %s\n", v ? v : "(unset)");
  return argc > 1 ? atoi(argv[argc - 1]) : 0;
}
