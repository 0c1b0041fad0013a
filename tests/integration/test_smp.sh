# --cpus 2: the guest kernel brings up both harts (through SBI HSM).
set -e
source "$(dirname "$0")/lib.sh"
run_vessel run --cpus 2 -- sh -c 'echo "nproc=$(nproc)"'
expect_status 0
expect_output 'nproc=2'
run_vessel run --cpus 2 --bios "$OPENSBI" --kernel "$KERNEL" --initrd "$INITRD" \
  --cmdline "console=ttyS0 vessel.cmd=$(guest_cmd 'echo "nproc=$(nproc)"')"
expect_status 0
expect_output 'nproc=2'
