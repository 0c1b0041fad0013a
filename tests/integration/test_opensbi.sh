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

# Much console output through the 8250's interrupts while OpenSBI handles the
# timer in M-mode (a lost or stuck interrupt stalls the console here).
run_vessel run --bios "$OPENSBI" --kernel "$KERNEL" --initrd "$INITRD" \
  --cmdline "console=ttyS0 quiet vessel.cmd=$(guest_cmd 'i=0; while [ $i -lt 3000 ]; do echo "line $i of console output"; i=$((i+1)); done; echo ALL-DONE')"
expect_status 0
expect_output 'line 2999 of console output'
expect_output 'ALL-DONE'
