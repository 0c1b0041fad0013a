# --cpus 2: the guest kernel brings up both harts (through SBI HSM).
set -e
source "$(dirname "$0")/lib.sh"
run_vessel run --cpus 2 -- sh -c 'echo "nproc=$(nproc)"'
expect_status 0
expect_output 'nproc=2'
run_vessel run --cpus 2 --bios "$OPENSBI" --kernel "$KERNEL" --initrd "$INITRD" \
  --cmdline "console=ttyS0 vessel.cmd=$(guest_cmd 'echo "nproc=$(nproc)"')"
expect_status 0
expect_output 'nproc=2'

# --cpus 4, harts on host threads: four workers checksum the same file at
# once; every result is right, and the guest's scheduler ran them on more
# than one CPU (each CPU's user+nice+system ticks in /proc/stat, before and
# after).
seq 1 60000 >"$WORK/data"
want=$(md5sum <"$WORK/data" | cut -d' ' -f1)
PARALLEL='[ "$(nproc)" = 4 ] || exit 2; seq 1 60000 >/tmp/d
t() { grep "^cpu[0-9]" /proc/stat >$1; }
t /tmp/a
for w in 1 2 3 4; do (for i in 1 2 3 4 5 6 7 8 9 10; do md5sum </tmp/d; done >/tmp/r$w) & done
wait; t /tmp/b
for w in 1 2 3 4; do echo "worker $w: $(sort -u /tmp/r$w | cut -c1-32 | tr "\n" " ")$(wc -l </tmp/r$w) sums"; done
awk "NR==FNR { a[\$1] = \$2 + \$3 + \$4; next } { print \"busy\", \$1, \$2 + \$3 + \$4 - a[\$1] }" /tmp/a /tmp/b'
run_vessel run --cpus 4 -- sh -c "$PARALLEL"
expect_status 0
for w in 1 2 3 4; do
  expect_output "^worker $w: $want 10 sums"
done
busy=$(grep -c '^busy cpu[0-3] ' "$WORK/out") || true
[ "$busy" -eq 4 ] || fail "expected /proc/stat ticks of 4 CPUs, got $busy"
# A CPU counts as having worked with at least a tenth of all the ticks.
awk '/^busy cpu/ { t[$2] = $3; all += $3 } END { for (c in t) n += t[c] * 10 >= all && t[c] > 0; exit n < 2 }' \
  "$WORK/out" || fail "fewer than 2 CPUs did a tenth of the work: $(grep '^busy' "$WORK/out" | tr '\n' ' ')"
