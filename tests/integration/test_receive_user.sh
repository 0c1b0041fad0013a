# `vessel receive --user NAME` drops root before the VM arrives, and builds
# the VM afterwards: a tap (TUNSETIFF needs CAP_NET_ADMIN) is attached and a
# host port forward below 1024 (binding needs CAP_NET_BIND_SERVICE) is bound
# all the same. The tap is attached before the drop; the forward is bound
# only once the source has let it go (one host), with that one capability
# kept. Needs root, /dev/net/tun and the user nobody; skipped otherwise.
set -e
source "$(dirname "$0")/lib.sh"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
skip() {
  echo "skip: receive --user with a tap and a low port ($1)"
  exit 0
}
[ "$(id -u)" -eq 0 ] || skip "not root"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
id nobody >/dev/null 2>&1 || skip "no user nobody"
command -v curl >/dev/null || fail "curl is needed"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# A free port below 1024 (none: skip).
low=$(python3 -c '
import socket
for p in range(900, 1000):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(p)
    break') || true
[ -n "$low" ] || skip "no free port in 900-999"
# Tap names unique to this run (the kernel makes and removes them with vessel).
tag=$(printf '%04x' $(($$ % 65536)))
net="user,hostfwd=tcp:127.0.0.1:$low-:8080"

sock=$WORK/src.sock
timeout 200 "$VESSEL" run --mem 128M --net "$net" --net "tap=vsrc$tag" --api-socket "$sock" \
  -- sh -c 'mkdir -p /www && echo hello-from-the-guest > /www/index.html && httpd -p 8080 -h /www
i=0; while :; do i=$((i + 1)); echo tick=$i; usleep 100000; done' </dev/null >"$WORK/src.out" 2>&1 &
src=$!
pids+=($src)
wait_for_text "$WORK/src.out" 'tick=10' 120
got=$(curl -s --max-time 10 "http://127.0.0.1:$low/index.html" || true)
[ "$got" = hello-from-the-guest ] || fail "hostfwd on port $low before the migration: got '$got'"

port=$(free_port)
timeout 200 "$VESSEL" receive --user nobody --listen "127.0.0.1:$port" --insecure --net "$net" \
  --net "tap=vdst$tag" --accept-timeout 60 </dev/null >"$WORK/dst.out" 2>&1 &
dst=$!
pids+=($dst)
wait_for_text "$WORK/dst.out" 'waiting for a migration' 60
# It runs as nobody from here on (vessel is the child of timeout).
vpid=$(pgrep -P $dst | head -n 1)
[ -n "$vpid" ] && [ "$(stat -c %u "/proc/$vpid")" = "$(id -u nobody)" ] ||
  fail "the receiver does not run as nobody"
"$VESSEL" ctl "$sock" migrate "127.0.0.1:$port" --insecure >"$WORK/ctl" 2>&1 ||
  { cat "$WORK/ctl" "$WORK/dst.out" >"$WORK/out"; fail "the migration into receive --user failed"; }
wait_exit $src
[ "$STATUS" -eq 0 ] || { cp "$WORK/src.out" "$WORK/out"; fail "the source exited $STATUS"; }
last=$(grep -o '^tick=[0-9]*' "$WORK/src.out" | tail -n 1 | cut -d= -f2)
wait_for_text "$WORK/dst.out" "^tick=$((last + 5))[^0-9]*$" 120
got=$(curl -s --max-time 10 "http://127.0.0.1:$low/index.html" || true)
[ "$got" = hello-from-the-guest ] || fail "hostfwd on port $low after the migration: got '$got'"
kill $dst
echo "receive --user nobody: tap attached, port $low forwarded after the migration"
