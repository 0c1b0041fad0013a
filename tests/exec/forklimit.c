// Forks until fork fails, as a fork bomb would, but with every child
// waiting on a pipe: under a host limit on processes (RLIMIT_NPROC) the
// failure must be EAGAIN for the program, never the end of vessel. Then
// it closes the pipe, reaps every child, and fork works again. Run under
// prlimit --nproc by a user other than root (root is exempt); a cap on the
// number of children keeps it bounded should no limit apply. The count
// differs from the native run: its line starts with "amount:".
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kCap = 500 };

int main(void) {
  int gate[2];
  if (pipe(gate) != 0) return 1;
  printf("forking until fork fails\n");
  fflush(stdout);  // the children must not print it again
  int n = 0, err = 0;
  for (; n < kCap; ++n) {
    const pid_t pid = fork();
    if (pid < 0) {
      err = errno;
      break;
    }
    if (pid == 0) {
      close(gate[1]);
      char c;
      _exit(read(gate[0], &c, 1) == 0 ? 0 : 1);  // 0 at end of file
    }
  }
  close(gate[1]);
  int reaped = 0, clean = 0, status;
  while (wait(&status) > 0) {
    ++reaped;
    clean += WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  printf("fork failed: %s\n", n == kCap ? "no, no limit applied" : strerror(err));
  printf("amount: %d children\n", n);
  printf("at least one child: %d, all reaped: %d, all exited 0: %d\n", n > 0, reaped == n,
         clean == n);
  const pid_t pid = fork();
  if (pid == 0) _exit(7);
  printf("fork after reaping: %d, child status %d\n", pid > 0,
         pid > 0 && waitpid(pid, &status, 0) == pid ? WEXITSTATUS(status) : -1);
  return 0;
}
