// vfork: the parent goes on only once the child has exited or exec'd.
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long ms_since(const struct timespec* t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(void) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = vfork();
  if (pid == 0) {
    const struct timespec nap = {0, 300 * 1000 * 1000};
    nanosleep(&nap, NULL);
    _exit(7);
  }
  printf("parent waited for the child's exit: %d\n", ms_since(&t0) >= 250);
  int status = 0;
  waitpid(pid, &status, 0);
  printf("child status %d\n", WEXITSTATUS(status));

  // The child execs a program that sleeps: the parent goes on at the exec,
  // not at the end.
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid = vfork();
  if (pid == 0) {
    execl("/bin/sleep", "sleep", "2", (char*)NULL);
    _exit(127);
  }
  printf("parent went on at the exec: %d\n", ms_since(&t0) < 1500);
  waitpid(pid, &status, 0);
  printf("exec'd child status %d\n", WEXITSTATUS(status));
  return 0;
}
