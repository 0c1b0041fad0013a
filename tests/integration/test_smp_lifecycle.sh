# A VM of 2 harts, each on its own host thread, through everything that
# stops the world or hands the VM to another thread: statistics, pause and
# resume, page sharing, a snapshot restored on 2 harts, and a live migration
# of the restored VM. The guest counts (as in test_migration.sh) and the
# count goes on across all three processes with no gap and no repeat.
# `make tsan` runs this under ThreadSanitizer.
set -e
source "$(dirname "$0")/lib.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ctl() {  # ctl SOCKET ARGS...: must succeed
  "$VESSEL" ctl "$@" >"$WORK/ctl" 2>&1 || { cp "$WORK/ctl" "$WORK/out"; fail "ctl ${*:2} failed"; }
}
counts() { grep -c '^count=' "$1" || true; }

COUNTER=$(counter_command 1000000)
truncate -s 64M "$WORK/disk.img"
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/key.psk")
DEVICES=(--disk "$WORK/disk.img" --rng --balloon)

sock=$WORK/src.sock
timeout 280 "$VESSEL" run --cpus 2 "${DEVICES[@]}" --share-pages --share-rate 100000 \
  --api-socket "$sock" -- sh -c "$COUNTER" </dev/null >"$WORK/src.out" 2>&1 &
src=$!
trap 'kill $src ${restored:-} ${dst:-} 2>/dev/null || true; rm -rf "$WORK"' EXIT
wait_for_text "$WORK/src.out" '^count=5[^0-9]*$' 120

ctl "$sock" stats
grep -q '"instructions"' "$WORK/ctl" || { cp "$WORK/ctl" "$WORK/out"; fail "ctl stats has no instruction count"; }
ctl "$sock" pause
ctl "$sock" resume
n=$(counts "$WORK/src.out")
wait_for_text "$WORK/src.out" "^count=$((n + 3))[^0-9]*$" 60
ctl "$sock" sharing off
ctl "$sock" sharing on --rate 100000
ctl "$sock" snapshot "$WORK/snap" --stop
wait_exit $src
[ "$STATUS" -eq 0 ] || { cp "$WORK/src.out" "$WORK/out"; fail "vessel run exited $STATUS after the snapshot"; }

# The snapshot on 2 harts again, then on to a destination process.
rsock=$WORK/restored.sock
timeout 200 "$VESSEL" restore "$WORK/snap" --api-socket "$rsock" </dev/null >"$WORK/restored.out" 2>&1 &
restored=$!
# [^0-9]*: the guest's console ends lines with \r\n.
wait_for_text "$WORK/restored.out" '^count=[0-9][0-9]*[^0-9]*$' 120
first=$(grep -o '^count=[0-9]*' "$WORK/restored.out" | head -n 1 | cut -d= -f2)
wait_for_text "$WORK/restored.out" "^count=$((first + 3))[^0-9]*$" 60

port=$(free_port)
dsock=$WORK/dst.sock
timeout 200 "$VESSEL" receive --listen "127.0.0.1:$port" --accept-timeout 60 --api-socket "$dsock" \
  --cpus 2 "${DEVICES[@]}" --tls-psk "$WORK/key.psk" </dev/null >"$WORK/dst.out" 2>&1 &
dst=$!
wait_for_text "$WORK/dst.out" 'waiting for a migration' 60
ctl "$rsock" migrate "127.0.0.1:$port" --tls-psk "$WORK/key.psk"
wait_exit $restored
[ "$STATUS" -eq 0 ] || { cp "$WORK/restored.out" "$WORK/out"; fail "the restored VM exited $STATUS after migrating"; }
last=$(grep -o '^count=[0-9]*' "$WORK/restored.out" | tail -n 1 | cut -d= -f2)
wait_for_text "$WORK/dst.out" "^count=$((last + 5))[^0-9]*$" 120
ctl "$dsock" stats
ctl "$dsock" quit
wait_exit $dst
[ "$STATUS" -eq 0 ] || { cp "$WORK/dst.out" "$WORK/out"; fail "the destination exited $STATUS"; }

cat "$WORK/src.out" "$WORK/restored.out" >"$WORK/before"
check_counter "$WORK/before" "$WORK/dst.out" "$WORK/disk.img"
