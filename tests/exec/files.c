// Files and directories: the *at calls, stat (riscv64's struct stat differs
// from x86-64's), lseek, getdents64 through readdir, rename, links.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

int main(int argc, char** argv) {
  const char* dir = argv[1];
  if (chdir(dir) != 0) { perror("chdir"); return 1; }
  int fd = open("a.txt", O_CREAT | O_WRONLY | O_TRUNC, 0640);
  if (fd < 0) { perror("open"); return 1; }
  const char text[] = "line one\nline two\n";
  printf("write %zd\n", write(fd, text, sizeof text - 1));
  close(fd);
  struct stat st;
  if (stat("a.txt", &st) != 0) { perror("stat"); return 1; }
  printf("size %lld mode %o nlink %lu regular %d\n", (long long)st.st_size, st.st_mode & 0777,
         (unsigned long)st.st_nlink, S_ISREG(st.st_mode));
  fd = open("a.txt", O_RDONLY);
  fstat(fd, &st);
  printf("fstat size %lld blksize>0 %d\n", (long long)st.st_size, st.st_blksize > 0);
  char buf[64] = {0};
  lseek(fd, 5, SEEK_SET);
  printf("read %zd: %.3s\n", read(fd, buf, 3), buf);
  printf("pread %zd: %.4s\n", pread(fd, buf, 4, 9), buf);
  close(fd);
  FILE* f = fopen("a.txt", "r");
  while (fgets(buf, sizeof buf, f)) printf("got: %s", buf);
  fclose(f);
  mkdir("sub", 0755);
  link("a.txt", "b.txt");
  symlink("a.txt", "c.txt");
  rename("b.txt", "sub/b.txt");
  char target[64] = {0};
  printf("readlink %zd %s\n", readlink("c.txt", target, sizeof target - 1), target);
  stat("a.txt", &st);
  printf("nlink after link %lu\n", (unsigned long)st.st_nlink);
  lstat("c.txt", &st);
  printf("lstat symlink %d\n", S_ISLNK(st.st_mode));
  DIR* d = opendir(".");
  char* names[16];
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) && n < 16) names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, n, sizeof names[0], cmp);
  for (int i = 0; i < n; ++i) printf("entry %s\n", names[i]);
  int missing = open("nope", O_RDONLY);
  printf("open missing: %d %s\n", missing, strerror(errno));
  printf("access a.txt R_OK %d\n", access("a.txt", R_OK));
  unlink("c.txt");
  unlink("sub/b.txt");
  rmdir("sub");
  unlink("a.txt");
  printf("isatty(1) %d\n", isatty(1));
  return 0;
}
