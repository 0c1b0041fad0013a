#!/bin/bash
# shellcheck disable=SC2034,SC2154 # figures arrive through eval and ${!name}
# VM state benchmark: snapshot, restore and live migration (over loopback) of
# a running Linux guest, idle and busy (a loop rewriting a 64 MiB tmpfs file),
# under vessel and QEMU (TCG) in the same run. Reports snapshot time and size,
# restore-to-running latency, migration total time and downtime, and the
# vessel/QEMU ratios (< 1: vessel is faster or smaller). The migration both
# compare is plain TCP (QEMU's default); vessel's guest then migrates on once
# more over TLS 1.3 with a pre-shared key, and the TLS figures are printed
# beside its plain TCP ones. --migrate-only runs just the plain TCP migration
# (no snapshot, restore or TLS), for the downtime figures in many rounds.
#
# Both downtimes run from the guest's stop until the destination has loaded
# the VM and told the source so: QEMU migrates with its return path on (as
# vessel, whose source commits only once the destination confirmed); without
# it QEMU's figure ends once its last byte is in the socket. vessel's parts
# (last pages, state, destination) are printed too, and the downtimes of
# every round (min-max beside the median).
#
# Usage: bench/state.sh [--rounds N] [--mem SIZE] [--workload idle|busy|both]
#                       [--migrate-only] [--qemu-only] [--no-build]
#                       [--timeout SECONDS] [--verbose]
# Env:   KERNEL, INITRD (default: scripts/build-guest --print), BUILD_DIR
#        (default build), VESSEL (default $BUILD_DIR/vessel), VESSEL_ARGS (extra
#        `vessel run` arguments), QEMU (default qemu-system-riscv64), PYTHON
#        (default python3, for the QMP client), STATE_DIR (where snapshots are
#        written; default $BUILD_DIR/bench/state)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=state
# shellcheck source=bench/lib/linux-guest.sh
. "$root/bench/lib/linux-guest.sh"

rounds=1 mem=256M workloads=(idle busy) qemu_only=0 build=1 timeout_s=60 verbose=0 migrate_only=0
usage() { sed -n '3,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds|--runs) rounds=${2:?--rounds wants a value}; shift 2 ;;
    --mem) mem=${2:?--mem wants a value}; shift 2 ;;
    --workload)
      case ${2:-} in
        idle|busy) workloads=("$2") ;;
        both) workloads=(idle busy) ;;
        *) die "--workload wants idle, busy or both" ;;
      esac
      shift 2 ;;
    --qemu-only) qemu_only=1; shift ;;
    --migrate-only) migrate_only=1; shift ;;
    --no-build) build=0; shift ;;
    --timeout) timeout_s=${2:?--timeout wants a value}; shift 2 ;;
    -v|--verbose) verbose=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "$me: unknown argument: $1" >&2; usage 2 ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive integer"
[[ $mem =~ ^[1-9][0-9]*[MG]$ ]] || die "--mem wants a size like 256M or 1G"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout wants a positive number of seconds"

lg_find_guest
lg_find_qemu
python=${PYTHON:-python3}
command -v "$python" >/dev/null || die "$python not found (needed for the QMP client)"
out_dir=${BUILD_DIR:-$root/build}/bench/state
state_dir=${STATE_DIR:-$out_dir}
mkdir -p "$out_dir" "$state_dir"
vmms=(qemu)
if [[ $qemu_only -eq 0 ]]; then
  lg_find_vessel "$build" "$out_dir/vessel-build.log"
  # The features this needs, before any figure is printed.
  for sub in ctl restore receive; do
    "$vessel" "$sub" --help >/dev/null 2>&1 ||
      die "$vessel has no '$sub' subcommand (snapshot/restore/migration not built in yet?): try again later, or use --qemu-only"
  done
  "$vessel" run --help 2>&1 | grep -q -- --api-socket ||
    die "'$vessel run' has no --api-socket option (the control socket is not built in yet?): try again later, or use --qemu-only"
  vmms+=(vessel)
fi
lg_tmpdir
# the pre-shared key of vessel's TLS migration
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$lg_tmp/key.psk")

# ---- the guests -------------------------------------------------------------
# Both print a line right after every step, so the first such line a restored
# or migrated guest prints shows that it runs again: `tick N` every 0.1 s
# (idle), `busy N UPTIME` after every 4 MiB rewritten (busy: 16 x 4 MiB chunks
# of a 64 MiB tmpfs file, random data so no zero-page shortcut applies).
idle_cmd='echo READY; i=0; while :; do sleep 0.1; i=$((i+1)); echo "tick $i"; done'
busy_cmd='head -c 4194304 /dev/urandom >/tmp/src; echo READY; i=0; while :; do dd if=/tmp/src of=/tmp/x bs=1M count=4 seek=$((i%16*4)) conv=notrunc 2>/dev/null; i=$((i+1)); echo "busy $i $(cut -d" " -f1 /proc/uptime)"; done'
tick_re='^(tick|busy) [0-9]+'
cmdline_for() { printf 'console=ttyS0 quiet vessel.cmd=%s' "$(printf '%s' "$1" | base64 -w0)"; }

# ---- process handling ---------------------------------------------------------
# Every VMM runs in the background under `timeout`, its output (stdout and
# stderr) copied to a log with the arrival time ($EPOCHREALTIME) in front of
# every line.
bg_pids=()
state_cleanup() {
  local p
  for p in "${bg_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  lg_cleanup
}
trap state_cleanup EXIT
stamp() {
  local line
  while IFS= read -r line || [[ -n $line ]]; do
    printf '%s %s\n' "$EPOCHREALTIME" "${line//$'\r'/}"
  done
}
start_bg() { # start_bg LOG CMD...: sets bg_pid, bg_start
  local log=$1
  shift
  : >"$log"
  bg_start=$EPOCHREALTIME
  timeout -k 5 $((timeout_s * 4)) "$@" </dev/null > >(stamp >>"$log") 2>&1 &
  bg_pid=$!
  bg_pids+=("$bg_pid")
}
stop_bg() { # stop_bg PID: TERM, then wait for it
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
# wait_line LOG REGEX [SECONDS] [PID]: waits for a line (after the timestamp)
# matching REGEX; sets w_ts (its arrival time) and w_line. Fails on timeout or
# when PID exits first.
wait_line() {
  local log=$1 re=$2 limit=${3:-$timeout_s} pid=${4:-} end hit alive=1
  end=$((${EPOCHREALTIME%.*} + limit))
  while :; do
    hit=$(awk -v re="$re" '{ ts = $1; sub(/^[^ ]* /, ""); if ($0 ~ re) { print ts " " $0; exit } }' "$log")
    if [[ -n $hit ]]; then w_ts=${hit%% *} w_line=${hit#* }; return 0; fi
    [[ $alive -eq 1 ]] || return 1  # exited, and its last output is in
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then alive=0; sleep 0.1; continue; fi
    [[ ${EPOCHREALTIME%.*} -lt $end ]] || return 1
    sleep 0.01
  done
}
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
fail_run() { # fail_run WHAT LOG: explains and exits
  echo "$me: $1" >&2
  if [[ -n ${2:-} && -f $2 ]]; then
    echo "$me: last 20 lines of $2:" >&2
    tail -n 20 "$2" | cut -d' ' -f2- | sed 's/^/  | /' >&2
  fi
  exit 1
}
free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# dirty_rate LOG: MiB/s the busy loop rewrote (from its uptime stamps)
dirty_rate() {
  awk '$2 == "busy" && NF == 4 { n++; if (n == 1) { i0 = $3; t0 = $4 } i1 = $3; t1 = $4 }
       END { if (n > 1 && t1 > t0) printf "%.1f", (i1 - i0) * 4 / (t1 - t0); else print "?" }' "$1"
}

# ---- QMP client (QEMU) ------------------------------------------------------
# qmp OP SOCKET TIMEOUT [ARGS...]: bench/lib/jsonsock.py qmp-OP (status,
# wait-running, migrate URI DOWNTIME_MS, cont, quit)
qmp() { "$python" "$root/bench/lib/jsonsock.py" --timeout "$3" "qmp-$1" "$2" "${@:4}"; }

# ---- results ------------------------------------------------------------------
declare -A fig  # fig[vmm:workload:name] = space-separated values, one per round
add() { fig[$1]+=" $2"; }
med() { lg_median <<<"${fig[$1]:-}" 2>/dev/null || echo ''; }

# Keys per VMM and workload: snap_ms snap_bytes snap_disk restore_self_ms
# restore_run_ms restore_marker_ms mig_total_ms mig_down_ms mig_rounds
# mig_bytes mig_marker_ms dirty_mibs; vessel also tls_total_ms tls_down_ms
# tls_rounds tls_bytes tls_marker_ms (its second migration, over TLS)

# Each round and VMM: boot a source and let it settle; snapshot it (it runs
# on); migrate it live to a destination over loopback and check that the guest
# goes on there; stop both; restore the snapshot in a new process and check
# that the guest goes on there.

# settle LOG WORKLOAD PID VMM: idle: 2 s after READY; busy: until the loop has
# rewritten its 64 MiB file once and a bit (20 lines)
settle() {
  if [[ $2 == idle ]]; then
    sleep 2
  else
    wait_line "$1" '^busy 20 ' "$timeout_s" "$3" || fail_run "$4 (busy): the busy loop did not get to 'busy 20'" "$1"
  fi
}
# resumed VMM WORKLOAD LOG PID T0 KEY: waits for the guest's first tick/busy
# line in LOG and records its time since T0 under KEY. QEMU 7.2 does not
# re-arm a RISC-V guest's timer after an incoming migration, so an idle QEMU
# guest (waiting in WFI for its next timer interrupt) never wakes up: that is
# recorded as a stall (after 5 s) rather than a failure.
resumed() {
  local limit=$timeout_s
  [[ $1 == vessel ]] || limit=5
  if wait_line "$3" "$tick_re" "$limit" "$4"; then
    add "$1:$2:$6" "$(ms_between "$5" "$w_ts")"
    return 0
  fi
  if [[ $1 == vessel ]]; then
    local where='after the restore' diag=''
    [[ $6 != *_marker_ms || $6 == restore_marker_ms ]] || where='on the migration destination'
    if [[ -n ${7:-} ]]; then  # is the guest executing at all?
      diag=$(for _ in 1 2; do timeout 5 "$vessel" ctl "$7" stats 2>&1 | grep -m1 '"instructions"' | tr -d ' ,'; sleep 1; done | paste -sd' ')
      diag=" (ctl stats 1 s apart: ${diag:-no answer})"
    fi
    fail_run "$1 ($2): the guest printed no tick/busy line within $limit s $where$diag" "$3"
  fi
  stalled["$1:$2:$6"]=1
  [[ $verbose -eq 0 ]] || echo "$me: $1 $2: no tick/busy line within $limit s ($6): the guest stalls" >&2
  return 1
}
declare -A stalled

qemu_round() { # qemu_round WORKLOAD ROUND
  local w=$1 r=$2 cmd log base snap port out t_run src dst rst t0
  local m_total m_down m_rounds m_bytes m_wall
  cmd=${w}_cmd
  base=(-M virt -m "$mem" -smp 1 -display none -serial stdio -monitor none -bios default
        -kernel "$KERNEL" -initrd "$INITRD" -append "$(cmdline_for "${!cmd}")")
  snap=$state_dir/qemu-$w.snapshot

  # boot
  log=$out_dir/qemu-$w-source.log
  start_bg "$log" "$qemu" "${base[@]}" -qmp "unix:$lg_tmp/q-src.sock,server=on,wait=off"
  src=$bg_pid
  wait_line "$log" '^READY' "$timeout_s" "$src" || fail_run "qemu ($w): the guest never printed READY" "$log"
  settle "$log" "$w" "$src" qemu

  # snapshot: a (live) migration into a file, QEMU's default downtime limit;
  # then the source goes on
  if [[ $migrate_only -eq 0 ]]; then
  rm -f "$snap"
  out=$(qmp migrate "$lg_tmp/q-src.sock" "$timeout_s" "exec:cat > $snap" 300) ||
    fail_run "qemu ($w): migrate to exec:cat > $snap failed: $out" "$log"
  eval "$out"
  add "qemu:$w:snap_ms" "$m_total"
  add "qemu:$w:snap_bytes" "$(stat -c %s "$snap")"
  add "qemu:$w:snap_disk" "$(($(stat -c %b "$snap") * $(stat -c %B "$snap")))"
  [[ $verbose -eq 0 ]] || echo "$me: round $r qemu $w snapshot: $out, file $(stat -c %s "$snap") bytes" >&2
  qmp cont "$lg_tmp/q-src.sock" 10 || fail_run "qemu ($w): cont after the snapshot failed" "$log"
  fi

  # live migration to a second QEMU over loopback
  port=$(free_port)
  log=$out_dir/qemu-$w-dest.log
  start_bg "$log" "$qemu" "${base[@]}" -qmp "unix:$lg_tmp/q-dst.sock,server=on,wait=off" -incoming "tcp:127.0.0.1:$port"
  dst=$bg_pid
  qmp status "$lg_tmp/q-dst.sock" "$timeout_s" >/dev/null || fail_run "qemu ($w): the destination QEMU did not start" "$log"
  sleep 0.5  # the source runs on for a moment after the snapshot
  # return-path: the source waits for the destination to have loaded and
  # started the VM, as vessel's does, so both downtimes cover the same
  out=$(qmp migrate "$lg_tmp/q-src.sock" "$timeout_s" "tcp:127.0.0.1:$port" 50 return-path) ||
    fail_run "qemu ($w): migration to tcp:127.0.0.1:$port failed: $out" "$out_dir/qemu-$w-source.log"
  eval "$out"
  add "qemu:$w:mig_total_ms" "$m_total"
  add "qemu:$w:mig_down_ms" "$m_down"
  add "qemu:$w:mig_rounds" "$m_rounds"
  add "qemu:$w:mig_bytes" "$m_bytes"
  [[ $verbose -eq 0 ]] || echo "$me: round $r qemu $w migrate: $out" >&2
  t_run=$(qmp wait-running "$lg_tmp/q-dst.sock" "$timeout_s") || fail_run "qemu ($w): the destination never reached 'running'" "$log"
  resumed qemu "$w" "$log" "$dst" "$t_run" mig_marker_ms || true
  add "qemu:$w:dirty_mibs" "$(dirty_rate "$out_dir/qemu-$w-source.log")"
  qmp quit "$lg_tmp/q-src.sock" 10 || true
  stop_bg "$src"
  # and on once more without the return path (QEMU's default): its downtime
  # then ends once its last byte is in the socket, beside vessel's until then
  port=$(free_port)
  log=$out_dir/qemu-$w-dest2.log
  start_bg "$log" "$qemu" "${base[@]}" -qmp "unix:$lg_tmp/q-dst2.sock,server=on,wait=off" -incoming "tcp:127.0.0.1:$port"
  local dst2=$bg_pid
  qmp status "$lg_tmp/q-dst2.sock" "$timeout_s" >/dev/null || fail_run "qemu ($w): the second destination QEMU did not start" "$log"
  sleep 0.5
  out=$(qmp migrate "$lg_tmp/q-dst.sock" "$timeout_s" "tcp:127.0.0.1:$port" 50) ||
    fail_run "qemu ($w): migration on to tcp:127.0.0.1:$port failed: $out" "$out_dir/qemu-$w-dest.log"
  eval "$out"
  add "qemu:$w:mig_sent_ms" "$m_down"
  [[ $verbose -eq 0 ]] || echo "$me: round $r qemu $w migrate on, no return path: $out" >&2
  qmp quit "$lg_tmp/q-dst.sock" 10 || true
  qmp quit "$lg_tmp/q-dst2.sock" 10 || true
  stop_bg "$dst"
  stop_bg "$dst2"

  [[ $migrate_only -eq 0 ]] || return 0
  # restore: a third QEMU reading the file
  log=$out_dir/qemu-$w-restore.log
  start_bg "$log" "$qemu" "${base[@]}" -qmp "unix:$lg_tmp/q-rst.sock,server=on,wait=off" -incoming "exec:cat $snap"
  rst=$bg_pid t0=$bg_start
  t_run=$(qmp wait-running "$lg_tmp/q-rst.sock" "$timeout_s") || fail_run "qemu ($w): the restored QEMU never reached 'running'" "$log"
  add "qemu:$w:restore_run_ms" "$(ms_between "$t0" "$t_run")"
  resumed qemu "$w" "$log" "$rst" "$t0" restore_marker_ms || true
  [[ $verbose -eq 0 ]] || echo "$me: round $r qemu $w restore: running after $(ms_between "$t0" "$t_run") ms" >&2
  qmp quit "$lg_tmp/q-rst.sock" 10 || true
  stop_bg "$rst"
  rm -f "$snap"
}

# vessel_migrate WORKLOAD ROUND SRC_PID SRC_SOCK SRC_LOG DST_LOG DST_SOCK KEY
# SECURITY...: migrates the guest from SRC to a new `vessel receive` over
# loopback with the SECURITY options on both sides, records KEY_total_ms,
# KEY_down_ms, KEY_rounds, KEY_bytes and KEY_marker_ms, checks that the source
# exits 0 and the destination runs the guest on; sets bg_pid to it.
vessel_migrate() {
  local w=$1 r=$2 src=$3 src_sock=$4 src_log=$5 log=$6 dst_sock=$7 key=$8 port dst ctl_out re mline i s
  shift 8
  port=$(free_port)
  start_bg "$log" "$vessel" receive --listen "127.0.0.1:$port" --accept-timeout "$timeout_s" --api-socket "$dst_sock" "$@"
  dst=$bg_pid
  for ((i = 0; i < 500; i++)); do
    ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && break
    kill -0 "$dst" 2>/dev/null || fail_run "vessel ($w): 'vessel receive --listen 127.0.0.1:$port $*' exited" "$log"
    sleep 0.01
  done
  sleep 0.5  # the source runs on for a moment after the snapshot
  ctl_out=$(timeout "$timeout_s" "$vessel" ctl "$src_sock" migrate "127.0.0.1:$port" --max-downtime 50 "$@" 2>&1) ||
    fail_run "vessel ($w): 'vessel ctl SOCK migrate 127.0.0.1:$port --max-downtime 50 $*' failed: $ctl_out" "$src_log"
  printf '%s\n' "$ctl_out" >"${log%.log}-migrate.out"
  re='migrated to .* in ([0-9.]+) ms: ([0-9]+) rounds?, ([0-9.]+) MiB sent, downtime ([0-9.]+) ms'
  mline=$(grep -hE "$re" "${log%.log}-migrate.out" "$src_log" | tail -n 1 || true)
  [[ $mline =~ $re ]] || fail_run "vessel ($w): no 'migrated to HOST:PORT in T ms: R rounds, M MiB sent, downtime D ms' line; ctl printed: $ctl_out" "$src_log"
  local t_done=$EPOCHREALTIME
  add "vessel:$w:${key}_total_ms" "${BASH_REMATCH[1]}"
  add "vessel:$w:${key}_rounds" "${BASH_REMATCH[2]}"
  add "vessel:$w:${key}_bytes" "$(awk -v m="${BASH_REMATCH[3]}" 'BEGIN { printf "%.0f", m * 1048576 }')"
  add "vessel:$w:${key}_down_ms" "${BASH_REMATCH[4]}"
  # where the downtime went: [stop T ms, ]N last pages P ms, state S ms,
  # destination D ms (before the stop was counted, it had no part of its own)
  re='\((stop ([0-9.]+) ms, )?([0-9]+) last pages ([0-9.]+) ms, state ([0-9.]+) ms, destination ([0-9.]+) ms\)'
  if [[ $mline =~ $re ]]; then
    add "vessel:$w:${key}_down_stop_ms" "${BASH_REMATCH[2]:-0}"
    add "vessel:$w:${key}_last_pages" "${BASH_REMATCH[3]}"
    add "vessel:$w:${key}_down_pages_ms" "${BASH_REMATCH[4]}"
    add "vessel:$w:${key}_down_state_ms" "${BASH_REMATCH[5]}"
    add "vessel:$w:${key}_down_dest_ms" "${BASH_REMATCH[6]}"
    add "vessel:$w:${key}_sent_ms" "$(awk -v t="${BASH_REMATCH[2]:-0}" -v p="${BASH_REMATCH[4]}" -v s="${BASH_REMATCH[5]}" 'BEGIN { print t + p + s }')"
  fi
  # the destination's own figure for building the VM (part of "state" or
  # "destination" above, whichever thread the host ran first)
  re='the VM built from its state in ([0-9.]+) ms'
  if [[ $(grep -hoE "$re" "$log" | tail -n 1) =~ $re ]]; then add "vessel:$w:${key}_build_ms" "${BASH_REMATCH[1]}"; fi
  [[ $verbose -eq 0 ]] || echo "$me: round $r vessel $w migrate ($key): $mline" >&2
  # the source exits 0, the destination runs the guest on
  s=0
  for ((i = 0; i < 200; i++)); do kill -0 "$src" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$src" 2>/dev/null && fail_run "vessel ($w): the migration source still runs 10 s after the migration" "$src_log"
  wait "$src" || s=$?
  [[ $s -eq 0 ]] || fail_run "vessel ($w): the migration source exited with status $s" "$src_log"
  resumed vessel "$w" "$log" "$dst" "$t_done" "${key}_marker_ms" "$dst_sock"
  bg_pid=$dst
}

vessel_round() { # vessel_round WORKLOAD ROUND
  local w=$1 r=$2 cmd log snap ctl_out re src dst rst t0
  cmd=${w}_cmd
  snap=$state_dir/vessel-$w.snapshot

  # boot
  log=$out_dir/vessel-$w-source.log
  start_bg "$log" "$vessel" run --kernel "$KERNEL" --initrd "$INITRD" --cmdline "$(cmdline_for "${!cmd}")" \
    --mem "$mem" --api-socket "$lg_tmp/v-src.sock" "${vessel_args[@]}"
  src=$bg_pid
  wait_line "$log" '^READY' "$timeout_s" "$src" || fail_run "vessel ($w): the guest never printed READY" "$log"
  settle "$log" "$w" "$src" vessel

  # snapshot (the source runs on)
  if [[ $migrate_only -eq 0 ]]; then
  rm -rf "$snap"
  ctl_out=$(timeout "$timeout_s" "$vessel" ctl "$lg_tmp/v-src.sock" snapshot "$snap" 2>&1) ||
    fail_run "vessel ($w): 'vessel ctl SOCK snapshot $snap' failed: $ctl_out" "$log"
  re='snapshot written to .* in ([0-9.]+) ms'
  [[ $ctl_out =~ $re ]] || fail_run "vessel ($w): no 'snapshot written to DIR in X ms' in the ctl output: $ctl_out" "$log"
  add "vessel:$w:snap_ms" "${BASH_REMATCH[1]}"
  [[ -f $snap/memory.bin && -f $snap/state.bin ]] || fail_run "vessel ($w): $snap has no memory.bin/state.bin: $(ls -la "$snap" 2>&1)" "$log"
  add "vessel:$w:snap_bytes" "$(du -sb --apparent-size "$snap" | cut -f1)"
  add "vessel:$w:snap_disk" "$(($(du -sk "$snap" | cut -f1) * 1024))"
  [[ $verbose -eq 0 ]] || echo "$me: round $r vessel $w snapshot: $ctl_out; $(du -sh --apparent-size "$snap" | cut -f1) apparent, $(du -sh "$snap" | cut -f1) on disk" >&2
  fi

  # live migration to `vessel receive` over loopback, plain TCP (as QEMU's)
  vessel_migrate "$w" "$r" "$src" "$lg_tmp/v-src.sock" "$out_dir/vessel-$w-source.log" \
    "$out_dir/vessel-$w-dest.log" "$lg_tmp/v-dst.sock" mig --insecure
  dst=$bg_pid
  add "vessel:$w:dirty_mibs" "$(dirty_rate "$out_dir/vessel-$w-source.log")"
  if [[ $migrate_only -eq 1 ]]; then
    timeout 10 "$vessel" ctl "$lg_tmp/v-dst.sock" quit >/dev/null 2>&1 || true
    stop_bg "$dst"
    return 0
  fi
  # and on from there over TLS (pre-shared key), once the guest has run a
  # while on the destination (its translator warm again, as on the source)
  sleep 2
  vessel_migrate "$w" "$r" "$dst" "$lg_tmp/v-dst.sock" "$out_dir/vessel-$w-dest.log" \
    "$out_dir/vessel-$w-dest-tls.log" "$lg_tmp/v-dst2.sock" tls --tls-psk "$lg_tmp/key.psk"
  stop_bg "$bg_pid"

  # restore
  log=$out_dir/vessel-$w-restore.log
  start_bg "$log" "$vessel" restore "$snap" --api-socket "$lg_tmp/v-rst.sock"
  rst=$bg_pid t0=$bg_start
  wait_line "$log" 'restored from .* in [0-9.]+ ms' "$timeout_s" "$rst" ||
    fail_run "vessel ($w): 'vessel restore $snap' printed no 'restored from DIR in X ms' line" "$log"
  re='restored from .* in ([0-9.]+) ms'
  [[ $w_line =~ $re ]]
  add "vessel:$w:restore_self_ms" "${BASH_REMATCH[1]}"
  add "vessel:$w:restore_run_ms" "$(ms_between "$t0" "$w_ts")"
  resumed vessel "$w" "$log" "$rst" "$t0" restore_marker_ms "$lg_tmp/v-rst.sock"
  [[ $verbose -eq 0 ]] || echo "$me: round $r vessel $w restore: '$(grep -o 'restored from .*' "$log" | head -n 1)', '$w_line' after $(ms_between "$t0" "$w_ts") ms" >&2
  timeout 10 "$vessel" ctl "$lg_tmp/v-rst.sock" quit >/dev/null 2>&1 || true
  stop_bg "$rst"
  rm -rf "$snap"
}

# ---- runs ---------------------------------------------------------------------------
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
declare -A failed
load_start=$(cut -d' ' -f1 /proc/loadavg)
for ((r = 1; r <= rounds; r++)); do
  for w in "${workloads[@]}"; do
    for v in "${vmms[@]}"; do
      [[ -z ${failed[$v:$w]:-} ]] || continue
      sub fig stalled -- "${v}_round" "$w" "$r" || failed[$v:$w]=1
    done
  done
done
load_end=$(cut -d' ' -f1 /proc/loadavg)

# ---- report ---------------------------------------------------------------------------
mib() { [[ -n $1 ]] && awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }' || echo "?"; }
ratio() { local x; x=$([[ -n $1 && -n $2 ]] && lg_ratio "$1" "$2" || echo n/a); [[ $x == n/a ]] && echo "$x" || echo "${x}x"; }
rnd() { [[ -n $1 ]] && awk -v v="$1" 'BEGIN { if (v >= 100) printf "%.0f", v; else printf "%.1f", v }' || echo "?"; }
# ms VMM WORKLOAD KEY: the median in ms, or why there is none
ms() {
  local v
  v=$(med "$1:$2:$3")
  if [[ -n $v ]]; then printf '%6s ms' "$(rnd "$v")"
  elif [[ -n ${stalled[$1:$2:$3]:-} ]]; then printf 'stalled (no line in 5 s)'
  else printf '%6s ms' '?'; fi
}
# spread VMM WORKLOAD KEY: " (min-max A-B of N)" when there are several rounds
spread() {
  local lo='' hi='' n=''
  read -r lo hi n < <(tr ' ' '\n' <<<"${fig[$1:$2:$3]:-}" | grep . | sort -g |
    awk '{ v[NR] = $1 } END { if (NR > 1) print v[1], v[NR], NR }') || true
  [[ -z $n ]] || printf ' (min-max %s-%s of %s)' "$(rnd "$lo")" "$(rnd "$hi")" "$n"
}
# part VMM WORKLOAD WHAT: that VMM's half of a line
part() {
  local v=$1 w=$2
  if [[ -n ${failed[$v:$w]:-} ]]; then printf '%s FAILED' "$v"; return; fi
  case $3 in
    snapshot) printf '%s %s %6s MiB' "$v" "$(ms "$v" "$w" snap_ms)" "$(mib "$(med "$v:$w:snap_disk")")"
              [[ $v == qemu ]] || printf ' on disk (%s MiB apparent)' "$(mib "$(med "$v:$w:snap_bytes")")" ;;
    running) printf '%s %s' "$v" "$(ms "$v" "$w" restore_run_ms)"
             [[ $v == qemu ]] || printf ' (own figure %s ms)' "$(rnd "$(med "$v:$w:restore_self_ms")")" ;;
    marker) printf '%s %s' "$v" "$(ms "$v" "$w" restore_marker_ms)" ;;
    total) printf '%s %s (%s rounds, %s MiB sent)' "$v" "$(ms "$v" "$w" mig_total_ms)" \
             "$(printf %.0f "$(med "$v:$w:mig_rounds")")" "$(mib "$(med "$v:$w:mig_bytes")")" ;;
    downtime) printf '%s %s%s' "$v" "$(ms "$v" "$w" mig_down_ms)" "$(spread "$v" "$w" mig_down_ms)" ;;
  esac
}
have_v=0
[[ " ${vmms[*]} " == *" vessel "* ]] && have_v=1
echo "$me: guest $mem, $rounds round(s), medians; $("$qemu" --version | head -n 1 | sed 's/ version / /; s/ (.*//') TCG, max-bandwidth 100 GiB/s; load average $load_start at start, $load_end at end"
for w in "${workloads[@]}"; do
  if [[ $w == busy ]]; then
    printf '%s: busy guest rewrites its 64 MiB file at %s MiB/s under qemu%s\n' "$me" "$(rnd "$(med "qemu:$w:dirty_mibs")")" \
      "$([[ $have_v -eq 1 ]] && printf ', %s MiB/s under vessel' "$(rnd "$(med "vessel:$w:dirty_mibs")")")"
  fi
  whats=(snapshot running marker total downtime)
  [[ $migrate_only -eq 0 ]] || whats=(total downtime)
  for what in "${whats[@]}"; do
    case $what in
      snapshot) label=snapshot key=snap_ms ;;
      running) label='restore->running' key=restore_run_ms ;;
      marker) label='restore->marker' key=restore_marker_ms ;;
      total) label='migrate total' key=mig_total_ms ;;
      downtime) label='migrate downtime' key=mig_down_ms ;;
    esac
    line=$(printf '%s: %-4s %-17s ' "$me" "$w" "$label")
    if [[ $have_v -eq 1 ]]; then
      line+="$(part vessel "$w" "$what") | $(part qemu "$w" "$what") | ratio"
      if [[ $what == snapshot ]]; then
        line+=" time $(ratio "$(med "vessel:$w:snap_ms")" "$(med "qemu:$w:snap_ms")") size on disk $(ratio "$(med "vessel:$w:snap_disk")" "$(med "qemu:$w:snap_disk")")"
      else
        line+=" $(ratio "$(med "vessel:$w:$key")" "$(med "qemu:$w:$key")")"
      fi
      [[ $what != downtime ]] || line+=" (limit 50 ms for both; stop until the destination confirmed)"
    else
      line+=$(part qemu "$w" "$what")
    fi
    echo "$line"
  done
  # where vessel's downtime went (medians of each part), and the downtimes
  # until the last byte was sent (vessel: last pages + state; QEMU: its
  # second migration, without the return path)
  if [[ $have_v -eq 1 && -z ${failed[vessel:$w]:-} && -n $(med "vessel:$w:mig_last_pages") ]]; then
    printf '%s: %-4s %-17s vessel stop %s ms, %s last pages%s %s ms%s, state %s ms, destination %s ms (its build %s ms)\n' "$me" "$w" \
      'downtime parts' "$(rnd "$(med "vessel:$w:mig_down_stop_ms")")" "$(printf %.0f "$(med "vessel:$w:mig_last_pages")")" \
      "$(spread vessel "$w" mig_last_pages)" "$(rnd "$(med "vessel:$w:mig_down_pages_ms")")" "$(spread vessel "$w" mig_down_pages_ms)" \
      "$(rnd "$(med "vessel:$w:mig_down_state_ms")")" "$(rnd "$(med "vessel:$w:mig_down_dest_ms")")" \
      "$(rnd "$(med "vessel:$w:mig_build_ms")")"
    printf '%s: %-4s %-17s vessel %s%s | qemu %s%s (no return path) | ratio %s\n' "$me" "$w" 'downtime last byte' \
      "$(ms vessel "$w" mig_sent_ms)" "$(spread vessel "$w" mig_sent_ms)" "$(ms qemu "$w" mig_sent_ms)" \
      "$(spread qemu "$w" mig_sent_ms)" "$(ratio "$(med "vessel:$w:mig_sent_ms")" "$(med "qemu:$w:mig_sent_ms")")"
  fi
  # vessel's migration over TLS beside its plain TCP one
  if [[ $have_v -eq 1 && -z ${failed[vessel:$w]:-} && $migrate_only -eq 0 ]]; then
    printf '%s: %-4s %-17s vessel TLS %s (%s rounds, %s MiB sent) | vessel plain TCP %s | ratio %s\n' "$me" "$w" \
      'migrate total TLS' "$(ms vessel "$w" tls_total_ms)" "$(printf %.0f "$(med "vessel:$w:tls_rounds")")" \
      "$(mib "$(med "vessel:$w:tls_bytes")")" "$(ms vessel "$w" mig_total_ms)" \
      "$(ratio "$(med "vessel:$w:tls_total_ms")" "$(med "vessel:$w:mig_total_ms")")"
    printf '%s: %-4s %-17s vessel TLS %s | vessel plain TCP %s | ratio %s\n' "$me" "$w" \
      'migrate downtime TLS' "$(ms vessel "$w" tls_down_ms)" "$(ms vessel "$w" mig_down_ms)" \
      "$(ratio "$(med "vessel:$w:tls_down_ms")" "$(med "vessel:$w:mig_down_ms")")"
  fi
done
if [[ -n ${stalled[*]:-} ]]; then
  echo "$me: stalled: ${!stalled[*]} (QEMU 7.2 does not re-arm the RISC-V timer of an incoming guest; an idle guest waits for it forever)"
fi
if [[ -n ${failed[*]:-} ]]; then
  echo "$me: error: ${!failed[*]} failed (reasons above; logs in $out_dir)" >&2
  exit 1
fi
