#!/usr/bin/env bash
# vessel exec under the host's limits (issue 12): a guest program that maps
# all the memory it can, or forks until it cannot, is stopped by the limit
# (ENOMEM from the guest's 64 GiB address space, EAGAIN from the host's
# RLIMIT_NPROC), exits normally and never crashes vessel. Each program's
# output is compared with the same source run natively, but for its
# "amount:" line (the amounts differ: the guest's address space is smaller
# than the host's, vessel's processes are the host's), which is printed.
set -u
VESSEL=${1:?usage: test_exec_limits.sh path/to/vessel}
SRC=$(cd "$(dirname "$0")/../exec" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# The fork test runs as nobody, who must read everything here.
chmod 755 "$WORK"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

command -v riscv64-linux-gnu-gcc >/dev/null || fail "riscv64-linux-gnu-gcc missing (scripts/setup)"
for p in mapall forklimit; do
  gcc -O1 -o "$WORK/$p.native" "$SRC/$p.c" || fail "native build of $p"
  riscv64-linux-gnu-gcc -O1 -static -o "$WORK/$p.static" "$SRC/$p.c" || fail "static build of $p"
  riscv64-linux-gnu-gcc -O1 -o "$WORK/$p.dynamic" "$SRC/$p.c" || fail "dynamic build of $p"
done
cp "$VESSEL" "$WORK/vessel"
chmod 755 "$WORK"/*

# compare NAME PREFIX...: runs the native program and then every vessel
# variant, each as `PREFIX... PROGRAM`; outputs must agree but for the
# amount line, exit statuses must be 0.
compare() {
  local p=$1
  shift
  timeout 120 "$@" "$WORK/$p.native" </dev/null >"$WORK/out" 2>&1 || fail "$p: native run failed"
  echo "  native: $(grep '^amount:' "$WORK/out")"
  grep -v '^amount:' "$WORK/out" >"$WORK/expected"
  for variant in static dynamic; do
    for engine in interp jit; do
      timeout 120 "$@" "$WORK/vessel" exec --engine $engine "$WORK/$p.$variant" \
        </dev/null >"$WORK/out" 2>&1
      local status=$?
      grep -q '^amount:' "$WORK/out" || fail "$p ($variant, $engine): no amount line, status $status: $(tail -3 "$WORK/out")"
      echo "  $variant, $engine: $(grep '^amount:' "$WORK/out")"
      grep -v '^amount:' "$WORK/out" >"$WORK/got"
      if ! diff -u "$WORK/expected" "$WORK/got" >"$WORK/diff"; then
        cat "$WORK/diff" >&2
        fail "$p ($variant, $engine): output differs from the native program's"
      fi
      [ "$status" -eq 0 ] || fail "$p ($variant, $engine): exit status $status"
    done
  done
  echo "ok: $p"
}

# Every page of the guest's address space mapped (untouched, so the host
# commits nothing): ENOMEM at the end, and the guest carries on.
compare mapall
grep -q '^more than 32 GiB: 1$' "$WORK/expected" || fail "mapall: the native run mapped too little"

# RLIMIT_NPROC binds only users other than root: the fork loop runs as
# nobody, each run with its own limit (nobody runs nothing else here).
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 &&
  setpriv --reuid nobody --regid "$(id -g nobody)" --clear-groups true 2>/dev/null; then
  compare forklimit prlimit --nproc=16 setpriv --reuid nobody --regid "$(id -g nobody)" --clear-groups
  grep -q '^fork failed: Resource temporarily unavailable$' "$WORK/expected" ||
    fail "forklimit: the native run did not hit the limit: $(cat "$WORK/expected")"
else
  echo "skip: forklimit (cannot run as nobody here: not root, or setpriv failed)"
fi

# A host limit on address space that leaves no room for the guest's
# reservation: one clear error line, no crash.
out=$(prlimit --as=$((1 << 30)) "$VESSEL" exec "$WORK/mapall.static" 2>&1 >/dev/null)
status=$?
[ "$status" -ne 0 ] && [ "$status" -lt 128 ] || fail "under RLIMIT_AS: status $status"
[ "$(printf '%s\n' "$out" | grep -c .)" -eq 1 ] || fail "under RLIMIT_AS: not one error line: $out"
echo "ok: under RLIMIT_AS 1 GiB: $out"
echo "all vessel exec limit checks passed"
