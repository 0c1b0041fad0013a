# A guest kernel panic ends vessel with its own status (101) and says so.
set -e
source "$(dirname "$0")/lib.sh"
run_vessel run -- sh -c 'echo c > /proc/sysrq-trigger'
expect_status 101
expect_output 'Kernel panic'
expect_output 'guest kernel panicked'
