#!/bin/bash
# Block I/O benchmark: the default Linux guest with a raw disk image as
# virtio-blk under QEMU (TCG, -device virtio-blk-device) and vessel (--disk)
# with each of its engines (interpreter, translator), alternating. In the
# guest, bench/programs/io/vio.c measures O_DIRECT sequential write and read
# throughput (1 MiB requests) and 4 KiB random-read IOPS (queue depth 1) on
# /dev/vda, verifies the data read back, and the script reports the medians
# and the vessel/QEMU ratio of each.
#
# Usage: bench/blk.sh [--runs N] [--size MiB] [--ops N] [--mem SIZE]
#                     [--engines LIST] [--qemu-only] [--no-build]
#                     [--timeout SECONDS] [--verbose]
#   --size MiB      disk image size and bytes written/read (default 256)
#   --ops N         random 4 KiB reads per run (default 10000)
#   --engines LIST  vessel engines to run, comma-separated (default interp,jit)
# Env:   KERNEL, INITRD (default: scripts/build-guest --print), BUILD_DIR
#        (default build), VESSEL (default $BUILD_DIR/vessel), VESSEL_ARGS (extra
#        `vessel run` arguments, not --engine), QEMU (default qemu-system-riscv64),
#        RISCV_LINUX_CC (default riscv64-linux-gnu-gcc), DISK (default
#        $BUILD_DIR/bench/blk/disk.img; overwritten!)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=blk
# shellcheck source=bench/lib/linux-guest.sh
. "$root/bench/lib/linux-guest.sh"
# shellcheck source=bench/programs/io/common.sh
. "$root/bench/programs/io/common.sh"
# shellcheck source=bench/lib/engines.sh
. "$root/bench/lib/engines.sh"

runs=3 size=256 ops=10000 mem=512M qemu_only=0 build=1 timeout_s=600 verbose=0
engine_list=$ENG_DEFAULT
usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=${2:?--runs wants a value}; shift 2 ;;
    --size) size=${2:?--size wants a value}; shift 2 ;;
    --ops) ops=${2:?--ops wants a value}; shift 2 ;;
    --mem) mem=${2:?--mem wants a value}; shift 2 ;;
    *) eng_common_option "$@"; shift "$eng_shift" ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive integer"
[[ $size =~ ^[1-9][0-9]*$ ]] || die "--size wants a positive number of MiB"
[[ $ops =~ ^[1-9][0-9]*$ ]] || die "--ops wants a positive integer"
[[ $mem =~ ^[1-9][0-9]*[MG]$ ]] || die "--mem wants a size like 512M or 1G"
eng_check_common

out_dir=${BUILD_DIR:-$root/build}/bench/blk
lg_find_guest
lg_find_qemu
configs=(qemu)
if [[ $qemu_only -eq 0 ]]; then
  lg_find_vessel "$build" "$out_dir/vessel-build.log"
  eng_check_vessel "$vessel" "${vessel_args[@]}"
  for e in "${engines[@]}"; do configs+=("vessel-$e"); done
fi
io_build

# The disk: fully allocated (zeros), so that no run pays for host-side block
# allocation; every run rewrites all of it with its own seed.
disk=${DISK:-$out_dir/disk.img}
want_bytes=$((size << 20))
if [[ ! -f $disk || $(stat -c %s "$disk") -ne $want_bytes ]]; then
  mkdir -p "$(dirname "$disk")"
  dd if=/dev/zero of="$disk" bs=1M count="$size" status=none 2>/dev/null ||
    die "creating the $size MiB disk image $disk failed"
fi

lg_tmpdir

# ---- runs ---------------------------------------------------------------------
result_re='vio: blk seq-write ([0-9.]+) seq-read ([0-9.]+) rand-read ([0-9.]+) verified ([0-9]+)'
declare -A wr rd iops failed mips_r cache_b
for c in "${configs[@]}"; do failed[$c]=0 wr[$c]='' rd[$c]='' iops[$c]='' mips_r[$c]='' cache_b[$c]=''; done
load_start=$(io_loadavg)
blocks=$((want_bytes / 4096))
for ((r = 1; r <= runs; r++)); do
  for c in "${configs[@]}"; do
    [[ ${failed[$c]} -eq 0 ]] || continue
    seed=$(( (RANDOM << 30) ^ (RANDOM << 15) ^ RANDOM ^ (r << 45) ))
    guest_cmd="test -x /bin/vio || { echo 'blk: /bin/vio is missing: the extra initramfs archive was not unpacked'; exit 3; }
test -b /dev/vda || { echo 'blk: no /dev/vda in the guest'; ls /dev; exit 4; }
/bin/vio blk /dev/vda $size $ops $seed; s=\$?; [ \$s -eq 0 ] || dmesg | tail -n 20; exit \$s"
    cmdline="console=ttyS0 quiet print-fatal-signals=1 vessel.cmd=$(printf '%s' "$guest_cmd" | base64 -w0)"
    case $c in
      qemu) cmd=("$qemu" -M virt -m "$mem" -smp 1 -nographic -bios default -no-reboot
                 -kernel "$KERNEL" -initrd "$initrd" -append "$cmdline"
                 -drive "file=$disk,format=raw,if=none,id=d0" -device "virtio-blk-device,drive=d0") ;;
      vessel-*) cmd=("$vessel" run --kernel "$KERNEL" --initrd "$initrd" --cmdline "$cmdline"
                     --mem "$mem" --disk "$disk" --engine "${c#vessel-}" --stats "${vessel_args[@]}") ;;
    esac
    log=$out_dir/$c.log
    lg_run "$log" "$timeout_s" "${cmd[@]}"
    m=$(grep -aE "$result_re" "$log" | tail -n 1 || true)
    if ! lg_failed "$log" && [[ -z $m ]]; then
      lg_why="no 'vio: blk ...' result line in the output"
    fi
    if [[ -z $lg_why ]]; then
      [[ $m =~ $result_re ]]
      if [[ ${BASH_REMATCH[4]} -ne $blocks ]]; then
        lg_why="verified ${BASH_REMATCH[4]} blocks, expected $blocks"
      fi
    fi
    if [[ -n $lg_why ]]; then
      failed[$c]=1
      lg_describe_failure "$c (run $r)" "$log"
      echo "$me: command: ${cmd[*]}" >&2
      continue
    fi
    w=${BASH_REMATCH[1]} rr=${BASH_REMATCH[2]} ri=${BASH_REMATCH[3]}
    wr[$c]+=" $w" rd[$c]+=" $rr" iops[$c]+=" $ri"
    eng_collect "$c" "$log"  # vessel's --stats: MIPS over its own run time, the code cache
    stats=${eng_summary:+, $eng_summary}
    [[ $verbose -eq 0 ]] ||
      printf '%s: run %d %-13s seq-write %8.1f MB/s  seq-read %8.1f MB/s  rand-read %8.0f IOPS  (wall %.2f s, load %s%s)\n' \
        "$me" "$r" "$c" "$w" "$rr" "$ri" "$lg_exit" "$(io_loadavg)" "$stats" >&2
  done
done

# ---- report -------------------------------------------------------------------
med() { [[ -z ${1// /} ]] || lg_median <<<"$1"; }
echo "blk: disk $(lg_tilde "$disk") ($size MiB raw), $runs runs each, $ops random reads, medians; load average $load_start at start, $(io_loadavg) at end"
metric() { # metric LABEL UNIT DECIMALS ARRAY
  local -n vals=$4
  local q v e line ratios=''
  q=$(med "${vals[qemu]}")
  line=$(printf 'blk: %-26s qemu %8s %-4s' "$1" "$(io_fmt "$q" "$3")" "$2")
  for e in "${engines[@]}"; do
    v=$(med "${vals[vessel-$e]}")
    line+=$(printf '   vessel-%s %8s %-4s' "$e" "$(io_fmt "$v" "$3")" "$2")
    if [[ -n $q && -n $v ]]; then ratios+="   $e/qemu $(lg_ratio "$v" "$q")x"; else ratios+="   $e/qemu n/a"; fi
  done
  echo "$line$ratios"
}
metric "seq-write 1 MiB O_DIRECT" MB/s 1 wr
metric "seq-read  1 MiB O_DIRECT" MB/s 1 rd
metric "rand-read 4 KiB O_DIRECT" IOPS 0 iops
for e in "${engines[@]}"; do
  c=vessel-$e
  [[ -n ${mips_r[$c]// /} ]] || continue
  printf 'blk: %-13s %6s MIPS over its whole run (idle included)%s\n' "$c" "$(med "${mips_r[$c]}" | awk '{ printf "%.0f", $1 }')" \
    "$([[ -z ${cache_b[$c]// /} ]] || echo ", cache $(eng_kib "$(med "${cache_b[$c]}")") KiB")"
done
any_failed=0
for c in "${configs[@]}"; do
  if [[ ${failed[$c]} -ne 0 ]]; then
    echo "blk: $c FAILED (see above; log $out_dir/$c.log)"
    any_failed=1
  fi
done
[[ $any_failed -ne 0 ]] || echo "blk: every run read back all $blocks blocks of $size MiB identical to what it wrote"
[[ $any_failed -eq 0 ]] || { echo "blk: error: some runs failed (logs in $out_dir)" >&2; exit 1; }
