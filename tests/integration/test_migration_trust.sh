# Migration you can trust (issue 10): a destination that takes its devices
# from its own command line and refuses a hostile source with one generic
# reply, opening nothing it names; TLS with a pre-shared key (a wrong key is
# refused on both sides and the source runs on), and with certificates; one
# migration per VM at a time; same-host migration with a hostfwd port.
set -e
source "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || fail "strace is needed"
command -v curl >/dev/null || fail "curl is needed"
command -v openssl >/dev/null || fail "openssl is needed (to make test certificates)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
new_key() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
# Probing the port would be the receiver's one connection: wait for its
# "waiting for a migration" line instead.
wait_receiver() { wait_for_text "$1" 'waiting for a migration' 60; }
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
(umask 077 && new_key >"$WORK/a.psk" && new_key >"$WORK/b.psk")
# make_certs DIR: a CA, and certificates for 127.0.0.1 that it signed.
make_certs() {
  mkdir -p "$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=vessel-test-ca -keyout "$1/ca-key.pem" -out "$1/ca.pem" 2>/dev/null
  local who
  for who in src dst; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$who" \
      -keyout "$1/$who-key.pem" -out "$1/$who.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$1/$who.ext"
    openssl x509 -req -in "$1/$who.csr" -CA "$1/ca.pem" -CAkey "$1/ca-key.pem" -CAcreateserial \
      -days 2 -extfile "$1/$who.ext" -out "$1/$who.pem" 2>/dev/null
  done
}
make_certs "$WORK/pki"
make_certs "$WORK/other-pki"
SENDER=$(dirname "$0")/migration_sender.py

# ---- neither TLS nor --insecure: refused at once, with one line ----
run_vessel receive --listen 127.0.0.1:1
expect_status 1
expect_one_error_line "$WORK/out"
expect_output 'receive: the migration stream needs --tls-psk FILE'
run_vessel ctl "$WORK/none.sock" migrate 127.0.0.1:1
[ "$STATUS" -ne 0 ] || fail "ctl migrate without TLS or --insecure was accepted"
expect_output 'migrate: the migration stream needs --tls-psk FILE'
run_vessel receive --listen 127.0.0.1:1 --tls-psk "$WORK/a.psk" --insecure
expect_status 1
expect_output '--insecure turns TLS off'

# ---- a hostile source: /etc/shadow as a disk, 1 TiB of memory ----
truncate -s 16M "$WORK/own.img"
hostile() {  # hostile NAME SENDER_ARGS...: one receiver under strace, one HELLO
  local name=$1 port
  shift
  port=$(free_port)
  strace -f -qq -e trace=%file,bind -o "$WORK/$name.strace" \
    timeout 60 "$VESSEL" receive --listen "127.0.0.1:$port" --insecure --disk "$WORK/own.img" \
    --accept-timeout 30 </dev/null >"$WORK/$name.out" 2>&1 &
  local dst=$!
  wait_receiver "$WORK/$name.out"
  python3 "$SENDER" "127.0.0.1:$port" "$@" >"$WORK/$name.reply" ||
    fail "$name: the hostile sender failed"
  wait_exit $dst
}
hport=$(free_port)
hostile huge --mem $((1 << 40)) --disk /etc/shadow:16777216 --net tap=evil0 \
  --net "user,hostfwd=tcp:127.0.0.1:$hport-:22"
[ "$(cat "$WORK/huge.reply")" = "ERROR incompatible VM description" ] ||
  fail "the hostile source was answered '$(cat "$WORK/huge.reply")', not the generic refusal"
[ "$STATUS" -eq 1 ] || fail "the receiver exited $STATUS after refusing a hostile source"
# The details are in the destination's own log, as one error line.
grep -v 'waiting for a migration' "$WORK/huge.out" >"$WORK/huge.err"
expect_one_error_line "$WORK/huge.err"
grep -q 'incompatible VM description: .*more than this host has available' "$WORK/huge.err" ||
  { cp "$WORK/huge.out" "$WORK/out"; fail "the receiver did not log why it refused"; }
# Nothing the source named was touched: no disk, no tap, no port.
for what in /etc/shadow /etc/passwd /dev/net/tun "htons($hport)"; do
  if grep -qF "$what" "$WORK/huge.strace"; then
    grep -F "$what" "$WORK/huge.strace" | head -n 3 >"$WORK/out"
    fail "the receiver touched $what for a hostile source"
  fi
done
grep -q 'own.img' "$WORK/huge.strace" || fail "strace saw no file at all (is it tracing?)"

# A description that fits (its own disk size, memory the host has): the
# destination accepts it, and still opens only its own disk.
hostile fits --mem $((64 << 20)) --disk /etc/shadow:16777216
[ "$(cat "$WORK/fits.reply")" = "READY" ] || fail "a fitting HELLO was answered '$(cat "$WORK/fits.reply")'"
[ "$STATUS" -eq 1 ] || fail "the receiver ran a VM from a stream without pages"
grep -qF /etc/shadow "$WORK/fits.strace" && fail "the receiver opened the source's disk path"
# The reply says nothing about the host: a missing path gets the same words.
hostile missing --mem $((1 << 40)) --disk /nonexistent/disk.img:16777216
[ "$(cat "$WORK/missing.reply")" = "$(cat "$WORK/huge.reply")" ] ||
  fail "the replies differ for an existing and a missing path"

# ---- a real guest: a counter on its disk, a web server behind hostfwd ----
truncate -s 64M "$WORK/disk.img"
sock=$WORK/src.sock
gport=$(free_port)
net="user,hostfwd=tcp:127.0.0.1:$gport-:8080"
timeout 280 "$VESSEL" run --mem 256M --disk "$WORK/disk.img" --net "$net" --api-socket "$sock" \
  -- sh -c "mkdir -p /www && echo guest-http-says-hello > /www/index.html && httpd -p 8080 -h /www
$(counter_command 1000000)" </dev/null >"$WORK/src.out" 2>&1 &
src=$!
pids+=($src)
wait_for_text "$WORK/src.out" 'count=20' 120
expect_page() {  # expect_page WHEN: the guest's web server answers through hostfwd
  local got
  got=$(curl -s --max-time 10 "http://127.0.0.1:$gport/index.html" || true)
  [ "$got" = guest-http-says-hello ] || fail "hostfwd $1: got '$got'"
}
expect_page "before the migration"
receive_here() {  # receive_here NAME PORT ARGS...: a destination like the source
  local name=$1 port=$2
  shift 2
  timeout 200 "$VESSEL" receive --listen "127.0.0.1:$port" --disk "$WORK/disk.img" --net "$net" \
    --accept-timeout 60 "$@" </dev/null >"$WORK/$name.out" 2>&1 &
  dst=$!
  pids+=($dst)
  wait_receiver "$WORK/$name.out"
}

# A wrong key: the handshake fails on both sides, one line each, and the
# guest goes on counting on the source.
port=$(free_port)
receive_here wrongkey "$port" --tls-psk "$WORK/b.psk"
if "$VESSEL" ctl "$sock" migrate "127.0.0.1:$port" --tls-psk "$WORK/a.psk" >"$WORK/ctl" 2>&1; then
  cp "$WORK/ctl" "$WORK/out"
  fail "a migration with the wrong key succeeded"
fi
expect_one_error_line_ctl() {
  [ "$(wc -l <"$1")" -eq 1 ] || { cp "$1" "$WORK/out"; fail "expected one error line from ctl"; }
}
expect_one_error_line_ctl "$WORK/ctl"
grep -q 'TLS handshake with the destination failed' "$WORK/ctl" ||
  { cp "$WORK/ctl" "$WORK/out"; fail "ctl did not say the TLS handshake failed"; }
wait_exit $dst
[ $STATUS -eq 1 ] || fail "the receiver exited $STATUS after a wrong key"
grep -v 'waiting for a migration' "$WORK/wrongkey.out" >"$WORK/wrongkey.err"
expect_one_error_line "$WORK/wrongkey.err"
grep -q 'TLS handshake with the source failed' "$WORK/wrongkey.err" ||
  { cp "$WORK/wrongkey.out" "$WORK/out"; fail "the receiver did not say the TLS handshake failed"; }
kill -0 $src 2>/dev/null || { cp "$WORK/src.out" "$WORK/out"; fail "the source died after a wrong key"; }
before=$(grep -c '^count=' "$WORK/src.out")
wait_for_text "$WORK/src.out" "^count=$((before + 3))[^0-9]*$" 30

# Two migrations at once: the first (its link held by the proxy until the
# second has been tried) goes through, the second is refused while it runs.
# The first holds the VM's one migration slot from before it connects, so
# once the proxy has its connection the second must meet it: no sleep, and
# no race with a slow machine (a fixed 3 s hold was not always long enough).
port=$(free_port)
receive_here dst "$port" --tls-psk "$WORK/a.psk" --console-log "$WORK/dst.console" \
  --api-socket "$WORK/dst.sock"
first_dst=$dst
proxy=$(free_port)
other=$(free_port)
python3 "$(dirname "$0")/cutting_proxy.py" "$proxy" "127.0.0.1:$port" 1000000000000 \
  "until:$WORK/release-first" >"$WORK/proxy.out" 2>&1 &
pids+=($!)
wait_for_text "$WORK/proxy.out" listening 30
"$VESSEL" ctl "$sock" migrate "127.0.0.1:$proxy" --tls-psk "$WORK/a.psk" >"$WORK/ctl" 2>&1 &
first=$!
pids+=($first)
wait_for_text "$WORK/proxy.out" accepted 60
if "$VESSEL" ctl "$sock" migrate "127.0.0.1:$other" --tls-psk "$WORK/a.psk" >"$WORK/ctl2" 2>&1; then
  touch "$WORK/release-first"
  cp "$WORK/ctl2" "$WORK/out"
  fail "a second migration of the same VM was accepted while the first ran"
fi
touch "$WORK/release-first"
grep -q 'a migration of this VM (to 127.0.0.1:'"$proxy"') is running' "$WORK/ctl2" ||
  { cat "$WORK/ctl2" "$WORK/ctl" >"$WORK/out"; fail "the second migration was not refused as concurrent"; }
wait_exit $first
[ $STATUS -eq 0 ] || { cp "$WORK/ctl" "$WORK/out"; fail "the first migration failed"; }
# migrated SECURITY SRC_PID SRC_CONSOLE DST_CONSOLE: ctl reported a migration
# over SECURITY, the source exited 0, and the guest goes on at the
# destination: the counter, and the web server behind the same host port
# (bound once the source had let it go).
migrated() {
  grep -q "$1" "$WORK/ctl" || { cp "$WORK/ctl" "$WORK/out"; fail "ctl did not report $1"; }
  wait_exit "$2"
  [ $STATUS -eq 0 ] || { cp "$3" "$WORK/out"; fail "the source exited $STATUS after migrating"; }
  local last
  last=$(grep -o '^count=[0-9]*' "$3" | tail -n 1 | cut -d= -f2)
  wait_for_text "$4" "^count=$((last + 20))[^0-9]*$" 120
  expect_page "after the migration to $(basename "$4")"
}
migrated 'TLS 1.3 (pre-shared key)' $src "$WORK/src.out" "$WORK/dst.console"
grep -q 'migration received from 127.0.0.1:[0-9]* over TLS 1.3 (pre-shared key)' "$WORK/dst.out" ||
  { cp "$WORK/dst.out" "$WORK/out"; fail "the destination did not log the TLS migration"; }

# On again, with certificates: first one from another CA (refused, the
# guest runs on), then the right one.
pki=$WORK/pki
port=$(free_port)
receive_here badcert "$port" --tls-cert "$pki/dst.pem" --tls-key "$pki/dst-key.pem" \
  --tls-ca "$pki/ca.pem"
if "$VESSEL" ctl "$WORK/dst.sock" migrate "127.0.0.1:$port" --tls-cert "$WORK/other-pki/src.pem" \
  --tls-key "$WORK/other-pki/src-key.pem" --tls-ca "$pki/ca.pem" >"$WORK/ctl" 2>&1; then
  fail "a source with a certificate from another CA migrated"
fi
expect_one_error_line_ctl "$WORK/ctl"
grep -q 'Certificate is bad' "$WORK/ctl" || { cp "$WORK/ctl" "$WORK/out"; fail "ctl did not say why"; }
wait_exit $dst
grep -q 'The certificate issuer is unknown' "$WORK/badcert.out" ||
  { cp "$WORK/badcert.out" "$WORK/out"; fail "the receiver did not say why it refused"; }
port=$(free_port)
receive_here dst2 "$port" --tls-cert "$pki/dst.pem" --tls-key "$pki/dst-key.pem" \
  --tls-ca "$pki/ca.pem" --console-log "$WORK/dst2.console" --api-socket "$WORK/dst2.sock"
"$VESSEL" ctl "$WORK/dst.sock" migrate "127.0.0.1:$port" --tls-cert "$pki/src.pem" \
  --tls-key "$pki/src-key.pem" --tls-ca "$pki/ca.pem" >"$WORK/ctl" 2>&1 ||
  { cp "$WORK/ctl" "$WORK/out"; fail "the migration with certificates failed"; }
migrated 'TLS 1.3 (certificates)' $first_dst "$WORK/dst.console" "$WORK/dst2.console"
"$VESSEL" ctl "$WORK/dst2.sock" quit >/dev/null
wait_exit $dst
[ $STATUS -eq 0 ] || { cp "$WORK/dst2.out" "$WORK/out"; fail "the last destination exited $STATUS"; }
cat "$WORK/src.out" "$WORK/dst.console" >"$WORK/before"
check_counter "$WORK/before" "$WORK/dst2.console" "$WORK/disk.img"
