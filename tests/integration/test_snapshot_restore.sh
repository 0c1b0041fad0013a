# Snapshot and restore: a guest computing a checksum over a long loop is
# snapshotted halfway and stopped; the restored VM prints exactly what an
# uninterrupted run prints, and so does a second restore of the same snapshot.
# Damaged snapshots are refused with one clear line.
set -e
source "$(dirname "$0")/lib.sh"
LOOP='echo loop-started; i=0; s=7
while [ $i -lt 200000 ]; do s=$(( (s * 31 + i) % 1000003 )); i=$((i + 1)); done
echo result=$s'

run_vessel run -- sh -c "$LOOP"
expect_status 0
want=$(grep -o 'result=[0-9]*' "$WORK/out") || fail "no result from the uninterrupted run"

sock=$WORK/api.sock
timeout 240 "$VESSEL" run --api-socket "$sock" -- sh -c "$LOOP" </dev/null >"$WORK/first" 2>&1 &
vm=$!
wait_for_text "$WORK/first" loop-started 120
sleep 1
"$VESSEL" ctl "$sock" snapshot "$WORK/snap" --stop >"$WORK/ctl" 2>&1 || {
  cp "$WORK/ctl" "$WORK/out"
  fail "ctl snapshot failed"
}
set +e
wait $vm
status=$?
set -e
[ $status -eq 0 ] || fail "vessel run did not stop cleanly after the snapshot (status $status)"
grep -q 'result=' "$WORK/first" && fail "the loop ended before the snapshot: lengthen it"
[ -s "$WORK/snap/state.bin" ] && [ -f "$WORK/snap/memory.bin" ] || fail "snapshot files missing"

for n in 1 2; do
  set +e
  timeout 240 "$VESSEL" restore "$WORK/snap" </dev/null >"$WORK/restored$n" 2>&1
  status=$?
  set -e
  cp "$WORK/restored$n" "$WORK/out"
  expect_status 0
  got=$(grep -o 'result=[0-9]*' "$WORK/restored$n") || fail "restore $n printed no result"
  [ "$got" = "$want" ] || fail "restore $n printed $got, the uninterrupted run $want"
  grep -q 'loop-started' "$WORK/restored$n" && fail "restore $n booted afresh instead of resuming"
done

# Damaged snapshots: one error line, a non-zero status, never a crash.
refuse() {  # refuse NAME: restoring $WORK/NAME must fail with one line
  set +e
  timeout 60 "$VESSEL" restore "$WORK/$1" </dev/null >"$WORK/refused" 2>&1
  status=$?
  set -e
  [ $status -eq 1 ] || { cp "$WORK/refused" "$WORK/out"; fail "$1: expected status 1, got $status"; }
  expect_one_error_line "$WORK/refused"
}
damage() { rm -rf "$WORK/$1" && cp -r "$WORK/snap" "$WORK/$1"; }
damage truncated
truncate -s $(($(stat -c %s "$WORK/truncated/state.bin") / 2)) "$WORK/truncated/state.bin"
refuse truncated
damage flipped
size=$(stat -c %s "$WORK/flipped/state.bin")
printf '\xff' | dd of="$WORK/flipped/state.bin" bs=1 seek=$((size - 100)) conv=notrunc 2>/dev/null
refuse flipped
grep -q 'checksum' "$WORK/refused" || { cp "$WORK/refused" "$WORK/out"; fail "flipped byte: no checksum error"; }
damage version
printf '\x07' | dd of="$WORK/version/state.bin" bs=1 seek=8 conv=notrunc 2>/dev/null
refuse version
grep -q 'version' "$WORK/refused" || { cp "$WORK/refused" "$WORK/out"; fail "no version error"; }
damage nomem
truncate -s 1M "$WORK/nomem/memory.bin"
refuse nomem
refuse missing-directory
