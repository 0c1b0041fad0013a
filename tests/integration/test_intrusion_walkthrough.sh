# The README's intrusion-analysis walk-through (issue 11 part 5), step by
# step, so that it cannot rot: a recorded Linux guest (the default kernel and
# busybox initramfs) in which a script overwrites /etc/motd; in the replay,
# gdb-multiarch finds the file's bytes in the page cache, a watchpoint on
# them and reverse-continue find the instruction that wrote them, the
# process (`comm` of the kernel's current task, the offset of `comm` read
# from the kernel's own code) and the system call (a reverse-continue to the
# kernel's syscall entry). The guest spins for a while after the write, so
# the hit lies many checkpoints back: the same reverse-continue is run again
# with VESSEL_GDB_STEP_SEARCH=1 (every window stepped one instruction at a
# time, the search every other test checks) and must stop at the same
# instruction with the same registers; both times are printed.
set -e
source "$(dirname "$0")/lib.sh"
GDB=${GDB:-gdb-multiarch}
command -v "$GDB" >/dev/null || { echo "$GDB is missing: run scripts/setup" >&2; exit 1; }
VMLINUX=$CACHE/guest-build/linux-build/vmlinux
[ -f "$VMLINUX" ] || fail "no $VMLINUX (scripts/build-guest builds it)"

# ---- record: the legitimate file, then the intruder's script ----
MARK='intruder was here 5a17'
# shellcheck disable=SC2016
SCRIPT='echo "Authorised users only." > /etc/motd
printf "#!/bin/sh\necho %s > /etc/motd\n" "'"$MARK"'" > /tmp/update.sh
chmod +x /tmp/update.sh
/tmp/update.sh
i=0; while [ $i -lt 4000 ]; do i=$((i+1)); done
echo walkthrough-done'
run_vessel run --record "$WORK/rec" --stats -- sh -c "$SCRIPT"
expect_status 0
expect_output walkthrough-done
INSNS=$(sed -n 's/.*instructions=\([0-9]*\).*/\1/p' "$WORK/out" | tail -1)

# ---- the offset of task_struct.comm, from the kernel's code ----
# __get_task_comm(buf, size, tsk) copies tsk->comm: the `addi a1,<tsk>,N`
# before its call to strscpy_pad holds N (the other addi, to a lock's
# register, is &tsk->alloc_lock).
"$GDB" -batch -nx "$VMLINUX" -ex 'x/16i __get_task_comm' >"$WORK/comm.out" 2>&1 || true
COMM_OFF=$(sed -n 's/.*addi\?[[:space:]]*a1,[a-z0-9]*,\([0-9][0-9]*\)$/\1/p' "$WORK/comm.out" | head -1)
[ -n "$COMM_OFF" ] || { cp "$WORK/comm.out" "$WORK/out"; fail "no comm offset in __get_task_comm"; }

start_replay() {
  start_gdb_target replay "$WORK/rec" --gdb 127.0.0.1:0
}
run_gdb() {
  set +e
  timeout -k 5 240 "$GDB" -batch -nx "$VMLINUX" -ex 'set pagination off' -ex 'set confirm off' \
    -ex "target remote 127.0.0.1:$PORT" -x "$1" </dev/null >"$WORK/gdb.out" 2>&1
  set -e
  cp "$WORK/gdb.out" "$WORK/out"
}
block() {
  awk -v m="<$1>" '$0 == m { on = 1; next } /^<.*>$/ { on = 0 } on' "$WORK/gdb.out"
}
now_ms() { date +%s%3N; }

# ---- the walk-through, as the README gives it ----
cat >"$WORK/walk.gdb" <<EOF
continue
# The file's bytes: a search of the kernel's linear map of RAM (gdb's find
# includes the string's NUL: the file's newline, then the page's zeros);
# its page cache copy starts a page (file offset 0).
set \$ram = *(unsigned long *)&kernel_map
set \$end = \$ram + ((*(unsigned long *)&max_pfn - *(unsigned long *)&min_low_pfn) << 12)
set \$at = \$ram
set \$page = 0
while \$page == 0 && \$at < \$end
  find /1 \$at, \$end, "$MARK\n"
  if \$numfound == 0
    set \$at = \$end
  else
    if ((unsigned long)\$_ & 0xfff) == 0
      set \$page = (unsigned long)\$_
    end
    set \$at = (unsigned long)\$_ + 1
  end
end
echo <PAGE>\n
output/x \$page
echo \n<WATCH>\n
watch *(long *)\$page
echo <RC>\n
reverse-continue
echo <STORE>\n
x/i \$pc
echo <REGS>\n
info registers pc ra sp tp a0 a1 a2 a5 t0 t1
echo <BEFORE>\n
output *(char (*)[8])\$page
echo \n<STEP>\n
stepi
echo <AFTER>\n
output *(char (*)[8])\$page
echo \n<BACK>\n
reverse-stepi
echo <COMM>\n
x/s \$tp + $COMM_OFF
echo <TP>\n
output/x \$tp
echo \n<SYSCALL>\n
delete
break *handle_syscall
reverse-continue
echo <NR>\n
output \$a7
echo \n<FD>\n
output \$a0
echo \n<CALL>\n
x/a (unsigned long)&sys_call_table + 8 * \$a7
echo <STP>\n
output/x \$tp
echo \n<DONE>\n
delete
detach
EOF

start_replay
t0=$(now_ms)
run_gdb "$WORK/walk.gdb"
t1=$(now_ms)
cp "$WORK/gdb.out" "$WORK/gdb.walk.out"
wait_exit "$VPID"
cp "$WORK/vessel.out" "$WORK/out"
expect_status 0
expect_output "replay matches the recording"
expect_output "passed over [1-9][0-9]* that wrote no watched page"
cp "$WORK/gdb.walk.out" "$WORK/gdb.out"
cp "$WORK/gdb.out" "$WORK/out"
PAGE=$(block PAGE)
case $PAGE in 0x*000) ;; *) fail "no page-aligned copy of '$MARK' in RAM: '$PAGE'" ;; esac
block RC | grep -q 'atchpoint 1: \*(long \*)' || fail "reverse-continue: no watchpoint stop"
STORE=$(block STORE)
echo "$STORE" | grep -q '__asm_copy_from_user\|__asm_copy_to_user' ||
  fail "the write is not in the kernel's user-copy routine: $STORE"
echo "$STORE" | grep -q -E ':[[:space:]]+s[bhwd][[:space:]]' || fail "the stop is not on a store: $STORE"
# The store completes the mark's first 8 bytes (the copy goes byte by byte:
# this is the last of them).
[ "$(block AFTER)" = '"intruder"' ] && [ "$(block BEFORE)" != '"intruder"' ] ||
  fail "the store does not complete 'intruder': before $(block BEFORE), after $(block AFTER)"
block COMM | grep -q '"update.sh"' || fail "current task's comm is not update.sh: $(block COMM)"
[ "$(block NR)" = 64 ] || fail "system call number $(block NR), not 64 (write)"
block CALL | grep -q '<sys_write>' || fail "sys_call_table[a7] is not sys_write: $(block CALL)"
[ "$(block TP)" = "$(block STP)" ] || fail "the syscall entry is another task's: $(block TP) vs $(block STP)"
echo "walk-through: '$MARK' at $PAGE, written by $(echo "$STORE" | head -1 | sed 's/^ *=> *//'), comm $(block COMM | sed 's/.*:[[:space:]]*//'), system call $(block NR) (write) on fd $(block FD); gdb took $((t1 - t0)) ms"

# ---- the same reverse-continue, every window stepped ----
cat >"$WORK/rc.gdb" <<EOF
continue
watch *(long *)$PAGE
echo <T0>\n
shell date +%s%3N
echo <RC>\n
reverse-continue
echo <T1>\n
shell date +%s%3N
echo <REGS>\n
info registers pc ra sp tp a0 a1 a2 a5 t0 t1
echo <DONE>\n
delete
detach
EOF
fast=$(block REGS)
for mode in "passing windows over" "stepping every window"; do
  if [ "$mode" != "passing windows over" ]; then export VESSEL_GDB_STEP_SEARCH=1; fi
  start_replay
  run_gdb "$WORK/rc.gdb"
  unset VESSEL_GDB_STEP_SEARCH
  wait_exit "$VPID"
  regs=$(block REGS)
  [ -n "$regs" ] || fail "$mode: no registers after reverse-continue"
  [ "$regs" = "$fast" ] || fail "$mode search stopped elsewhere:
$regs
--- the walk-through's stop:
$fast"
  if [ "$mode" != "passing windows over" ]; then
    grep -q "passed over" "$WORK/vessel.out" && fail "VESSEL_GDB_STEP_SEARCH: windows were still passed over"
  fi
  t0=$(block T0)
  t1=$(block T1)
  [ -n "$t0" ] && [ -n "$t1" ] || fail "$mode: no times around reverse-continue"
  windows=$(sed -n 's/.*reverse-continue \(stepped .*\)/\1/p' "$WORK/vessel.out")
  echo "reverse-continue to the write, $mode: $((t1 - t0)) ms${windows:+ ($windows)}"
done
echo "intrusion walk-through: ok (a recording of $INSNS instructions)"
