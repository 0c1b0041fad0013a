# virtio-balloon: memory the guest frees goes back to the host. (a) Free page
# reporting: after the guest deletes 150 MiB of files, the vessel process's RSS
# drops by ~that much without anyone asking. (b) Inflation: `ctl balloon 128M`
# takes 128 MiB from the guest (its free memory drops, the host's RSS too).
# (c) Deflation: `ctl balloon 0` gives it back and the guest can use all of it
# again (writes and reads back a file bigger than what fit while inflated).
# (d) `ctl balloon` on a VM without a balloon: one error line.
#
# The host signals the guest through a read-only disk: it writes goN into the
# first sector and the guest polls it with O_DIRECT reads, so no step depends
# on the guest or the host being fast enough.
set -e
source "$(dirname "$0")/lib.sh"
MiB=1048576

expect_ctl_error() {  # FILE: `vessel ctl` refused with exactly one line
  [ "$(wc -l < "$1")" -eq 1 ] && grep -q '^vessel ctl: ' "$1" || {
    cp "$1" "$WORK/out"
    fail "expected one 'vessel ctl: ' error line"
  }
}

GUEST='waitgo() {
  n=0
  until dd if=/dev/vda bs=512 count=1 iflag=direct 2>/dev/null | grep -q "$1"; do
    usleep 100000; n=$((n + 1)); [ $n -lt 1500 ] || { echo "no $1 from the host"; exit 9; }
  done
}
memfree() { awk "/^MemFree:/ { print \$2 }" /proc/meminfo; }
waitfree() {  # waitfree lt|gt KB: until MemFree is below/above KB (60 s at most)
  n=0
  while :; do
    f=$(memfree)
    if [ $1 = lt ]; then [ $f -lt $2 ] && break; else [ $f -gt $2 ] && break; fi
    usleep 100000; n=$((n + 1)); [ $n -lt 600 ] || { echo "MemFree stuck at $f kB"; exit 10; }
  done
}
mkdir -p /mnt/big && mount -t tmpfs -o size=200M none /mnt/big || exit 11
echo "free-at-start=$(memfree)"
dd if=/dev/zero of=/mnt/big/f bs=1M count=150 2>/dev/null || { echo fill failed; exit 12; }
echo filled-1
waitgo go1
rm /mnt/big/f; echo removed-1
waitgo go2
dd if=/dev/zero of=/mnt/big/f bs=1M count=150 2>/dev/null || { echo fill failed; exit 12; }
echo filled-2
waitgo go3
rm /mnt/big/f; echo removed-2
waitfree lt 150000
echo "inflated-seen free=$(memfree)kB"
free
waitfree gt 200000
echo "deflated-seen free=$(memfree)kB at $(cut -d" " -f1 /proc/uptime)"
free
head -c 1048576 /dev/urandom >/block
blocks() { i=0; while [ $i -lt 144 ]; do cat /block; i=$((i + 1)); done; }
blocks >/mnt/big/f
blocks | md5sum >/written
md5sum </mnt/big/f >/read
echo "written=$(cat /written) read=$(cat /read) size=$(wc -c </mnt/big/f)"
cmp -s /written /read && echo "readback-ok at $(cut -d" " -f1 /proc/uptime)"'

# The script is too long for the kernel command line, so it travels on the
# disk too (from 4 KiB on); the guest command only loads and runs it.
sig=$WORK/signal.img
truncate -s 1M "$sig"
printf '%s\n' "$GUEST" | dd of="$sig" bs=4096 seek=1 conv=notrunc 2>/dev/null
LOADER="dd if=/dev/vda bs=4096 skip=1 count=16 2>/dev/null | head -c $(($(printf '%s\n' "$GUEST" | wc -c))) >/s; sh /s"
go() { printf '%s\n' "$1" | dd of="$sig" conv=notrunc 2>/dev/null; }
sock=$WORK/api.sock
"$VESSEL" run --timeout 240 --mem 256M --balloon --api-socket "$sock" --disk "$sig,ro" \
  -- sh -c "$LOADER" </dev/null >"$WORK/guest.out" 2>&1 &
vm=$!
trap 'kill $vm 2>/dev/null || true; rm -rf "$WORK"' EXIT

rss() { awk '/^VmRSS:/ { print $2 * 1024 }' /proc/$vm/status; }
stats() { "$VESSEL" ctl "$sock" stats >"$WORK/stats" 2>&1 || { cp "$WORK/stats" "$WORK/out"; fail "ctl stats failed"; }; }
field() {  # field PATH: a number from the last ctl stats, e.g. field balloon.actual_bytes
  python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))["vms"][0]
for k in sys.argv[2].split("."): v = v[k]
print(v)' "$WORK/stats" "$1"
}
guest_failed() { cp "$WORK/guest.out" "$WORK/out"; fail "$@"; }
# poll SECONDS CONDITION...: until the shell condition holds (stats refreshed each time)
poll() {
  local limit=$1 n
  shift
  for ((n = 0; n < limit * 5; n++)); do
    stats
    eval "$@" && return 0
    kill -0 $vm 2>/dev/null || guest_failed "vessel exited while waiting for: $*"
    sleep 0.2
  done
  return 1
}

wait_for_text "$WORK/guest.out" 'filled-1' 120
# A balloon bigger than the VM's memory is refused with one line.
set +e
"$VESSEL" ctl "$sock" balloon 1G >"$WORK/ctl" 2>&1
status=$?
set -e
[ $status -eq 1 ] || { cp "$WORK/ctl" "$WORK/out"; fail "ctl balloon 1G on a 256M VM: expected status 1, got $status"; }
expect_ctl_error "$WORK/ctl"

# (a) Free page reporting.
rss_filled=$(rss)
stats
reported_filled=$(field balloon.reported_bytes)
go go1
wait_for_text "$WORK/guest.out" 'removed-1' 60
poll 30 '[ $(rss) -le $((rss_filled - 100 * MiB)) ] && [ $(field balloon.reported_bytes) -ge $((reported_filled + 100 * MiB)) ]' ||
  guest_failed "free page reporting: RSS $(($(rss) / MiB)) MiB (was $((rss_filled / MiB)) MiB with the files)," \
    "reported_bytes $(field balloon.reported_bytes) (was $reported_filled): expected both to move by >= 100 MiB within 30 s"
echo "[$SECONDS s] free page reporting: RSS $((rss_filled / MiB)) -> $(($(rss) / MiB)) MiB," \
  "reported_bytes $((reported_filled / MiB)) -> $(($(field balloon.reported_bytes) / MiB)) MiB"
[ "$(field balloon.actual_bytes)" -eq 0 ] || fail "the balloon inflated by itself"

# (b) Inflation, right after the guest freed 150 MiB of touched pages.
go go2
wait_for_text "$WORK/guest.out" 'filled-2' 60
rss_filled=$(rss)
go go3
wait_for_text "$WORK/guest.out" 'removed-2' 60
"$VESSEL" ctl "$sock" balloon 128M >"$WORK/ctl" 2>&1 || { cp "$WORK/ctl" "$WORK/out"; fail "ctl balloon 128M failed"; }
poll 30 '[ $(field balloon.actual_bytes) -eq $((128 * MiB)) ]' ||
  guest_failed "inflation: actual_bytes is $(field balloon.actual_bytes), expected $((128 * MiB)) within 30 s"
[ "$(field balloon.target_bytes)" -eq $((128 * MiB)) ] || fail "target_bytes is $(field balloon.target_bytes) after ctl balloon 128M"
[ $(($(field balloon.inflated_pages) * 4096)) -eq $((128 * MiB)) ] ||
  fail "inflated_pages is $(field balloon.inflated_pages): $((128 * MiB / 4096)) pages make the 128 MiB target"
poll 30 '[ $(rss) -le $((rss_filled - 100 * MiB)) ]' ||
  fail "inflation: RSS $(($(rss) / MiB)) MiB, with the files $((rss_filled / MiB)) MiB: expected a drop of >= 100 MiB"
wait_for_text "$WORK/guest.out" 'inflated-seen' 60
poll 30 '[ $(field balloon.guest.free_memory) -lt $((150 * MiB)) ]' ||
  fail "the balloon statistics show $(field balloon.guest.free_memory) bytes free in the guest, expected < 150 MiB"
echo "[$SECONDS s] inflation: RSS $((rss_filled / MiB)) -> $(($(rss) / MiB)) MiB; guest $(grep -o 'inflated-seen.*' "$WORK/guest.out" | tr -d '\r')," \
  "guest stats free_memory $(($(field balloon.guest.free_memory) / MiB)) MiB"

# (c) Deflation: the guest gets its memory back and can use all of it.
"$VESSEL" ctl "$sock" balloon 0 >"$WORK/ctl" 2>&1 || { cp "$WORK/ctl" "$WORK/out"; fail "ctl balloon 0 failed"; }
poll 30 '[ $(field balloon.actual_bytes) -eq 0 ]' ||
  guest_failed "deflation: actual_bytes is $(field balloon.actual_bytes), expected 0 within 30 s"
[ "$(field balloon.deflated_pages)" -eq $((128 * MiB / 4096)) ] ||
  fail "deflated_pages is $(field balloon.deflated_pages), expected $((128 * MiB / 4096))"
set +e
wait $vm
STATUS=$?
set -e
cp "$WORK/guest.out" "$WORK/out"
expect_status 0
expect_output 'deflated-seen'
expect_output 'readback-ok'
expect_output 'size=150994944'
echo "[$SECONDS s] deflation: guest $(grep -o 'deflated-seen.*' "$WORK/guest.out" | tr -d '\r')," \
  "144 MiB file $(grep -o 'readback-ok.*' "$WORK/guest.out" | tr -d '\r')"

# (d) No --balloon: ctl balloon is refused with one line and the VM runs on.
sock2=$WORK/plain.sock
"$VESSEL" run --timeout 240 --api-socket "$sock2" -- sh -c 'echo up; while :; do usleep 100000; done' \
  </dev/null >"$WORK/plain.out" 2>&1 &
vm=$!
wait_for_text "$WORK/plain.out" '^up' 120
set +e
"$VESSEL" ctl "$sock2" balloon 128M >"$WORK/ctl" 2>&1
status=$?
set -e
[ $status -eq 1 ] || { cp "$WORK/ctl" "$WORK/out"; fail "ctl balloon without --balloon: expected status 1, got $status"; }
expect_ctl_error "$WORK/ctl"
"$VESSEL" ctl "$sock2" quit >"$WORK/ctl" 2>&1 || { cp "$WORK/ctl" "$WORK/out"; fail "ctl quit failed after the refused balloon"; }
set +e
wait $vm
status=$?
set -e
[ $status -eq 0 ] || { cp "$WORK/plain.out" "$WORK/out"; fail "the VM without a balloon exited $status after ctl quit"; }
