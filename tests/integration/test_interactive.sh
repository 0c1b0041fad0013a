# An interactive session on a terminal: type a command, read the screen, power off.
set -e
source "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || fail "tmux is not installed"
session=vessel-test-$$
tmux new-session -d -s "$session" -x 120 -y 40 "$VESSEL run; echo vessel-exited-\$?; sleep 30"
cleanup() { tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
wait_for() {  # wait_for PATTERN SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    tmux capture-pane -p -t "$session" > "$WORK/out"
    grep -q -- "$1" "$WORK/out" && return 0
    sleep 0.1
  done
  fail "timed out waiting for '$1'"
}
wait_for 'vessel-init: ready' 120
wait_for '~ #' 60
tmux send-keys -t "$session" 'echo hi-$((6*7))' Enter
wait_for 'hi-42' 30
tmux send-keys -t "$session" 'poweroff -f' Enter
wait_for 'vessel-exited-0' 60

# Ctrl-a x quits vessel from the console, as in QEMU.
tmux kill-session -t "$session" 2>/dev/null || true
tmux new-session -d -s "$session" -x 120 -y 40 "$VESSEL run; echo vessel-exited-\$?; sleep 30"
wait_for '~ #' 120
tmux send-keys -t "$session" C-a x
wait_for 'vessel-exited-0' 30
