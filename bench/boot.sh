#!/bin/bash
# Boot benchmark: boots the default Linux guest (same kernel and initramfs)
# under QEMU (TCG, its default OpenSBI), vessel (built-in SBI) and vessel with
# Debian's OpenSBI, each vessel with each of its engines (interpreter,
# translator), alternating, the guest running `true` and powering off.
# Reports median wall time to the line "vessel-init: ready", to process exit,
# median peak RSS, vessel's MIPS, and the vessel/QEMU ratios; and each engine
# with --sandbox on (the default) beside --sandbox off.
#
# Usage: bench/boot.sh [--runs N] [--cpus N] [--mem SIZE] [--engines LIST]
#                      [--qemu-only] [--no-opensbi] [--no-sandbox-row] [--no-build]
#                      [--timeout SECONDS] [--verbose]
#   --engines LIST    vessel engines to run, comma-separated (default interp,jit)
#   --no-sandbox-row  skip the --sandbox off runs
# Env:   KERNEL, INITRD (default: scripts/build-guest --print), BUILD_DIR
#        (default build), VESSEL (default $BUILD_DIR/vessel), VESSEL_ARGS (extra
#        `vessel run` arguments, not --engine), QEMU (default qemu-system-riscv64), OPENSBI
#        (default /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=boot
# shellcheck source=bench/lib/linux-guest.sh
. "$root/bench/lib/linux-guest.sh"
# shellcheck source=bench/lib/engines.sh
. "$root/bench/lib/engines.sh"

runs=5 cpus=1 mem=512M qemu_only=0 opensbi=1 sandbox_row=1 build=1 timeout_s=300 verbose=0
engine_list=$ENG_DEFAULT
usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=${2:?--runs wants a value}; shift 2 ;;
    --cpus) cpus=${2:?--cpus wants a value}; shift 2 ;;
    --mem) mem=${2:?--mem wants a value}; shift 2 ;;
    --no-opensbi) opensbi=0; shift ;;
    --no-sandbox-row) sandbox_row=0; shift ;;
    *) eng_common_option "$@"; shift "$eng_shift" ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive integer"
[[ $cpus =~ ^[1-8]$ ]] || die "--cpus wants 1 to 8"
[[ $mem =~ ^[1-9][0-9]*[MG]$ ]] || die "--mem wants a size like 512M or 1G"
eng_check_common

lg_find_guest
lg_find_qemu
out_dir=${BUILD_DIR:-$root/build}/bench/boot
mkdir -p "$out_dir"
opensbi_bin=${OPENSBI:-/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin}
configs=(qemu)
if [[ $qemu_only -eq 0 ]]; then
  lg_find_vessel "$build" "$out_dir/vessel-build.log"
  eng_check_vessel "$vessel" "${vessel_args[@]}"
  for e in "${engines[@]}"; do configs+=("vessel-$e"); done
  if [[ $opensbi -eq 1 ]]; then
    [[ -f $opensbi_bin ]] || die "OpenSBI firmware $opensbi_bin not found (apt install opensbi, set OPENSBI=, or use --no-opensbi)"
    for e in "${engines[@]}"; do configs+=("vessel-$e+opensbi"); done
  fi
  if [[ $sandbox_row -eq 1 ]]; then
    for e in "${engines[@]}"; do configs+=("vessel-$e-sandbox-off"); done
  fi
fi
lg_tmpdir

cmdline="console=ttyS0 quiet vessel.cmd=$(printf '%s' true | base64 -w0)"
cmd_for() {
  local e=${1#vessel-}
  e=${e%+opensbi}
  e=${e%-sandbox-off}
  case $1 in
    qemu) cmd=("$qemu" -M virt -m "$mem" -smp "$cpus" -nographic -bios default -no-reboot
               -kernel "$KERNEL" -initrd "$INITRD" -append "$cmdline") ;;
    *+opensbi) cmd=("$vessel" run --bios "$opensbi_bin" --kernel "$KERNEL" --initrd "$INITRD"
                    --cmdline "$cmdline" --mem "$mem" --cpus "$cpus" --engine "$e" --stats "${vessel_args[@]}") ;;
    *-sandbox-off) cmd=("$vessel" run --kernel "$KERNEL" --initrd "$INITRD" --cmdline "$cmdline"
                        --mem "$mem" --cpus "$cpus" --engine "$e" --stats --sandbox off "${vessel_args[@]}") ;;
    vessel-*) cmd=("$vessel" run --kernel "$KERNEL" --initrd "$INITRD" --cmdline "$cmdline"
                   --mem "$mem" --cpus "$cpus" --engine "$e" --stats "${vessel_args[@]}") ;;
  esac
}

declare -A marker_t exit_t rss_k failed mips_r cache_b
for c in "${configs[@]}"; do marker_t[$c]='' exit_t[$c]='' rss_k[$c]='' failed[$c]=0 mips_r[$c]='' cache_b[$c]=''; done
for ((r = 1; r <= runs; r++)); do
  for c in "${configs[@]}"; do
    [[ ${failed[$c]} -eq 0 ]] || continue
    cmd_for "$c"
    log=$out_dir/${c/+/-}.log
    lg_run "$log" "$timeout_s" "${cmd[@]}"
    if lg_failed "$log"; then
      failed[$c]=1
      lg_describe_failure "$c (run $r)" "$log"
      echo "$me: command: ${cmd[*]}" >&2
      continue
    fi
    marker_t[$c]+=" $lg_marker" exit_t[$c]+=" $lg_exit" rss_k[$c]+=" ${lg_rss:-0}"
    eng_collect "$c" "$log"  # vessel's --stats: MIPS over its own run time, the code cache
    stats=${eng_summary:+  $eng_summary}
    [[ $verbose -eq 0 ]] ||
      printf '%s: run %d %-21s marker %.3f s  exit %.3f s  rss %s KiB%s\n' "$me" "$r" "$c" "$lg_marker" "$lg_exit" "${lg_rss:-?}" "$stats" >&2
  done
done

plural=$([[ $cpus -eq 1 ]] && echo cpu || echo cpus)
echo "boot: kernel $(lg_tilde "$KERNEL"), initrd $(lg_tilde "$INITRD"), $runs runs each, $cpus $plural, $mem"
declare -A med_marker med_exit med_rss
any_failed=0
for c in "${configs[@]}"; do
  if [[ ${failed[$c]} -ne 0 ]]; then
    printf 'boot: %-26s FAILED (see above)\n' "$c"
    any_failed=1
    continue
  fi
  med_marker[$c]=$(lg_median <<<"${marker_t[$c]}")
  med_exit[$c]=$(lg_median <<<"${exit_t[$c]}")
  med_rss[$c]=$(lg_median <<<"${rss_k[$c]}")
  extra=''
  [[ -z ${mips_r[$c]} ]] || extra+="   $(lg_median <<<"${mips_r[$c]}" | awk '{ printf "%.0f", $1 }') MIPS"
  [[ -z ${cache_b[$c]} ]] || extra+=" (cache $(eng_kib "$(lg_median <<<"${cache_b[$c]}")") KiB)"
  printf 'boot: %-26s marker %5.2f s   exit %5.2f s   rss %4.0f MiB%s\n' "$c" \
    "${med_marker[$c]}" "${med_exit[$c]}" "$(awk -v k="${med_rss[$c]}" 'BEGIN { print k / 1024 }')" "$extra"
done
if [[ ${failed[qemu]} -eq 0 ]]; then
  for c in "${configs[@]}"; do
    [[ $c != qemu && -n ${med_exit[$c]:-} ]] || continue
    printf 'boot: %-26s marker %5sx    exit %5sx    rss %5sx   (%s boots at %sx qemu speed, to the marker)\n' "$c/qemu" \
      "$(lg_ratio "${med_marker[$c]}" "${med_marker[qemu]}")" \
      "$(lg_ratio "${med_exit[$c]}" "${med_exit[qemu]}")" \
      "$(lg_ratio "${med_rss[$c]}" "${med_rss[qemu]}")" \
      "$c" "$(lg_ratio "${med_marker[qemu]}" "${med_marker[$c]}")"
  done
fi
# The sandbox costs nothing measurable at boot: each engine with it on (the
# default) beside off.
for e in "${engines[@]}"; do
  on=vessel-$e off=vessel-$e-sandbox-off
  [[ -n ${med_exit[$on]:-} && -n ${med_exit[$off]:-} ]] || continue
  printf 'boot: %-26s marker %5.2f s / %5.2f s   exit %5.2f s / %5.2f s   (on/off %sx)\n' \
    "sandbox on/off ($e)" "${med_marker[$on]}" "${med_marker[$off]}" \
    "${med_exit[$on]}" "${med_exit[$off]}" "$(lg_ratio "${med_exit[$on]}" "${med_exit[$off]}")"
done
[[ $any_failed -eq 0 ]] || { echo "boot: error: some configurations failed (logs in $out_dir)" >&2; exit 1; }
