# --deterministic: guest time comes from the instruction count, so two runs
# of the same guest retire exactly the same instructions and print the same
# timestamps, even across a sleep.
set -e
source "$(dirname "$0")/lib.sh"
run_vessel run --deterministic --stats -- sh -c 'cat /proc/uptime; sleep 1; cat /proc/uptime'
expect_status 0
grep -v '^vessel: ' "$WORK/out" > "$WORK/first"
first_count=$(grep -o 'instructions=[0-9]*' "$WORK/out")
run_vessel run --deterministic --stats -- sh -c 'cat /proc/uptime; sleep 1; cat /proc/uptime'
expect_status 0
second_count=$(grep -o 'instructions=[0-9]*' "$WORK/out")
[ -n "$first_count" ] || fail "no instruction count printed"
[ "$first_count" = "$second_count" ] || fail "instruction counts differ: $first_count vs $second_count"
grep -v '^vessel: ' "$WORK/out" | diff "$WORK/first" - > "$WORK/diff" || fail "output differs: $(head -5 "$WORK/diff")"
# The guest saw about a second pass during the sleep.
awk '{print $1}' "$WORK/first" | grep -E '^[0-9]' | head -2 | { read a; read b; awk -v a="$a" -v b="$b" 'BEGIN { exit !(b - a >= 0.9 && b - a < 2) }'; } \
  || fail "the guest's clock did not advance by about a second across sleep 1"

# Several harts: --deterministic keeps them on the round-robin scheduler, so
# a 4-hart guest whose workers race each other prints the same thing (which
# worker finished first, each CPU's ticks, the clock) and retires the same
# instructions on every run, with either engine.
SMP='echo "nproc=$(nproc)"
for w in 1 2 3 4; do (i=0; while [ $i -lt 4000 ]; do i=$((i + 1)); done; echo "worker $w done") & done
wait; cat /proc/uptime; grep "^cpu[0-9]" /proc/stat'
for engine in jit interp; do
  run_vessel run --deterministic --stats --cpus 4 --engine $engine -- sh -c "$SMP"
  expect_status 0
  expect_output 'nproc=4'
  expect_output 'worker 4 done'
  grep -v '^vessel: ' "$WORK/out" > "$WORK/first"
  first_count=$(grep -o 'instructions=[0-9]*' "$WORK/out") || fail "no instruction count printed"
  run_vessel run --deterministic --stats --cpus 4 --engine $engine -- sh -c "$SMP"
  expect_status 0
  second_count=$(grep -o 'instructions=[0-9]*' "$WORK/out") || fail "no instruction count printed"
  [ "$first_count" = "$second_count" ] ||
    fail "--cpus 4 --engine $engine: instruction counts differ: $first_count vs $second_count"
  grep -v '^vessel: ' "$WORK/out" | diff "$WORK/first" - > "$WORK/diff" ||
    fail "--cpus 4 --engine $engine: output differs: $(head -5 "$WORK/diff")"
done
