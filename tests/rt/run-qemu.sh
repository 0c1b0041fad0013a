#!/bin/bash
# Runs a bare-metal program under QEMU's virt board (the reference for vessel)
# and exits with the program's exit status. Usage: run-qemu.sh PROG.elf
# Env: QEMU (default qemu-system-riscv64), QEMU_TIMEOUT seconds (default 120).
set -u
if [[ $# -ne 1 ]]; then
  echo "usage: $0 PROG.elf" >&2
  exit 2
fi
exec timeout "${QEMU_TIMEOUT:-120}" "${QEMU:-qemu-system-riscv64}" \
  -M virt -bios none -nographic -m 256M -kernel "$1" </dev/null
