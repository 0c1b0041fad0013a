# Live migration between two vessel processes over loopback: a guest keeps a
# counter and writes each value to its disk; after the migration the counter
# continues on the destination with no gap and no repeat, and the disk holds
# every value. Cutting the migration connection at random points leaves the
# source running every time. The stream is TLS with a pre-shared key; the
# destination names the same disk on its own command line.
set -e
source "$(dirname "$0")/lib.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# The guest counts until the test stops it, however slow the machine is.
COUNTER=$(counter_command 1000000)

# Sector N holds count N: 64 MiB leave room for 130000 counts (the counter
# runs as long as a slow or busy machine takes; 1 MiB ran out at 2048).
truncate -s 64M "$WORK/disk.img"
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/key.psk")
sock=$WORK/src.sock
timeout 280 "$VESSEL" run --disk "$WORK/disk.img" --api-socket "$sock" -- sh -c "$COUNTER" \
  </dev/null >"$WORK/src.out" 2>&1 &
src=$!
trap 'kill $src 2>/dev/null || true; rm -rf "$WORK"' EXIT
wait_for_text "$WORK/src.out" 'count=20' 120

# Faults: a proxy that forwards a random number of bytes, then cuts both ways.
port=$(free_port)
for trial in 1 2 3 4 5 6; do
  cut=$((RANDOM * RANDOM % 3000000 + 1))
  [ $trial -eq 1 ] && cut=10  # inside the TLS handshake
  proxy=$(free_port)
  # Emptied here, not by the redirections: the waits below must not see the
  # last trial's lines before the new processes start.
  : >"$WORK/dst-fail.out"
  : >"$WORK/proxy.out"
  timeout 60 "$VESSEL" receive --listen "127.0.0.1:$port" --accept-timeout 30 \
    --disk "$WORK/disk.img" --tls-psk "$WORK/key.psk" </dev/null >>"$WORK/dst-fail.out" 2>&1 &
  dst=$!
  python3 "$(dirname "$0")/cutting_proxy.py" "$proxy" "127.0.0.1:$port" "$cut" >>"$WORK/proxy.out" &
  px=$!
  wait_for_text "$WORK/proxy.out" listening 30
  wait_for_text "$WORK/dst-fail.out" 'waiting for a migration' 30
  if "$VESSEL" ctl "$sock" migrate "127.0.0.1:$proxy" --tls-psk "$WORK/key.psk" >"$WORK/ctl" 2>&1; then
    cp "$WORK/ctl" "$WORK/out"
    fail "trial $trial: the migration succeeded through a connection cut after $cut bytes"
  fi
  if grep -q 'cannot connect' "$WORK/ctl"; then
    cp "$WORK/ctl" "$WORK/out"
    fail "trial $trial: the migration never reached the proxy"
  fi
  set +e
  wait $dst
  dst_status=$?
  set -e
  kill $px 2>/dev/null || true
  wait $px 2>/dev/null || true
  [ $dst_status -ne 0 ] || fail "trial $trial: the destination ran a VM from a cut stream"
  kill -0 $src 2>/dev/null || { cp "$WORK/src.out" "$WORK/out"; fail "trial $trial: the source died"; }
  before=$(grep -c '^count=' "$WORK/src.out")
  wait_for_text "$WORK/src.out" "^count=$((before + 3))[^0-9]*$" 30
done

# The real migration.
dsock=$WORK/dst.sock
timeout 200 "$VESSEL" receive --listen "127.0.0.1:$port" --accept-timeout 30 --api-socket "$dsock" \
  --disk "$WORK/disk.img" --tls-psk "$WORK/key.psk" </dev/null >"$WORK/dst.out" 2>&1 &
dst=$!
wait_for_text "$WORK/dst.out" 'waiting for a migration' 30
"$VESSEL" ctl "$sock" migrate "127.0.0.1:$port" --tls-psk "$WORK/key.psk" >"$WORK/ctl" 2>&1 || {
  cp "$WORK/ctl" "$WORK/out"
  fail "migration failed"
}
set +e
wait $src
src_status=$?
set -e
[ $src_status -eq 0 ] || { cp "$WORK/src.out" "$WORK/out"; fail "the source exited $src_status after migrating"; }
# Let the destination count on for a while, then stop it.
last_src=$(grep -o '^count=[0-9]*' "$WORK/src.out" | tail -n 1 | cut -d= -f2)
wait_for_text "$WORK/dst.out" "^count=$((last_src + 30))[^0-9]*$" 120
"$VESSEL" ctl "$dsock" quit >/dev/null
set +e
wait $dst
dst_status=$?
set -e
[ $dst_status -eq 0 ] || { cp "$WORK/dst.out" "$WORK/out"; fail "the destination exited $dst_status"; }
check_counter "$WORK/src.out" "$WORK/dst.out" "$WORK/disk.img"
grep -q 'downtime' "$WORK/ctl" || fail "ctl migrate did not report the downtime"
