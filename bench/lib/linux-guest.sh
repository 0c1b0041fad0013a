# shellcheck shell=bash disable=SC2034,SC2154 # sourced: sets globals for the caller, uses its me and root
# Shared helpers for the Linux-guest benchmarks (the bench/*.sh scripts that
# boot the default guest). Source it after setting `me` (the prefix of messages)
# and `root` (the repo). Provides:
#   die MSG...                    print "$me: error: MSG" and exit 1
#   lg_median                     median of the numbers on stdin (words or lines)
#   lg_ratio A B                  A / B with two decimals
#   lg_tilde PATH                 PATH with $HOME shown as ~
#   lg_find_guest                 sets KERNEL, INITRD (env or scripts/build-guest --print)
#   lg_find_qemu                  sets qemu (QEMU, default qemu-system-riscv64)
#   lg_find_vessel BUILD LOG      sets vessel (VESSEL, default $BUILD_DIR/vessel),
#                                 rebuilding it first when BUILD is 1, and the
#                                 array vessel_args (the words of VESSEL_ARGS)
#   lg_tmpdir                     sets lg_tmp (removed at exit, with any guest still running)
#   lg_run LOG TIMEOUT CMD...     runs CMD, sets lg_status lg_marker lg_exit lg_rss
#   lg_failed LOG                 did that run fail? (sets lg_why)
#   lg_describe_failure NAME LOG  explains the failure on stderr
# Env: BUILD_DIR, VESSEL, QEMU, KERNEL, INITRD, VESSEL_CACHE.

LG_MARKER='vessel-init: ready'

die() { echo "$me: error: $*" >&2; exit 1; }

lg_median() {
  tr ' ' '\n' | grep . | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; if (NR % 2) printf "%.6f\n", v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
lg_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
lg_tilde() { case $1 in "$HOME"/*) echo "~${1#"$HOME"}" ;; *) echo "$1" ;; esac; }

lg_find_guest() {
  if [[ -n ${KERNEL:-} || -n ${INITRD:-} ]]; then
    [[ -n ${KERNEL:-} && -n ${INITRD:-} ]] || die "set both KERNEL and INITRD (or neither, to use the default guest)"
  else
    local env
    env=$("$root/scripts/build-guest" --print 2>/dev/null) ||
      die "the default Linux guest is not built (no kernel/initramfs in ${VESSEL_CACHE:-~/.cache/vessel}): run 'make guest' (scripts/build-guest), or set KERNEL=/path/Image INITRD=/path/initrd"
    KERNEL=$(sed -n 's/^KERNEL=//p' <<<"$env")
    INITRD=$(sed -n 's/^INITRD=//p' <<<"$env")
  fi
  [[ -f $KERNEL ]] || die "guest kernel $KERNEL not found"
  [[ -f $INITRD ]] || die "guest initrd $INITRD not found"
}

lg_find_qemu() {
  qemu=${QEMU:-qemu-system-riscv64}
  command -v "$qemu" >/dev/null || die "$qemu not found (apt install qemu-system-misc, or set QEMU=)"
  command -v timeout >/dev/null || die "timeout (coreutils) not found"
  [[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt install time)"
}

lg_find_vessel() { # lg_find_vessel BUILD LOG
  local build_dir=${BUILD_DIR:-$root/build}
  vessel=${VESSEL:-$build_dir/vessel}
  if [[ $1 -eq 1 && -z ${VESSEL:-} && -f $build_dir/CMakeCache.txt ]]; then
    mkdir -p "$(dirname "$2")"
    cmake --build "$build_dir" --target vessel >"$2" 2>&1 ||
      { tail -n 30 "$2" >&2; die "building vessel failed (log: $2)"; }
  fi
  read -ra vessel_args <<<"${VESSEL_ARGS:-}"
  [[ -x $vessel ]] || die "vessel binary $vessel not found: build it first (cmake -S . -B build -G Ninja && cmake --build build --target vessel), set VESSEL=/path/to/vessel, or use --qemu-only"
}

lg_cleanup() {
  # A run interrupted by a signal: stop its process group (timeout runs the
  # guest in a process group of its own), then the reader.
  if [[ -n ${lg_tmp:-} && -s $lg_tmp/pid ]]; then
    kill -TERM -- "-$(cat "$lg_tmp/pid")" 2>/dev/null || true
  fi
  [[ -z ${lg_reader:-} ]] || kill -TERM "$lg_reader" 2>/dev/null || true
  [[ -z ${lg_tmp:-} ]] || rm -rf "$lg_tmp"
}
lg_tmpdir() {
  lg_tmp=$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench.XXXXXX")
  trap lg_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# lg_run LOG TIMEOUT CMD...: runs CMD (stdin /dev/null, stdout and stderr
# together into LOG, \r removed) under `timeout` and GNU time, timestamping
# each output line as it arrives. Sets
#   lg_status  CMD's exit status (124: timed out)
#   lg_marker  seconds from start to the line "vessel-init: ready" (empty: none)
#   lg_exit    seconds from start to the exit of CMD
#   lg_rss     CMD's peak RSS in KiB (empty if unknown)
lg_run() {
  local log=$1 limit=$2 start
  shift 2
  lg_status='' lg_marker='' lg_exit='' lg_rss='' lg_limit=$limit
  : >"$log"
  rm -f "$lg_tmp/rss" "$lg_tmp/pid" "$lg_tmp/result"
  start=$EPOCHREALTIME
  # The reader runs in the background and the shell waits for it: bash runs
  # the INT/TERM traps (and so lg_cleanup) during `wait`, not during `read`.
  lg_read_output "$log" "$lg_tmp/result" < <(
    timeout -k 5 "$limit" /usr/bin/time -o "$lg_tmp/rss" -f '%M' "$@" </dev/null 2>&1 &
    echo $! >"$lg_tmp/pid"
    status=0
    wait $! || status=$?
    printf '%s%d\n' "$LG_TAG" "$status"
  ) &
  lg_reader=$!
  wait "$lg_reader" || true
  lg_reader=''
  rm -f "$lg_tmp/pid"
  # shellcheck source=/dev/null
  [[ ! -s $lg_tmp/result ]] || . "$lg_tmp/result"
  [[ -n $lg_status ]] || { lg_status=255; lg_exit=$EPOCHREALTIME; }
  [[ -z $lg_marker ]] || lg_marker=$(awk -v a="$start" -v b="$lg_marker" 'BEGIN { printf "%.6f", b - a }')
  lg_exit=$(awk -v a="$start" -v b="$lg_exit" 'BEGIN { printf "%.6f", b - a }')
  # GNU time puts "Command exited with non-zero status N" first on failure.
  [[ ! -s $lg_tmp/rss ]] || lg_rss=$(tail -n 1 "$lg_tmp/rss" | grep -E '^[0-9]+$' || true)
}
LG_TAG='@@vessel-bench-status '

# lg_read_output LOG RESULT: copies stdin to LOG (\r removed), timestamping
# the marker line and the status line lg_run appends; writes the lg_status,
# lg_marker and lg_exit assignments (absolute times) to RESULT.
lg_read_output() {
  local line ts status='' marker='' exit_ts=''
  while IFS= read -r line || [[ -n $line ]]; do
    ts=$EPOCHREALTIME
    line=${line//$'\r'/}
    if [[ $line == *"$LG_TAG"* ]]; then
      status=${line##*"$LG_TAG"} exit_ts=$ts
      line=${line%%"$LG_TAG"*}
      [[ -z $line ]] || printf '%s\n' "$line" >>"$1"
      continue
    fi
    [[ -n $marker || $line != *"$LG_MARKER"* ]] || marker=$ts
    printf '%s\n' "$line" >>"$1"
  done
  printf 'lg_status=%q lg_marker=%q lg_exit=%q\n' "$status" "$marker" "$exit_ts" >"$2"
}

# lg_failed LOG: true (and sets lg_why) if the last lg_run failed: non-zero
# status, no marker line, or a kernel panic in the output.
lg_failed() {
  lg_why=''
  case $lg_status in
    0) ;;
    124) if awk -v t="$lg_exit" -v l="$lg_limit" 'BEGIN { exit !(t >= l) }'; then
           lg_why="timed out (killed after ${lg_limit} s; see --timeout)"
         else
           lg_why="exited with status 124"
         fi ;;
    *) lg_why="exited with status $lg_status" ;;
  esac
  if [[ -z $lg_marker ]]; then
    lg_why+="${lg_why:+, }the marker line '$LG_MARKER' never appeared"
  fi
  if grep -q 'Kernel panic' "$1"; then
    lg_why+="${lg_why:+, }the guest kernel panicked"
  fi
  [[ -n $lg_why ]]
}

# lg_describe_failure NAME LOG: explains a failed run (lg_why, last 30 lines
# of output) on stderr.
lg_describe_failure() {
  echo "$me: $1 FAILED: $lg_why" >&2
  echo "$me: last 30 lines of $1's output ($2):" >&2
  tail -n 30 "$2" | sed 's/^/  | /' >&2
}

# lg_extend_initrd DIR NAME: the bench initrd $DIR/initrd.cpio.gz = the default
# initramfs ($INITRD) followed by a gzipped newc archive holding
# $DIR/root/bin/NAME as /bin/NAME (Linux unpacks concatenated archives).
# Sets `initrd` to its path.
lg_extend_initrd() {
  local dir=$1 name=$2
  command -v cpio >/dev/null || die "cpio not found (apt install cpio)"
  (cd "$dir/root" && printf 'bin/%s\n' "$name" | cpio -o -H newc -R 0:0 --quiet) |
    gzip -9 -n >"$dir/extra.cpio.gz" || die "packing $dir/extra.cpio.gz failed"
  initrd=$dir/initrd.cpio.gz
  cat "$INITRD" "$dir/extra.cpio.gz" >"$initrd" || die "writing $initrd failed"
}
