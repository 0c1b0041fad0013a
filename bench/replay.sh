#!/bin/bash
# Record/replay benchmark: one workload (the default Linux guest boots, runs
# a shell loop, reads /dev/hwrng and powers off) run once each way, side by
# side:
#   deterministic  vessel run --deterministic (the baseline)
#   record         vessel run --record DIR (the same, plus the journal)
#   replay         vessel replay DIR (no host input)
#   qemu-record    qemu -icount shift=auto,rr=record,rrfile=F (same kernel, initrd, command)
#   qemu-replay    qemu -icount shift=auto,rr=replay,rrfile=F
#   reverse        vessel replay DIR --gdb: a tiny RSP client (bench/lib/
#                  rsp_reverse.py) continues to the end of the log, then times
#                  reverse-stepi (`bs` to its stop reply, median of 9; the
#                  issue's aim: within 100 ms on a recording of a billion
#                  instructions) and one reverse-continue back to the start
# and prints wall times, the recording's overhead over the deterministic run,
# log bytes per 1000 guest instructions, and replay/record ratios. One run
# each: figures on a busy host are noisy.
#
# Usage: bench/replay.sh [--engine jit|interp] [--loop N] [--no-qemu] [--no-reverse] [--no-build] [--timeout S]
# Env:   KERNEL, INITRD (default: scripts/build-guest --print), BUILD_DIR, VESSEL, QEMU
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=replay
# shellcheck source=bench/lib/linux-guest.sh
. "$root/bench/lib/linux-guest.sh"

engine=jit loop=200000 qemu_on=1 reverse_on=1 build=1 timeout_s=600
while [[ $# -gt 0 ]]; do
  case $1 in
    --engine) engine=${2:?--engine wants jit or interp}; shift 2 ;;
    --loop) loop=${2:?--loop wants a count}; shift 2 ;;
    --no-qemu) qemu_on=0; shift ;;
    --no-reverse) reverse_on=0; shift ;;
    --no-build) build=0; shift ;;
    --timeout) timeout_s=${2:?--timeout wants seconds}; shift 2 ;;
    -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
done
[[ $engine == jit || $engine == interp ]] || die "--engine wants jit or interp"
[[ $loop =~ ^[0-9]+$ ]] || die "--loop wants a count"

lg_find_guest
out_dir=${BUILD_DIR:-$root/build}/bench/replay
mkdir -p "$out_dir"
lg_find_vessel "$build" "$out_dir/vessel-build.log"
[[ $qemu_on -eq 0 ]] || lg_find_qemu
lg_tmpdir

work="i=0; while [ \$i -lt $loop ]; do i=\$((i + 1)); done; echo loop-done; head -c 4096 /dev/hwrng | sha256sum"
cmdline="console=ttyS0 quiet vessel.cmd=$(printf '%s' "$work" | base64 -w0)"
common=(--kernel "$KERNEL" --initrd "$INITRD" --cmdline "$cmdline" --rng --engine "$engine" --stats)

now() { date +%s.%N; }
# timed NAME CMD...: runs CMD, its output in $out_dir/NAME.log, seconds in t[NAME].
declare -A t
timed() {
  local name=$1 start
  shift
  start=$(now)
  if ! timeout -k 10 "$timeout_s" "$@" </dev/null >"$out_dir/$name.log" 2>&1; then
    echo "$me: $name failed (log: $out_dir/$name.log):" >&2
    tail -n 5 "$out_dir/$name.log" >&2
    t[$name]=''
    return 0
  fi
  t[$name]=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')
}
instructions() { grep -o 'instructions=[0-9]*' "$out_dir/$1.log" | head -1 | cut -d= -f2; }

timed deterministic "$vessel" run --deterministic "${common[@]}"
rm -rf "$lg_tmp/rec"
timed record "$vessel" run --record "$lg_tmp/rec" "${common[@]}"
timed replay "$vessel" replay "$lg_tmp/rec" --engine "$engine" --stats
reverse_line=''
if [[ $reverse_on -eq 1 && -n ${t[replay]} ]]; then
  rm -f "$out_dir/reverse.log"
  timeout -k 10 "$timeout_s" "$vessel" replay "$lg_tmp/rec" --engine "$engine" --gdb 0 \
    </dev/null >"$out_dir/reverse.log" 2>&1 &
  rpid=$!
  for _ in $(seq 600); do grep -q 'waiting for a client on' "$out_dir/reverse.log" && break; sleep 0.1; done
  rport=$(sed -n 's/.*waiting for a client on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out_dir/reverse.log")
  if [[ -n $rport ]]; then
    reverse_line=$(timeout "$timeout_s" python3 "$root/bench/lib/rsp_reverse.py" "$rport" 9 2>&1 || true)
  fi
  wait "$rpid" || true
  grep -q 'replay matches the recording' "$out_dir/reverse.log" ||
    reverse_line="$reverse_line (FAILED: the replay under gdb did not match; log: $out_dir/reverse.log)"
fi
if [[ $qemu_on -eq 1 ]]; then
  # QEMU's record/replay needs -icount and no host clock in the guest's way;
  # virtio-rng-device with its default backend is recorded by QEMU too.
  qemu_cmd=("$qemu" -M virt -m 512M -smp 1 -nographic -bios default -no-reboot
            -kernel "$KERNEL" -initrd "$INITRD" -append "$cmdline"
            -object rng-builtin,id=rng0 -device virtio-rng-device,rng=rng0)
  timed qemu-record "${qemu_cmd[@]}" -icount "shift=auto,rr=record,rrfile=$lg_tmp/qemu.rr"
  timed qemu-replay "${qemu_cmd[@]}" -icount "shift=auto,rr=replay,rrfile=$lg_tmp/qemu.rr"
fi

n=$(instructions deterministic)
n_rec=$(instructions record)
log_bytes=$(stat -c %s "$lg_tmp/rec/log.bin" 2>/dev/null || echo 0)
start_bytes=$(( $(du -sk "$lg_tmp/rec/start" 2>/dev/null | cut -f1 || echo 0) * 1024 ))
echo "replay: kernel $(lg_tilde "$KERNEL"), workload: boot, a $loop-step shell loop, 4 KiB of /dev/hwrng; engine $engine; one run each (noisy host)"
for c in deterministic record replay qemu-record qemu-replay; do
  [[ -v "t[$c]" ]] || continue
  if [[ -z ${t[$c]} ]]; then printf 'replay: %-14s FAILED\n' "$c"; continue; fi
  printf 'replay: %-14s %7.2f s\n' "$c" "${t[$c]}"
done
[[ -n ${t[deterministic]} && -n ${t[record]} ]] &&
  printf 'replay: record/deterministic %sx (%s instructions recorded, %s in the deterministic run)\n' \
    "$(lg_ratio "${t[record]}" "${t[deterministic]}")" "${n_rec:-?}" "${n:-?}"
[[ -n ${t[record]} && -n ${t[replay]} ]] &&
  printf 'replay: replay/record %sx\n' "$(lg_ratio "${t[replay]}" "${t[record]}")"
[[ -n ${n_rec:-} ]] &&
  printf 'replay: log %s bytes = %s bytes per 1000 instructions (start state %s MiB on disk)\n' \
    "$log_bytes" "$(awk -v b="$log_bytes" -v n="$n_rec" 'BEGIN { printf "%.4f", 1000 * b / n }')" \
    "$(awk -v b="$start_bytes" 'BEGIN { printf "%.1f", b / 1048576 }')"
if [[ -n $reverse_line ]]; then
  median=$(sed -n 's/.*median \([0-9.]*\).*/\1/p' <<<"$reverse_line")
  verdict=''
  [[ -n $median ]] && verdict=$(awk -v m="$median" 'BEGIN { print (m <= 100 ? "aim met: within 100 ms" : "aim NOT met: over 100 ms") }')
  printf 'replay: %s on a recording of %s instructions; %s\n' "$reverse_line" "${n_rec:-?}" "$verdict"
fi
if [[ $qemu_on -eq 1 && -n ${t[qemu-record]:-} ]]; then
  qbytes=$(stat -c %s "$lg_tmp/qemu.rr" 2>/dev/null || echo 0)
  printf 'replay: qemu log %s bytes; qemu-replay/qemu-record %sx; vessel-record/qemu-record %sx\n' \
    "$qbytes" "$(lg_ratio "${t[qemu-replay]:-0}" "${t[qemu-record]}")" \
    "$(lg_ratio "${t[record]:-0}" "${t[qemu-record]}")"
fi
