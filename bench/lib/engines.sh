# shellcheck shell=bash disable=SC2034 # sourced: sets globals for the caller
# vessel's execution engines in the benchmarks (bench/cpu.sh, linux-cpu.sh,
# boot.sh, blk.sh, net.sh, smp.sh): every script runs vessel once per engine
# (`vessel run --engine interp|jit --stats`) next to QEMU. Source it after
# setting `me` (the prefix of messages) and defining `die MSG...` and
# `usage STATUS`. Provides:
#   eng_common_option ARG...       the options these scripts share, for the
#                                  last arm of their option loop: --engines LIST,
#                                  --qemu-only, --no-build, --timeout SECONDS,
#                                  -v/--verbose, -h/--help; anything else is an
#                                  unknown argument (usage 2). Sets engine_list,
#                                  qemu_only, build, timeout_s or verbose, and
#                                  eng_shift: the words it took
#   eng_check_common               after the loop: checks --timeout, sets the
#                                  array `engines` (empty with --qemu-only)
#   ENG_DEFAULT                    the default of --engines: interp,jit
#   eng_parse LIST                 sets the array `engines` from a comma-separated
#                                  list of interp and jit (in that order of runs)
#   eng_check_vessel VESSEL [ARG...]  dies unless VESSEL knows `run --engine`
#                                  and the extra arguments (VESSEL_ARGS) do not
#                                  set --engine themselves
#   eng_stats FILE                 parses vessel's last --stats lines in FILE
#                                  (`vessel: instructions=N seconds=S`,
#                                  `vessel: engine=E [blocks=N cache_bytes=N
#                                  translate_seconds=S flushes=N invalidations=N
#                                  interpreted=N]`)
#                                  into es_insns es_seconds es_engine es_blocks
#                                  es_cache_bytes es_translate es_flushes
#                                  es_invalidations es_interpreted (empty when absent)
#   eng_mips INSNS SECONDS         million instructions per second, no decimals
#   eng_kib BYTES                  KiB, no decimals

ENG_DEFAULT=interp,jit

eng_common_option() {
  eng_shift=1
  case $1 in
    --engines) [[ $# -ge 2 ]] || die "--engines wants a value"; engine_list=$2 eng_shift=2 ;;
    --qemu-only) qemu_only=1 ;;
    --no-build) build=0 ;;
    --timeout) [[ $# -ge 2 ]] || die "--timeout wants a value"; timeout_s=$2 eng_shift=2 ;;
    -v|--verbose) verbose=1 ;;
    -h|--help) usage 0 ;;
    *) echo "$me: unknown argument: $1" >&2; usage 2 ;;
  esac
}

eng_check_common() {
  [[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout wants a positive number of seconds"
  eng_parse "$engine_list"
  [[ $qemu_only -eq 0 ]] || engines=()
}

eng_parse() {
  local e seen=' ' words=()
  engines=()
  [[ -n $1 ]] || die "--engines wants a comma-separated list of interp and jit, e.g. interp,jit"
  IFS=, read -ra words <<<"$1"
  [[ $1 != *, ]] || words+=('')
  for e in "${words[@]}"; do
    case $e in
      interp | jit) ;;
      *) die "--engines: '$e' is not an engine (interp or jit; e.g. --engines interp,jit)" ;;
    esac
    [[ $seen != *" $e "* ]] || die "--engines: $e is listed twice"
    seen+="$e "
    engines+=("$e")
  done
}

eng_check_vessel() {
  local a help
  for a in "${@:2}"; do
    case $a in
      --engine | --engine=*) die "VESSEL_ARGS sets $a: choose the engines with --engines instead" ;;
    esac
  done
  help=$("$1" run --help 2>&1 || true)
  [[ $help == *--engine* ]] ||
    die "$1 has no 'run --engine' option (built before the translator?): rebuild it, set VESSEL=, or use --qemu-only"
}

eng_stats() {
  es_insns='' es_seconds='' es_engine='' es_blocks='' es_cache_bytes='' es_translate='' es_flushes=''
  es_invalidations='' es_interpreted=''
  local line w words=()
  # -o: the guest's console may leave a line unterminated before vessel's
  # stderr lines in a merged log.
  line=$(grep -aoE 'vessel: instructions=[0-9]+ seconds=[0-9.]+' "$1" | tail -n 1 || true)
  if [[ $line =~ instructions=([0-9]+)\ seconds=([0-9.]+) ]]; then
    es_insns=${BASH_REMATCH[1]} es_seconds=${BASH_REMATCH[2]}
  fi
  line=$(grep -aoE 'vessel: engine=[a-z]+( [a-z_]+=[0-9.]+)*' "$1" | tail -n 1 || true)
  read -ra words <<<"${line#vessel: }"
  for w in "${words[@]}"; do
    case $w in
      engine=*) es_engine=${w#*=} ;;
      blocks=*) es_blocks=${w#*=} ;;
      cache_bytes=*) es_cache_bytes=${w#*=} ;;
      translate_seconds=*) es_translate=${w#*=} ;;
      flushes=*) es_flushes=${w#*=} ;;
      invalidations=*) es_invalidations=${w#*=} ;;
      interpreted=*) es_interpreted=${w#*=} ;;
    esac
  done
}

eng_mips() { awk -v n="$1" -v t="$2" 'BEGIN { if (n != "" && t > 0) printf "%.0f", n / t / 1e6; else printf "n/a" }'; }
eng_kib() { awk -v b="$1" 'BEGIN { if (b != "") printf "%.0f", b / 1024; else printf "n/a" }'; }

# eng_collect CONFIG LOG: for a vessel-* configuration, appends its MIPS and
# code-cache size from LOG's --stats lines to the caller's mips_r and cache_b
# arrays (indexed by CONFIG) and sets eng_summary to one line about the run;
# for other configurations eng_summary is empty.
eng_collect() {
  local c=$1 log=$2
  eng_summary=''
  [[ $c == vessel-* ]] || return 0
  eng_stats "$log"
  [[ -n $es_insns ]] || echo "$me: warning: $c: no 'vessel: instructions=N seconds=S' line in $log" >&2
  [[ -z $es_insns ]] || mips_r[$c]+=" $(eng_mips "$es_insns" "$es_seconds")"
  [[ -z $es_cache_bytes ]] || cache_b[$c]+=" $es_cache_bytes"
  eng_summary="${es_insns:-?} instructions in ${es_seconds:-?} s${es_cache_bytes:+, cache $(eng_kib "$es_cache_bytes") KiB, $es_blocks blocks, translated in $es_translate s, $es_flushes flushes, $es_invalidations invalidations, ${es_interpreted:-?} instructions interpreted}"
}
