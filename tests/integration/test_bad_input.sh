# Bad user input gets one clear error line and a non-zero exit, never a crash.
set -e
source "$(dirname "$0")/lib.sh"
check() {  # check EXPECTED_PATTERN ARGS...
  local pattern=$1
  shift
  run_vessel "$@"
  [ "$STATUS" -ne 0 ] || fail "vessel $* succeeded"
  [ "$STATUS" -lt 128 ] || fail "vessel $* died with a signal ($STATUS)"
  [ "$(wc -l < "$WORK/out")" -le 2 ] || fail "vessel $* printed more than an error line"
  grep -q -- "$pattern" "$WORK/out" || fail "vessel $*: expected '$pattern' in: $(cat "$WORK/out")"
}
echo "not a kernel" > "$WORK/garbage"
: > "$WORK/empty"
check "cannot open kernel" run --kernel /nonexistent/Image
check "RISC-V Linux Image" run --kernel "$WORK/garbage"
check "cannot open initrd" run --kernel "$KERNEL" --initrd /nonexistent/initrd
check "cannot open bios" run --bios /nonexistent/fw.bin
check "too small" run --kernel "$KERNEL" --initrd "$INITRD" --mem 8M
check "more than the host" run --mem 900G
check "larger than vessel supports" run --mem 100000G
check "not a size" run --mem 12Q
check "not a size" run --mem abc
check "out of range" run --cpus 0
check "out of range" run --cpus 9
check "not an ELF\|not a RISC-V\|empty" run --bios "$WORK/empty"
check "not a RISC-V program" run --bios /bin/true
check "is a directory" run --kernel /tmp
# A guest command longer than Linux keeps of its command line would run cut.
check "kernel command line is" run -- sh -c 'echo ${#0}' "$(head -c 3000 /dev/zero | tr '\0' x)"
check "cannot connect" ctl /nonexistent.sock stats
check "not HOST:PORT" receive --listen nohostport
check "state.bin" restore /nonexistent-snapshot
