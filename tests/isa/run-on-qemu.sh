#!/usr/bin/env bash
# Runs every built ISA test ELF (except the vessel-only HTIF group) under
# QEMU's virt board and prints one line per test and a summary.
#   usage: tests/isa/run-on-qemu.sh BUILD_DIR
# Self-tests named failN must fail with exit status N and print
# "FAIL test N".  Tests named *instret* need an exact instruction counter,
# which QEMU provides only with -icount.  With HTIF=1 the HTIF group also
# runs, on QEMU's spike board (which implements HTIF).
set -u
build=${1:?usage: $0 BUILD_DIR}
qemu=${QEMU:-qemu-system-riscv64}
dir=$build/tests/isa
[ -d "$dir" ] || dir=$build
passed=0
failed=0
while IFS= read -r elf; do
  rel=${elf#"$dir"/}
  machine=virt
  case $rel in
    c/*) continue ;;                    # tests/isa/c has its own runner
    htif/*) [ "${HTIF:-0}" = 1 ] || continue; machine=spike ;;
  esac
  name=${rel%.elf}
  extra=()
  case $name in *instret*) extra=(-icount shift=0) ;; esac
  out=$(timeout 10 "$qemu" -M $machine -m 256M -bios none -nographic -monitor none \
        -serial stdio "${extra[@]}" -kernel "$elf" </dev/null 2>&1)
  rc=$?
  base=${name##*/}
  if [[ $base =~ ^fail([0-9]+)$ ]]; then
    n=${BASH_REMATCH[1]}
    if [ "$rc" -eq "$n" ] && { [ $machine = spike ] || grep -q "FAIL test $n\$" <<<"$out"; }; then
      echo "PASS $name (failed as expected: exit $rc)"; passed=$((passed + 1))
    else
      echo "FAIL $name (expected exit $n and 'FAIL test $n', got exit $rc)"; failed=$((failed + 1))
    fi
  elif [ "$rc" -eq 0 ]; then
    echo "PASS $name"; passed=$((passed + 1))
  else
    msg=$(grep -m1 -E 'FAIL|unexpected' <<<"$out" | tr -d '\r')
    [ "$rc" -eq 124 ] && msg="timeout"
    echo "FAIL $name (exit $rc${msg:+: $msg})"; failed=$((failed + 1))
  fi
done < <(find "$dir" -name '*.elf' | sort)
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
