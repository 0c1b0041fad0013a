# Helpers for the boot tests. Each test script sources this, runs vessel and
# checks what a user would check; any failed check exits non-zero with a line
# saying what was expected.
set -u
VESSEL=${1:?usage: test_X.sh path/to/vessel}
CACHE=${VESSEL_CACHE:-$HOME/.cache/vessel}
KERNEL=$CACHE/Image
INITRD=$CACHE/initramfs.cpio.gz
OPENSBI=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ ! -f "$KERNEL" ] || [ ! -f "$INITRD" ]; then
  echo "the default guest is missing in $CACHE: run 'make guest'" >&2
  exit 1
fi

fail() {
  echo "FAIL: $*" >&2
  if [ -f "$WORK/out" ]; then
    echo "--- output (last 40 lines) ---" >&2
    tail -n 40 "$WORK/out" >&2
  fi
  exit 1
}

# run_vessel ARGS...: runs vessel with stdin from /dev/null, output in $WORK/out,
# status in $STATUS. A generous timeout keeps a hung guest from hanging CI.
run_vessel() {
  set +e
  timeout -k 10 240 "$VESSEL" "$@" </dev/null >"$WORK/out" 2>&1
  STATUS=$?
  set -e
}

# wait_exit PID: waits for a background process; its exit status in $STATUS.
wait_exit() {
  set +e
  wait "$1"
  STATUS=$?
  set -e
}

expect_status() {
  [ "$STATUS" -eq "$1" ] || fail "expected exit status $1, got $STATUS"
}

expect_output() {
  grep -q -- "$1" "$WORK/out" || fail "expected output matching '$1'"
}

guest_cmd() {
  printf '%s' "$1" | base64 -w0
}

# wait_for_text FILE PATTERN SECONDS: waits until FILE contains PATTERN.
wait_for_text() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  cp "$1" "$WORK/out" 2>/dev/null || true
  fail "timed out after $3 s waiting for '$2' in $(basename "$1")"
}

# start_gdb_target ARGS...: `vessel ARGS...` (with a --gdb that picks its
# port) in the background, output in $WORK/vessel.out and its pid in $VPID,
# once the stub waits for gdb; the port it took lands in $PORT.
start_gdb_target() {
  rm -f "$WORK/vessel.out"  # not to read the last run's port
  timeout -k 10 280 "$VESSEL" "$@" </dev/null >"$WORK/vessel.out" 2>&1 &
  VPID=$!
  wait_for_text "$WORK/vessel.out" "gdb: waiting for a client on" 60
  PORT=$(sed -n 's/.*waiting for a client on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/vessel.out")
  [ -n "$PORT" ] || fail "no port in: $(cat "$WORK/vessel.out")"
}

# wait_http PORT: waits until a host HTTP server on 127.0.0.1:PORT answers
# (a guest boots in under a second, often before python's server listens).
wait_http() {
  local i
  for ((i = 0; i < 100; i++)); do
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
      "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "the host HTTP server on port $1 did not start"
}

# expect_one_error_line FILE: vessel refused with exactly one line, no crash.
expect_one_error_line() {
  [ "$(wc -l < "$1")" -eq 1 ] || { cp "$1" "$WORK/out"; fail "expected one error line"; }
  grep -q '^vessel: ' "$1" || { cp "$1" "$WORK/out"; fail "expected a 'vessel: ' error line"; }
}

# counter_command COUNT: a guest command that counts to COUNT, printing each
# value and writing it to sector N of /dev/vda, for the migration tests.
counter_command() {
  echo "echo counter-started; i=0
while [ \$i -lt $1 ]; do
  i=\$((i + 1)); echo count=\$i
  echo \$i | dd of=/dev/vda bs=512 seek=\$i conv=notrunc,fsync 2>/dev/null
  usleep 20000
done
sync; echo counter-done"
}

# check_counter SRC_OUT DST_OUT DISK [COUNT]: the count went on from the
# source to the destination with no gap and no repeat, and the disk holds it.
# With COUNT the counter must have finished; without, it was stopped and its
# last value is the end.
check_counter() {
  cat "$1" "$2" >"$WORK/out"
  grep -q '^count=' "$2" || fail "the destination printed no count (migrated too late?)"
  grep -o '^count=[0-9]*' "$1" "$2" | cut -d= -f2 >"$WORK/counts"
  local last
  last=$(tail -n 1 "$WORK/counts")
  if [ -n "${4:-}" ]; then
    grep -q 'counter-done' "$2" || fail "the counter did not finish on the destination"
    [ "$last" = "$4" ] || fail "the counter ended at $last, not $4"
  fi
  seq 1 "$last" >"$WORK/want"
  cmp -s "$WORK/counts" "$WORK/want" || fail "the counter has a gap or a repeat across the migration"
  local i got
  # Sector N is written after count=N is printed: check up to the one before.
  for i in 1 $((last / 2)) $((last - 1)); do
    got=$(dd if="$3" bs=512 skip="$i" count=1 2>/dev/null | tr -d '\0' | head -1)
    [ "$got" = "$i" ] || fail "disk sector $i holds '$got'"
  done
}

# guest_program NAME: builds programs/NAME.c (ours, beside this file) with
# Debian's riscv64-linux-gnu-gcc, static, into $WORK/root/bin/NAME.
guest_program() {
  command -v riscv64-linux-gnu-gcc >/dev/null ||
    fail "riscv64-linux-gnu-gcc is needed (package gcc-riscv64-linux-gnu, see scripts/setup)"
  mkdir -p "$WORK/root/bin"
  riscv64-linux-gnu-gcc -static -O2 -pthread -Wall -Wextra -Werror \
    -o "$WORK/root/bin/$1" "$(dirname "${BASH_SOURCE[0]}")/programs/$1.c" >"$WORK/cc.out" 2>&1 ||
    { cp "$WORK/cc.out" "$WORK/out"; fail "building programs/$1.c failed"; }
}

# extend_initrd NAME...: $WORK/initrd.cpio.gz is the default initramfs
# followed by a gzipped newc archive holding $WORK/root/bin/NAME... as
# /bin/NAME (Linux unpacks concatenated archives), as bench/lib/linux-guest.sh
# does. Sets EXT_INITRD to its path.
extend_initrd() {
  command -v cpio >/dev/null || fail "cpio is needed"
  (cd "$WORK/root" && printf 'bin/%s\n' "$@" | cpio -o -H newc -R 0:0 --quiet) |
    gzip -n >"$WORK/extra.cpio.gz" || fail "packing the extra initramfs failed"
  EXT_INITRD=$WORK/initrd.cpio.gz
  cat "$INITRD" "$WORK/extra.cpio.gz" >"$EXT_INITRD"
}
