#!/bin/bash
# Runs a bare-metal program under QEMU's virt board (the reference for vessel)
# and exits with the program's exit status. Usage: run-qemu.sh PROG.elf [HARTS]
# (HARTS: QEMU's -smp, default 1; every hart starts at the ELF's entry).
# Env: QEMU (default qemu-system-riscv64), QEMU_TIMEOUT seconds (default 120).
set -u
if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 PROG.elf [HARTS]" >&2
  exit 2
fi
exec timeout "${QEMU_TIMEOUT:-120}" "${QEMU:-qemu-system-riscv64}" \
  -M virt -smp "${2:-1}" -bios none -nographic -m 256M -kernel "$1" </dev/null
