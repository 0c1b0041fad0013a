# Files vessel creates are never written through a planted symlink and are
# private (issue 10): a snapshot directory holding a symlink named like a
# snapshot temporary, or any file vessel did not write, is refused with one
# line and the link's target is untouched; snapshot files, console logs and
# the control socket are mode 0600; a console log or control socket path that
# is a symlink is refused, its target untouched.
set -e
source "$(dirname "$0")/lib.sh"

# The victim: a file outside every directory vessel writes in, as a system
# file or another user's file would be.
victim=$WORK/victim
printf 'precious\n' >"$victim"
chmod 0644 "$victim"
victim_untouched() {  # victim_untouched WHAT
  [ "$(cat "$victim")" = precious ] || fail "$1: the symlink's target was written"
  [ "$(stat -c %a "$victim")" = 644 ] || fail "$1: the symlink's target changed mode"
}
mode_is() {  # mode_is PATH MODE
  [ "$(stat -c %a "$1")" = "$2" ] || fail "$1 is mode $(stat -c %a "$1"), expected $2"
}
# expect_refused FILE PATTERN WHAT: one error line matching PATTERN.
expect_refused() {
  [ "$1" = "$WORK/out" ] || cp "$1" "$WORK/out"
  [ "$(wc -l <"$1")" -eq 1 ] || fail "$3: expected one error line"
  grep -q -- "$2" "$1" || fail "$3: expected '$2'"
}

# A console log that is a symlink: refused before the VM starts.
mkdir "$WORK/evil-logs"
ln -s "$victim" "$WORK/evil-logs/vm-0.log"
run_vessel host --vms 1 --mem 64M --console-dir "$WORK/evil-logs" -- true
[ "$STATUS" -eq 1 ] || fail "a console log that is a symlink: expected status 1, got $STATUS"
expect_refused "$WORK/out" 'vm-0.log is a symbolic link' "console log symlink"
victim_untouched "console log symlink"

# A control socket path that is a symlink: refused, nothing bound beside it.
ln -s "$victim" "$WORK/link.sock"
run_vessel run --kernel "$KERNEL" --initrd "$INITRD" --mem 64M --api-socket "$WORK/link.sock"
[ "$STATUS" -eq 1 ] || fail "a control socket path that is a symlink: expected status 1, got $STATUS"
expect_refused "$WORK/out" 'exists and is not a socket' "control socket symlink"
victim_untouched "control socket symlink"

# One VM to snapshot, through `vessel host` so that its console log is
# created too.
sock=$WORK/api.sock
timeout 240 "$VESSEL" host --vms 1 --mem 128M --console-dir "$WORK/logs" --api-socket "$sock" -- \
  sh -c 'echo guest-ready; sleep 600' </dev/null >"$WORK/host.out" 2>&1 &
host=$!
trap 'kill $host 2>/dev/null || true; rm -rf "$WORK"' EXIT
wait_for_text "$WORK/logs/vm-0.log" guest-ready 120
mode_is "$sock" 600
mode_is "$WORK/logs" 700
mode_is "$WORK/logs/vm-0.log" 600

# snapshot DIR WHAT: runs `ctl snapshot`, status in $STATUS, output in $WORK/ctl.
snapshot() {
  set +e
  "$VESSEL" ctl "$sock" snapshot "$1" >"$WORK/ctl" 2>&1
  STATUS=$?
  set -e
}
# refused_snapshot DIR PATTERN WHAT: refused with one line, and nothing of a
# snapshot was written into DIR.
refused_snapshot() {
  snapshot "$1"
  [ "$STATUS" -eq 1 ] || { cp "$WORK/ctl" "$WORK/out"; fail "$3: expected status 1, got $STATUS"; }
  expect_refused "$WORK/ctl" "^vessel ctl: .*$2" "$3"
  [ ! -e "$1/state.bin" ] || [ -L "$1/state.bin" ] || fail "$3: state.bin was written"
}

# A symlink named like each temporary of a snapshot.
for name in memory.bin.tmp state.bin.tmp; do
  mkdir "$WORK/planted-$name"
  ln -s "$victim" "$WORK/planted-$name/$name"
  refused_snapshot "$WORK/planted-$name" "not part of a vessel snapshot" "symlink at $name"
  victim_untouched "symlink at $name"
  [ -L "$WORK/planted-$name/$name" ] || fail "symlink at $name: the planted link was replaced"
done
# A symlink named like a snapshot file itself.
mkdir "$WORK/planted-final"
ln -s "$victim" "$WORK/planted-final/memory.bin"
refused_snapshot "$WORK/planted-final" "memory.bin is not a regular file" "symlink at memory.bin"
victim_untouched "symlink at memory.bin"
# A dangling symlink: O_CREAT alone would create its target.
mkdir "$WORK/planted-dangling"
ln -s "$WORK/created-through-link" "$WORK/planted-dangling/memory.bin.tmp"
refused_snapshot "$WORK/planted-dangling" "not part of a vessel snapshot" "dangling symlink"
[ ! -e "$WORK/created-through-link" ] || fail "dangling symlink: its target was created"
# A directory holding an unrelated file.
mkdir "$WORK/notes"
printf 'mine\n' >"$WORK/notes/notes.txt"
refused_snapshot "$WORK/notes" "notes.txt.*not part of a vessel snapshot" "unrelated file"
[ "$(cat "$WORK/notes/notes.txt")" = mine ] || fail "unrelated file: it was changed"
[ "$(ls -A "$WORK/notes")" = notes.txt ] || fail "unrelated file: something was written beside it"
# The snapshot directory itself a symlink.
mkdir "$WORK/real-dir"
ln -s "$WORK/real-dir" "$WORK/dir-link"
refused_snapshot "$WORK/dir-link" "is a symbolic link" "snapshot directory symlink"
[ -z "$(ls -A "$WORK/real-dir")" ] || fail "snapshot directory symlink: written through"

# A new directory is fine, and so is the same one again (it holds only a
# snapshot): private directory, private files.
for n in 1 2; do
  snapshot "$WORK/snap"
  [ "$STATUS" -eq 0 ] || { cp "$WORK/ctl" "$WORK/out"; fail "snapshot $n into a clean directory failed"; }
done
mode_is "$WORK/snap" 700
mode_is "$WORK/snap/state.bin" 600
mode_is "$WORK/snap/memory.bin" 600
[ "$(ls -A "$WORK/snap" | tr '\n' ' ')" = "memory.bin state.bin " ] ||
  fail "the snapshot directory holds more than state.bin and memory.bin: $(ls -A "$WORK/snap")"

"$VESSEL" ctl "$sock" quit >/dev/null 2>&1 || true
wait $host || true
