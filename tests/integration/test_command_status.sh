# `vessel run -- COMMAND` runs the command in the default guest and exits with its status.
set -e
source "$(dirname "$0")/lib.sh"
run_vessel run -- sh -c 'echo hello from the guest; exit 7'
expect_status 7
expect_output 'hello from the guest'
run_vessel run -- true
expect_status 0
