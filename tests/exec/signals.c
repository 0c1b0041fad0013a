// Signals: a handler for kill/raise, masks and pending signals, SA_SIGINFO,
// and faults in the program's own code turned into SIGSEGV for it.
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static sigjmp_buf jump;
static void* fault_addr;

static void on_usr1(int sig) { got = sig; }
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
  return 0;
}
