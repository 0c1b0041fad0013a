#!/usr/bin/env bash
# vessel exec: C programs of our own (tests/exec), built for riscv64 with
# Debian's cross gcc (static and dynamic, through the libc6-riscv64-cross
# sysroot) and natively with gcc, run under vessel exec with both engines;
# each run's output must equal the native program's. Also: exit statuses and
# deaths by signal, --strace, and errors for bad input.
set -u
VESSEL=${1:?usage: test_exec.sh path/to/vessel}
SRC=$(cd "$(dirname "$0")/../exec" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

command -v riscv64-linux-gnu-gcc >/dev/null || fail "riscv64-linux-gnu-gcc missing (scripts/setup)"
[ -e /usr/riscv64-linux-gnu/lib/ld-linux-riscv64-lp64d.so.1 ] ||
  fail "the riscv64 sysroot is missing (libc6-riscv64-cross, scripts/setup)"

PROGRAMS="hello files memory procs signals net timeefault crash threads smc vfork sigbus smcrace filegrow truncate"
for p in $PROGRAMS; do
  gcc -O1 -pthread -o "$WORK/$p.native" "$SRC/$p.c" || fail "native build of $p"
  riscv64-linux-gnu-gcc -O1 -pthread -static -o "$WORK/$p.static" "$SRC/$p.c" ||
    fail "static build of $p"
  riscv64-linux-gnu-gcc -O1 -pthread -o "$WORK/$p.dynamic" "$SRC/$p.c" || fail "dynamic build of $p"
done

# compare PROGRAM ARGS...: the native output (x86_64 read as riscv64) is
# what every vessel run must print, with the same exit status.
compare() {
  local p=$1
  shift
  mkdir -p "$WORK/scratch"
  VESSEL_EXEC_TEST=yes timeout 60 "$WORK/$p.native" "$@" </dev/null >"$WORK/expected" 2>&1
  local want=$?
  sed -i 's/x86_64/riscv64/g' "$WORK/expected"
  for variant in static dynamic; do
    for engine in interp jit; do
      VESSEL_EXEC_TEST=yes timeout 60 "$VESSEL" exec --engine $engine "$WORK/$p.$variant" "$@" \
        </dev/null >"$WORK/got" 2>&1
      local got=$?
      if ! diff -u "$WORK/expected" "$WORK/got" >"$WORK/diff"; then
        cat "$WORK/diff" >&2
        fail "$p ($variant, $engine): output differs from the native program's"
      fi
      [ "$got" -eq "$want" ] || fail "$p ($variant, $engine): exit status $got, native $want"
    done
  done
  echo "ok: $p $*"
}

compare hello one two 5
compare files "$WORK/scratch"
compare memory "$WORK/scratch/mapped"
compare procs
compare signals
compare net
compare timeefault
compare crash exit 42
compare crash segv
compare crash ill
compare crash abort
compare threads
compare smc
compare vfork
compare sigbus "$WORK/scratch/sigbus"
compare smcrace
compare filegrow "$WORK/scratch/filegrow"
compare truncate "$WORK/scratch/truncate"

# A real program: the default guest's busybox (static riscv64), when the
# guest is built: its shell runs a pipeline of its own applets (execve of a
# RISC-V program through vessel again), md5sum agrees with the host's.
INITRD=${VESSEL_CACHE:-$HOME/.cache/vessel}/initramfs.cpio.gz
# (The cache is shared: another build may be rewriting it right now.)
if [ -f "$INITRD" ] && (cd "$WORK" && zcat "$INITRD" | cpio -idm --quiet bin/busybox) &&
  [ -x "$WORK/bin/busybox" ]; then
  BB=$WORK/bin/busybox
  got=$("$VESSEL" exec "$BB" sh -c "echo \$((6 * 7)); echo abc | $BB sed s/b/X/; $BB uname -m")
  [ "$got" = "$(printf '42\naXc\nriscv64')" ] || fail "busybox sh printed: $got"
  [ "$("$VESSEL" exec "$BB" md5sum "$BB" | cut -d' ' -f1)" = "$(md5sum "$BB" | cut -d' ' -f1)" ] ||
    fail "busybox md5sum disagrees with the host's"
  echo "ok: busybox"
else
  echo "skip: busybox (no readable default guest in $INITRD)"
fi

# The death by signal reaches the shell as the native one does.
"$VESSEL" exec "$WORK/crash.static" segv 2>/dev/null
[ $? -eq 139 ] || fail "a SIGSEGV death should give status 139"

# --strace prints each call as strace does, on stderr.
"$VESSEL" exec --strace "$WORK/hello.dynamic" >/dev/null 2>"$WORK/strace"
grep -Eq '^openat\(AT_FDCWD, "[^"]*/libc.so.6", 0x80000.*\) = [0-9]+$' "$WORK/strace" ||
  fail "--strace: no openat of libc.so.6 in: $(head -5 "$WORK/strace")"
grep -q '^write(1, 0x[0-9a-f]*, 41) = 41$' "$WORK/strace" || fail "--strace: no write(1, ...) = 41"
grep -q '^exit_group(0) = ?$' "$WORK/strace" || fail "--strace: no exit_group(0) = ?"
grep -q '^+++ exited with 0 +++$' "$WORK/strace" || fail "--strace: no '+++ exited with 0 +++'"
"$VESSEL" exec --strace "$WORK/crash.static" segv >/dev/null 2>"$WORK/strace"
grep -q '^--- SIGSEGV {si_signo=SIGSEGV, si_code=1, si_addr=0x8} ---$' "$WORK/strace" ||
  fail "--strace: no SIGSEGV line in: $(tail -3 "$WORK/strace")"
grep -q '^+++ killed by SIGSEGV +++$' "$WORK/strace" || fail "--strace: no '+++ killed by SIGSEGV +++'"

# Bad input: one error line, non-zero status.
# expect_error PATTERN ARGS...: vessel ARGS fails with one line matching PATTERN.
expect_error() {
  local pattern=$1 out
  shift
  out=$("$VESSEL" "$@" 2>&1 >/dev/null)
  local status=$?
  [ "$status" -ne 0 ] || fail "vessel $* should fail"
  [ "$(printf '%s\n' "$out" | grep -c .)" -eq 1 ] || fail "vessel $*: not one error line: $out"
  printf '%s\n' "$out" | grep -q -- "$pattern" || fail "vessel $*: unexpected error: $out"
}
expect_error "No such file" exec "$WORK/missing"
cp /etc/passwd "$WORK/text" && chmod +x "$WORK/text"
expect_error "not an ELF file" exec "$WORK/text"
expect_error "not a RISC-V ELF file" exec "$WORK/hello.native"
expect_error "not an engine" exec --engine fast "$WORK/hello.static"
expect_error "ld-linux-riscv64-lp64d.so.1" exec --sysroot "$WORK" "$WORK/hello.dynamic"
echo "all vessel exec checks passed"
