#!/bin/bash
# shellcheck disable=SC2034,SC2154 # figures arrive through eval and ${!name}
# Memory overcommit benchmark, three parts:
#  share:   8 identical idle guests in one `vessel host --vms 8 --balloon`:
#           host RSS and PSS with page sharing off, then (a second run) with
#           --share-pages --share-rate 50000 once the memory saved stops
#           growing: saved (shared + zero) = pages shared away plus zero
#           pages released (ESX counts both), saved/total (aim: > 50%),
#           and the pss on/off reduction to check it by; QEMU:
#           8 processes with the same guest (no sharing without KSM).
#  balloon: a 512M guest that has touched ~300 MiB; time for the balloon to
#           take 256 MiB back (aim: faster than 1 GiB/s), RSS before and
#           after; QEMU: its virtio-balloon (balloon 256M) on the same guest.
#  scan:    slowdown of bench/programs/linux-cpu (in-guest time) while the
#           page scanner runs (--share-pages at the default --share-rate 20000) against the
#           same guest without it (aim: under 5%).
#
# Usage: bench/overcommit.sh [--part share|balloon|scan|all] [--vms N]
#                            [--rounds N] [--scan-rounds N] [--settle SECONDS] [--qemu-only]
#                            [--no-build] [--timeout SECONDS] [--verbose]
# Env:   KERNEL, INITRD (default: scripts/build-guest --print), BUILD_DIR
#        (default build), VESSEL (default $BUILD_DIR/vessel), QEMU (default
#        qemu-system-riscv64), PYTHON (default python3), RISCV_LINUX_CC
#        (default riscv64-linux-gnu-gcc), HOST_CC (default gcc)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=overcommit
# shellcheck source=bench/lib/linux-guest.sh
. "$root/bench/lib/linux-guest.sh"

parts=(share balloon scan) vms=8 rounds=3 scan_rounds=5 settle_s=10 qemu_only=0 build=1 timeout_s=120 verbose=0
share_rate=50000 share_mem=128M balloon_mem=512M
# The slowdown is measured at vessel's default scan rate (what a user gets);
# the sharing part scans faster so that eight guests settle within a minute.
scan_rate=20000
usage() { sed -n '3,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --part)
      case ${2:-} in
        share|balloon|scan) parts=("$2") ;;
        all) parts=(share balloon scan) ;;
        *) die "--part wants share, balloon, scan or all" ;;
      esac
      shift 2 ;;
    --vms) vms=${2:?--vms wants a value}; shift 2 ;;
    --rounds|--runs) rounds=${2:?--rounds wants a value}; shift 2 ;;
    --scan-rounds) scan_rounds=${2:?--scan-rounds wants a value}; shift 2 ;;
    --settle) settle_s=${2:?--settle wants a value}; shift 2 ;;
    --qemu-only) qemu_only=1; shift ;;
    --no-build) build=0; shift ;;
    --timeout) timeout_s=${2:?--timeout wants a value}; shift 2 ;;
    -v|--verbose) verbose=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "$me: unknown argument: $1" >&2; usage 2 ;;
  esac
done
[[ $vms =~ ^[1-9][0-9]*$ ]] || die "--vms wants a positive integer"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive integer"
[[ $scan_rounds =~ ^[1-9][0-9]*$ ]] || die "--scan-rounds wants a positive integer"
[[ $settle_s =~ ^[0-9]+$ ]] || die "--settle wants a number of seconds"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout wants a positive number of seconds"
has_part() { [[ " ${parts[*]} " == *" $1 "* ]]; }

lg_find_guest
lg_find_qemu
python=${PYTHON:-python3}
command -v "$python" >/dev/null || die "$python not found (needed for the control-socket and QMP clients)"
out_dir=${BUILD_DIR:-$root/build}/bench/overcommit
mkdir -p "$out_dir"
use_vessel=0
if [[ $qemu_only -eq 0 ]]; then
  lg_find_vessel "$build" "$out_dir/vessel-build.log"
  use_vessel=1
  # The features this needs, before any figure is printed.
  "$vessel" ctl --help >/dev/null 2>&1 ||
    die "$vessel has no 'ctl' subcommand (the control socket is not built in yet?): try again later, or use --qemu-only"
  run_help=$("$vessel" run --help 2>&1)
  for opt in --api-socket --balloon --share-pages --share-rate; do
    grep -q -- "$opt" <<<"$run_help" || die "'$vessel run' has no $opt option (not built in yet?): try again later, or use --qemu-only"
  done
  if has_part share; then
    "$vessel" host --help >/dev/null 2>&1 ||
      die "$vessel has no 'host' subcommand (several VMs in one process not built in yet?): try again later, or use --qemu-only or --part balloon|scan"
  fi
fi
lg_tmpdir

# ---- processes (as in bench/state.sh) ---------------------------------------
bg_pids=()
oc_cleanup() {
  local p
  for p in "${bg_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  lg_cleanup
}
trap oc_cleanup EXIT
start_bg() { # start_bg LOG CMD...: sets bg_pid (of `timeout`; the VMM is its child)
  local log=$1
  shift
  timeout -k 5 $((timeout_s * 4)) "$@" </dev/null >"$log" 2>&1 &
  bg_pid=$!
  bg_pids+=("$bg_pid")
}
stop_bg() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
child_of() { # child_of PID: the process `timeout` started
  local c i
  for ((i = 0; i < 100; i++)); do
    c=$(pgrep -P "$1" | head -n 1 || true)
    [[ -z $c ]] || { echo "$c"; return 0; }
    sleep 0.01
  done
  return 1
}
wait_file_line() { # wait_file_line FILE REGEX SECONDS PID
  local end=$((${EPOCHREALTIME%.*} + $3))
  until [[ -f $1 ]] && grep -qE "$2" "$1"; do
    kill -0 "$4" 2>/dev/null || return 1
    [[ ${EPOCHREALTIME%.*} -lt $end ]] || return 1
    sleep 0.1
  done
}
fail_run() { # fail_run WHAT [LOG]
  echo "$me: $1" >&2
  if [[ -n ${2:-} && -f $2 ]]; then
    echo "$me: last 20 lines of $2:" >&2
    tail -n 20 "$2" | tr -d '\r' | sed 's/^/  | /' >&2
  fi
  exit 1
}
# sub VAR... -- CMD...: runs CMD in a subshell (a failure exits it, and its
# VMMs are stopped); on success copies the VARs back.
sub() {
  local vars=()
  while [[ $1 != -- ]]; do vars+=("$1"); shift; done
  shift
  ( trap 'for p in "${bg_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done' EXIT
    "$@"
    declare -p "${vars[@]}" >"$lg_tmp/sub.vars" ) || return 1
  eval "$(sed 's/^declare /declare -g /' "$lg_tmp/sub.vars")"
}
any_failed=0
# rss_pss PID...: "RSS PSS" in bytes, summed over the processes (smaps_rollup)
rss_pss() {
  local p
  for p in "$@"; do cat "/proc/$p/smaps_rollup"; done |
    awk '$1 == "Rss:" { r += $2 } $1 == "Pss:" { p += $2 } END { printf "%d %d\n", r * 1024, p * 1024 }'
}
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }

# ---- clients: vessel's control socket and QEMU's QMP, both JSON lines ----------
# client OP SOCKET [ARGS...]: bench/lib/jsonsock.py (vessel-stats, vessel-json,
# vessel-balloon BYTES LIMIT, vessel-quit, qmp-balloon BYTES LIMIT, qmp-quit)
client() { "$python" "$root/bench/lib/jsonsock.py" "$@"; }
ready_cmd='echo READY; exec sleep 100000'
cmdline_for() { printf 'console=ttyS0 quiet vessel.cmd=%s' "$(printf '%s' "$1" | base64 -w0)"; }
load_start=$(cut -d' ' -f1 /proc/loadavg)
report=()  # the printed lines, in order

# ---- share --------------------------------------------------------------------------
share_vessel() { # share_vessel off|on: sets v_rss v_pss (and the sharing figures for on)
  local mode=$1 dir=$out_dir/share-$1 sock=$lg_tmp/host-$1.sock extra=() i pid prev=-1 end
  rm -rf "$dir"
  mkdir -p "$dir"
  [[ $mode == off ]] || extra=(--share-pages --share-rate "$share_rate")
  start_bg "$out_dir/share-$mode.log" "$vessel" host --vms "$vms" --console-dir "$dir" --api-socket "$sock" \
    --kernel "$KERNEL" --initrd "$INITRD" --cmdline "$(cmdline_for "$ready_cmd")" --mem "$share_mem" --balloon "${extra[@]}"
  pid=$bg_pid
  for ((i = 0; i < vms; i++)); do
    wait_file_line "$dir/vm-$i.log" '^READY' "$timeout_s" "$pid" ||
      fail_run "vessel host (sharing $mode): $dir/vm-$i.log never showed READY" "$([[ -f $dir/vm-$i.log ]] && echo "$dir/vm-$i.log" || echo "$out_dir/share-$mode.log")"
  done
  sleep "$settle_s"
  if [[ $mode == on ]]; then
    # until the saved figure (shared + zero) stops growing (two readings 2 s
    # apart within 0.5%), at most 60 s
    end=$((${EPOCHREALTIME%.*} + 60))
    while :; do
      eval "$(client vessel-stats "$sock")" || fail_run "vessel ctl stats failed" "$out_dir/share-$mode.log"
      [[ -n ${s_saved_total:-} ]] || fail_run "vessel stats has no page_store.pages_saved with --share-pages" "$out_dir/share-$mode.log"
      [[ $verbose -eq 0 ]] || echo "$me: share on: pages saved $s_saved_total (shared $s_saved + zero $s_zero_now), stored ${s_stored:-?}, scanned ${s_scanned:-?}, passes ${s_passes:-?}, huge regions broken ${s_broken:-?}" >&2
      if ((s_saved_total > 0 && s_saved_total - prev <= s_saved_total / 200)); then break; fi
      prev=$s_saved_total
      ((${EPOCHREALTIME%.*} < end)) || { share_unsettled=1; break; }
      sleep 2
    done
  fi
  s_saved='' s_saved_total='' s_zero_now='' s_stored='' s_shared_now='' s_zero='' s_broken=''
  eval "$(client vessel-stats "$sock")" || fail_run "vessel ctl stats failed" "$out_dir/share-$mode.log"
  client vessel-json "$sock" >"$out_dir/share-$mode.stats.json" || true
  [[ $s_running -eq $vms ]] || fail_run "vessel host (sharing $mode): only $s_running of $vms VMs running" "$out_dir/share-$mode.log"
  v_rss=$s_rss v_pss=$s_pss
  # cross-check vessel's own figures against /proc
  local vpid
  vpid=$(child_of "$pid")
  read -r p_rss p_pss < <(rss_pss "$vpid")
  # the guests' RAM alone: the anonymous mappings sized a multiple of --mem
  # (with sharing on they are split up by the page store's mappings)
  v_ram=$(awk -v m=$(($(tr -d 'MG' <<<"$share_mem") * 1024)) '
    /^[0-9a-f]+-[0-9a-f]+ / { anon = (NF == 5) }
    /^Size:/ { size = $2 }
    /^Rss:/ { if (anon && size >= m && size % m == 0) ram += $2 }
    END { printf "%d", ram * 1024 }' "/proc/$vpid/smaps")
  [[ $verbose -eq 0 ]] || echo "$me: share $mode: vessel says rss $(mib "$v_rss") MiB pss $(mib "$v_pss") MiB; /proc says rss $(mib "$p_rss") MiB pss $(mib "$p_pss") MiB" >&2
  if awk -v a="$v_pss" -v b="$p_pss" 'BEGIN { exit !(a > b * 1.2 + 4194304 || a < b * 0.8 - 4194304) }'; then
    fail_run "vessel's host pss_bytes ($(mib "$v_pss") MiB) and /proc/PID/smaps_rollup ($(mib "$p_pss") MiB) disagree"
  fi
  if [[ $mode == on ]]; then
    v_saved=$s_saved v_saved_total=$s_saved_total v_zero_now=$s_zero_now v_broken=${s_broken:-0}
    v_stored=$s_stored v_shared=${s_shared_now:-0} v_zero=${s_zero:-0} v_refs=${s_refs:-} v_limit=${s_limit:-}
  fi
  client vessel-quit "$sock" >/dev/null 2>&1 || true
  stop_bg "$pid"
}
share_qemu() { # sets q_rss q_pss (sums over the QEMU processes)
  local i pids=() tpids=() dir=$out_dir/share-qemu
  rm -rf "$dir"
  mkdir -p "$dir"
  for ((i = 0; i < vms; i++)); do
    start_bg "$dir/vm-$i.log" "$qemu" -M virt -m "$share_mem" -smp 1 -display none -serial stdio -monitor none \
      -bios default -kernel "$KERNEL" -initrd "$INITRD" -append "$(cmdline_for "$ready_cmd")" \
      -device virtio-balloon-device,free-page-reporting=on
    tpids+=("$bg_pid")
  done
  for ((i = 0; i < vms; i++)); do
    wait_file_line "$dir/vm-$i.log" '^READY' "$timeout_s" "${tpids[i]}" || fail_run "qemu: guest $i never printed READY" "$dir/vm-$i.log"
    pids+=("$(child_of "${tpids[i]}")")
  done
  sleep "$settle_s"
  read -r q_rss q_pss < <(rss_pss "${pids[@]}")
  for i in "${tpids[@]}"; do stop_bg "$i"; done
}

if has_part share; then
  share_unsettled=0 share_ok=0
  share_qemu
  if [[ $use_vessel -eq 1 ]] && sub v_rss v_pss v_ram -- share_vessel off; then
    off_rss=$v_rss off_pss=$v_pss off_ram=$v_ram
    if sub v_rss v_pss v_saved v_saved_total v_zero_now v_broken v_stored v_shared v_zero v_refs v_limit share_unsettled -- share_vessel on; then
      on_rss=$v_rss on_pss=$v_pss share_ok=1
    fi
  fi
  report+=("$me: share: $vms idle guests x $share_mem (vessel host --vms $vms --balloon; QEMU: $vms processes with virtio-balloon-device,free-page-reporting=on), measured $settle_s s after the last READY")
  if [[ $share_ok -eq 1 ]]; then
    saved_bytes=$((v_saved_total * 4096))
    report+=("$(printf '%s: share: sharing off   vessel rss %5s MiB pss %5s MiB | qemu rss %5s MiB pss %5s MiB | ratio pss %sx' "$me" \
      "$(mib "$off_rss")" "$(mib "$off_pss")" "$(mib "$q_rss")" "$(mib "$q_pss")" "$(lg_ratio "$off_pss" "$q_pss")")")
    report+=("$(printf '%s: share: sharing on    vessel rss %5s MiB pss %5s MiB (--share-rate %s%s) | ratio pss on/off %sx, on/qemu %sx' "$me" \
      "$(mib "$on_rss")" "$(mib "$on_pss")" "$share_rate" "$([[ $share_unsettled -eq 1 ]] && echo ', still growing after 60 s')" \
      "$(lg_ratio "$on_pss" "$off_pss")" "$(lg_ratio "$on_pss" "$q_pss")")")
    report+=("$(printf '%s: share: page store    %s pages stored, %s guest pages mapped shared, %s shared away; references %s of limit %s; %s huge 2 MiB regions broken' "$me" \
      "$v_stored" "$v_shared" "$v_saved" "$v_refs" "$v_limit" "$v_broken")")
    report+=("$(printf '%s: share: saved (shared + zero) %s pages (%s MiB) = %s shared away + %s zero pages released (%s released ever)' "$me" \
      "$v_saved_total" "$(mib "$saved_bytes")" "$v_saved" "$v_zero_now" "$v_zero")")
    frac_pss=$(awk -v s="$saved_bytes" -v t="$off_pss" 'BEGIN { printf "%.0f", 100 * s / t }')
    down_pss=$(awk -v a="$on_pss" -v b="$off_pss" 'BEGIN { printf "%.0f", 100 * (1 - a / b) }')
    if [[ $off_ram -gt 0 ]]; then
      frac=$(awk -v s="$saved_bytes" -v t="$off_ram" 'BEGIN { printf "%.0f", 100 * s / t }')
      report+=("$(printf '%s: share: saved/total   %s%% of the guests'"'"' resident RAM with sharing off (%s MiB; the rest of the pss is vessel'"'"'s own) (aim: more than 50%%: %s)' "$me" \
        "$frac" "$(mib "$off_ram")" "$(awk -v f="$frac" 'BEGIN { print (f > 50 ? "met" : "MISSED") }')")")
      report+=("$(printf '%s: share: saved/pss     %s%% of the whole process'"'"' sharing-off pss; pss on/off down %s%%' "$me" "$frac_pss" "$down_pss")")
    else
      report+=("$(printf '%s: share: saved/pss     %s%% of the sharing-off pss, pss down %s%% (guest RAM mapping not found in smaps; aim of more than 50%% of guest memory: %s)' "$me" \
        "$frac_pss" "$down_pss" "$(awk -v f="$frac_pss" 'BEGIN { print (f > 50 ? "met" : "MISSED") }')")")
    fi
    if [[ -n $v_limit && $v_refs -ge $v_limit ]]; then
      report+=("$me: share: note: the page store is at its reference limit ($v_refs of $v_limit), so sharing stopped there")
    fi
  else
    report+=("$(printf '%s: share: %s | qemu rss %s MiB pss %s MiB' "$me" "$([[ $use_vessel -eq 1 ]] && echo 'vessel FAILED (see above)' || echo 'vessel not run')" "$(mib "$q_rss")" "$(mib "$q_pss")")")
    [[ $use_vessel -eq 0 ]] || any_failed=1
  fi
fi

# ---- balloon ---------------------------------------------------------------------------
fill_cmd='dd if=/dev/zero of=/tmp/fill bs=1M count=300 2>/dev/null; rm /tmp/fill; echo FILLED; exec sleep 100000'
balloon_bytes=$((256 << 20))
balloon_vessel() { # sets bv_secs bv_before bv_after
  local log=$out_dir/balloon-vessel.log sock=$lg_tmp/balloon.sock pid out
  start_bg "$log" "$vessel" run --kernel "$KERNEL" --initrd "$INITRD" --cmdline "$(cmdline_for "$fill_cmd")" \
    --mem "$balloon_mem" --balloon --api-socket "$sock"
  pid=$bg_pid
  wait_file_line "$log" '^FILLED' "$timeout_s" "$pid" || fail_run "vessel (balloon): the guest never printed FILLED" "$log"
  sleep 2
  eval "$(client vessel-stats "$sock")" || fail_run "vessel ctl stats failed" "$log"
  [[ -n ${s_actual:-} ]] || fail_run "vessel stats has no balloon figures with --balloon" "$log"
  bv_before=$s_rss bv_reported=$s_reported
  out=$(client vessel-balloon "$sock" "$balloon_bytes" "$timeout_s") || fail_run "vessel (balloon): $out" "$log"
  eval "$out"
  bv_secs=$b_secs
  eval "$(client vessel-stats "$sock")"
  bv_after=$s_rss
  [[ $verbose -eq 0 ]] || echo "$me: balloon vessel: $out; rss $(mib "$bv_before") -> $(mib "$bv_after") MiB; reported by free page reporting before: $(mib "$bv_reported") MiB" >&2
  client vessel-quit "$sock" >/dev/null 2>&1 || true
  stop_bg "$pid"
}
balloon_qemu() { # sets bq_secs bq_before bq_after
  local log=$out_dir/balloon-qemu.log sock=$lg_tmp/balloon-qmp.sock pid tpid out mem_bytes
  mem_bytes=$(($(tr -d 'MG' <<<"$balloon_mem") << 20))
  start_bg "$log" "$qemu" -M virt -m "$balloon_mem" -smp 1 -display none -serial stdio -monitor none \
    -bios default -kernel "$KERNEL" -initrd "$INITRD" -append "$(cmdline_for "$fill_cmd")" \
    -device virtio-balloon-device -qmp "unix:$sock,server=on,wait=off"
  tpid=$bg_pid
  wait_file_line "$log" '^FILLED' "$timeout_s" "$tpid" || fail_run "qemu (balloon): the guest never printed FILLED" "$log"
  pid=$(child_of "$tpid")
  sleep 2
  read -r bq_before _ < <(rss_pss "$pid")
  out=$(client qmp-balloon "$sock" $((mem_bytes - balloon_bytes)) "$timeout_s") || fail_run "qemu (balloon): $out" "$log"
  eval "$out"
  bq_secs=$b_secs
  read -r bq_after _ < <(rss_pss "$pid")
  [[ $verbose -eq 0 ]] || echo "$me: balloon qemu: $out; rss $(mib "$bq_before") -> $(mib "$bq_after") MiB" >&2
  client qmp-quit "$sock" >/dev/null 2>&1 || true
  stop_bg "$tpid"
}
if has_part balloon; then
  gibs() { awk -v s="$1" -v b="$balloon_bytes" 'BEGIN { printf "%.2f", b / 1073741824 / s }'; }
  bq_t='' bq_b='' bq_a='' bv_t='' bv_b='' bv_a='' bv_r='' v_ok=1
  for ((r = 1; r <= rounds; r++)); do
    balloon_qemu
    bq_t+=" $bq_secs" bq_b+=" $bq_before" bq_a+=" $bq_after"
    if [[ $use_vessel -eq 1 && $v_ok -eq 1 ]]; then
      if sub bv_secs bv_before bv_after bv_reported -- balloon_vessel; then
        bv_t+=" $bv_secs" bv_b+=" $bv_before" bv_a+=" $bv_after" bv_r+=" $bv_reported"
      else
        v_ok=0
      fi
    fi
  done
  bq_secs=$(lg_median <<<"$bq_t")
  qpart=$(printf 'qemu %6.3f s %5s GiB/s, rss %s -> %s MiB' "$bq_secs" "$(gibs "$bq_secs")" "$(mib "$(lg_median <<<"$bq_b")")" "$(mib "$(lg_median <<<"$bq_a")")")
  report+=("$me: balloon: reclaim 256 MiB from a $balloon_mem guest that wrote 300 MiB to tmpfs and deleted it, median of $rounds (vessel --balloon, which includes free page reporting; QEMU -device virtio-balloon-device, without it, so its 300 MiB stay resident until the balloon takes them)")
  if [[ $use_vessel -eq 1 && $v_ok -eq 1 ]]; then
    bv_secs=$(lg_median <<<"$bv_t")
    report+=("$(printf '%s: balloon: vessel %6.3f s %5s GiB/s, rss %s -> %s MiB (aim: faster than 1 GiB/s: %s) | %s | ratio time %sx' "$me" \
      "$bv_secs" "$(gibs "$bv_secs")" "$(mib "$(lg_median <<<"$bv_b")")" "$(mib "$(lg_median <<<"$bv_a")")" \
      "$(awk -v g="$(gibs "$bv_secs")" 'BEGIN { print (g > 1 ? "met" : "MISSED") }')" "$qpart" "$(lg_ratio "$bv_secs" "$bq_secs")")")
    report+=("$me: balloon: vessel's free page reporting had returned $(mib "$(lg_median <<<"$bv_r")") MiB to the host before the balloon was inflated (balloon.reported_bytes)")
  else
    report+=("$me: balloon: $([[ $use_vessel -eq 1 ]] && echo 'vessel FAILED (see above)' || echo 'vessel not run') | $qpart")
    [[ $use_vessel -eq 0 ]] || any_failed=1
  fi
fi

# ---- scan ------------------------------------------------------------------------------
if has_part scan && [[ $use_vessel -eq 1 ]]; then
  riscv_cc=${RISCV_LINUX_CC:-riscv64-linux-gnu-gcc}
  host_cc=${HOST_CC:-gcc}
  src=$root/bench/programs/linux-cpu/linux-cpu.c
  scan_dir=$out_dir/linux-cpu
  command -v "$riscv_cc" >/dev/null || die "$riscv_cc not found (apt install gcc-riscv64-linux-gnu libc6-dev-riscv64-cross)"
  mkdir -p "$scan_dir/root/bin"
  # the same build as bench/linux-cpu.sh
  "$riscv_cc" -static -O2 -ffp-contract=off -o "$scan_dir/root/bin/linux-cpu" "$src" -lm || die "cross-compiling $src failed"
  "$host_cc" -O2 -ffp-contract=off -o "$scan_dir/linux-cpu-native" "$src" -lm || die "compiling $src natively failed"
  lg_extend_initrd "$scan_dir" linux-cpu
  expected=$("$scan_dir/linux-cpu-native" | sed -n 's/^linux-cpu: checksum=\(0x[0-9a-f]*\) .*/\1/p')
  guest_cmd='/bin/linux-cpu'
  cmdline="console=ttyS0 quiet vessel.cmd=$(printf '%s' "$guest_cmd" | base64 -w0)"
  declare -A el
  scan_failed=0
  for ((r = 1; r <= scan_rounds; r++)); do
    for mode in off on; do
      extra=()
      [[ $mode == off ]] || extra=(--share-pages --share-rate "$scan_rate")
      log=$scan_dir/scan-$mode.log
      lg_run "$log" "$timeout_s" "$vessel" run --kernel "$KERNEL" --initrd "$initrd" --cmdline "$cmdline" \
        --mem "$balloon_mem" "${extra[@]}"
      re='linux-cpu: checksum=(0x[0-9a-f]+) elapsed=([0-9.]+)'
      line=$(grep -E "$re" "$log" | tail -n 1 || true)
      if lg_failed "$log" || ! [[ $line =~ $re ]] || [[ ${BASH_REMATCH[1]} != "$expected" ]]; then
        [[ -n $lg_why ]] || lg_why="no checksum line, or a checksum other than the native $expected"
        lg_describe_failure "vessel (scan, sharing $mode, round $r)" "$log"
        scan_failed=1
        break 2
      fi
      el[$mode]+=" ${BASH_REMATCH[2]}"
      [[ $verbose -eq 0 ]] || echo "$me: scan round $r sharing $mode: elapsed ${BASH_REMATCH[2]} s" >&2
    done
  done
  if [[ $scan_failed -eq 0 ]]; then
    off=$(lg_median <<<"${el[off]}") on=$(lg_median <<<"${el[on]}")
    spread() { tr ' ' '\n' | grep . | sort -g | sed -n '1p;$p' | paste -sd- | awk -F- '{ printf "%.2f-%.2f", $1, $2 }'; }
    slow=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.1f", (a / b - 1) * 100 }')
    report+=("$(printf '%s: scan: linux-cpu (in-guest time) in a %s vessel guest, median of %d: sharing off %.2f s (%s), --share-pages --share-rate %s %.2f s (%s)' "$me" \
      "$balloon_mem" "$scan_rounds" "$off" "$(spread <<<"${el[off]}")" "$scan_rate" "$on" "$(spread <<<"${el[on]}")")")
    report+=("$(printf '%s: scan: slowdown %s%% (aim: under 5%%: %s)' "$me" "$slow" "$(awk -v s="$slow" 'BEGIN { print (s < 5 ? "met" : "MISSED") }')")")
  else
    report+=("$me: scan: vessel FAILED (see above)")
    any_failed=1
  fi
fi

load_end=$(cut -d' ' -f1 /proc/loadavg)
echo "$me: load average $load_start at start, $load_end at end"
printf '%s\n' "${report[@]}"
[[ $any_failed -eq 0 ]] || { echo "$me: error: some vessel runs failed (reasons above; logs in $out_dir)" >&2; exit 1; }
