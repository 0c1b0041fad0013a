# virtio-blk: what the guest writes and syncs is in the image on the host;
# a read-only disk refuses writes; data synced before a SIGKILL survives.
set -e
source "$(dirname "$0")/lib.sh"
truncate -s 32M "$WORK/disk.img"
run_vessel run --disk "$WORK/disk.img" -- sh -c '
  cat /sys/block/vda/size
  printf "vessel-blk-pattern-%s" 4242 | dd of=/dev/vda bs=512 seek=2048 conv=sync 2>/dev/null
  sync'
expect_status 0
expect_output '^65536'
dd if="$WORK/disk.img" bs=512 skip=2048 count=1 2>/dev/null | grep -q 'vessel-blk-pattern-4242' \
  || fail "the pattern written by the guest is not in the image"

# The guest reads back what the host put in the image.
printf 'host-written-sector' | dd of="$WORK/disk.img" bs=512 seek=100 conv=notrunc 2>/dev/null
run_vessel run --disk "$WORK/disk.img" -- sh -c 'dd if=/dev/vda bs=512 skip=100 count=1 2>/dev/null | head -c 19; echo'
expect_output 'host-written-sector'

# Read-only: the guest's write fails and the image is unchanged.
cp "$WORK/disk.img" "$WORK/before.img"
run_vessel run --disk "$WORK/disk.img,ro" -- sh -c '
  cat /sys/block/vda/ro
  if echo overwrite | dd of=/dev/vda bs=512 seek=2048 conv=sync,fsync 2>/dev/null; then echo write-ok; else echo write-refused; fi'
expect_output '^1'
expect_output 'write-refused'
cmp -s "$WORK/disk.img" "$WORK/before.img" || fail "a read-only disk was modified"

# Two disks are vda and vdb; the device tree lists exactly the devices given.
truncate -s 8M "$WORK/second.img"
run_vessel run --disk "$WORK/disk.img" --disk "$WORK/second.img" --rng -- sh -c '
  ls /sys/block | tr "\n" " "; echo
  ls -d /sys/firmware/devicetree/base/soc/virtio_mmio@* | wc -l'
expect_output 'vda vdb'
tr -d '\r' < "$WORK/out" | grep -qx '3' || fail "expected exactly 3 virtio nodes in the device tree"

# SIGKILL right after the guest's sync: nothing synced is lost.
truncate -s 32M "$WORK/kill.img"
set +e
timeout 240 "$VESSEL" run --disk "$WORK/kill.img" -- sh -c '
  printf "synced-before-kill" | dd of=/dev/vda bs=512 seek=4000 conv=sync 2>/dev/null
  sync; echo SYNCED; sleep 60' </dev/null > "$WORK/out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do grep -q SYNCED "$WORK/out" && break; sleep 0.1; done
kill -9 $pid
wait $pid 2>/dev/null
set -e
grep -q SYNCED "$WORK/out" || fail "the guest never reported its sync"
dd if="$WORK/kill.img" bs=512 skip=4000 count=1 2>/dev/null | grep -q 'synced-before-kill' \
  || fail "data synced before SIGKILL is missing from the image"
