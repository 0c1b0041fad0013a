# virtio-net with user-mode networking: DHCP gives 10.0.2.15, the guest
# fetches a file from a host server through the gateway 10.0.2.2, and a
# hostfwd rule lets the host reach a server in the guest.
set -e
source "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 is needed for the host-side HTTP server"
command -v curl >/dev/null || fail "curl is needed"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$WORK/www"
head -c 100000 /dev/urandom | base64 > "$WORK/www/payload.txt"
want=$(sha256sum < "$WORK/www/payload.txt" | cut -d' ' -f1)
port=$(free_port)
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$WORK/www" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$WORK"' EXIT
wait_http "$port"
run_vessel run --net user -- sh -c "
  ip -4 addr show eth0 | grep -o 'inet [0-9.]*'
  wget -q -O /tmp/payload http://10.0.2.2:$port/payload.txt && sha256sum /tmp/payload"
expect_status 0
expect_output 'inet 10.0.2.15'
expect_output "$want"

# hostfwd: a server in the guest, reached from the host.
hport=$(free_port)
set +e
timeout 240 "$VESSEL" run --net "user,hostfwd=tcp:127.0.0.1:$hport-:8080" -- sh -c '
  mkdir -p /www && echo guest-http-says-hello > /www/index.html
  httpd -p 8080 -h /www && echo SERVING && sleep 30' </dev/null > "$WORK/out" 2>&1 &
vm=$!
set -e
for _ in $(seq 1 600); do grep -q SERVING "$WORK/out" && break; sleep 0.1; done
got=""
for _ in $(seq 1 50); do
  got=$(curl -s --max-time 5 "http://127.0.0.1:$hport/index.html" || true)
  [ -n "$got" ] && break
  sleep 0.2
done
kill $vm 2>/dev/null || true
wait $vm 2>/dev/null || true
[ "$got" = "guest-http-says-hello" ] || fail "hostfwd: expected the guest's page, got '$got'"
