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
# Options that would be ignored are refused instead (issue 10): without
# --kernel the default guest (or a bare-metal --bios program) would run
# without the initrd or command line the user named.
check "--initrd needs --kernel" run --initrd "$INITRD"
check "--initrd needs --kernel" run --initrd /nonexistent/initrd
check "--initrd needs --kernel" run --bios "$OPENSBI" --initrd "$INITRD"
check "--cmdline needs --kernel" run --cmdline "console=ttyS0"
check "--cmdline needs --kernel" run --bios "$OPENSBI" --cmdline "console=ttyS0"
check "--cmdline needs --kernel" host --vms 1 --cmdline "console=ttyS0"
check "--kernel needs a file name" run --kernel ""
check "--bios needs a file name" run --bios ""
check "--initrd needs a file name" run --kernel "$KERNEL" --initrd ""
check "--api-socket needs a path" run --api-socket ""
check "--share-rate needs --share-pages" run --share-rate 1000
check "--share-break needs --share-pages" run --share-break 10
check "share-break" run --share-pages --share-break 101
check "share-break" host --vms 2 --share-pages --share-break abc
check "--jit-cache tunes the translator" run --engine interp --jit-cache 64M
check "--jit-warmup tunes the translator" run --engine interp --jit-warmup 1
check "--jit-warmup tunes the translator" restore /nonexistent-snapshot --engine interp --jit-warmup 1
check "--jit-cache needs a size" run --jit-cache ""
check "--stats is not available with vessel host" host --vms 1 --stats
check "cannot connect" ctl /nonexistent.sock stats
# The sandbox's options (issue 10, part 3): one line and status 1.
check_one() {
  check "$@"
  expect_status 1
  expect_one_error_line "$WORK/out"
}
check_one "--user nosuchuser: no such user" run --user nosuchuser
check_one "--user needs a user name" run --user ""
check_one "--jail /nonexistent: No such file or directory" run --jail /nonexistent
check_one "--jail /nonexistent: No such file or directory" restore /nonexistent --jail /nonexistent
check_one "--jail /etc/passwd: not a directory" host --vms 1 --jail /etc/passwd
check_one "--user and --jail do not go with --lockstep" run --lockstep --user nobody
check "--sandbox" run --sandbox maybe
check "--lockstep-slice" run --lockstep --lockstep-slice 0
check "--lockstep-slice" run --lockstep-slice 100
check "not HOST:PORT" receive --listen nohostport --insecure
check "needs --tls-psk FILE" receive --listen 127.0.0.1:1
check "needs --tls-psk FILE" ctl /nonexistent.sock migrate 127.0.0.1:1
check "--tls-psk /nonexistent/key: No such file" receive --listen 127.0.0.1:1 --tls-psk /nonexistent/key
check "--tls-psk needs a file name" receive --listen 127.0.0.1:1 --tls-psk ""
check "--tls-key is missing" receive --listen 127.0.0.1:1 --tls-cert /etc/hostname
check "not a key" receive --listen 127.0.0.1:1 --tls-psk /etc/hostname
check "--disk /nonexistent/disk.img" receive --listen 127.0.0.1:1 --insecure --disk /nonexistent/disk.img
check "state.bin" restore /nonexistent-snapshot
# A disk is a regular file or a block device: a character device, a FIFO or
# a directory is refused in one line (block devices: test_block_device.sh).
mkfifo "$WORK/fifo"
check_one "disk image /dev/null is not a regular file or block device" run --disk /dev/null
check_one "disk image .*fifo is not a regular file or block device" run --disk "$WORK/fifo"
check_one "/dev/zero is not a regular file or block device" \
  receive --listen 127.0.0.1:1 --insecure --disk /dev/zero
# Record and replay (issue 11).
mkdir -p "$WORK/full" && echo x > "$WORK/full/file"
check_one "record directory .*full is not empty" run --record "$WORK/full"
check_one "--api-socket does not go with --record" run --record "$WORK/rec1" --api-socket "$WORK/s"
check_one "--balloon does not go with --record" run --record "$WORK/rec2" --balloon
check_one "--lockstep does not go with --record" run --record "$WORK/rec3" --lockstep
check_one "--gdb does not go with --record" run --record "$WORK/rec4" --gdb 1234
check_one "--record needs a directory" run --record ""
# ctl record (issue 11): the words are checked before the socket is.
check "record: expected start DIR or stop" ctl /nonexistent.sock record
check "record start: expected one DIR" ctl /nonexistent.sock record start
check "record start: expected one DIR" ctl /nonexistent.sock record start a b
check "record stop: unexpected argument 'now'" ctl /nonexistent.sock record stop now
check "record: expected start DIR or stop, got 'pause'" ctl /nonexistent.sock record pause
check "cannot connect" ctl /nonexistent.sock record stop
check_one "replay log.*log.bin" replay /nonexistent-recording
cp "$WORK/garbage" "$WORK/full/log.bin"
check_one "not a vessel replay log" replay "$WORK/full"
check_one "--replay-perturb bogus: use console:N" replay "$WORK/full" --replay-perturb bogus
# --gdb (issue 11): one line and status 1; a non-loopback address must be
# written out, and a port in use is named.
check_one "--gdb needs \[HOST:\]PORT" run --gdb ""
check_one "'99999' is not a port" run --gdb 99999
check_one "'abc' is not a port" run --gdb abc
check_one "'' is not a port" run --gdb 127.0.0.1:
check_one "'example.com' is not an IPv4 address" run --gdb example.com:1234
check_one "'1.2.3.4.5' is not an IPv4 address" run --gdb 1.2.3.4.5:1234
check_one "'x1' is not a port" restore /nonexistent-snapshot --gdb x1
check_one "--gdb does not go with --lockstep" run --lockstep --gdb 1234
# replay --gdb (reverse debugging): the address is checked before the log.
check_one "'abc' is not a port" replay "$WORK/full" --gdb abc
check_one "'example.com' is not an IPv4 address" replay /nonexistent-recording --gdb example.com:1
check_one "--gdb needs \[HOST:\]PORT" replay "$WORK/full" --gdb ""
check_one "--gdb-checkpoint and --gdb-checkpoint-mib go with --gdb" replay "$WORK/full" --gdb-checkpoint 100000
check "--gdb-checkpoint: Value 5 not in range" replay "$WORK/full" --gdb 0 --gdb-checkpoint 5
check_one "not a vessel replay log" replay "$WORK/full" --gdb 0
check "--gdb" host --vms 1 --gdb 1234
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$WORK/busy_port" &
BUSY_PID=$!
wait_for_text "$WORK/busy_port" '[0-9]' 10
check_one "cannot listen there: Address already in use" \
  run --bios "$OPENSBI" --gdb "127.0.0.1:$(cat "$WORK/busy_port")"
kill "$BUSY_PID"
# vessel exec (issue 12).
check_one "exec: no program given" exec
check_one "exec: unknown option --bogus" exec --bogus /bin/true
check_one "not an engine" exec --engine fast /bin/true
check_one "/nonexistent/prog: No such file or directory" exec /nonexistent/prog
check_one "not a RISC-V ELF file" exec /bin/true
check_one "binfmt: unknown command" binfmt frobnicate
