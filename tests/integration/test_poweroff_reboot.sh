# poweroff and reboot -f inside the guest end vessel with status 0.
set -e
source "$(dirname "$0")/lib.sh"
run_vessel run -- sh -c 'poweroff -f; sleep 5; exit 9'
expect_status 0
run_vessel run -- sh -c 'reboot -f; sleep 5; exit 9'
expect_status 0
