# A host block device as a guest disk (issue 10): a loop device over a file.
# vessel sizes it with BLKGETSIZE64 (the guest sees the loop device's size,
# not its inode's zero), the guest writes through it and reads back, and the
# data is in the file under the loop device afterwards. The sandbox is on.
set -e
source "$(dirname "$0")/lib.sh"
LOOPDEV=
cleanup() {
  [ -n "$LOOPDEV" ] && losetup -d "$LOOPDEV" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

truncate -s 24M "$WORK/backing.img"
if ! LOOPDEV=$(losetup -f --show "$WORK/backing.img" 2>"$WORK/losetup.err"); then
  LOOPDEV=
  echo "skip: block device (losetup failed: $(head -n 1 "$WORK/losetup.err"))"
  exit 0
fi
[ -b "$LOOPDEV" ] || fail "losetup gave $LOOPDEV, not a block device"

# The guest: the disk's size in sectors, then a write through the page cache
# bypassed (conv=fsync reaches the device), then the same bytes read back.
run_vessel run --disk "$LOOPDEV" -- sh -c '
  echo size=$(cat /sys/block/vda/size)
  echo block-device-data-42 | dd of=/dev/vda bs=512 seek=100 conv=sync,fsync 2>/dev/null
  echo 3 > /proc/sys/vm/drop_caches
  echo back=$(dd if=/dev/vda bs=512 skip=100 count=1 2>/dev/null | tr -d "\0")'
expect_status 0
expect_output '^size=49152'
expect_output '^back=block-device-data-42'
grep -q forbidden "$WORK/out" && fail "a forbidden call with a block device"
got=$(dd if="$WORK/backing.img" bs=512 skip=100 count=1 2>/dev/null | tr -d '\0')
[ "$got" = block-device-data-42 ] || fail "the guest's write is not in the loop device's file: '$got'"

# Read-only, the guest cannot write it.
run_vessel run --disk "$LOOPDEV,ro" -- sh -c '
  echo ro=$(cat /sys/block/vda/ro)
  echo x | dd of=/dev/vda conv=fsync 2>/dev/null || echo write-refused'
expect_status 0
expect_output '^ro=1'
expect_output '^write-refused'
echo "block_device: ok"
