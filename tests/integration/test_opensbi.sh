# Debian's OpenSBI in M-mode starts the same kernel and userland.
set -e
source "$(dirname "$0")/lib.sh"
[ -f "$OPENSBI" ] || fail "$OPENSBI missing (package opensbi)"
run_vessel run --bios "$OPENSBI" --kernel "$KERNEL" --initrd "$INITRD" \
  --cmdline "console=ttyS0 vessel.cmd=$(guest_cmd 'echo via opensbi; uname -m; exit 3')"
expect_status 3
expect_output 'OpenSBI'
expect_output 'via opensbi'
expect_output 'riscv64'
