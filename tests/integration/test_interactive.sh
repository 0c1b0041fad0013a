# An interactive session on a terminal: type a command, read the screen, power off.
# The terminal is a pty that tests/integration/pty_session.py holds.
set -e
source "$(dirname "$0")/lib.sh"
SESSION="python3 $(dirname "$0")/pty_session.py"

cat > "$WORK/type-and-poweroff" <<'STEPS'
expect 120 vessel-init: ready
expect 60 ~ #
send echo hi-$((6*7))
expect 30 hi-42
send poweroff -f
exit 60 0
STEPS
$SESSION "$WORK/type-and-poweroff" -- "$VESSEL" run || fail "typing at the shell and powering off"

# Ctrl-a x quits vessel from the console, as in QEMU.
cat > "$WORK/ctrl-a-x" <<'STEPS'
expect 120 ~ #
keys 0178
exit 30 0
STEPS
$SESSION "$WORK/ctrl-a-x" -- "$VESSEL" run || fail "Ctrl-a x"
