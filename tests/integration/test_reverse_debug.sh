# Reverse debugging of a replay (issue 11 part 4): `vessel replay DIR --gdb`
# under Debian's gdb-multiarch in batch mode. A bare-metal program of ours is
# recorded, then replayed with checkpoints every 64 Ki instructions (so the
# stub goes back across many): reverse-stepi returns to exactly the state
# before each stepi (pc and registers), reverse-continue with a write
# watchpoint stops at the last store to the variable (the store instruction,
# the value before it), then at the one before, then at the start of the
# recording (gdb: "No more reverse-execution history"); continue stops at
# the end of the log instead of exiting and reverse-stepi works from there;
# after detaching the replay runs to its end and still matches the
# recording (its final state hash covers all of guest memory). Then the
# default Linux guest: a recorded boot and command, replayed under gdb to
# its end, reverse-stepi and stepi there, reverse-continue back to a kernel
# breakpoint, and the replay still matches after detaching.
set -e
source "$(dirname "$0")/lib.sh"
GDB=${GDB:-gdb-multiarch}
command -v "$GDB" >/dev/null || { echo "$GDB is missing: run scripts/setup" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
ISA_COMMON=$HERE/../isa/common

# start_replay DIR ARGS...: vessel replay in the background (output in
# $WORK/vessel.out), waiting for gdb on a free port, which lands in $PORT.
start_replay() {
  start_gdb_target replay "$@" --gdb 127.0.0.1:0
}
run_gdb() {
  set +e
  timeout -k 5 240 "$GDB" -batch -nx -ex 'set architecture riscv:rv64' \
    -ex 'set pagination off' -ex 'set confirm off' "$@" </dev/null >"$WORK/gdb.out" 2>&1
  set -e
  cp "$WORK/gdb.out" "$WORK/out"
}
expect_gdb() {
  grep -q -- "$1" "$WORK/gdb.out" || fail "gdb: expected '$1'"
}
# block NAME: the lines gdb printed after `echo <NAME>` up to the next marker.
block() {
  awk -v m="<$1>" '$0 == m { on = 1; next } /^<.*>$/ { on = 0 } on' "$WORK/gdb.out"
}
same_block() {
  local a b
  a=$(block "$1")
  b=$(block "$2")
  [ -n "$a" ] || fail "gdb printed nothing after <$1>"
  [ "$a" = "$b" ] || fail "state after <$2> differs from <$1>:
$a
---
$b"
}
finish_replay() {
  wait_exit "$VPID"
  cp "$WORK/vessel.out" "$WORK/out"
  expect_status "$1"
  expect_output "replay matches the recording"
}
REGS='info registers pc ra sp gp a0 a1 a5 t0 t1 s0 s1'

# ---- a bare-metal program ----
ELF=$WORK/reverse_baremetal.elf
riscv64-unknown-elf-gcc -march=rv64gc -mabi=lp64d -mcmodel=medany -O1 -g -ffreestanding -nostdlib \
  -nostartfiles -static -T "$ISA_COMMON/link.ld" "$HERE/programs/reverse_baremetal.c" -o "$ELF"
sym() { riscv64-unknown-elf-nm "$ELF" | awk -v s="$1" '$3 == s { print "0x" $1 }' | sed 's/0x0*/0x/'; }
POKE_STORE=$(sym poke_store)

for engine in jit interp; do
  rm -rf "$WORK/rec"
  run_vessel run --record "$WORK/rec" --record-checkpoint 100000 --bios "$ELF" --engine "$engine"
  expect_status 0
  start_replay "$WORK/rec" --engine "$engine" --gdb-checkpoint 65536
  # state NAME: gdb prints a marker, the registers and `watched`.
  state() { args+=(-ex "echo <$1>\n" -ex "$REGS" -ex 'output/x watched' -ex 'echo \n<.>\n'); }
  args=(-ex "file $ELF" -ex "target remote 127.0.0.1:$PORT" -ex 'p/x $pc' -ex 'reverse-stepi'
    -ex 'echo <START>\n' -ex 'break poke' -ex 'continue' -ex 'delete')
  state S0; args+=(-ex stepi); state S1; args+=(-ex stepi); state S2; args+=(-ex stepi); state S3
  args+=(-ex reverse-stepi); state B2; args+=(-ex reverse-stepi); state B1
  args+=(-ex reverse-stepi); state B0; args+=(-ex stepi); state F1
  args+=(-ex 'echo <END>\n' -ex 'continue' -ex 'p/x $pc' -ex 'p counter'
    -ex 'reverse-stepi' -ex 'p/x $pc' -ex 'stepi' -ex 'continue'
    -ex 'watch watched' -ex 'echo <RC1>\n' -ex 'reverse-continue' -ex 'p/x $pc' -ex 'p/x watched'
    -ex 'echo <RC2>\n' -ex 'reverse-continue' -ex 'p/x $pc' -ex 'p/x watched'
    -ex 'echo <RC3>\n' -ex 'reverse-continue' -ex 'p/x $pc'
    -ex 'echo <DONE>\n' -ex 'delete' -ex 'detach')
  run_gdb "${args[@]}"
  cp "$WORK/gdb.out" "$WORK/gdb.$engine.out"
  # Halted at the first instruction; nothing before it.
  sed -n '1,/^<START>$/p' "$WORK/gdb.out" | grep -q 'No more reverse-execution history' ||
    fail "reverse-stepi at instruction 0: no history-begin stop"
  expect_gdb 'Breakpoint 1, .*poke'
  # The three steps went through the store: `watched` changed on the way.
  [ "$(block S0 | tail -1)" = 0x0 ] && [ "$(block S3 | tail -1)" = 0x1111 ] ||
    fail "the steps did not go over the store of 0x1111"
  same_block S2 B2    # each reverse-stepi: exactly the state before the stepi
  same_block S1 B1
  same_block S0 B0
  same_block S1 F1    # and forward again: the same
  # The end of the log holds (replaylog:end): gdb says there is no more
  # history, the program's finish is where it stopped.
  sed -n '/^<END>$/,/^<RC1>$/p' "$WORK/gdb.out" >"$WORK/end.out"
  grep -q 'No more reverse-execution history' "$WORK/end.out" || fail "continue: no history-end stop"
  grep -q 'finish ()' "$WORK/end.out" || fail "the end is not in finish()"
  grep -q '= 19999900000' "$WORK/end.out" || fail "counter at the end: not the sum of 0..199999"
  # reverse-continue with a write watchpoint: the last store, then the one
  # before; gdb shows the value after as Old, the value before as New.
  sed -n '/^<RC1>$/,/^<RC2>$/p' "$WORK/gdb.out" >"$WORK/rc1.out"
  sed -n '/^<RC2>$/,/^<RC3>$/p' "$WORK/gdb.out" >"$WORK/rc2.out"
  sed -n '/^<RC3>$/,/^<DONE>$/p' "$WORK/gdb.out" >"$WORK/rc3.out"
  for f in rc1 rc2; do
    grep -q 'watchpoint 2: watched' "$WORK/$f.out" || { cp "$WORK/$f.out" "$WORK/out"; fail "$f: no watchpoint stop"; }
    grep -q "= $POKE_STORE\$" "$WORK/$f.out" || { cp "$WORK/$f.out" "$WORK/out"; fail "$f: pc is not the store at $POKE_STORE"; }
  done
  grep -q 'Old value = 4660' "$WORK/rc1.out" && grep -q 'New value = 4369' "$WORK/rc1.out" &&
    grep -q '= 0x1111$' "$WORK/rc1.out" || { cp "$WORK/rc1.out" "$WORK/out"; fail "rc1: not the write of 0x1234 over 0x1111"; }
  grep -q 'Old value = 4369' "$WORK/rc2.out" && grep -q 'New value = 0' "$WORK/rc2.out" &&
    grep -q '= 0x0$' "$WORK/rc2.out" || { cp "$WORK/rc2.out" "$WORK/out"; fail "rc2: not the write of 0x1111 over 0"; }
  grep -q 'No more reverse-execution history' "$WORK/rc3.out" && grep -q '= 0x80000000$' "$WORK/rc3.out" ||
    { cp "$WORK/rc3.out" "$WORK/out"; fail "rc3: not back at the start with the history-begin stop"; }
  finish_replay 0
  echo "bare metal ($engine): reverse-stepi x3 exact, history end and begin, reverse watchpoint at $POKE_STORE twice, replay still matches: ok"
done

# ---- the default Linux guest: a boot and a command ----
VMLINUX=$CACHE/guest-build/linux-build/vmlinux
SYSTEM_MAP=$CACHE/guest-build/linux-build/System.map
if [ -f "$VMLINUX" ]; then
  file_args=(-ex "file $VMLINUX")
  where=kernel_power_off
elif [ -f "$SYSTEM_MAP" ]; then
  file_args=()
  where="*0x$(awk '$3 == "kernel_power_off" { print $1 }' "$SYSTEM_MAP")"
else
  fail "neither vmlinux nor System.map in $CACHE/guest-build/linux-build (scripts/build-guest)"
fi
rm -rf "$WORK/lrec"
run_vessel run --record "$WORK/lrec" --record-checkpoint 1000000 -- sh -c 'echo linux-reverse-done'
expect_status 0
expect_output linux-reverse-done
start_replay "$WORK/lrec" --gdb-checkpoint 2000000
args=("${file_args[@]}" -ex "target remote 127.0.0.1:$PORT" -ex 'continue')
E='echo <.>\n'
args+=(-ex 'echo <E0>\n' -ex "$REGS" -ex "$E" -ex reverse-stepi -ex 'echo <E1>\n' -ex "$REGS" -ex "$E"
  -ex reverse-stepi -ex 'echo <E2>\n' -ex "$REGS" -ex "$E" -ex stepi -ex 'echo <E3>\n' -ex "$REGS" -ex "$E"
  -ex 'echo <RB>\n' -ex "break $where" -ex 'reverse-continue' -ex 'p/x $pc' -ex 'p $priv'
  -ex 'echo <DONE>\n' -ex 'delete' -ex 'detach')
run_gdb "${args[@]}"
cp "$WORK/gdb.out" "$WORK/gdb.linux.out"
sed -n '1,/^<E0>$/p' "$WORK/gdb.out" | grep -q 'No more reverse-execution history' ||
  fail "linux: continue did not stop at the end of the log"
same_block E1 E3
block E0 | grep -q '^pc *0xffffffff' || fail "linux: the end is not in the kernel"
sed -n '/^<RB>$/,/^<DONE>$/p' "$WORK/gdb.out" >"$WORK/rb.out"
grep -q 'Breakpoint 1, .*kernel_power_off\|Breakpoint 1, 0x' "$WORK/rb.out" ||
  { cp "$WORK/rb.out" "$WORK/out"; fail "linux: reverse-continue did not stop at $where"; }
finish_replay 0
expect_output linux-reverse-done
echo "linux guest: history end, reverse-stepi x2 and stepi exact, reverse-continue to $where, replay still matches: ok"
