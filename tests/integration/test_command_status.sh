# `vessel run -- COMMAND` runs the command in the default guest and exits with its status.
set -e
source "$(dirname "$0")/lib.sh"
run_vessel run -- sh -c 'echo hello from the guest; exit 7'
expect_status 7
expect_output 'hello from the guest'
run_vessel run -- true
expect_status 0
# User space reads the time CSR directly (the vDSO's clock_gettime, used by dd):
# that needs the counter enables the SBI hands over, as OpenSBI does.
run_vessel run -- sh -c 'dd if=/dev/zero of=/dev/null bs=4096 count=16'
expect_status 0
expect_output '16+0 records in'
