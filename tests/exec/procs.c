// Processes: fork, pipes, dup2, execve (of this same program, so a RISC-V
// program execs through vessel again; and of a host shell via system()),
// wait4 statuses for exits and signals.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    printf("exec'd child says %s\n", argv[argc - 1]);
    return 7;
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  int p[2];
  if (pipe(p) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    dprintf(p[1], "through the pipe");
    _exit(3);
  }
  close(p[1]);
  char buf[64] = {0};
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  int status;
  waitpid(pid, &status, 0);
  printf("parent read %zd: %s; child exited %d\n", n, buf, WEXITSTATUS(status));

  pid = fork();
  if (pid == 0) {
    execl("/proc/self/exe", argv[0], "child", "hello", (char*)NULL);
    _exit(99);
  }
  waitpid(pid, &status, 0);
  printf("exec'd child exited %d\n", WEXITSTATUS(status));

  pid = fork();
  if (pid == 0) {
    int q[2];
    pipe(q);
    dup2(q[1], 1);
    printf("to myself\n");
    fflush(stdout);
    char b[32] = {0};
    read(q[0], b, sizeof b - 1);
    dprintf(2, "%s", "");
    kill(getpid(), SIGTERM);
    _exit(0);
  }
  waitpid(pid, &status, 0);
  printf("killed by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : -1);

  // A "#!" script whose interpreter is this program (so, under vessel, a
  // RISC-V interpreter the host kernel cannot start).
  char self[4096], script[] = "/tmp/vessel-exec-script-XXXXXX";
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  self[len > 0 ? len : 0] = 0;
  int sfd = mkstemp(script);
  dprintf(sfd, "#!%s child\n", self);
  close(sfd);
  chmod(script, 0755);
  pid = fork();
  if (pid == 0) {
    execl(script, script, "from-a-script", (char*)NULL);
    _exit(98);
  }
  waitpid(pid, &status, 0);
  unlink(script);
  printf("script child exited %d\n", WEXITSTATUS(status));

  printf("system: ");
  int r = system("echo from the host shell");
  printf("system returned %d\n", WEXITSTATUS(r));
  printf("getppid matches %d\n", getppid() > 1);
  return 0;
}
