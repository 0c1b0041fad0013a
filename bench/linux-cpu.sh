#!/bin/bash
# Linux CPU benchmark: runs bench/programs/linux-cpu (a static RISC-V Linux
# program: integer, memory and floating-point work, timed inside the guest)
# in the default Linux guest under QEMU (TCG, its default OpenSBI), vessel
# (built-in SBI) and vessel with Debian's OpenSBI, each vessel with each of its
# engines (interpreter, translator), alternating, and reports the median
# in-guest times (total and per phase), the checksums, vessel's MIPS and the
# vessel/QEMU ratios.
#
# Usage: bench/linux-cpu.sh [--runs N] [--scale N] [--mem SIZE] [--engines LIST]
#                           [--qemu-only] [--no-opensbi] [--no-build]
#                           [--timeout SECONDS] [--verbose]
#   --engines LIST  vessel engines to run, comma-separated (default interp,jit)
# Env:   KERNEL, INITRD (default: scripts/build-guest --print), BUILD_DIR
#        (default build), VESSEL (default $BUILD_DIR/vessel), VESSEL_ARGS (extra
#        `vessel run` arguments, not --engine), QEMU (default qemu-system-riscv64),
#        OPENSBI (default /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin),
#        RISCV_LINUX_CC (default riscv64-linux-gnu-gcc), HOST_CC (default gcc)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=linux-cpu
# shellcheck source=bench/lib/linux-guest.sh
. "$root/bench/lib/linux-guest.sh"
# shellcheck source=bench/lib/engines.sh
. "$root/bench/lib/engines.sh"

runs=3 scale=1 mem=512M qemu_only=0 opensbi=1 build=1 timeout_s=300 verbose=0
engine_list=$ENG_DEFAULT
usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=${2:?--runs wants a value}; shift 2 ;;
    --scale) scale=${2:?--scale wants a value}; shift 2 ;;
    --mem) mem=${2:?--mem wants a value}; shift 2 ;;
    --no-opensbi) opensbi=0; shift ;;
    *) eng_common_option "$@"; shift "$eng_shift" ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive integer"
[[ $scale =~ ^[1-9][0-9]*$ ]] || die "--scale wants a positive integer"
[[ $mem =~ ^[1-9][0-9]*[MG]$ ]] || die "--mem wants a size like 512M or 1G"
eng_check_common

riscv_cc=${RISCV_LINUX_CC:-riscv64-linux-gnu-gcc}
host_cc=${HOST_CC:-gcc}
prog_dir=bench/programs/linux-cpu
src=$root/$prog_dir/linux-cpu.c
out_dir=${BUILD_DIR:-$root/build}/bench/linux-cpu
command -v "$riscv_cc" >/dev/null || die "$riscv_cc not found (apt install gcc-riscv64-linux-gnu libc6-dev-riscv64-cross)"
command -v "$host_cc" >/dev/null || die "$host_cc not found"
lg_find_guest
lg_find_qemu
configs=(qemu)
if [[ $qemu_only -eq 0 ]]; then
  lg_find_vessel "$build" "$out_dir/vessel-build.log"
  eng_check_vessel "$vessel" "${vessel_args[@]}"
  for e in "${engines[@]}"; do configs+=("vessel-$e"); done
  opensbi_bin=${OPENSBI:-/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin}
  if [[ $opensbi -eq 1 ]]; then
    [[ -f $opensbi_bin ]] || die "OpenSBI firmware $opensbi_bin not found (apt install opensbi, set OPENSBI=, or use --no-opensbi)"
    for e in "${engines[@]}"; do configs+=("vessel-$e+opensbi"); done
  fi
fi

# ---- build: the program, and the bench initrd = default initramfs + a second
# (gzipped newc) archive holding /bin/linux-cpu --------------------------------
mkdir -p "$out_dir/root/bin"
"$riscv_cc" -static -O2 -ffp-contract=off -o "$out_dir/root/bin/linux-cpu" "$src" -lm ||
  die "cross-compiling $src failed"
"$host_cc" -O2 -ffp-contract=off -o "$out_dir/linux-cpu-native" "$src" -lm ||
  die "compiling $src natively failed"
lg_extend_initrd "$out_dir" linux-cpu

lg_tmpdir

# ---- runs ---------------------------------------------------------------------
result_re='linux-cpu: checksum=(0x[0-9a-f]+) elapsed=([0-9.]+)'
parse() { # parse LOG: sets p_sum p_elapsed p_int p_mem p_fp (empty if absent)
  p_sum='' p_elapsed='' p_int='' p_mem='' p_fp=''
  local line
  while IFS= read -r line; do
    if [[ $line =~ $result_re ]]; then p_sum=${BASH_REMATCH[1]} p_elapsed=${BASH_REMATCH[2]}; fi
    if [[ $line =~ linux-cpu:\ (int|mem|fp)\ +checksum\ 0x[0-9a-f]+\ ([0-9.]+)\ s ]]; then
      printf -v "p_${BASH_REMATCH[1]}" '%s' "${BASH_REMATCH[2]}"
    fi
  done <"$1"
}

declare -A elapsed_t wall_t int_t mem_t fp_t failed sums mips_r cache_b
record() { # record CONFIG: appends the parsed times
  sums[$1]=$p_sum elapsed_t[$1]+=" $p_elapsed" int_t[$1]+=" $p_int" mem_t[$1]+=" $p_mem" fp_t[$1]+=" $p_fp"
}

for ((r = 1; r <= runs; r++)); do
  "$out_dir/linux-cpu-native" "$scale" >"$lg_tmp/native.out" || die "native run failed"
  cp "$lg_tmp/native.out" "$out_dir/native.log"
  parse "$lg_tmp/native.out"
  [[ -n $p_sum ]] || die "the native run printed no checksum line"
  expected=$p_sum
  record native
done
for c in "${configs[@]}"; do failed[$c]=0; done

# On failure the guest prints the end of the kernel log: with
# print-fatal-signals=1 it shows the registers and instruction of a crash.
guest_cmd="test -x /bin/linux-cpu || { echo 'linux-cpu: /bin/linux-cpu is missing: the extra initramfs archive was not unpacked'; exit 3; }
/bin/linux-cpu $scale; s=\$?; [ \$s -eq 0 ] || dmesg | tail -n 20; exit \$s"
cmdline="console=ttyS0 quiet print-fatal-signals=1 vessel.cmd=$(printf '%s' "$guest_cmd" | base64 -w0)"
for ((r = 1; r <= runs; r++)); do
  for c in "${configs[@]}"; do
    [[ ${failed[$c]} -eq 0 ]] || continue
    e=${c#vessel-} e=${e%+opensbi}
    case $c in
      qemu) cmd=("$qemu" -M virt -m "$mem" -smp 1 -nographic -bios default -no-reboot
                 -kernel "$KERNEL" -initrd "$initrd" -append "$cmdline") ;;
      *+opensbi) cmd=("$vessel" run --bios "$opensbi_bin" --kernel "$KERNEL" --initrd "$initrd"
                      --cmdline "$cmdline" --mem "$mem" --engine "$e" --stats "${vessel_args[@]}") ;;
      vessel-*) cmd=("$vessel" run --kernel "$KERNEL" --initrd "$initrd" --cmdline "$cmdline"
                     --mem "$mem" --engine "$e" --stats "${vessel_args[@]}") ;;
    esac
    log=$out_dir/${c/+/-}.log
    lg_run "$log" "$timeout_s" "${cmd[@]}"
    parse "$log"
    if ! lg_failed "$log" && [[ -z $p_sum ]]; then
      lg_why="no 'linux-cpu: checksum=... elapsed=...' line in the output"
    elif [[ -z $lg_why && $p_sum != "$expected" ]]; then
      lg_why="checksum $p_sum differs from the native run's $expected"
    fi
    if [[ -n $lg_why ]]; then
      failed[$c]=1
      lg_describe_failure "$c (run $r)" "$log"
      echo "$me: command: ${cmd[*]}" >&2
      continue
    fi
    record "$c"
    wall_t[$c]+=" $lg_exit"
    eng_collect "$c" "$log"  # vessel's --stats: MIPS over its own run time, the code cache
    stats=${eng_summary:+  $eng_summary}
    [[ $verbose -eq 0 ]] ||
      printf '%s: run %d %-21s elapsed %.3f s  (int %s  mem %s  fp %s)  wall %.3f s%s\n' \
        "$me" "$r" "$c" "$p_elapsed" "$p_int" "$p_mem" "$p_fp" "$lg_exit" "$stats" >&2
  done
done

# ---- report -------------------------------------------------------------------
med() { lg_median <<<"$1" | awk '{ printf "%.2f", $1 }'; }
echo "linux-cpu: program $prog_dir$([[ $scale != 1 ]] && echo " (scale $scale)"), $runs runs, initrd $(lg_tilde "$INITRD") + $(lg_tilde "$out_dir/extra.cpio.gz")"
line() { # line CONFIG CHECKSUM [WALL [EXTRA]]
  printf 'linux-cpu: %-26s elapsed %6.2f s  (int %s  mem %s  fp %s)  checksum %s%s%s\n' "$1" \
    "$(med "${elapsed_t[$1]}")" "$(med "${int_t[$1]}")" "$(med "${mem_t[$1]}")" "$(med "${fp_t[$1]}")" \
    "$2" "${3:+  wall $(med "$3") s}" "${4:-}"
}
vessel_extra() { # vessel_extra CONFIG: "  N MIPS" (+ " (cache X KiB)" for the translator)
  local x=''
  [[ -z ${mips_r[$1]:-} ]] || x+="  $(lg_median <<<"${mips_r[$1]}" | awk '{ printf "%.0f", $1 }') MIPS"
  [[ -z ${cache_b[$1]:-} ]] || x+=" (cache $(eng_kib "$(lg_median <<<"${cache_b[$1]}")") KiB)"
  printf '%s' "$x"
}
line native "${sums[native]}"
any_failed=0
for c in "${configs[@]}"; do
  if [[ ${failed[$c]} -ne 0 ]]; then
    printf 'linux-cpu: %-26s FAILED (see above)\n' "$c"
    any_failed=1
  else
    line "$c" "${sums[$c]}" "${wall_t[$c]}" "$(vessel_extra "$c")"
  fi
done
if [[ ${failed[qemu]} -eq 0 ]]; then
  q=$(lg_median <<<"${elapsed_t[qemu]}")
  for c in "${configs[@]}"; do
    [[ $c != qemu && -n ${elapsed_t[$c]:-} && ${failed[$c]:-1} -eq 0 ]] || continue
    v=$(lg_median <<<"${elapsed_t[$c]}")
    printf 'linux-cpu: %-26s elapsed %6sx (%s runs at %sx qemu speed)\n' "$c/qemu" "$(lg_ratio "$v" "$q")" "$c" "$(lg_ratio "$q" "$v")"
  done
  # Per phase, side by side: QEMU and vessel (built-in SBI) with each engine.
  if [[ ${#engines[@]} -gt 0 ]]; then
    hdr=$(printf 'linux-cpu: %-6s %8s %8s' phase native qemu)
    for e in "${engines[@]}"; do hdr+=$(printf ' %8s' "$e"); done
    for e in "${engines[@]}"; do hdr+=$(printf ' %11s' "$e/qemu"); done
    echo "$hdr   (median in-guest s; ratios: time vessel/qemu)"
    for ph in int mem fp; do
      declare -n pt=${ph}_t
      qp=$(med "${pt[qemu]}")
      row=$(printf 'linux-cpu: %-6s %8s %8s' "$ph" "$(med "${pt[native]}")" "$qp")
      for e in "${engines[@]}"; do
        if [[ ${failed[vessel-$e]} -eq 0 ]]; then row+=$(printf ' %8s' "$(med "${pt[vessel-$e]}")"); else row+=$(printf ' %8s' FAILED); fi
      done
      for e in "${engines[@]}"; do
        if [[ ${failed[vessel-$e]} -eq 0 ]]; then
          row+=$(printf ' %10sx' "$(lg_ratio "$(lg_median <<<"${pt[vessel-$e]}")" "$(lg_median <<<"${pt[qemu]}")")")
        else
          row+=$(printf ' %11s' n/a)
        fi
      done
      echo "$row"
      unset -n pt
    done
  fi
fi
[[ $any_failed -eq 0 ]] || { echo "linux-cpu: error: some runs failed (logs in $out_dir)" >&2; exit 1; }
