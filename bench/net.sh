#!/bin/bash
# Network benchmark: TCP throughput between the default Linux guest and a
# host-side sink/source on 127.0.0.1 (bench/programs/io/netserver.py, python3)
# through user-mode networking: QEMU (TCG, -netdev user + virtio-net-device)
# and vessel (--net user) with each of its engines (interpreter, translator),
# alternating. The guest (eth0 10.0.2.15 by DHCP) connects to 10.0.2.2:PORT
# with bench/programs/io/vio.c, which times each transfer with the guest's
# clock: guest -> host (the sink checks every byte and confirms the count),
# then host -> guest. Reports the medians and the vessel/QEMU ratios.
#
# Usage: bench/net.sh [--runs N] [--size MiB] [--direction send|recv|both]
#                     [--mem SIZE] [--engines LIST] [--qemu-only] [--no-build]
#                     [--timeout SECONDS] [--verbose]
#   --size MiB      bytes per transfer (default 64)
#   --direction     send: guest -> host only, recv: host -> guest only (default both)
#   --engines LIST  vessel engines to run, comma-separated (default interp,jit)
# Env:   KERNEL, INITRD (default: scripts/build-guest --print), BUILD_DIR
#        (default build), VESSEL (default $BUILD_DIR/vessel), VESSEL_ARGS (extra
#        `vessel run` arguments, not --engine), QEMU (default qemu-system-riscv64),
#        RISCV_LINUX_CC (default riscv64-linux-gnu-gcc), PYTHON (default python3)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=net
# shellcheck source=bench/lib/linux-guest.sh
. "$root/bench/lib/linux-guest.sh"
# shellcheck source=bench/programs/io/common.sh
. "$root/bench/programs/io/common.sh"
# shellcheck source=bench/lib/engines.sh
. "$root/bench/lib/engines.sh"

runs=3 size=64 direction=both mem=512M qemu_only=0 build=1 timeout_s=600 verbose=0
engine_list=$ENG_DEFAULT
usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=${2:?--runs wants a value}; shift 2 ;;
    --size) size=${2:?--size wants a value}; shift 2 ;;
    --direction) direction=${2:?--direction wants a value}; shift 2 ;;
    --mem) mem=${2:?--mem wants a value}; shift 2 ;;
    *) eng_common_option "$@"; shift "$eng_shift" ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive integer"
[[ $size =~ ^[1-9][0-9]*$ ]] || die "--size wants a positive number of MiB"
case $direction in
  send) dirs=(send) ;; recv) dirs=(recv) ;; both) dirs=(send recv) ;;
  *) die "--direction wants send, recv or both" ;;
esac
[[ $mem =~ ^[1-9][0-9]*[MG]$ ]] || die "--mem wants a size like 512M or 1G"
eng_check_common

out_dir=${BUILD_DIR:-$root/build}/bench/net
python=${PYTHON:-python3}
command -v "$python" >/dev/null || die "$python not found (apt install python3, or set PYTHON=)"
lg_find_guest
lg_find_qemu
configs=(qemu)
if [[ $qemu_only -eq 0 ]]; then
  lg_find_vessel "$build" "$out_dir/vessel-build.log"
  eng_check_vessel "$vessel" "${vessel_args[@]}"
  for e in "${engines[@]}"; do configs+=("vessel-$e"); done
fi
io_build

lg_tmpdir

# ---- the host side: one server for the whole run -------------------------------
seed=$(( (RANDOM << 30) ^ (RANDOM << 15) ^ RANDOM ))
srv_log=$out_dir/netserver.log
: >"$srv_log"
"$python" "$root/bench/programs/io/netserver.py" "$lg_tmp/port" "$srv_log" "$seed" \
  >"$out_dir/netserver.out" 2>&1 &
srv_pid=$!
trap 'kill "$srv_pid" 2>/dev/null || true; lg_cleanup' EXIT
for ((i = 0; i < 100; i++)); do
  [[ ! -s $lg_tmp/port ]] || break
  kill -0 "$srv_pid" 2>/dev/null || { cat "$out_dir/netserver.out" >&2; die "the host-side server ($python bench/programs/io/netserver.py) failed to start"; }
  sleep 0.1
done
[[ -s $lg_tmp/port ]] || die "the host-side server did not report its port within 10 s"
port=$(cat "$lg_tmp/port")

# ---- runs ---------------------------------------------------------------------
declare -A rate host_rate failed mips_r cache_b
for c in "${configs[@]}"; do
  failed[$c]=0 mips_r[$c]='' cache_b[$c]=''
  for d in send recv; do rate[$c.$d]='' host_rate[$c.$d]=''; done
done
vio_cmds=''
for d in "${dirs[@]}"; do vio_cmds+=" && /bin/vio $d 10.0.2.2 $port $size $seed"; done
guest_cmd="test -x /bin/vio || { echo 'net: /bin/vio is missing: the extra initramfs archive was not unpacked'; exit 3; }
ip -4 addr show dev eth0 2>/dev/null | grep -q 'inet ' || { echo 'net: eth0 has no IPv4 address (DHCP failed?)'; ip addr; exit 4; }
true$vio_cmds; s=\$?; [ \$s -eq 0 ] || { ip addr; dmesg | tail -n 20; }; exit \$s"
cmdline="console=ttyS0 quiet print-fatal-signals=1 vessel.cmd=$(printf '%s' "$guest_cmd" | base64 -w0)"
load_start=$(io_loadavg)
for ((r = 1; r <= runs; r++)); do
  for c in "${configs[@]}"; do
    [[ ${failed[$c]} -eq 0 ]] || continue
    case $c in
      qemu) cmd=("$qemu" -M virt -m "$mem" -smp 1 -nographic -bios default -no-reboot
                 -kernel "$KERNEL" -initrd "$initrd" -append "$cmdline"
                 -netdev "user,id=n0" -device "virtio-net-device,netdev=n0") ;;
      vessel-*) cmd=("$vessel" run --kernel "$KERNEL" --initrd "$initrd" --cmdline "$cmdline"
                     --mem "$mem" --net user --engine "${c#vessel-}" --stats "${vessel_args[@]}") ;;
    esac
    log=$out_dir/$c.log
    srv_before=$(wc -l <"$srv_log")
    lg_run "$log" "$timeout_s" "${cmd[@]}"
    lg_failed "$log" || true
    declare -A got=()
    for d in "${dirs[@]}"; do
      m=$(grep -aE "^vio: $d [0-9.]+ bytes $((size << 20))\$" "$log" | tail -n 1 || true)
      if [[ -z $m ]]; then
        [[ -n $lg_why ]] || lg_why="no 'vio: $d ...' result line in the output"
        break
      fi
      got[$d]=$(cut -d' ' -f3 <<<"$m")
    done
    # The server's own view of this run: one line per transfer.
    srv_new=$(tail -n "+$((srv_before + 1))" "$srv_log")
    if [[ -z $lg_why ]] && grep -q ' bad: ' <<<"$srv_new"; then
      lg_why="the host side reports: $(grep ' bad: ' <<<"$srv_new" | head -n 1)"
    fi
    if [[ -n $lg_why ]]; then
      failed[$c]=1
      lg_describe_failure "$c (run $r)" "$log"
      # shellcheck disable=SC2001
      [[ -z $srv_new ]] || { echo "$me: host-side server log for this run:" >&2; sed 's/^/  | /' <<<"$srv_new" >&2; }
      echo "$me: command: ${cmd[*]}" >&2
      continue
    fi
    eng_collect "$c" "$log"  # vessel's --stats: MIPS over its own run time, the code cache
    stats=${eng_summary:+, $eng_summary}
    for d in "${dirs[@]}"; do
      rate[$c.$d]+=" ${got[$d]}"
      h=$(awk -v d="$d" '$1 == d { split($2, b, "="); split($3, s, "="); if (s[2] > 0) printf "%.2f", b[2] / s[2] / 1e6 }' <<<"$srv_new" | tail -n 1)
      host_rate[$c.$d]+=" $h"
      [[ $verbose -eq 0 ]] ||
        printf '%s: run %d %-13s %s %8.2f MB/s (guest clock)  %8s MB/s (host clock)  wall %.2f s, load %s%s\n' \
          "$me" "$r" "$c" "$d" "${got[$d]}" "$h" "$lg_exit" "$(io_loadavg)" "$stats" >&2
    done
  done
done

# ---- report -------------------------------------------------------------------
med() { [[ -z ${1// /} ]] || lg_median <<<"$1"; }
echo "net: TCP via user-mode networking, guest 10.0.2.15 <-> host 127.0.0.1:$port, $size MiB per transfer, $runs runs each, medians (guest clock); load average $load_start at start, $(io_loadavg) at end"
for d in "${dirs[@]}"; do
  [[ $d == send ]] && label="guest->host" || label="host->guest"
  q=$(med "${rate[qemu.$d]}")
  line=$(printf 'net: %-16s qemu %8s MB/s' "$label TCP" "$(io_fmt "$q" 2)")
  ratios=''
  for e in "${engines[@]}"; do
    v=$(med "${rate[vessel-$e.$d]}")
    line+=$(printf '   vessel-%s %8s MB/s' "$e" "$(io_fmt "$v" 2)")
    if [[ -n $q && -n $v ]]; then ratios+="   $e/qemu $(lg_ratio "$v" "$q")x"; else ratios+="   $e/qemu n/a"; fi
  done
  echo "$line$ratios"
done
for e in "${engines[@]}"; do
  c=vessel-$e
  [[ -n ${mips_r[$c]// /} ]] || continue
  printf 'net: %-13s %6s MIPS over its whole run (idle included)%s\n' "$c" "$(med "${mips_r[$c]}" | awk '{ printf "%.0f", $1 }')" \
    "$([[ -z ${cache_b[$c]// /} ]] || echo ", cache $(eng_kib "$(med "${cache_b[$c]}")") KiB")"
done
# The sink times guest -> host transfers too: a guest clock that runs slow or
# fast would show up here.
if [[ " ${dirs[*]} " == *" send "* ]]; then
  for c in "${configs[@]}"; do
    g=$(med "${rate[$c.send]}") h=$(med "${host_rate[$c.send]}")
    [[ -n $g && -n $h ]] || continue
    if awk -v g="$g" -v h="$h" 'BEGIN { exit !(g > h * 1.25 || g < h / 1.25) }'; then
      printf 'net: warning: %s guest->host %.2f MB/s by the guest clock but %.2f MB/s by the host sink'"'"'s\n' "$c" "$g" "$h"
    fi
  done
fi
any_failed=0
for c in "${configs[@]}"; do
  if [[ ${failed[$c]} -ne 0 ]]; then
    echo "net: $c FAILED (see above; log $out_dir/$c.log)"
    any_failed=1
  fi
done
[[ $any_failed -ne 0 ]] || echo "net: every transfer arrived complete and intact (the sink compares every byte; the guest the first MiB and 4 KiB per MiB)"
[[ $any_failed -eq 0 ]] || { echo "net: error: some runs failed (logs in $out_dir)" >&2; exit 1; }
