# The gdb stub (vessel run --gdb): Debian's gdb-multiarch against a
# bare-metal program of ours on both engines (software and hardware
# breakpoints, a write watchpoint that must stop at the right store,
# registers, variables, single steps, detach), against the default Linux
# guest (a breakpoint on a kernel function, kernel memory through the
# kernel's page tables, stepping, Ctrl-C from gdb, detach and the guest
# command finishing), and a hostile client (tests/integration/gdb_client.py:
# garbage and malformed packets get answers, Ctrl-C, detach, the VM runs on).
set -e
source "$(dirname "$0")/lib.sh"
GDB=${GDB:-gdb-multiarch}
command -v "$GDB" >/dev/null || { echo "$GDB is missing: run scripts/setup" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
ISA_COMMON=$HERE/../isa/common

# run_gdb ARGS...: gdb-multiarch in batch mode, output in $WORK/gdb.out.
run_gdb() {
  set +e
  timeout -k 5 180 "$GDB" -batch -nx -ex 'set architecture riscv:rv64' \
    -ex 'set pagination off' -ex 'set confirm off' "$@" </dev/null >"$WORK/gdb.out" 2>&1
  GDB_STATUS=$?
  set -e
}
expect_gdb() {
  grep -q -- "$1" "$WORK/gdb.out" || {
    cp "$WORK/gdb.out" "$WORK/out"
    fail "gdb: expected '$1'"
  }
}
# finish_vessel STATUS: vessel ends by itself with STATUS.
finish_vessel() {
  wait_exit "$VPID"
  cp "$WORK/vessel.out" "$WORK/out"
  expect_status "$1"
}

# ---- a bare-metal program of ours, on both engines ----
ELF=$WORK/gdb_baremetal.elf
riscv64-unknown-elf-gcc -march=rv64gc -mabi=lp64d -mcmodel=medany -O1 -g -ffreestanding -nostdlib \
  -nostartfiles -static -T "$ISA_COMMON/link.ld" "$HERE/programs/gdb_baremetal.c" -o "$ELF"
sym() { riscv64-unknown-elf-nm "$ELF" | awk -v s="$1" '$3 == s { print "0x" $1 }' | sed 's/0x0*/0x/'; }
POKE_STORE=$(sym poke_store)
POKE_AFTER=$(sym poke_after)

for engine in interp jit; do
  start_gdb_target run --bios "$ELF" --engine "$engine" --gdb 127.0.0.1:0
  run_gdb -ex "file $ELF" -ex "target remote 127.0.0.1:$PORT" \
    -ex 'p/x $pc' -ex 'p $priv' -ex 'info threads' \
    -ex 'break bump' -ex 'continue' -ex 'p $a0' -ex 'continue' -ex 'p $a0' -ex 'p counter' \
    -ex 'delete' -ex 'hbreak finish' -ex 'watch watched' -ex 'continue' \
    -ex 'p/x $pc' -ex 'p/x watched' -ex 'continue' -ex 'p/x $pc' -ex 'p counter' \
    -ex 'stepi' -ex 'p/x $pc' -ex 'p/x $mstatus' -ex 'p/x $mhartid' -ex 'p $ft0' \
    -ex 'set var counter = 42' -ex 'p counter' -ex 'delete' -ex 'detach'
  cp "$WORK/gdb.out" "$WORK/gdb.$engine.out"
  expect_gdb '= 0x80000000'                    # halted at the first instruction
  expect_gdb 'prv:3 \[Machine\]\|= 3'          # the virtual `priv` register: M-mode
  expect_gdb 'Thread 1 '
  expect_gdb 'Breakpoint 1, bump (i=\(i@entry=\)\?0)'   # Z0, then the next hit
  expect_gdb 'Breakpoint 1, bump (i=\(i@entry=\)\?1)'
  expect_gdb 'Hardware watchpoint 3: watched'
  expect_gdb 'New value = 4660'
  # gdb steps over the store itself (RISC-V watchpoints fire before the
  # access), so it shows the instruction after it.
  expect_gdb "= $POKE_AFTER\$"
  expect_gdb 'Hardware assisted breakpoint 2, \|Breakpoint 2, finish'
  expect_gdb '= 499500'                        # counter at finish: sum of 0..999
  expect_gdb '= 42'                            # a variable written through the stub
  finish_vessel 0                              # detached: the program ran to its end
  echo "bare metal ($engine): breakpoints, watchpoint at $POKE_STORE -> $POKE_AFTER, detach: ok"
done

# `kill` from gdb ends vessel as a killed process (128 + 9).
start_gdb_target run --bios "$ELF" --gdb 0
run_gdb -ex "target remote 127.0.0.1:$PORT" -ex 'stepi' -ex 'kill'
finish_vessel 137
expect_output 'killed from gdb'
echo "kill: vessel ended with 137: ok"

# ---- a hostile client, then Ctrl-C and detach ----
# The Linux guest, so that Ctrl-C finds it still running a second later.
start_gdb_target run --gdb 0 -- sh -c 'sleep 3; echo client-guest-done'
set +e
timeout -k 5 60 python3 "$HERE/gdb_client.py" "$PORT" >"$WORK/client.out" 2>&1
CLIENT_STATUS=$?
set -e
cp "$WORK/client.out" "$WORK/out"
[ "$CLIENT_STATUS" -eq 0 ] || fail "gdb_client.py failed"
finish_vessel 0
expect_output client-guest-done
echo "hostile client: $(grep interrupted "$WORK/client.out")"

# ---- the default Linux guest ----
VMLINUX=$CACHE/guest-build/linux-build/vmlinux
SYSTEM_MAP=$CACHE/guest-build/linux-build/System.map
# The command sleeps so that Ctrl-C finds the guest running (idle, in WFI).
start_gdb_target run --gdb 127.0.0.1:0 -- sh -c 'sleep 8; echo gdb-guest-done'
if [ -f "$VMLINUX" ]; then
  file_args=(-ex "file $VMLINUX")
  where=start_kernel
  banner='&linux_banner'
elif [ -f "$SYSTEM_MAP" ]; then
  file_args=()
  where="*0x$(awk '$3 == "start_kernel" { print $1 }' "$SYSTEM_MAP")"
  banner="0x$(awk '$3 == "linux_banner" { print $1 }' "$SYSTEM_MAP")"
else
  fail "neither vmlinux nor System.map in $CACHE/guest-build/linux-build (scripts/build-guest)"
fi
# gdb runs in the background: Ctrl-C is a SIGINT to gdb while it waits in
# `continue`, which it passes on to the stub as 0x03.
rm -f "$WORK/gdb.out"
timeout -k 5 200 "$GDB" -batch -nx -ex 'set architecture riscv:rv64' -ex 'set pagination off' \
  "${file_args[@]}" -ex "target remote 127.0.0.1:$PORT" \
  -ex 'p/x $pc' -ex 'p/x $satp' -ex 'x/2i $pc' \
  -ex "hbreak $where" -ex 'continue' -ex 'p/x $pc' -ex 'p/x $satp' -ex 'p $priv' \
  -ex "x/s $banner" -ex 'p/x $sstatus' -ex 'p/x $sp' -ex 'info registers a0' \
  -ex 'stepi' -ex 'stepi' -ex 'p/x $pc' -ex 'delete' \
  -ex 'echo READY-FOR-CTRL-C\n' -ex 'continue' -ex 'p/x $pc' -ex 'echo AFTER-CTRL-C\n' \
  -ex 'detach' </dev/null >"$WORK/gdb.out" 2>&1 &
GDB_PID=$!
wait_for_text "$WORK/gdb.out" READY-FOR-CTRL-C 120
sleep 2
# To gdb itself: `timeout` would pass a signal on to its whole process
# group as well, and gdb takes a second Ctrl-C as "the target is not
# responding".
kill -INT "$(pgrep -P "$GDB_PID" -x "$(basename "$GDB")")"
wait_exit "$GDB_PID"
cp "$WORK/gdb.out" "$WORK/gdb.linux.out"
expect_gdb '= 0x80200000'                 # the kernel's entry, MMU off
expect_gdb 'Hardware assisted breakpoint 1, \|Breakpoint 1, '
expect_gdb 'prv:1 \[Supervisor\]\|= 1'
expect_gdb 'Linux version'                # kernel memory through its page tables
expect_gdb 'SIGINT'                       # Ctrl-C stopped the running guest
expect_gdb AFTER-CTRL-C
grep -q '= 0xffffffff' "$WORK/gdb.out" || { cp "$WORK/gdb.out" "$WORK/out"; fail "no kernel virtual pc"; }
finish_vessel 0
expect_output gdb-guest-done               # detached: the guest finished its command
echo "linux guest: break at $where, kernel memory, steps, Ctrl-C, detach: ok"

# ---- two harts: threads, a breakpoint both reach, a step of the second ----
if [ -f "$VMLINUX" ]; then
  idle=do_idle
else
  idle="*0x$(awk '$3 == "do_idle" { print $1 }' "$SYSTEM_MAP")"
fi
start_gdb_target run --cpus 2 --gdb 0 -- sh -c 'sleep 1; echo smp-guest-done'
run_gdb "${file_args[@]}" -ex "target remote 127.0.0.1:$PORT" -ex 'info threads' \
  -ex "break $idle" -ex 'continue' -ex 'continue' -ex 'info threads' \
  -ex 'thread 2' -ex 'p/x $mhartid' -ex 'p/x $pc' -ex 'stepi' -ex 'p/x $pc' \
  -ex 'delete' -ex 'detach'
cp "$WORK/gdb.out" "$WORK/gdb.smp.out"
expect_gdb '2 *Thread 2 (hart 1'
expect_gdb 'hit Breakpoint 1, '
expect_gdb 'Switching to thread 2'
expect_gdb '= 0x1$'                        # mhartid of thread 2
finish_vessel 0
expect_output smp-guest-done
echo "two harts: threads, breakpoints, a step of thread 2, detach: ok"

# ---- vessel restore --gdb: halted where the snapshot was taken ----
sock=$WORK/api.sock
timeout 240 "$VESSEL" run --api-socket "$sock" -- \
  sh -c 'echo restore-started; sleep 2; echo restore-guest-done' </dev/null >"$WORK/first" 2>&1 &
vm=$!
wait_for_text "$WORK/first" restore-started 120
"$VESSEL" ctl "$sock" snapshot "$WORK/snap" --stop >"$WORK/ctl" 2>&1 || {
  cp "$WORK/ctl" "$WORK/out"
  fail "ctl snapshot failed"
}
wait_exit "$vm"
grep -q restore-guest-done "$WORK/first" && fail "the guest finished before the snapshot"
start_gdb_target restore "$WORK/snap" --gdb 0
run_gdb "${file_args[@]}" -ex "target remote 127.0.0.1:$PORT" -ex 'p/x $pc' \
  -ex "x/s $banner" -ex 'stepi' -ex 'detach'
expect_gdb '= 0xffffffff'                   # the kernel, where the snapshot stopped it
expect_gdb 'Linux version'
finish_vessel 0
expect_output restore-guest-done
echo "restore: halted at the snapshot's pc, detach, the guest finished: ok"
