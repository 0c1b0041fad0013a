# `vessel run --lockstep` runs real programs on both engines at once and
# compares the harts' whole state after every slice (random lengths, so the
# comparisons fall inside translated blocks) and RAM regularly: a Linux boot
# to a shell workload on one and on two harts, and the differential-test C
# programs and the multi-hart litmus programs bare-metal. Then the check's
# own test: a bit flipped in the translator's state must be reported, with
# where.
set -e
source "$(dirname "$0")/lib.sh"
BUILD=$(dirname "$VESSEL")
cmd='i=0; s=0; while [ $i -lt 200 ]; do i=$((i + 1)); s=$(((s * 31 + i) % 1000003)); done
echo "loop s=$s"; md5sum /bin/busybox; gzip -c /bin/busybox | md5sum
awk "BEGIN { s = 0; for (i = 1; i < 5000; i++) s += sqrt(i) / 3; printf \"%.9f\n\", s }"
exit 9'
# Comparisons at most 32 Ki instructions apart in Linux (the default is 4 Ki):
# each is a meeting of two threads, which a loaded host makes slow.
for cpus in 1 2; do
  run_vessel run --lockstep --lockstep-slice 32768 --cpus "$cpus" -- sh -c "$cmd"
  expect_status 9
  expect_output 'loop s='
  expect_output 'lockstep: the engines agreed over [0-9]* instructions'
done
for elf in "$BUILD"/tests/diff/{qsort,strings,floatkernels}.elf "$BUILD"/tests/smp/{amo,lrsc}.elf; do
  [ -f "$elf" ] || fail "$elf is not built"
  cpus=1
  case $elf in */smp/*) cpus=2 ;; esac
  run_vessel run --lockstep --cpus "$cpus" --mem 64M --bios "$elf"
  expect_status 0
  expect_output 'lockstep: the engines agreed'
done
VESSEL_LOCKSTEP_PERTURB=3000 run_vessel run --lockstep -- true
expect_status 3
expect_output 'lockstep: the engines differ after round 3001 .*x5 interp 0x[0-9a-f]*, jit 0x'
