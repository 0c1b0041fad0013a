#!/bin/bash
# Boot benchmark: boots the default Linux guest (same kernel and initramfs)
# under QEMU (TCG, its default OpenSBI), vessel (built-in SBI) and vessel with
# Debian's OpenSBI, alternating, the guest running `true` and powering off.
# Reports median wall time to the line "vessel-init: ready", to process exit,
# median peak RSS, and the vessel/QEMU ratios.
#
# Usage: bench/boot.sh [--runs N] [--cpus N] [--mem SIZE] [--qemu-only]
#                      [--no-opensbi] [--no-build] [--timeout SECONDS] [--verbose]
# Env:   KERNEL, INITRD (default: scripts/build-guest --print), BUILD_DIR
#        (default build), VESSEL (default $BUILD_DIR/vessel), VESSEL_ARGS (extra
#        `vessel run` arguments), QEMU (default qemu-system-riscv64), OPENSBI
#        (default /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=boot
# shellcheck source=bench/lib/linux-guest.sh
. "$root/bench/lib/linux-guest.sh"

runs=5 cpus=1 mem=512M qemu_only=0 opensbi=1 build=1 timeout_s=300 verbose=0
usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=${2:?--runs wants a value}; shift 2 ;;
    --cpus) cpus=${2:?--cpus wants a value}; shift 2 ;;
    --mem) mem=${2:?--mem wants a value}; shift 2 ;;
    --qemu-only) qemu_only=1; shift ;;
    --no-opensbi) opensbi=0; shift ;;
    --no-build) build=0; shift ;;
    --timeout) timeout_s=${2:?--timeout wants a value}; shift 2 ;;
    -v|--verbose) verbose=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "boot: unknown argument: $1" >&2; usage 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive integer"
[[ $cpus =~ ^[1-8]$ ]] || die "--cpus wants 1 to 8"
[[ $mem =~ ^[1-9][0-9]*[MG]$ ]] || die "--mem wants a size like 512M or 1G"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout wants a positive number of seconds"

lg_find_guest
lg_find_qemu
out_dir=${BUILD_DIR:-$root/build}/bench/boot
mkdir -p "$out_dir"
opensbi_bin=${OPENSBI:-/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin}
configs=(qemu)
if [[ $qemu_only -eq 0 ]]; then
  lg_find_vessel "$build" "$out_dir/vessel-build.log"
  configs+=(vessel)
  if [[ $opensbi -eq 1 ]]; then
    [[ -f $opensbi_bin ]] || die "OpenSBI firmware $opensbi_bin not found (apt install opensbi, set OPENSBI=, or use --no-opensbi)"
    configs+=(vessel+opensbi)
  fi
fi
lg_tmpdir

cmdline="console=ttyS0 quiet vessel.cmd=$(printf '%s' true | base64 -w0)"
cmd_for() {
  case $1 in
    qemu) cmd=("$qemu" -M virt -m "$mem" -smp "$cpus" -nographic -bios default -no-reboot
               -kernel "$KERNEL" -initrd "$INITRD" -append "$cmdline") ;;
    vessel) cmd=("$vessel" run --kernel "$KERNEL" --initrd "$INITRD" --cmdline "$cmdline"
                 --mem "$mem" --cpus "$cpus" "${vessel_args[@]}") ;;
    vessel+opensbi) cmd=("$vessel" run --bios "$opensbi_bin" --kernel "$KERNEL" --initrd "$INITRD"
                         --cmdline "$cmdline" --mem "$mem" --cpus "$cpus" "${vessel_args[@]}") ;;
  esac
}

declare -A marker_t exit_t rss_k failed
for c in "${configs[@]}"; do marker_t[$c]='' exit_t[$c]='' rss_k[$c]='' failed[$c]=0; done
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
    [[ $verbose -eq 0 ]] ||
      printf '%s: run %d %-19s marker %.3f s  exit %.3f s  rss %s KiB\n' "$me" "$r" "$c" "$lg_marker" "$lg_exit" "${lg_rss:-?}" >&2
  done
done

plural=$([[ $cpus -eq 1 ]] && echo cpu || echo cpus)
echo "boot: kernel $(lg_tilde "$KERNEL"), initrd $(lg_tilde "$INITRD"), $runs runs each, $cpus $plural, $mem"
declare -A med_marker med_exit med_rss
any_failed=0
for c in "${configs[@]}"; do
  if [[ ${failed[$c]} -ne 0 ]]; then
    printf 'boot: %-19s FAILED (see above)\n' "$c"
    any_failed=1
    continue
  fi
  med_marker[$c]=$(lg_median <<<"${marker_t[$c]}")
  med_exit[$c]=$(lg_median <<<"${exit_t[$c]}")
  med_rss[$c]=$(lg_median <<<"${rss_k[$c]}")
  printf 'boot: %-19s marker %5.2f s   exit %5.2f s   rss %4.0f MiB\n' "$c" \
    "${med_marker[$c]}" "${med_exit[$c]}" "$(awk -v k="${med_rss[$c]}" 'BEGIN { print k / 1024 }')"
done
if [[ ${failed[qemu]} -eq 0 ]]; then
  for c in vessel vessel+opensbi; do
    [[ -n ${med_exit[$c]:-} ]] || continue
    printf 'boot: %-19s marker %5sx    exit %5sx    rss %5sx\n' "$c/qemu" \
      "$(lg_ratio "${med_marker[$c]}" "${med_marker[qemu]}")" \
      "$(lg_ratio "${med_exit[$c]}" "${med_exit[qemu]}")" \
      "$(lg_ratio "${med_rss[$c]}" "${med_rss[qemu]}")"
  done
fi
[[ $any_failed -eq 0 ]] || { echo "boot: error: some configurations failed (logs in $out_dir)" >&2; exit 1; }
