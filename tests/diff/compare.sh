#!/bin/bash
# Differential test: runs a program natively and a RISC-V build of it under
# vessel, and requires byte-identical stdout and exit status 0 from both.
#
# Usage: compare.sh NATIVE VESSEL ELF
#   NATIVE  host executable
#   VESSEL  the vessel binary, run as `VESSEL run --bios ELF $DIFF_VESSEL_ARGS`
#           (if it is tests/rt/run-qemu.sh instead, it is run as `VESSEL ELF`:
#           the QEMU reference for the test programs themselves)
#   ELF     the RISC-V build of the same program
set -u
if [[ $# -ne 3 ]]; then
  echo "usage: $0 NATIVE VESSEL ELF" >&2
  exit 2
fi
native=$1 vessel=$2 elf=$3
for f in "$native" "$vessel"; do
  if [[ ! -x $f ]]; then echo "compare: $f: not an executable" >&2; exit 2; fi
done
if [[ ! -f $elf ]]; then echo "compare: $elf: no such file" >&2; exit 2; fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vessel-diff.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

"$native" >"$tmp/native.out" 2>"$tmp/native.err" </dev/null
native_status=$?
if [[ $(basename "$vessel") == run-qemu.sh ]]; then
  "$vessel" "$elf" >"$tmp/guest.out" 2>"$tmp/guest.err" </dev/null
else
  # shellcheck disable=SC2086 # DIFF_VESSEL_ARGS is a list of words
  "$vessel" run --bios "$elf" ${DIFF_VESSEL_ARGS:-} >"$tmp/guest.out" 2>"$tmp/guest.err" </dev/null
fi
guest_status=$?

fail=0
if [[ $native_status -ne 0 ]]; then
  echo "compare: native program exited with status $native_status" >&2
  tail -n 20 "$tmp/native.err" >&2
  fail=1
fi
if [[ $guest_status -ne 0 ]]; then
  echo "compare: guest run exited with status $guest_status" >&2
  tail -n 20 "$tmp/guest.err" >&2
  fail=1
fi
if ! cmp -s "$tmp/native.out" "$tmp/guest.out"; then
  native_bytes=$(wc -c <"$tmp/native.out")
  guest_bytes=$(wc -c <"$tmp/guest.out")
  echo "compare: stdout differs (native $native_bytes bytes, guest $guest_bytes bytes):" >&2
  cmp "$tmp/native.out" "$tmp/guest.out" >&2
  echo "--- first differences (- native, + guest):" >&2
  diff -u --label native --label guest "$tmp/native.out" "$tmp/guest.out" | head -n 40 >&2
  if [[ -s $tmp/guest.err ]]; then
    echo "--- guest stderr (last lines):" >&2
    tail -n 10 "$tmp/guest.err" >&2
  fi
  fail=1
fi
if [[ $fail -eq 0 ]]; then
  echo "compare: identical output ($(wc -c <"$tmp/native.out") bytes)"
fi
exit $fail
