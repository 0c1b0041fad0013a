# The sandbox (issue 10, part 3): every thread of a running vessel is under a
# seccomp filter with no_new_privs; a forbidden system call ends vessel with
# one line naming it; --user drops root and --jail runs it in a chroot with
# new namespaces, and the guest runs in both; snapshot/restore and a TLS
# migration work with the sandbox on.
set -e
source "$(dirname "$0")/lib.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

# check_confined PID: every thread of PID is under seccomp (mode 2, filter)
# with no_new_privs.
check_confined() {
  local t n=0
  for t in /proc/"$1"/task/*; do
    [ -r "$t/status" ] || continue  # a thread that just ended
    grep -q '^Seccomp:[[:space:]]*2$' "$t/status" ||
      fail "thread ${t##*/} ($(cat "$t/comm" 2>/dev/null)) of $1 is not confined: $(grep '^Seccomp:' "$t/status")"
    grep -q '^NoNewPrivs:[[:space:]]*1$' "$t/status" ||
      fail "thread ${t##*/} ($(cat "$t/comm" 2>/dev/null)) of $1 has no no_new_privs"
    n=$((n + 1))
  done
  [ "$n" -ge 2 ] || fail "expected at least 2 threads in vessel $1 (VM, control socket), saw $n"
}

# child_of PID: the one child of PID (the jailed vessel under its parent).
child_of() {
  local i c
  for ((i = 0; i < 100; i++)); do
    c=$(pgrep -P "$1" | head -n 1)
    [ -n "$c" ] && { echo "$c"; return 0; }
    sleep 0.1
  done
  fail "process $1 has no child"
}

# 1. A forbidden system call from the VM thread: one line naming it, and a
# non-zero status (128 + SIGSYS). With --sandbox off the VM thread makes the
# same call, which nothing stops (execve of a null path fails with EFAULT),
# and the guest runs.
set +e
VESSEL_SANDBOX_SELFTEST=execve timeout 120 "$VESSEL" run -- true </dev/null >"$WORK/out" 2>&1
STATUS=$?
set -e
expect_status 159
[ "$(wc -l <"$WORK/out")" -eq 1 ] || fail "expected exactly one line from the trapped call"
expect_output '^vessel: sandbox: the VM thread made a forbidden system call: execve$'
set +e
VESSEL_SANDBOX_SELFTEST=execve timeout 120 "$VESSEL" run --sandbox off -- true </dev/null \
  >"$WORK/out" 2>&1
STATUS=$?
set -e
expect_status 0

# 2. The default guest with devices and a control socket, the sandbox on by
# default: every thread confined, the guest's command runs.
truncate -s 16M "$WORK/disk.img"
sock=$WORK/vm.sock
"$VESSEL" run --api-socket "$sock" --disk "$WORK/disk.img" --net user --rng --balloon \
  -- sh -c 'echo hello | dd of=/dev/vda conv=fsync 2>/dev/null; head -c 16 /dev/hwrng | wc -c;
            echo ready; sleep 600' </dev/null >"$WORK/run.out" 2>&1 &
vm=$!
PIDS+=("$vm")
wait_for_text "$WORK/run.out" '^ready' 120
check_confined "$vm"
# ctl is confined once connected, before it reads a reply: the hook's call
# (made right after) ends it with the line naming it.
set +e
VESSEL_SANDBOX_SELFTEST=execve "$VESSEL" ctl "$sock" stats >"$WORK/out" 2>&1
STATUS=$?
set -e
expect_status 159
expect_output '^vessel: sandbox: the client thread made a forbidden system call: execve$'
"$VESSEL" ctl "$sock" stats >"$WORK/stats" || { cp "$WORK/stats" "$WORK/out"; fail "ctl stats failed"; }
# The host figures come from /proc/self files opened before the lock-down.
grep -q '"rss_bytes": [1-9]' "$WORK/stats" || { cp "$WORK/stats" "$WORK/out"; fail "ctl stats: no host RSS"; }
"$VESSEL" ctl "$sock" quit >/dev/null
wait_exit "$vm"
cp "$WORK/run.out" "$WORK/out"
expect_status 0
expect_output '^16'
grep -q 'forbidden' "$WORK/run.out" && fail "a forbidden call in the device run"
[ "$(head -c 5 "$WORK/disk.img")" = hello ] || fail "the guest's write did not reach the disk"

# 3. --user nobody: the uid is dropped, the guest still runs.
"$VESSEL" run --user nobody --api-socket "$sock" -- sh -c 'echo ready; sleep 600' \
  </dev/null >"$WORK/user.out" 2>&1 &
vm=$!
PIDS+=("$vm")
wait_for_text "$WORK/user.out" '^ready' 120
nobody=$(id -u nobody)
grep -q "^Uid:[[:space:]]*$nobody[[:space:]]*$nobody[[:space:]]*$nobody[[:space:]]*$nobody$" \
  /proc/"$vm"/status || fail "--user nobody: $(grep '^Uid:' /proc/"$vm"/status)"
grep -q '^Groups:[[:space:]]*$' /proc/"$vm"/status || fail "--user nobody kept supplementary groups"
check_confined "$vm"
"$VESSEL" ctl "$sock" quit >/dev/null
wait_exit "$vm"
cp "$WORK/user.out" "$WORK/out"
expect_status 0

# 4. --jail: vessel runs chrooted, in its own mount, PID and IPC namespaces;
# a snapshot path given to ctl is resolved inside the jail; the snapshot
# restores (sandbox on) and the guest finishes.
mkdir "$WORK/jail"
LOOP='echo loop-started; i=0; s=7
while [ $i -lt 200000 ]; do s=$(( (s * 31 + i) % 1000003 )); i=$((i + 1)); done
echo result=$s'
"$VESSEL" run --jail "$WORK/jail" --api-socket "$sock" -- sh -c "$LOOP" \
  </dev/null >"$WORK/jail.out" 2>&1 &
parent=$!
PIDS+=("$parent")
wait_for_text "$WORK/jail.out" loop-started 120
vm=$(child_of "$parent")
root=$(readlink /proc/"$vm"/root)
[ "$root" = "$(realpath "$WORK/jail")" ] || fail "--jail: the root of vessel is '$root'"
for ns in mnt pid ipc; do
  [ "$(readlink /proc/"$vm"/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ] ||
    fail "--jail: vessel shares the test's $ns namespace"
done
grep -q '^NSpid:[[:space:]]*[0-9]*[[:space:]]*1$' /proc/"$vm"/status ||
  fail "--jail: vessel is not PID 1 of its namespace: $(grep NSpid /proc/"$vm"/status)"
check_confined "$vm"
"$VESSEL" ctl "$sock" stats >"$WORK/stats" || { cp "$WORK/stats" "$WORK/out"; fail "ctl stats failed in the jail"; }
grep -q '"rss_bytes": [1-9]' "$WORK/stats" || { cp "$WORK/stats" "$WORK/out"; fail "ctl stats in the jail: no host RSS"; }
"$VESSEL" ctl "$sock" snapshot /snap --stop >"$WORK/ctl" 2>&1 || {
  cp "$WORK/ctl" "$WORK/out"
  fail "ctl snapshot inside the jail failed"
}
wait_exit "$parent"
cp "$WORK/jail.out" "$WORK/out"
expect_status 0
[ -s "$WORK/jail/snap/state.bin" ] || fail "the snapshot is not inside the jail"
[ -e "$sock" ] && fail "the jailed vessel left its control socket behind"
run_vessel restore "$WORK/jail/snap"
expect_status 0
expect_output 'result='

# 5. Live migration over TLS (PSK), both sides sandboxed: the counter goes
# on at the destination, whose threads are confined too.
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/key.psk")
truncate -s 64M "$WORK/mig.img"
"$VESSEL" run --disk "$WORK/mig.img" --api-socket "$sock" -- sh -c "$(counter_command 1000000)" \
  </dev/null >"$WORK/src.out" 2>&1 &
src=$!
PIDS+=("$src")
wait_for_text "$WORK/src.out" 'count=20' 120
port=$(free_port)
dsock=$WORK/dst.sock
"$VESSEL" receive --listen "127.0.0.1:$port" --accept-timeout 60 --api-socket "$dsock" \
  --disk "$WORK/mig.img" --tls-psk "$WORK/key.psk" </dev/null >"$WORK/dst.out" 2>&1 &
dst=$!
PIDS+=("$dst")
wait_for_text "$WORK/dst.out" 'waiting for a migration' 30
# Confined already, before the source has sent a byte (its only thread).
grep -q '^Seccomp:[[:space:]]*2$' /proc/"$dst"/status ||
  fail "vessel receive waits unconfined: $(grep '^Seccomp:' /proc/"$dst"/status)"
"$VESSEL" ctl "$sock" migrate "127.0.0.1:$port" --tls-psk "$WORK/key.psk" >"$WORK/ctl" 2>&1 || {
  cat "$WORK/ctl" "$WORK/src.out" >"$WORK/out"
  fail "migration failed"
}
wait_exit "$src"
[ "$STATUS" -eq 0 ] || { cp "$WORK/src.out" "$WORK/out"; fail "the source exited $STATUS"; }
last=$(grep -o '^count=[0-9]*' "$WORK/src.out" | tail -n 1 | cut -d= -f2)
wait_for_text "$WORK/dst.out" "^count=$((last + 10))[^0-9]*$" 120
check_confined "$dst"
"$VESSEL" ctl "$dsock" quit >/dev/null
wait_exit "$dst"
[ "$STATUS" -eq 0 ] || { cp "$WORK/dst.out" "$WORK/out"; fail "the destination exited $STATUS"; }
check_counter "$WORK/src.out" "$WORK/dst.out" "$WORK/mig.img"
grep -q 'forbidden' "$WORK/src.out" "$WORK/dst.out" && fail "a forbidden call during migration"

# 6. A destination in a --jail, as --user nobody: its disk and console log
# are opened from its command line before it chroots and drops root (and
# before the peer's first byte), so the VM it builds afterwards has them.
mkdir "$WORK/djail"
truncate -s 64M "$WORK/jmig.img"
"$VESSEL" run --disk "$WORK/jmig.img" --api-socket "$sock" -- sh -c "$(counter_command 1000000)" \
  </dev/null >"$WORK/src.out" 2>&1 &
src=$!
PIDS+=("$src")
wait_for_text "$WORK/src.out" 'count=20' 120
port=$(free_port)
"$VESSEL" receive --jail "$WORK/djail" --user nobody --listen "127.0.0.1:$port" --insecure \
  --accept-timeout 60 --api-socket "$dsock" --disk "$WORK/jmig.img" \
  --console-log "$WORK/jdst.log" </dev/null >"$WORK/dst.out" 2>&1 &
parent=$!
PIDS+=("$parent")
wait_for_text "$WORK/dst.out" 'waiting for a migration' 30
"$VESSEL" ctl "$sock" migrate "127.0.0.1:$port" --insecure >"$WORK/ctl" 2>&1 || {
  cat "$WORK/ctl" "$WORK/dst.out" >"$WORK/out"
  fail "migration into a jail failed"
}
wait_exit "$src"
last=$(grep -o '^count=[0-9]*' "$WORK/src.out" | tail -n 1 | cut -d= -f2)
wait_for_text "$WORK/jdst.log" "^count=$((last + 10))[^0-9]*$" 120
dst=$(child_of "$parent")
grep -q "^Uid:[[:space:]]*$nobody[[:space:]]" /proc/"$dst"/status ||
  fail "receive --user nobody: $(grep '^Uid:' /proc/"$dst"/status)"
"$VESSEL" ctl "$dsock" quit >/dev/null
wait_exit "$parent"
[ "$STATUS" -eq 0 ] || { cp "$WORK/dst.out" "$WORK/out"; fail "the jailed destination exited $STATUS"; }
check_counter "$WORK/src.out" "$WORK/jdst.log" "$WORK/jmig.img"

# 7. The other commands that read what others wrote are confined before they
# parse it: `vessel receive` before the peer's first byte (no peer here),
# `vessel verify` once it has read the quote, `vessel guest`. The hook's
# call right after confining ends each with one line naming it.
expect_trapped() {  # ROLE COMMAND...
  local role=$1
  shift
  set +e
  VESSEL_SANDBOX_SELFTEST=execve timeout 60 "$VESSEL" "$@" </dev/null >"$WORK/out" 2>&1
  STATUS=$?
  set -e
  expect_status 159
  [ "$(wc -l <"$WORK/out")" -eq 1 ] || fail "$1: expected exactly one line from the trapped call"
  expect_output "^vessel: sandbox: the $role thread made a forbidden system call: execve$"
}
expect_trapped receive receive --listen "127.0.0.1:$(free_port)" --insecure --disk "$WORK/mig.img"
openssl genpkey -algorithm ed25519 -out "$WORK/host.key" 2>/dev/null
openssl pkey -in "$WORK/host.key" -pubout -out "$WORK/host.pub" 2>/dev/null
echo '{"hostile": true}' >"$WORK/quote.json"
expect_trapped client verify "$WORK/quote.json" --key "$WORK/host.pub" \
  --expect "sha256:$(printf '%064d' 0)"
expect_trapped client guest
# Without the hook, the same commands do their work under the filter.
set +e
"$VESSEL" verify "$WORK/quote.json" --key "$WORK/host.pub" --expect "sha256:$(printf '%064d' 0)" \
  >"$WORK/out" 2>&1
STATUS=$?
set -e
expect_status 1
grep -q forbidden "$WORK/out" && fail "verify made a forbidden call"
run_vessel guest
expect_status 0
expect_output '^initrd '
echo "sandbox: ok"
