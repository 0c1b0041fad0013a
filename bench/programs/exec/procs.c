/* vessel exec benchmark, the process-heavy side: N rounds of fork, a pipe
 * message from child to parent, and wait. Prints a checksum of what the
 * children sent, so every runner can be checked to have done the work. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? atoi(argv[1]) : 200;
  unsigned long sum = 0;
  for (int i = 0; i < rounds; ++i) {
    int p[2];
    if (pipe(p) != 0) return 1;
    const pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      close(p[0]);
      const int v = i * 7 + 1;
      if (write(p[1], &v, sizeof v) != sizeof v) _exit(1);
      _exit(0);
    }
    close(p[1]);
    int v = 0;
    if (read(p[0], &v, sizeof v) != sizeof v) return 1;
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    sum += (unsigned long)v + (unsigned long)WEXITSTATUS(status);
  }
  printf("procs: rounds=%d checksum=%lu\n", rounds, sum);
  return 0;
}
