# --mem 512M shows in the guest's /proc/meminfo (MemTotal a little below 512 MiB).
set -e
source "$(dirname "$0")/lib.sh"
run_vessel run --mem 512M -- sh -c 'grep MemTotal /proc/meminfo'
expect_status 0
kib=$(sed -n 's/.*MemTotal: *\([0-9]*\) kB.*/\1/p' "$WORK/out" | head -1)
[ -n "$kib" ] || fail "no MemTotal line"
[ "$kib" -gt $((400 * 1024)) ] && [ "$kib" -le $((512 * 1024)) ] || fail "MemTotal $kib kB is not about 512 MiB"
run_vessel run --mem 256M -- sh -c 'grep MemTotal /proc/meminfo'
kib=$(sed -n 's/.*MemTotal: *\([0-9]*\) kB.*/\1/p' "$WORK/out" | head -1)
[ "$kib" -gt $((180 * 1024)) ] && [ "$kib" -le $((256 * 1024)) ] || fail "MemTotal $kib kB is not about 256 MiB"
