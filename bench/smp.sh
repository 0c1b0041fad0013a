#!/bin/bash
# SMP benchmark: the default Linux guest with 1, 2 and 4 harts under QEMU
# (TCG, multi-threaded: a host thread per vCPU; its default OpenSBI) and
# vessel (built-in SBI) with each of its engines, alternating, running two
# parallel workloads in one boot, each a fixed amount of work shared by the
# same number of background workers (default 4) whatever the hart count:
#   cpu:   each worker md5sums a 16 MiB tmpfs file 3 times (busybox md5sum: a
#          compiled, CPU-bound loop with a few large reads)
#   shell: each worker loops on shell arithmetic and a forked subshell per
#          iteration (fork, exit and wait: the kernel's share is large)
# and `wait`s for them. Times are taken inside the guest from /proc/uptime
# (10 ms steps) just before the workers start and after the last one ends,
# so boot and power-off are not counted. Reports the median times, the
# speed-up over 1 hart (time with 1 hart / time with N) and each vessel
# engine's time ratio to QEMU at every hart count.
#
# Aim (issue 13, one host thread per hart), on a 2-core host: with 2 harts
# the cpu workload at least 1.8x its 1-hart speed, and vessel at least 2x
# QEMU's speed at every hart count. Today all harts share one host thread,
# so vessel gains nothing from more harts.
#
# Usage: bench/smp.sh [--runs N] [--harts LIST] [--workers N] [--scale N]
#                     [--mem SIZE] [--engines LIST] [--qemu-only] [--no-build]
#                     [--timeout SECONDS] [--verbose]
#   --harts LIST    hart counts, comma-separated, 1 first (default 1,2,4; at most 8)
#   --engines LIST  vessel engines to run, comma-separated (default interp,jit)
# Env:   KERNEL, INITRD (default: scripts/build-guest --print), BUILD_DIR
#        (default build), VESSEL (default $BUILD_DIR/vessel), VESSEL_ARGS (extra
#        `vessel run` arguments, not --engine or --cpus), QEMU (default
#        qemu-system-riscv64)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=smp
# shellcheck source=bench/lib/linux-guest.sh
. "$root/bench/lib/linux-guest.sh"
# shellcheck source=bench/lib/engines.sh
. "$root/bench/lib/engines.sh"

runs=3 hart_list=1,2,4 workers=4 scale=1 mem=512M qemu_only=0 build=1 timeout_s=300 verbose=0
engine_list=$ENG_DEFAULT
usage() { sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=${2:?--runs wants a value}; shift 2 ;;
    --harts) hart_list=${2:?--harts wants a value}; shift 2 ;;
    --workers) workers=${2:?--workers wants a value}; shift 2 ;;
    --scale) scale=${2:?--scale wants a value}; shift 2 ;;
    --mem) mem=${2:?--mem wants a value}; shift 2 ;;
    *) eng_common_option "$@"; shift "$eng_shift" ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive integer"
[[ $hart_list =~ ^[1-8](,[1-8])*$ ]] || die "--harts wants hart counts from 1 to 8, comma-separated, e.g. 1,2,4"
IFS=, read -ra harts <<<"$hart_list"
[[ ${harts[0]} -eq 1 ]] || die "--harts must start with 1: the speed-ups are over 1 hart"
[[ $workers =~ ^[1-9][0-9]?$ ]] || die "--workers wants 1 to 99"
[[ $scale =~ ^[1-9][0-9]*$ ]] || die "--scale wants a positive integer"
[[ $mem =~ ^[1-9][0-9]*[MG]$ ]] || die "--mem wants a size like 512M or 1G"
eng_check_common

lg_find_guest
lg_find_qemu
out_dir=${BUILD_DIR:-$root/build}/bench/smp
mkdir -p "$out_dir"
configs=(qemu)
if [[ $qemu_only -eq 0 ]]; then
  lg_find_vessel "$build" "$out_dir/vessel-build.log"
  eng_check_vessel "$vessel" "${vessel_args[@]}"
  for a in "${vessel_args[@]}"; do
    case $a in --cpus | --cpus=*) die "VESSEL_ARGS sets $a: choose the hart counts with --harts" ;; esac
  done
  for e in "${engines[@]}"; do configs+=("vessel-$e"); done
fi
lg_tmpdir

# ---- the guest command --------------------------------------------------------
# The work, fixed whatever the hart count: per worker, cpu_mib MiB hashed
# cpu_passes times, and shell_iterations loop iterations with a subshell each.
cpu_mib=16 cpu_passes=$((3 * scale)) shell_iterations=$((300 * scale))
files=$(printf ' /tmp/d%.0s' $(seq "$cpu_passes"))
# What the guest must print: md5 of cpu_mib MiB of zeros, cpu_passes lines per
# worker; each shell worker's last i and x (x = (x * 31 + i) mod 1000003).
want_md5=$(head -c $((cpu_mib * 1048576)) /dev/zero | md5sum | cut -d' ' -f1)
want_x=0
for ((i = 1; i <= shell_iterations; i++)); do want_x=$(((want_x * 31 + i) % 1000003)); done
# Workers write to tmpfs, not the console, while they are timed; `u` prints a
# timestamp (seconds since boot, 10 ms steps). The sleep at the end lets the
# console drain before init powers off (without it the last lines can be lost).
guest_cmd="u() { read t x </proc/uptime; echo \"smp-bench: \$1 \$t\"; }
echo \"smp-bench: harts \$(nproc)\"
dd if=/dev/zero of=/tmp/d bs=1M count=$cpu_mib 2>/dev/null
u cpu-start
for w in \$(seq $workers); do md5sum$files >/tmp/m\$w & done; wait
u cpu-end
u shell-start
for w in \$(seq $workers); do (i=0 x=0; while [ \$i -lt $shell_iterations ]; do i=\$((i + 1)); x=\$(( (x * 31 + i) % 1000003 )); y=\$(echo \$x); done; echo \"smp-bench: worker \$i \$y\" >/tmp/s\$w) & done; wait
u shell-end
cat /tmp/m* /tmp/s*; sleep 0.5"
cmdline="console=ttyS0 quiet vessel.cmd=$(printf '%s' "$guest_cmd" | base64 -w0)"
(( ${#cmdline} < 1000 )) || die "the guest command is too long for the kernel command line (${#cmdline} bytes)"

cmd_for() { # cmd_for CONFIG HARTS: sets cmd
  case $1 in
    qemu) cmd=("$qemu" -M virt -m "$mem" -smp "$2" -nographic -bios default -no-reboot
               -kernel "$KERNEL" -initrd "$INITRD" -append "$cmdline") ;;
    vessel-*) cmd=("$vessel" run --kernel "$KERNEL" --initrd "$INITRD" --cmdline "$cmdline"
                   --mem "$mem" --cpus "$2" --engine "${1#vessel-}" --stats "${vessel_args[@]}") ;;
  esac
}

# parse LOG HARTS: sets p_cpu and p_shell (in-guest seconds), or p_why.
parse() {
  local log=$1 n=$2 line
  local -A at=()
  p_cpu='' p_shell='' p_why=''
  while IFS= read -r line; do
    if [[ $line =~ ^smp-bench:\ (cpu-start|cpu-end|shell-start|shell-end)\ ([0-9.]+)$ ]]; then
      at[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    fi
  done <"$log"
  local seen_harts md5s shells
  seen_harts=$(grep -aoE '^smp-bench: harts [0-9]+' "$log" | awk '{ print $3 }' | tail -n 1 || true)
  md5s=$(grep -acE "^$want_md5  /tmp/d\$" "$log" || true)
  shells=$(grep -acE "^smp-bench: worker $shell_iterations $want_x\$" "$log" || true)
  if [[ $seen_harts != "$n" ]]; then
    p_why="the guest saw ${seen_harts:-no} harts, not $n"
  elif [[ -z ${at[cpu-start]:-} || -z ${at[cpu-end]:-} || -z ${at[shell-start]:-} || -z ${at[shell-end]:-} ]]; then
    p_why="missing 'smp-bench: cpu-start/cpu-end/shell-start/shell-end' lines"
  elif [[ $md5s -ne $((workers * cpu_passes)) ]]; then
    p_why="$md5s md5sum lines with the expected $want_md5, want $((workers * cpu_passes))"
  elif [[ $shells -ne $workers ]]; then
    p_why="$shells shell workers printed 'worker $shell_iterations $want_x', want $workers"
  else
    p_cpu=$(awk -v a="${at[cpu-start]}" -v b="${at[cpu-end]}" 'BEGIN { printf "%.2f", b - a }')
    p_shell=$(awk -v a="${at[shell-start]}" -v b="${at[shell-end]}" 'BEGIN { printf "%.2f", b - a }')
  fi
}

plural() { [[ $1 -eq 1 ]] && echo "$1 hart " || echo "$1 harts"; }

# ---- runs -----------------------------------------------------------------------
# Keys: CONFIG:HARTS.
declare -A cpu_t shell_t failed mips_r cache_b
for c in "${configs[@]}"; do failed[$c]=0; done
load_start=$(cut -d' ' -f1 /proc/loadavg)
for ((r = 1; r <= runs; r++)); do
  for n in "${harts[@]}"; do
    for c in "${configs[@]}"; do
      [[ ${failed[$c]} -eq 0 ]] || continue
      cmd_for "$c" "$n"
      log=$out_dir/$c-$n.log
      lg_run "$log" "$timeout_s" "${cmd[@]}"
      parse "$log" "$n"
      lg_failed "$log" || lg_why=$p_why
      if [[ -n $lg_why ]]; then
        failed[$c]=1
        lg_describe_failure "$c with $n harts (run $r)" "$log"
        echo "$me: command: ${cmd[*]}" >&2
        continue
      fi
      k=$c:$n
      cpu_t[$k]+=" $p_cpu" shell_t[$k]+=" $p_shell"
      eng_collect "$k" "$log"  # vessel's --stats, for -v
      [[ $verbose -eq 0 ]] ||
        printf '%s: run %d %-14s %s  cpu %6.2f s  shell %6.2f s  wall %6.2f s%s\n' \
          "$me" "$r" "$c" "$(plural "$n")" "$p_cpu" "$p_shell" "$lg_exit" "${eng_summary:+  $eng_summary}" >&2
    done
  done
done

# ---- report -----------------------------------------------------------------------
echo "smp: kernel $(lg_tilde "$KERNEL"), initrd $(lg_tilde "$INITRD"), $runs runs, $mem; load average $load_start at start, $(cut -d' ' -f1 /proc/loadavg) at end"
echo "smp: $workers workers whatever the hart count; cpu: each md5sums $cpu_passes x $cpu_mib MiB; shell: each $shell_iterations iterations of arithmetic + a subshell; median in-guest seconds (/proc/uptime), speed-up over 1 hart in ()"
any_failed=0
for w in cpu shell; do
  declare -n t=${w}_t
  for c in "${configs[@]}"; do
    if [[ ${failed[$c]} -ne 0 ]]; then
      printf 'smp: %-5s %-14s FAILED (see above)\n' "$w" "$c"
      any_failed=1
      continue
    fi
    row=$(printf 'smp: %-5s %-14s' "$w" "$c")
    one=$(lg_median <<<"${t[$c:1]}")
    for n in "${harts[@]}"; do
      v=$(lg_median <<<"${t[$c:$n]}")
      up=''
      [[ $n -eq 1 ]] || up="($(lg_ratio "$one" "$v")x)"
      row+=$(printf '   %s %6.2f s %-8s' "$(plural "$n")" "$v" "$up")
    done
    echo "${row%"${row##*[! ]}"}"
  done
  if [[ ${failed[qemu]} -eq 0 ]]; then
    for c in "${configs[@]}"; do
      [[ $c != qemu && ${failed[$c]} -eq 0 ]] || continue
      row=$(printf 'smp: %-5s %-14s' "$w" "${c#vessel-}/qemu")
      speeds=''
      for n in "${harts[@]}"; do
        v=$(lg_median <<<"${t[$c:$n]}") q=$(lg_median <<<"${t[qemu:$n]}")
        row+=$(printf '   %s %6sx %9s' "$(plural "$n")" "$(lg_ratio "$v" "$q")" '')
        speeds+="${speeds:+, }$(lg_ratio "$q" "$v")x"
      done
      echo "$row (time vessel/qemu: $c runs at $speeds qemu speed)"
    done
  fi
  unset -n t
done
[[ $any_failed -eq 0 ]] || { echo "smp: error: some runs failed (logs in $out_dir)" >&2; exit 1; }
