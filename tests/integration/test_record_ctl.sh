# Recording a running VM from the control socket (issue 11): the default
# guest boots with --api-socket and reads lines from its console; a line is
# typed, `ctl record start DIR`, two more lines (one before and one after a
# `ctl snapshot`, which a recording allows), `ctl record stop`, a last line.
# `vessel replay DIR` then prints exactly the bytes the guest printed while
# recorded (the two lines, not the first nor the last) and reports a match,
# on both engines. While recording, a second `record start` and a migration
# are refused with one line; so are `record stop` when not recording and
# `record start` into a directory that is not empty. A --cpus 2 VM with a
# host thread per hart is recorded the same way (it runs round-robin while
# recorded); a VM under the gdb stub is refused.
#
# Then a killed recording: `kill -9` mid-run; the replay goes up to where
# the log was cut, printing a prefix of what the guest printed, says where
# it was cut and exits 4, not 3 (no divergence). Last, that recording's
# start state with one byte of guest memory changed: the replay diverges at
# a checkpoint whose memory hash differs.
set -e
source "$(dirname "$0")/lib.sh"

WORKLOAD='echo READY; while read line; do echo "typed: $line"
head -c 16 /dev/hwrng | sha256sum | cut -c1-12; echo "done: $line"
[ "$line" = quit ] && break; done; echo WORKLOAD-DONE'

ctl() {  # ctl ARGS...: vessel ctl on the VM's socket, must succeed
  "$VESSEL" ctl "$sock" "$@" >"$WORK/ctl.out" 2>&1 || {
    cp "$WORK/ctl.out" "$WORK/out"
    fail "ctl $* failed"
  }
}
refused() {  # refused PATTERN ARGS...: vessel ctl must fail with one line matching PATTERN
  local pattern=$1
  shift
  set +e
  "$VESSEL" ctl "$sock" "$@" >"$WORK/ctl.out" 2>&1
  local status=$?
  set -e
  cp "$WORK/ctl.out" "$WORK/out"
  [ $status -ne 0 ] || fail "ctl $* succeeded"
  [ "$(wc -l <"$WORK/ctl.out")" -eq 1 ] || fail "ctl $*: expected one line"
  grep -q -- "$pattern" "$WORK/ctl.out" || fail "ctl $*: expected '$pattern'"
}
type_line() {  # type_line TEXT: types TEXT and waits for the guest's whole answer
  echo "$1" >&3
  # Not just "typed:": a `record stop` before the hash line would leave it
  # out of the replay, which ends where the recording stopped.
  wait_for_text "$WORK/$name.out" "done: $1" 60
}

for engine in jit interp; do
  name=vm-$engine
  sock=$WORK/$name.sock
  rec=$WORK/rec-$engine
  mkfifo "$WORK/$name.in"
  set +e
  timeout -k 10 240 "$VESSEL" run --api-socket "$sock" --engine $engine --rng -- sh -c "$WORKLOAD" \
    <"$WORK/$name.in" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  vm=$!
  set -e
  exec 3>"$WORK/$name.in"
  wait_for_text "$WORK/$name.out" READY 120
  type_line before-recording
  refused "not being recorded" record stop
  mkdir -p "$WORK/full" && : >"$WORK/full/file"
  refused "record directory .*full is not empty" record start "$WORK/full"
  ctl record start "$rec"
  grep -q "recording into .*rec-$engine from instruction [0-9]*" "$WORK/ctl.out" ||
    fail "record start did not say where it records"
  refused "being recorded already" record start "$WORK/rec-again"
  refused "is being recorded; .record stop. before migrating" migrate 127.0.0.1:1 --insecure
  type_line recorded-one
  ctl snapshot "$WORK/snap-$engine"
  type_line recorded-two
  ctl record stop
  grep -q "recording stopped at instruction [0-9]*" "$WORK/ctl.out" || fail "record stop said nothing"
  type_line after-recording
  echo quit >&3
  exec 3>&-
  wait_exit $vm
  cat "$WORK/$name.out" "$WORK/$name.err" >"$WORK/out"
  expect_status 0
  expect_output WORKLOAD-DONE
  [ -s "$rec/start/state.bin" ] && [ -s "$rec/log.bin" ] || fail "the recording's files are missing"

  for replay_engine in $engine $([ $engine = jit ] && echo interp || echo jit); do
    run_vessel replay "$rec" --engine $replay_engine
    cp "$WORK/out" "$WORK/replay-$engine-$replay_engine.out"
    expect_status 0
    expect_output "replay matches the recording"
    expect_output "typed: recorded-one"
    expect_output "typed: recorded-two"
    grep -q "typed: before-recording\|typed: after-recording" "$WORK/out" &&
      fail "the replay printed a line typed outside the recording"
    # The random bytes the guest hashed are the recorded ones.
    for line in recorded-one recorded-two; do
      want=$(grep -A1 "typed: $line" "$WORK/$name.out" | tail -1 | tr -d '\r')
      got=$(grep -A1 "typed: $line" "$WORK/out" | tail -1 | tr -d '\r')
      [ -n "$want" ] && [ "$want" = "$got" ] || fail "after $line: '$got' in the replay, '$want' recorded"
    done
  done
done

# Several harts on host threads (--cpus 2, no --deterministic): `record
# start` parks them, the VM runs round-robin while recorded and on a thread
# per hart again after `record stop` (`ctl stats` says which). Two busy
# loops beside the reader keep both harts running guest code. The replay, on
# both engines, prints the same console bytes and ends with the same state
# hash each time.
SMP_WORKLOAD='(while :; do :; done) & (while :; do :; done) & '"$WORKLOAD"
scheduler() {  # scheduler: what `ctl stats` says the VM runs on
  ctl stats
  python3 -c 'import json, sys; print(json.load(sys.stdin)["vms"][0]["scheduler"])' <"$WORK/ctl.out"
}
name=smp
sock=$WORK/smp.sock
rec=$WORK/rec-smp
mkfifo "$WORK/$name.in"
set +e
timeout -k 10 240 "$VESSEL" run --cpus 2 --api-socket "$sock" --rng -- sh -c "$SMP_WORKLOAD" \
  <"$WORK/$name.in" >"$WORK/$name.out" 2>"$WORK/$name.err" &
vm=$!
set -e
exec 3>"$WORK/$name.in"
wait_for_text "$WORK/$name.out" READY 120
type_line before-recording
[ "$(scheduler)" = threads ] || fail "--cpus 2 does not run a thread per hart: $(cat "$WORK/ctl.out")"
ctl record start "$rec"
[ "$(scheduler)" = round-robin ] || fail "the recorded VM does not run round-robin"
type_line recorded-one
type_line recorded-two
ctl record stop
[ "$(scheduler)" = threads ] || fail "after record stop the VM does not run a thread per hart"
type_line after-recording
echo quit >&3
exec 3>&-
wait_exit $vm
cat "$WORK/$name.out" "$WORK/$name.err" >"$WORK/out"
expect_status 0
expect_output WORKLOAD-DONE
for replay_engine in jit interp; do
  "$VESSEL" replay "$rec" --engine $replay_engine </dev/null >"$WORK/smp-replay-$replay_engine.console" \
    2>"$WORK/smp-replay-$replay_engine.err" || {
    cat "$WORK/smp-replay-$replay_engine.console" "$WORK/smp-replay-$replay_engine.err" >"$WORK/out"
    fail "the --cpus 2 recording did not replay on $replay_engine"
  }
  cp "$WORK/smp-replay-$replay_engine.err" "$WORK/out"
  expect_output "replay matches the recording"
  grep -q "typed: recorded-two" "$WORK/smp-replay-$replay_engine.console" ||
    fail "the $replay_engine replay lacks a recorded line"
  grep -q "typed: before-recording\|typed: after-recording" "$WORK/smp-replay-$replay_engine.console" &&
    fail "the $replay_engine replay printed a line typed outside the recording"
  grep -o "state hash: [0-9a-f]*" "$WORK/smp-replay-$replay_engine.err" >"$WORK/smp-hash-$replay_engine"
  [ -s "$WORK/smp-hash-$replay_engine" ] || fail "the $replay_engine replay printed no state hash"
done
cmp -s "$WORK/smp-replay-jit.console" "$WORK/smp-replay-interp.console" ||
  fail "the two replays of the --cpus 2 recording printed different bytes"
cmp -s "$WORK/smp-hash-jit" "$WORK/smp-hash-interp" ||
  fail "the two replays of the --cpus 2 recording end with different state hashes"
echo "--cpus 2 recording: $(grep -o 'replay matches.*' "$WORK/smp-replay-jit.err")"

# Under the gdb stub, gdb may write memory and registers, inputs no log
# holds: `record start` is refused with one line; the stub still answers.
start_gdb_target run --cpus 2 --api-socket "$WORK/gdb.sock" --gdb 0 -- sh -c 'sleep 2; echo gdb-guest-done'
sock=$WORK/gdb.sock
refused "under the gdb stub (--gdb) cannot be recorded" record start "$WORK/gdb-rec"
[ ! -e "$WORK/gdb-rec" ] || fail "the refused recording left $WORK/gdb-rec behind"
timeout -k 5 60 gdb-multiarch -batch -nx -ex 'set architecture riscv:rv64' \
  -ex "target remote 127.0.0.1:$PORT" -ex 'info registers pc' -ex 'detach' </dev/null \
  >"$WORK/gdb.out" 2>&1 || true
grep -q "^pc " "$WORK/gdb.out" || { cp "$WORK/gdb.out" "$WORK/out"; fail "the stub did not answer after the refusal"; }
wait_exit $VPID
cp "$WORK/vessel.out" "$WORK/out"
expect_status 0
expect_output gdb-guest-done

# A killed recording replays up to the cut.
COUNT='i=0; while true; do j=0; while [ $j -lt 3000 ]; do j=$((j + 1)); done; echo count-$i; i=$((i + 1)); done'
# vessel itself, not under timeout(1): it is the one killed.
"$VESSEL" run --record "$WORK/killed" -- sh -c "$COUNT" </dev/null \
  >"$WORK/killed.out" 2>"$WORK/killed.err" &
vm=$!
trap 'kill -9 $vm 2>/dev/null || true; rm -rf "$WORK"' EXIT
wait_for_text "$WORK/killed.out" count-3 120
sleep 3 # more than the second between flushes of the log
kill -9 $vm
wait_exit $vm
expect_status 137
# What the guest printed while its log was written: up to the last second.
last=$(grep -o 'count-[0-9]*' "$WORK/killed.out" | tail -1 | cut -d- -f2)
run_vessel replay "$WORK/killed"
cp "$WORK/out" "$WORK/killed-replay.out"
expect_status 4
expect_output "replay stopped at instruction [0-9]*: the recording was cut there"
grep -q "diverged" "$WORK/out" && fail "the cut replay reported a divergence"
# Its console bytes are what the guest printed, up to the cut.
"$VESSEL" replay "$WORK/killed" </dev/null >"$WORK/killed-replay.console" 2>/dev/null || true
grep -q count-3 "$WORK/killed-replay.console" || fail "the replay stopped before what was flushed"
replayed=$(grep -o 'count-[0-9]*' "$WORK/killed-replay.console" | tail -1 | cut -d- -f2)
echo "killed recording: the guest printed count-$last, the replay of its log reaches count-$replayed"
size=$(stat -c %s "$WORK/killed-replay.console")
cmp -s -n "$size" "$WORK/killed-replay.console" "$WORK/killed.out" ||
  fail "the cut replay's console bytes are not a prefix of the recording's"

# Memory hashes at checkpoints: one byte of the initramfs the kernel unpacks
# changed in the start state; the replay diverges at a checkpoint that names
# guest memory (the pages written since the previous checkpoint differ).
cp -r "$WORK/killed" "$WORK/altered"
python3 - "$INITRD" "$WORK/altered/start/memory.bin" <<'PY'
import mmap, sys
initrd = open(sys.argv[1], "rb").read()
needle = initrd[len(initrd) // 2:len(initrd) // 2 + 64]
with open(sys.argv[2], "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    at = m.find(needle)
    if at < 0:
        sys.exit("the initramfs is not in memory.bin")
    m[at + 32] ^= 0xFF
    m.flush()
PY
run_vessel replay "$WORK/altered"
expect_status 3
expect_output "replay diverged at instruction [0-9]*: the state differs.*memory"
