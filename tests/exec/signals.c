// Signals: a handler for kill/raise, masks and pending signals, SA_SIGINFO,
// and faults in the program's own code turned into SIGSEGV for it.
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static sigjmp_buf jump;
static void* fault_addr;

static void on_usr1(int sig) { got = sig; }
static char altstack[64 * 1024];
static volatile int on_alt;
static void on_usr2(int sig) {
  char local;
  on_alt = &local >= altstack && &local < altstack + sizeof altstack;
}
static volatile int ticks;
static void on_alarm(int sig) { ++ticks; }
static void on_segv(int sig, siginfo_t* info, void* uc) {
  fault_addr = info->si_addr;
  siglongjmp(jump, 1);
}

int main(void) {
  signal(SIGUSR1, on_usr1);
  raise(SIGUSR1);
  printf("raise: handler saw %d\n", got);
  got = 0;
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, &old);
  kill(getpid(), SIGUSR1);
  sigset_t pending;
  sigpending(&pending);
  printf("blocked: handler saw %d, pending %d\n", got, sigismember(&pending, SIGUSR1));
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("unblocked: handler saw %d\n", got);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  volatile int* bad = (int*)0x10;
  if (sigsetjmp(jump, 1) == 0) {
    *bad = 1;
    printf("no fault?\n");
  } else {
    printf("SIGSEGV caught at %p\n", fault_addr);
  }
  if (sigsetjmp(jump, 1) == 0) {
    printf("read %d\n", *(volatile int*)0x20);
  } else {
    printf("SIGSEGV caught again at %p\n", fault_addr);
  }
  signal(SIGUSR1, SIG_IGN);
  raise(SIGUSR1);
  printf("ignored SIGUSR1\n");
  alarm(1);
  signal(SIGALRM, on_usr1);
  pause();
  printf("alarm: handler saw %d\n", got);

  // A handler on the alternate stack (SA_ONSTACK).
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr2;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR2, &sa, NULL);
  raise(SIGUSR2);
  printf("handler ran on the alternate stack: %d\n", on_alt);

  // SA_RESTART: a read interrupted by a timer signal goes on.
  int p[2];
  pipe(p);
  pid_t child = fork();
  if (child == 0) {
    usleep(300 * 1000);
    write(p[1], "late", 4);
    _exit(0);
  }
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval every = {{0, 50 * 1000}, {0, 50 * 1000}};
  setitimer(ITIMER_REAL, &every, NULL);
  char buf[8] = {0};
  ssize_t n = read(p[0], buf, 4);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  waitpid(child, NULL, 0);
  printf("restarted read %zd %s, interrupted by ticks: %d\n", n, buf, ticks > 0);
  return 0;
}
