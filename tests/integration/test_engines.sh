# The binary translator runs the default guest exactly as the interpreter
# does: with --deterministic (guest time from the retired-instruction count),
# the same command prints the same console output, exits with the same status
# and retires the same number of instructions on both engines, whether the
# translator waits for code to be warm (its default) or translates all of it.
set -e
source "$(dirname "$0")/lib.sh"
# Shell arithmetic in a loop, a fork per command, compression, sorting,
# floating point in awk, reads of the clock and of a large file (page faults,
# the page cache), and a non-zero exit status.
cmd='echo engines-start; i=0; s=0
while [ $i -lt 300 ]; do i=$((i + 1)); s=$(((s * 31 + i) % 1000003)); done
echo "loop i=$i s=$s"
cat /proc/uptime
md5sum /bin/busybox
gzip -c /bin/busybox | md5sum
seq 1 2000 | sort -r | md5sum
awk "BEGIN { s = 0; for (i = 1; i < 20000; i++) s += sqrt(i) / 3; printf \"%.9f\n\", s }"
ls /proc/self/ | wc -l
cat /proc/uptime
echo engines-done; exit 7'
# run_engine NAME ENGINE [ARGS...]: one run on ENGINE, its console output in
# $WORK/console.NAME and its instruction count in $WORK/count.NAME.
run_engine() {
  local name=$1 engine=$2
  shift 2
  run_vessel run --deterministic --stats --engine "$engine" "$@" -- sh -c "$cmd"
  cp "$WORK/out" "$WORK/out.$name"
  expect_status 7
  expect_output 'engines-done'
  expect_output "^vessel: engine=$engine"
  grep -v '^vessel: ' "$WORK/out" >"$WORK/console.$name"
  grep -o '^vessel: instructions=[0-9]*' "$WORK/out" >"$WORK/count.$name" \
    || fail "no instruction count from --stats ($name)"
}
run_engine interp interp
run_engine jit jit
run_engine jit-warmup-1 jit --jit-warmup 1
for name in jit jit-warmup-1; do
  cp "$WORK/out.$name" "$WORK/out"
  diff "$WORK/console.interp" "$WORK/console.$name" >"$WORK/diff" \
    || fail "the console output differs (< interp, > $name): $(head -20 "$WORK/diff")"
  [ "$(cat "$WORK/count.interp")" = "$(cat "$WORK/count.$name")" ] \
    || fail "the instruction counts differ: interp $(cat "$WORK/count.interp"), $name $(cat "$WORK/count.$name")"
done
