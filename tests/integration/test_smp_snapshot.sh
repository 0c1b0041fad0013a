# Snapshot, restore and live migration of a 4-hart guest under load (harts on
# host threads): four workers each run a checksum loop at once, and the sums
# are printed together at the end. Stopped halfway by a snapshot, the
# restored VM prints exactly what the loops compute; so does the destination
# of a migration halfway through. Every hart's registers, its part of the
# guest's memory and the interrupt controllers must come across consistent.
set -e
source "$(dirname "$0")/lib.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
N=40000
WORKERS="echo loop-started
for w in 1 2 3 4; do (i=0; s=\$w
while [ \$i -lt $N ]; do s=\$(( (s * 31 + i) % 1000003 )); i=\$((i + 1)); done
echo \$s >/tmp/r\$w) & done
wait; echo result=\$(cat /tmp/r1 /tmp/r2 /tmp/r3 /tmp/r4 | tr '\n' :)"
# What the loops compute (bash's arithmetic is 64-bit, as the guest shell's).
want=result=
for w in 1 2 3 4; do
  s=$w
  for ((i = 0; i < N; i++)); do s=$(((s * 31 + i) % 1000003)); done
  want=$want$s:
done
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

# ---- snapshot halfway, restore twice ----
sock=$WORK/api.sock
timeout 240 "$VESSEL" run --cpus 4 --api-socket "$sock" -- sh -c "$WORKERS" </dev/null >"$WORK/first" 2>&1 &
vm=$!
pids+=($vm)
wait_for_text "$WORK/first" loop-started 120
sleep 1
"$VESSEL" ctl "$sock" snapshot "$WORK/snap" --stop >"$WORK/ctl" 2>&1 || {
  cp "$WORK/ctl" "$WORK/out"
  fail "ctl snapshot failed"
}
wait_exit $vm
cp "$WORK/first" "$WORK/out"
[ "$STATUS" -eq 0 ] || fail "vessel run did not stop cleanly after the snapshot (status $STATUS)"
grep -q 'result=' "$WORK/first" && fail "the loops ended before the snapshot: lengthen them"
for n in 1 2; do
  run_vessel restore "$WORK/snap"
  expect_status 0
  got=$(grep -o 'result=[0-9:]*' "$WORK/out") || fail "restore $n printed no result"
  [ "$got" = "$want" ] || fail "restore $n printed $got, the loops compute $want"
  grep -q 'loop-started' "$WORK/out" && fail "restore $n booted afresh instead of resuming"
done

# ---- live migration halfway, to a receiver on this host ----
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/key.psk")
port=$(free_port)
timeout 240 "$VESSEL" run --cpus 4 --api-socket "$sock.2" -- sh -c "$WORKERS" </dev/null >"$WORK/src.out" 2>&1 &
src=$!
pids+=($src)
timeout 240 "$VESSEL" receive --cpus 4 --listen "127.0.0.1:$port" --accept-timeout 120 \
  --tls-psk "$WORK/key.psk" </dev/null >"$WORK/dst.out" 2>&1 &
dst=$!
pids+=($dst)
wait_for_text "$WORK/dst.out" 'waiting for a migration' 30
wait_for_text "$WORK/src.out" loop-started 120
sleep 1
"$VESSEL" ctl "$sock.2" migrate "127.0.0.1:$port" --tls-psk "$WORK/key.psk" >"$WORK/ctl" 2>&1 || {
  cp "$WORK/ctl" "$WORK/out"
  fail "ctl migrate failed"
}
wait_exit $src
cp "$WORK/src.out" "$WORK/out"
[ "$STATUS" -eq 0 ] || fail "the source exited $STATUS after migrating"
grep -q 'result=' "$WORK/src.out" && fail "the loops ended before the migration: lengthen them"
wait_exit $dst
cp "$WORK/dst.out" "$WORK/out"
expect_status 0
got=$(grep -o 'result=[0-9:]*' "$WORK/dst.out") || fail "the destination printed no result"
[ "$got" = "$want" ] || fail "the destination printed $got, the loops compute $want"
grep -q 'loop-started' "$WORK/dst.out" && fail "the destination booted afresh"
true
