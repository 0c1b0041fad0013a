// vio: guest-side I/O benchmark for bench/blk.sh and bench/net.sh, a static
// RISC-V Linux program timed with clock_gettime(CLOCK_MONOTONIC) inside the
// guest.
//
//   vio blk DEVICE MIB OPS SEED
//       Sequential write of MIB MiB to DEVICE (O_DIRECT, 1 MiB requests, then
//       fdatasync), sequential read of the same range (O_DIRECT, 1 MiB), then
//       OPS random 4 KiB reads (O_DIRECT, queue depth 1) at 4 KiB-aligned
//       offsets in that range. Every 4 KiB block written is a fixed random
//       block stamped with its number and SEED; the sequential read compares
//       every block byte for byte (outside the timed reads), the random reads
//       check the stamp. Prints
//         vio: blk seq-write <MB/s> seq-read <MB/s> rand-read <IOPS> verified <blocks>
//
//   vio send HOST PORT MIB SEED
//       TCP to HOST:PORT: sends the line "send <bytes> <seed>\n", then MIB MiB
//       of a 64 KiB pattern derived from SEED (xorshift64, see pattern()),
//       shuts the write side and waits for the sink's verdict line
//       "ok <bytes>" (the sink compares every byte). Timed from connect to
//       the verdict. Prints
//         vio: send <MB/s> bytes <n>
//
//   vio recv HOST PORT MIB SEED
//       TCP to HOST:PORT: sends "recv <bytes> <seed>\n" and reads until EOF;
//       the source sends MIB MiB of the same pattern. Timed from connect to
//       EOF. Checks the total, the first MiB byte for byte and 4 KiB of every
//       further MiB. Prints
//         vio: recv <MB/s> bytes <n>
//
// MB/s are 10^6 bytes per second. Exit status 0 on success, 1 on any error
// (with a "vio: error: ..." line).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096u
#define CHUNK (1u << 20)
#define PATTERN (64u << 10)

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("vio: error: ", stdout);
  vprintf(fmt, ap);
  fputc('\n', stdout);
  va_end(ap);
  fflush(stdout);
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t parse_u64(const char *s, const char *what) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || *s == '\0' || *end != '\0') die("bad %s: %s", what, s);
  return v;
}

// xorshift64; the Python side of bench/net.sh generates the same words.
static uint64_t xs_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

// Fills buf (len a multiple of 8) with little-endian xorshift64 words from seed.
static void pattern(unsigned char *buf, size_t len, uint64_t seed) {
  uint64_t s = seed ? seed : 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < len; i += 8) {
    uint64_t w = xs_next(&s);
    for (int b = 0; b < 8; b++) buf[i + b] = (unsigned char)(w >> (8 * b));
  }
}

static void *aligned(size_t len) {
  void *p;
  if (posix_memalign(&p, BLOCK, len)) die("out of memory (%zu bytes)", len);
  return p;
}

// ---- block -------------------------------------------------------------------

// The stamp: the first 16 bytes of a block are its number and the seed.
static void stamp(unsigned char *blk, uint64_t n, uint64_t seed) {
  memcpy(blk, &n, 8);
  memcpy(blk + 8, &seed, 8);
}
static int stamp_ok(const unsigned char *blk, uint64_t n, uint64_t seed) {
  uint64_t a, b;
  memcpy(&a, blk, 8);
  memcpy(&b, blk + 8, 8);
  return a == n && b == seed;
}

static int do_blk(const char *dev, uint64_t mib, uint64_t ops, uint64_t seed) {
  const uint64_t bytes = mib << 20, blocks = bytes / BLOCK;
  int fd = open(dev, O_RDWR | O_DIRECT);
  if (fd < 0) die("open %s (O_RDWR|O_DIRECT): %s", dev, strerror(errno));
  off_t devsize = lseek(fd, 0, SEEK_END);
  if (devsize < 0) die("lseek %s: %s", dev, strerror(errno));
  if ((uint64_t)devsize < bytes)
    die("%s has %lld bytes, fewer than the %llu MiB to test", dev, (long long)devsize,
        (unsigned long long)mib);

  unsigned char *tmpl = aligned(BLOCK);  // every block: this, stamped
  unsigned char *buf = aligned(CHUNK);
  pattern(tmpl, BLOCK, seed ^ 0x5eed);

  // Sequential write: only the pwrite calls and the final fdatasync are timed
  // (filling the buffer is guest CPU work, the same under both VMMs).
  double t_write = 0;
  for (uint64_t off = 0; off < bytes; off += CHUNK) {
    for (uint32_t i = 0; i < CHUNK; i += BLOCK) {
      memcpy(buf + i, tmpl, BLOCK);
      stamp(buf + i, (off + i) / BLOCK, seed);
    }
    double t0 = now();
    ssize_t n = pwrite(fd, buf, CHUNK, (off_t)off);
    t_write += now() - t0;
    if (n != (ssize_t)CHUNK)
      die("pwrite at %llu: %s", (unsigned long long)off, n < 0 ? strerror(errno) : "short write");
  }
  double t0 = now();
  if (fdatasync(fd)) die("fdatasync: %s", strerror(errno));
  t_write += now() - t0;

  // Sequential read: the pread calls are timed, the comparison is not.
  double t_read = 0;
  uint64_t verified = 0;
  for (uint64_t off = 0; off < bytes; off += CHUNK) {
    memset(buf, 0, CHUNK);
    t0 = now();
    ssize_t n = pread(fd, buf, CHUNK, (off_t)off);
    t_read += now() - t0;
    if (n != (ssize_t)CHUNK)
      die("pread at %llu: %s", (unsigned long long)off, n < 0 ? strerror(errno) : "short read");
    for (uint32_t i = 0; i < CHUNK; i += BLOCK) {
      uint64_t bn = (off + i) / BLOCK;
      if (!stamp_ok(buf + i, bn, seed) || memcmp(buf + i + 16, tmpl + 16, BLOCK - 16) != 0)
        die("block %llu read back differs from what was written", (unsigned long long)bn);
      verified++;
    }
  }

  // Random 4 KiB reads, queue depth 1: the whole loop is timed (the stamp
  // check is a few instructions).
  uint64_t s = seed * 2654435761u + 1;
  t0 = now();
  for (uint64_t k = 0; k < ops; k++) {
    uint64_t bn = xs_next(&s) % blocks;
    ssize_t n = pread(fd, buf, BLOCK, (off_t)(bn * BLOCK));
    if (n != (ssize_t)BLOCK)
      die("random pread of block %llu: %s", (unsigned long long)bn,
          n < 0 ? strerror(errno) : "short read");
    if (!stamp_ok(buf, bn, seed))
      die("random read of block %llu returned another block's data", (unsigned long long)bn);
  }
  double t_rand = now() - t0;
  close(fd);

  if (t_write <= 0 || t_read <= 0 || t_rand <= 0) die("the guest clock did not advance");
  printf("vio: blk seq-write %.2f seq-read %.2f rand-read %.1f verified %llu\n",
         (double)bytes / t_write / 1e6, (double)bytes / t_read / 1e6,
         (double)ops / t_rand, (unsigned long long)verified);
  return 0;
}

// ---- network -----------------------------------------------------------------

static int connect_to(const char *host, uint64_t port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (port == 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
    die("bad address %s:%llu", host, (unsigned long long)port);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa))
    die("connect to %s:%llu: %s", host, (unsigned long long)port, strerror(errno));
  return fd;
}

static void send_all(int fd, const void *p, size_t len) {
  const char *c = p;
  while (len) {
    ssize_t n = send(fd, c, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("send: %s", strerror(errno));
    }
    c += n;
    len -= (size_t)n;
  }
}

static int do_send(const char *host, uint64_t port, uint64_t mib, uint64_t seed) {
  const uint64_t bytes = mib << 20;
  unsigned char *pat = aligned(PATTERN);
  pattern(pat, PATTERN, seed);
  char hdr[96];
  int hl = snprintf(hdr, sizeof hdr, "send %llu %llu\n", (unsigned long long)bytes,
                    (unsigned long long)seed);

  double t0 = now();
  int fd = connect_to(host, port);
  send_all(fd, hdr, (size_t)hl);
  for (uint64_t off = 0; off < bytes; off += PATTERN) send_all(fd, pat, PATTERN);
  if (shutdown(fd, SHUT_WR)) die("shutdown: %s", strerror(errno));
  char reply[128];
  size_t got = 0;
  for (;;) {
    ssize_t n = recv(fd, reply + got, sizeof reply - 1 - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("recv verdict: %s", strerror(errno));
    if (n == 0) break;
    got += (size_t)n;
    if (got == sizeof reply - 1) break;
  }
  double t = now() - t0;
  close(fd);
  reply[got] = '\0';
  reply[strcspn(reply, "\n")] = '\0';
  unsigned long long n_ok;
  if (sscanf(reply, "ok %llu", &n_ok) != 1 || n_ok != bytes)
    die("the host sink did not confirm %llu bytes: '%s'", (unsigned long long)bytes, reply);
  if (t <= 0) die("the guest clock did not advance");
  printf("vio: send %.2f bytes %llu\n", (double)bytes / t / 1e6, (unsigned long long)bytes);
  return 0;
}

static int do_recv(const char *host, uint64_t port, uint64_t mib, uint64_t seed) {
  const uint64_t bytes = mib << 20;
  unsigned char *pat = aligned(PATTERN);
  pattern(pat, PATTERN, seed);
  unsigned char *buf = aligned(PATTERN);
  char hdr[96];
  int hl = snprintf(hdr, sizeof hdr, "recv %llu %llu\n", (unsigned long long)bytes,
                    (unsigned long long)seed);

  double t0 = now();
  int fd = connect_to(host, port);
  send_all(fd, hdr, (size_t)hl);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = recv(fd, buf, PATTERN, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("recv after %llu bytes: %s", (unsigned long long)total, strerror(errno));
    if (n == 0) break;
    // Check the first MiB entirely and the first 4 KiB of every further MiB.
    for (uint64_t i = 0; i < (uint64_t)n;) {
      uint64_t pos = total + i, in_mib = pos % CHUNK;
      uint64_t limit = pos < CHUNK ? CHUNK : BLOCK;
      uint64_t len = (uint64_t)n - i;
      if (in_mib < limit) {
        if (len > limit - in_mib) len = limit - in_mib;
        uint64_t po = pos % PATTERN;
        if (len > PATTERN - po) len = PATTERN - po;
        if (memcmp(buf + i, pat + po, len) != 0)
          die("received data differs from the pattern near byte %llu", (unsigned long long)pos);
      } else if (len > CHUNK - in_mib) {
        len = CHUNK - in_mib;
      }
      i += len;
    }
    total += (uint64_t)n;
  }
  double t = now() - t0;
  close(fd);
  if (total != bytes)
    die("received %llu bytes, expected %llu", (unsigned long long)total, (unsigned long long)bytes);
  if (t <= 0) die("the guest clock did not advance");
  printf("vio: recv %.2f bytes %llu\n", (double)bytes / t / 1e6, (unsigned long long)bytes);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 6 && strcmp(argv[1], "blk") == 0)
    return do_blk(argv[2], parse_u64(argv[3], "MiB"), parse_u64(argv[4], "OPS"),
                  parse_u64(argv[5], "SEED"));
  if (argc == 6 && strcmp(argv[1], "send") == 0)
    return do_send(argv[2], parse_u64(argv[3], "port"), parse_u64(argv[4], "MiB"),
                   parse_u64(argv[5], "SEED"));
  if (argc == 6 && strcmp(argv[1], "recv") == 0)
    return do_recv(argv[2], parse_u64(argv[3], "port"), parse_u64(argv[4], "MiB"),
                   parse_u64(argv[5], "SEED"));
  fprintf(stderr,
          "usage: vio blk DEVICE MIB OPS SEED\n"
          "       vio send HOST PORT MIB SEED\n"
          "       vio recv HOST PORT MIB SEED\n");
  return 2;
}
