# vessel host: several identical VMs in one process. Each VM has its own
# console log; the process exits with the first non-zero status (in VM order),
# 0 if all exited 0. One control socket addresses one VM (--vm I) or all;
# quitting one VM leaves the others running. Bad input: one line, no crash.
set -e
source "$(dirname "$0")/lib.sh"

# expect_ctl_error FILE: `vessel ctl` refused with exactly one line.
expect_ctl_error() {
  [ "$(wc -l < "$1")" -eq 1 ] && grep -q '^vessel ctl: ' "$1" || {
    cp "$1" "$WORK/out"
    fail "expected one 'vessel ctl: ' error line"
  }
}
count_ticks() { grep -c '^tick=' "$WORK/logs/vm-$1.log" 2>/dev/null || true; }

# Two VMs run the same command; each prints its own boot_id, both exit 3.
run_vessel host --vms 2 --console-dir "$WORK/status-logs" -- \
  sh -c 'echo hello-from-$(head -c 8 /proc/sys/kernel/random/boot_id); exit 3'
expect_status 3
hello=()
for i in 0 1; do
  log=$WORK/status-logs/vm-$i.log
  [ -f "$log" ] || fail "no console log vm-$i.log"
  [ "$(grep -c '^hello-from-' "$log")" -eq 1 ] || { cp "$log" "$WORK/out"; fail "vm-$i.log: expected one hello line"; }
  hello[$i]=$(grep -o '^hello-from-[0-9a-f]*' "$log")
done
[ "${hello[0]}" != "${hello[1]}" ] || fail "both logs hold ${hello[0]}: the VMs are not separate"
grep -q "vm 1 exited with status 3" "$WORK/out" || fail "the host did not report VM 1's status"

# One VM exits 0, the other 5: the host's status is the non-zero one.
run_vessel host --vms 2 --console-dir "$WORK/mixed-logs" -- \
  sh -c 'case $(head -c 1 /proc/sys/kernel/random/boot_id) in [0-7]) exit 0;; *) exit 5;; esac'
# Each VM's boot_id is random, so the VMs may agree: accept only 0 (both 0) or 5.
[ "$STATUS" -eq 0 ] || [ "$STATUS" -eq 5 ] || fail "mixed statuses: expected 0 or 5, got $STATUS"
if grep -q 'exited with status 5' "$WORK/out"; then expect_status 5; else expect_status 0; fi

# The control socket: list, quit one VM, stats for a VM that does not exist.
sock=$WORK/api.sock
TICKS='i=0; while [ $i -lt 1000 ]; do echo tick=$i; i=$((i + 1)); usleep 100000; done; exit 7'
timeout 240 "$VESSEL" host --vms 2 --console-dir "$WORK/logs" --api-socket "$sock" -- sh -c "$TICKS" \
  </dev/null >"$WORK/host.out" 2>&1 &
host=$!
trap 'kill $host 2>/dev/null || true; rm -rf "$WORK"' EXIT
wait_for_text "$WORK/logs/vm-0.log" '^tick=3[^0-9]' 120
wait_for_text "$WORK/logs/vm-1.log" '^tick=3[^0-9]' 120

"$VESSEL" ctl "$sock" list >"$WORK/list" 2>&1 || { cp "$WORK/list" "$WORK/out"; fail "ctl list failed"; }
python3 -c '
import json, sys
vms = json.load(open(sys.argv[1]))["vms"]
assert [v["vm"] for v in vms] == [0, 1], vms
assert all(v["running"] for v in vms), vms
' "$WORK/list" || { cp "$WORK/list" "$WORK/out"; fail "ctl list does not show 2 running VMs"; }

"$VESSEL" ctl "$sock" --vm 1 quit >"$WORK/ctl" 2>&1 || { cp "$WORK/ctl" "$WORK/out"; fail "ctl --vm 1 quit failed"; }
ticks1=$(count_ticks 1)
ticks0=$(count_ticks 0)
# VM 0 goes on ticking (wait for 20 more ticks, ~2 s) while VM 1 stays silent.
for ((n = 0; n < 600; n++)); do
  [ "$(count_ticks 0)" -ge $((ticks0 + 20)) ] && break
  sleep 0.1
done
[ "$(count_ticks 0)" -ge $((ticks0 + 20)) ] || { cp "$WORK/logs/vm-0.log" "$WORK/out"; fail "VM 0 stopped ticking after VM 1 was quit"; }
[ "$(count_ticks 1)" -le $((ticks1 + 1)) ] || { cp "$WORK/logs/vm-1.log" "$WORK/out"; fail "VM 1 kept running after ctl --vm 1 quit"; }
kill -0 $host 2>/dev/null || { cp "$WORK/host.out" "$WORK/out"; fail "the host exited when only VM 1 was quit"; }

"$VESSEL" ctl "$sock" list >"$WORK/list" 2>&1 || { cp "$WORK/list" "$WORK/out"; fail "ctl list failed after quitting VM 1"; }
python3 -c '
import json, sys
vms = {v["vm"]: v["running"] for v in json.load(open(sys.argv[1]))["vms"]}
assert vms == {0: True, 1: False}, vms
' "$WORK/list" || { cp "$WORK/list" "$WORK/out"; fail "ctl list: expected VM 0 running and VM 1 stopped"; }

set +e
"$VESSEL" ctl "$sock" --vm 5 stats >"$WORK/ctl" 2>&1
status=$?
set -e
[ $status -eq 1 ] || { cp "$WORK/ctl" "$WORK/out"; fail "ctl --vm 5 stats: expected status 1, got $status"; }
expect_ctl_error "$WORK/ctl"
kill -0 $host 2>/dev/null || { cp "$WORK/host.out" "$WORK/out"; fail "the host exited after ctl --vm 5 stats"; }

"$VESSEL" ctl "$sock" --vm 0 quit >"$WORK/ctl" 2>&1 || { cp "$WORK/ctl" "$WORK/out"; fail "ctl --vm 0 quit failed"; }
set +e
wait $host
status=$?
set -e
cp "$WORK/host.out" "$WORK/out"
# Both VMs were quit (status 0) before their command could exit 7.
STATUS=$status
expect_status 0
grep -q 'vm 0 exited with status 0' "$WORK/host.out" || fail "the host did not report VM 0's exit"
grep -q 'vm 1 exited with status 0' "$WORK/host.out" || fail "the host did not report VM 1's exit"
[ ! -e "$sock" ] || fail "the control socket was left behind"

# Bad input: one error line, a non-zero status.
for vms in 0 65; do
  run_vessel host --vms $vms --console-dir "$WORK/bad-logs"
  [ "$STATUS" -ne 0 ] || fail "--vms $vms was accepted"
  expect_one_error_line "$WORK/out"
done
