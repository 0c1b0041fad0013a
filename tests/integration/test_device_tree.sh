# The device tree vessel gives the guest decompiles cleanly with dtc and
# describes the machine asked for.
set -e
source "$(dirname "$0")/lib.sh"
run_vessel run --cpus 2 --mem 256M -- sh -c 'base64 /sys/firmware/fdt | tr -d "\n"; echo'
expect_status 0
tr -d '\r' < "$WORK/out" | grep -E '^[A-Za-z0-9+/=]{200,}$' | tail -1 | base64 -d > "$WORK/guest.dtb" || fail "no device tree in output"
dtc -I dtb -O dts -o "$WORK/guest.dts" "$WORK/guest.dtb" 2> "$WORK/dtc.err" || fail "dtc rejected the tree: $(cat "$WORK/dtc.err")"
grep -q 'cpu@1' "$WORK/guest.dts" || fail "no cpu@1 node"
grep -q 'memory@80000000' "$WORK/guest.dts" || fail "no memory node"
grep -q 'reg = <0x00 0x80000000 0x00 0x10000000>' "$WORK/guest.dts" || fail "memory is not 256 MiB"
grep -q 'ns16550a' "$WORK/guest.dts" || fail "no UART"
grep -q 'sifive,plic-1.0.0' "$WORK/guest.dts" || fail "no PLIC"
