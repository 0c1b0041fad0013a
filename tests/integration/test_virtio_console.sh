# --console virtio: the terminal is on virtio-console (hvc1 in the default
# guest, whose kernel also has the SBI console as hvc0); output and input
# both go through it.
set -e
source "$(dirname "$0")/lib.sh"
run_vessel run --console virtio -- sh -c 'cat /sys/class/tty/console/active; echo through-hvc0'
expect_status 0
expect_output '^hvc1'
expect_output 'through-hvc0'

# Typed input reaches the guest's shell on hvc0.
command -v tmux >/dev/null || fail "tmux is not installed"
session=vessel-hvc-$$
tmux new-session -d -s "$session" -x 120 -y 40 "$VESSEL run --console virtio; echo vessel-exited-\$?; sleep 30"
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
wait_for '~ #' 120
tmux send-keys -t "$session" 'tty; echo hvc-$((6*7))' Enter
wait_for 'hvc-42' 30
tmux send-keys -t "$session" 'poweroff -f' Enter
wait_for 'vessel-exited-0' 60
