#!/bin/bash
# CPU benchmark: runs bench/programs/cpu under vessel and under QEMU (TCG),
# alternating, and reports median wall times, their ratio and vessel's MIPS.
#
# Usage: bench/cpu.sh [--rounds N] [--scale N] [--qemu-only] [--no-build]
#                     [--timeout SECONDS] [--verbose]
# Env:   BUILD_DIR (default build), VESSEL (default $BUILD_DIR/vessel),
#        VESSEL_ARGS (extra arguments for `vessel run`),
#        QEMU (default qemu-system-riscv64), RISCV_CC (default riscv64-unknown-elf-gcc),
#        HOST_CC (default gcc)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prog_dir=bench/programs/cpu
rounds=3 scale=1 qemu_only=0 build=1 timeout_s=900 verbose=0

die() { echo "cpu: error: $*" >&2; exit 1; }
usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=${2:?}; shift 2 ;;
    --scale) scale=${2:?}; shift 2 ;;
    --qemu-only) qemu_only=1; shift ;;
    --no-build) build=0; shift ;;
    --timeout) timeout_s=${2:?}; shift 2 ;;
    -v|--verbose) verbose=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "cpu: unknown argument: $1" >&2; usage 2 ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive integer"
[[ $scale =~ ^[1-9][0-9]*$ ]] || die "--scale wants a positive integer"

build_dir=${BUILD_DIR:-$root/build}
vessel=${VESSEL:-$build_dir/vessel}
qemu=${QEMU:-qemu-system-riscv64}
riscv_cc=${RISCV_CC:-riscv64-unknown-elf-gcc}
host_cc=${HOST_CC:-gcc}
out_dir=$build_dir/bench/cpu
suffix=$([[ $scale == 1 ]] && echo "" || echo "-s$scale")
elf=$out_dir/cpu$suffix.elf
native=$out_dir/cpu-native$suffix

# ---- build ------------------------------------------------------------------
command -v "$riscv_cc" >/dev/null || die "$riscv_cc not found (apt install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf)"
command -v "$host_cc" >/dev/null || die "$host_cc not found"
command -v "$qemu" >/dev/null || die "$qemu not found (apt install qemu-system-misc)"
mkdir -p "$out_dir"
src=$root/$prog_dir/cpu.c
rt=$root/tests/rt
# Same flags as tests/rt/BareMetal.cmake (VESSEL_BAREMETAL_CFLAGS).
"$riscv_cc" -march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -static -g -ffp-contract=off \
  --specs=picolibc.specs -nostartfiles -T "$rt/link.ld" -I"$rt" -DCPU_SCALE="$scale" \
  -o "$elf" "$rt/crt0.S" "$rt/rt.c" "$src" || die "cross-compiling $src failed"
"$host_cc" -O2 -ffp-contract=off -funsigned-char -DCPU_SCALE="$scale" -o "$native" "$src" -lm \
  || die "compiling $src natively failed"

if [[ $qemu_only -eq 0 ]]; then
  if [[ $build -eq 1 && -z ${VESSEL:-} && -f $build_dir/CMakeCache.txt ]]; then
    cmake --build "$build_dir" --target vessel >"$out_dir/vessel-build.log" 2>&1 \
      || { tail -n 30 "$out_dir/vessel-build.log" >&2; die "building vessel failed (log: $out_dir/vessel-build.log)"; }
  fi
  [[ -x $vessel ]] || die "vessel binary $vessel not found: build it first (make build), set VESSEL=/path/to/vessel, or use --qemu-only"
fi

# ---- runs -------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# run NAME OUTFILE ERRFILE CMD...: runs CMD with a timeout, prints wall seconds.
run_timed() {
  local name=$1 out=$2 err=$3
  shift 3
  local start=$EPOCHREALTIME status=0
  timeout "$timeout_s" "$@" >"$out" 2>"$err" </dev/null || status=$?
  local end=$EPOCHREALTIME
  if [[ $status -ne 0 ]]; then
    echo "cpu: $name exited with status $status" >&2
    tail -n 20 "$err" >&2
    tail -n 5 "$out" >&2
    exit 1
  fi
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
checksums() { grep -E '^cpu: .* checksum ' "$1" || true; }

native_times=() qemu_times=() vessel_times=() vessel_insns=()
for ((r = 1; r <= rounds; r++)); do
  t=$(run_timed native "$tmp/native.out" "$tmp/native.err" "$native")
  native_times+=("$t")
done
checksums "$tmp/native.out" >"$tmp/expected"
[[ -s $tmp/expected ]] || die "native run printed no checksums"
total=$(sed -n 's/^cpu: total *checksum \(0x[0-9a-f]*\).*/\1/p' "$tmp/expected")

verify() { # verify NAME OUTFILE
  if ! diff -q "$tmp/expected" <(checksums "$2") >/dev/null; then
    echo "cpu: $1 checksums differ from the native run:" >&2
    diff -u --label native --label "$1" "$tmp/expected" <(checksums "$2") >&2 || true
    exit 1
  fi
}

for ((r = 1; r <= rounds; r++)); do
  t=$(run_timed qemu "$tmp/qemu.out" "$tmp/qemu.err" "$qemu" -M virt -bios none -nographic -m 256M -kernel "$elf")
  verify qemu "$tmp/qemu.out"
  qemu_times+=("$t")
  [[ $verbose -eq 1 ]] && echo "cpu: round $r qemu   $t s" >&2
  if [[ $qemu_only -eq 0 ]]; then
    # shellcheck disable=SC2086 # VESSEL_ARGS is a list of words
    t=$(run_timed vessel "$tmp/vessel.out" "$tmp/vessel.err" "$vessel" run --bios "$elf" --stats ${VESSEL_ARGS:-})
    verify vessel "$tmp/vessel.out"
    vessel_times+=("$t")
    insns=$(sed -n 's/^vessel: instructions=\([0-9]*\) seconds=.*/\1/p' "$tmp/vessel.err" | tail -n 1)
    vessel_insns+=("${insns:-}")
    [[ $verbose -eq 1 ]] && echo "cpu: round $r vessel $t s ${insns:+($insns instructions)}" >&2
  fi
done

native_med=$(echo "${native_times[*]}" | median)
qemu_med=$(echo "${qemu_times[*]}" | median)
echo "cpu: program $prog_dir (checksum $total)$([[ $scale != 1 ]] && echo ", scale $scale"), $rounds rounds"
printf 'cpu: native %6.2f s\n' "$native_med"
printf 'cpu: qemu   %6.2f s  (median)\n' "$qemu_med"
if [[ $qemu_only -eq 0 ]]; then
  vessel_med=$(echo "${vessel_times[*]}" | median)
  insns=${vessel_insns[0]}
  for i in "${vessel_insns[@]}"; do
    [[ $i == "$insns" ]] || echo "cpu: warning: instruction counts differ between rounds (${vessel_insns[*]})" >&2
  done
  if [[ -n $insns ]]; then
    mips=$(awk -v n="$insns" -v t="$vessel_med" 'BEGIN { printf "%.0f", n / t / 1e6 }')
    printf 'cpu: vessel %6.2f s  (median)  %s MIPS  (%s instructions)\n' "$vessel_med" "$mips" "$insns"
  else
    echo "cpu: warning: no 'vessel: instructions=N seconds=S' line on vessel's stderr" >&2
    printf 'cpu: vessel %6.2f s  (median)  MIPS n/a\n' "$vessel_med"
  fi
  awk -v v="$vessel_med" -v q="$qemu_med" \
    'BEGIN { printf "cpu: vessel/qemu time ratio %.2f (vessel runs at %.2fx qemu speed)\n", v / q, q / v }'
fi
