#!/bin/bash
# CPU benchmark: runs bench/programs/cpu under QEMU (TCG) and under vessel with
# each of its engines (interpreter, translator), alternating, and reports
# median wall times, per-kernel times, the vessel/QEMU ratios and MIPS.
#
# Usage: bench/cpu.sh [--rounds N] [--scale N] [--engines LIST] [--qemu-only]
#                     [--no-build] [--timeout SECONDS] [--verbose]
#   --engines LIST  vessel engines to run, comma-separated (default interp,jit)
# Env:   BUILD_DIR (default build), VESSEL (default $BUILD_DIR/vessel),
#        VESSEL_ARGS (extra arguments for `vessel run`, not --engine),
#        QEMU (default qemu-system-riscv64), RISCV_CC (default riscv64-unknown-elf-gcc),
#        HOST_CC (default gcc)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prog_dir=bench/programs/cpu
rounds=3 scale=1 qemu_only=0 build=1 timeout_s=900 verbose=0

me=cpu
die() { echo "$me: error: $*" >&2; exit 1; }
usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
# shellcheck source=bench/lib/engines.sh
. "$root/bench/lib/engines.sh"
engine_list=$ENG_DEFAULT

while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=${2:?--rounds wants a value}; shift 2 ;;
    --scale) scale=${2:?--scale wants a value}; shift 2 ;;
    *) eng_common_option "$@"; shift "$eng_shift" ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive integer"
[[ $scale =~ ^[1-9][0-9]*$ ]] || die "--scale wants a positive integer"
eng_check_common

build_dir=${BUILD_DIR:-$root/build}
vessel=${VESSEL:-$build_dir/vessel}
read -ra vessel_args <<<"${VESSEL_ARGS:-}"
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
  eng_check_vessel "$vessel" "${vessel_args[@]}"
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
    echo "cpu: $name exited with status $status$([[ $status -eq 124 ]] && echo " (timed out after $timeout_s s? see --timeout)")" >&2
    echo "cpu: command: $*" >&2
    tail -n 20 "$err" >&2
    tail -n 5 "$out" >&2
    exit 1
  fi
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
checksums() { grep -E '^cpu: .* checksum ' "$1" || true; }
kernel_names() { sed -n 's/^cpu: \([a-z0-9_]*\) *checksum .*/\1/p' "$1" | grep -vx total || true; }

# times[CONFIG]: wall seconds per round; ktimes[CONFIG.KERNEL]: the program's
# own per-kernel seconds per round; insns/cache/... [CONFIG]: vessel's --stats.
declare -A times ktimes insns blocks cache translate flushes invals
record_kernels() { # record_kernels CONFIG OUTFILE
  local name us
  while read -r name us; do
    ktimes[$1.$name]+=" $(awk -v u="$us" 'BEGIN { printf "%.6f", u / 1e6 }')"
  done < <(sed -n 's/^cpu: \([a-z0-9_]*\) *time \([0-9]*\) us$/\1 \2/p' "$2")
}

for ((r = 1; r <= rounds; r++)); do
  t=$(run_timed native "$tmp/native.out" "$tmp/native.err" "$native")
  times[native]+=" $t"
  record_kernels native "$tmp/native.out"
done
checksums "$tmp/native.out" >"$tmp/expected"
[[ -s $tmp/expected ]] || die "native run printed no checksums"
total=$(sed -n 's/^cpu: total *checksum \(0x[0-9a-f]*\).*/\1/p' "$tmp/expected")
mapfile -t kernels < <(kernel_names "$tmp/native.out")

verify() { # verify NAME OUTFILE
  if ! diff -q "$tmp/expected" <(checksums "$2") >/dev/null; then
    echo "cpu: $1 checksums differ from the native run:" >&2
    diff -u --label native --label "$1" "$tmp/expected" <(checksums "$2") >&2 || true
    exit 1
  fi
}

configs=(qemu)
for e in "${engines[@]}"; do configs+=("vessel-$e"); done
for ((r = 1; r <= rounds; r++)); do
  for c in "${configs[@]}"; do
    case $c in
      qemu) cmd=("$qemu" -M virt -bios none -nographic -m 256M -kernel "$elf") ;;
      vessel-*) cmd=("$vessel" run --bios "$elf" --stats --engine "${c#vessel-}" "${vessel_args[@]}") ;;
    esac
    t=$(run_timed "$c" "$tmp/$c.out" "$tmp/$c.err" "${cmd[@]}")
    verify "$c" "$tmp/$c.out"
    times[$c]+=" $t"
    record_kernels "$c" "$tmp/$c.out"
    extra=''
    if [[ $c == vessel-* ]]; then
      eng_stats "$tmp/$c.err"
      [[ $es_engine == "${c#vessel-}" ]] ||
        echo "cpu: warning: $c: vessel's stderr says engine '${es_engine:-?}' (no 'vessel: engine=...' line?)" >&2
      insns[$c]+=" $es_insns" blocks[$c]+=" $es_blocks" cache[$c]+=" $es_cache_bytes"
      translate[$c]+=" $es_translate" flushes[$c]+=" $es_flushes" invals[$c]+=" $es_invalidations"
      extra=" ${es_insns:+($es_insns instructions)}${es_cache_bytes:+ cache $(eng_kib "$es_cache_bytes") KiB}"
    fi
    [[ $verbose -eq 0 ]] || printf 'cpu: round %d %-13s %s s%s\n' "$r" "$c" "$t" "$extra" >&2
  done
done

# ---- report -----------------------------------------------------------------
med() { [[ -z ${1// /} ]] || echo "$1" | median; }
# Instruction counts: the program prints its per-kernel times, whose digits
# cost a few hundred instructions more or less from run to run; anything
# beyond that (1000 + 1 ppm) is worth a warning.
near() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1000 + a * 1e-6) }'; }
words_near() { # words_near "A B C": all words near the first (empty: true)
  local w first=''
  for w in $1; do [[ -n $first ]] || first=$w; near "$first" "$w" || return 1; done
}
echo "cpu: program $prog_dir (checksum $total)$([[ $scale != 1 ]] && echo ", scale $scale"), $rounds rounds"
printf 'cpu: %-13s %6.2f s\n' native "$(med "${times[native]}")"
qemu_med=$(med "${times[qemu]}")
printf 'cpu: %-13s %6.2f s  (median)\n' qemu "$qemu_med"
first_insns=''
for e in "${engines[@]}"; do
  c=vessel-$e
  v=$(med "${times[$c]}")
  n=${insns[$c]# }
  n=${n%% *}
  words_near "${insns[$c]}" || echo "cpu: warning: $c retired different instruction counts in different rounds (${insns[$c]# })" >&2
  if [[ -z $n ]]; then
    echo "cpu: warning: no 'vessel: instructions=N seconds=S' line on $c's stderr" >&2
    printf 'cpu: %-13s %6.2f s  (median)  MIPS n/a\n' "$c" "$v"
    continue
  fi
  if [[ -n $first_insns ]] && ! near "$first_insns" "$n"; then
    echo "cpu: warning: the engines retired different instruction counts ($first_insns, $c $n)" >&2
  fi
  first_insns=${first_insns:-$n}
  line=$(printf 'cpu: %-13s %6.2f s  (median)  %s MIPS' "$c" "$v" "$(eng_mips "$n" "$v")")
  if [[ $e == jit ]]; then
    line+=" (cache $(eng_kib "$(med "${cache[$c]}")") KiB)"
    line+="  $n instructions, $(med "${blocks[$c]}") blocks, translated in $(med "${translate[$c]}") s, $(med "${flushes[$c]}") flushes, $(med "${invals[$c]}") invalidations"
  else
    line+="  $n instructions"
  fi
  echo "$line"
done
for e in "${engines[@]}"; do
  c=vessel-$e
  awk -v c="$c" -v v="$(med "${times[$c]}")" -v q="$qemu_med" \
    'BEGIN { printf "cpu: %s/qemu time ratio %.2f (%s runs at %.2fx qemu speed)\n", c, v / q, c, q / v }'
done

# Per kernel: the program's own timing (CLOCK_MONOTONIC natively, mtime in the
# guest), medians; ratios are times vessel/qemu (below 1: vessel is faster).
if [[ ${#kernels[@]} -gt 0 && -n ${ktimes[native.${kernels[0]}]:-} ]]; then
  hdr=$(printf 'cpu: %-8s %8s %8s' "kernel" native qemu)
  for e in "${engines[@]}"; do hdr+=$(printf ' %8s' "$e"); done
  for e in "${engines[@]}"; do hdr+=$(printf ' %11s' "$e/qemu"); done
  echo "$hdr   (median s; ratios: time vessel/qemu)"
  for k in "${kernels[@]}"; do
    q=$(med "${ktimes[qemu.$k]:-}")
    row=$(printf 'cpu: %-8s %8.3f %8.3f' "$k" "$(med "${ktimes[native.$k]:-}")" "${q:-0}")
    for e in "${engines[@]}"; do row+=$(printf ' %8.3f' "$(med "${ktimes[vessel-$e.$k]:-}")"); done
    for e in "${engines[@]}"; do
      v=$(med "${ktimes[vessel-$e.$k]:-}")
      row+=$(printf ' %10sx' "$(awk -v v="$v" -v q="$q" 'BEGIN { if (q > 0 && v != "") printf "%.2f", v / q; else printf "n/a" }')")
    done
    echo "$row"
  done
else
  echo "cpu: warning: the program printed no per-kernel times ('cpu: NAME time N us')" >&2
fi
