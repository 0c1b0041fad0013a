# test_smp_shootdown.sh with Debian's OpenSBI: Linux's remote fences become
# IPIs, and each hart fences itself in M-mode.
SHOOTDOWN_SBI=opensbi
source "$(dirname "$0")/test_smp_shootdown.sh"
