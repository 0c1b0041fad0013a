// Time (clocks move forward, sleeps last) and bad pointers: every system
// call given one fails with EFAULT and touches nothing.
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void check(const char* what, long r) {
  printf("%s: %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

int main(void) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct timespec nap = {0, 20 * 1000 * 1000};
  nanosleep(&nap, NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
  printf("slept at least 20 ms: %d\n", ms >= 20);
  struct timeval tv;
  gettimeofday(&tv, NULL);
  printf("realtime sane: %d\n", tv.tv_sec > 1600000000 && time(NULL) >= tv.tv_sec);
  unsigned char r[16] = {0};
  printf("getrandom %zd\n", getrandom(r, sizeof r, 0));

  char* ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  check("write from unmapped", syscall(SYS_write, 1, (void*)0x1000, 10));
  int p[2];
  pipe(p);
  write(p[1], "data", 4);
  check("read into read-only", syscall(SYS_read, p[0], ro, 10));
  check("read into unmapped", syscall(SYS_read, p[0], (void*)0x3000, 10));
  check("data still there", read(p[0], (char[8]){0}, 8));
  check("open bad path", syscall(SYS_openat, AT_FDCWD, (void*)0x1234, O_RDONLY));
  check("fstat to unmapped", syscall(SYS_fstat, 1, (void*)0x2000));
  check("uname to read-only", syscall(SYS_uname, ro));
  check("clock_gettime to kernel", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void*)-4096L));
  check("getrandom huge", syscall(SYS_getrandom, ro, 1L << 40, 0));
  int fds[2];
  check("pipe2 to read-only", syscall(SYS_pipe2, ro, 0));
  printf("read-only page untouched: %d\n", ro[0] == 0);
  // TCGETS writes the kernel's 36-byte struct termios, no more: right
  // before an inaccessible page it must succeed (a terminal: a pty).
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  grantpt(master);
  unlockpt(master);
  int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  char* two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mprotect(two + 4096, 4096, PROT_NONE);
  check("TCGETS into the last 36 bytes of a page", syscall(SYS_ioctl, slave, TCGETS, two + 4096 - 36));
  check("TIOCGWINSZ", syscall(SYS_ioctl, slave, TIOCGWINSZ, two + 4096 - 8));
  check("TCGETS on a pipe", syscall(SYS_ioctl, p[0], TCGETS, two));
  struct utsname u;
  uname(&u);
  printf("machine %s\n", u.machine);
  (void)fds;
  return 0;
}
