# Remote TLB shootdown with harts on host threads: programs/shootdown.c maps
# a page, lets a reader on every other CPU read it, takes it away (munmap,
# mprotect, mmap or mremap over it) and checks that no reader still sees the
# old page once the call returned. Linux flushes the other CPUs' TLBs before
# it returns: through SBI remote fences with vessel's SBI, through IPIs and
# OpenSBI's own fences with OpenSBI. A hart that missed or served a remote
# sfence.vma late reads the old pattern and the program fails; remote fences
# that wait for each other forever hang the guest (vessel's SBI, once).
set -e
source "$(dirname "$0")/lib.sh"
[ -f "$OPENSBI" ] || fail "$OPENSBI missing (package opensbi)"
guest_program shootdown
extend_initrd shootdown

# shootdown SBI CPUS ENGINE ROUNDS
shootdown() {
  local bios=()
  [ "$1" = opensbi ] && bios=(--bios "$OPENSBI")
  run_vessel run "${bios[@]}" --cpus "$2" --engine "$3" --kernel "$KERNEL" --initrd "$EXT_INITRD" \
    --cmdline "console=ttyS0 quiet" -- shootdown "$4"
  grep -q 'shootdown: FAIL' "$WORK/out" && fail "$1 SBI, --cpus $2, --engine $3: a stale translation"
  expect_status 0
  expect_output "shootdown: $4 rounds ok ($(($2 - 1)) readers"
}
# test_smp_shootdown_opensbi.sh sources this with SHOOTDOWN_SBI=opensbi.
for engine in jit interp; do
  shootdown "${SHOOTDOWN_SBI:-vessel}" 2 $engine 800
  shootdown "${SHOOTDOWN_SBI:-vessel}" 4 $engine 400
done
