# virtio-rng: /dev/hwrng in the guest yields bytes from the host, different each run.
set -e
source "$(dirname "$0")/lib.sh"
run_vessel run --rng -- sh -c 'cat /sys/class/misc/hw_random/rng_current; head -c 64 /dev/hwrng | sha256sum'
expect_status 0
expect_output 'virtio_rng'
first=$(grep -oE '^[0-9a-f]{64}' "$WORK/out")
run_vessel run --rng -- sh -c 'head -c 64 /dev/hwrng | sha256sum'
second=$(grep -oE '^[0-9a-f]{64}' "$WORK/out")
[ -n "$first" ] && [ -n "$second" ] || fail "no bytes from /dev/hwrng"
[ "$first" != "$second" ] || fail "two runs read the same bytes from /dev/hwrng"
