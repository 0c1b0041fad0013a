#!/bin/bash
# vessel exec benchmark: riscv64 Linux programs run as host processes by
# vessel exec (interpreter and translator), by qemu-riscv64 (Debian's
# qemu-user) and natively (the same sources built for x86-64), alternating
# runs, and reports median wall-clock times and ratios:
#   cpu    bench/programs/cpu/cpu.c, static (the CPU kernels of bench/cpu.sh)
#   procs  bench/programs/exec/procs.c, static: fork + pipe + wait rounds
#   hello  bench/programs/exec/hello.c, dynamic (through the sysroot's
#          ld-linux-riscv64-lp64d.so.1), run --hellos times: start-up cost
# Aims (issue 12): translator >= 2x qemu-riscv64 on cpu; hello no slower.
#
# Usage: bench/exec.sh [--runs N] [--scale N] [--rounds N] [--hellos N]
# Env:   BUILD_DIR (default build), VESSEL (default $BUILD_DIR/vessel),
#        QEMU_USER (default qemu-riscv64), SYSROOT (default /usr/riscv64-linux-gnu),
#        RISCV_LINUX_CC (default riscv64-linux-gnu-gcc), HOST_CC (default gcc)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "exec.sh: $*" >&2; exit 1; }
runs=3 scale=1 rounds=200 hellos=20
usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=${2:?--runs wants a value}; shift 2 ;;
    --scale) scale=${2:?--scale wants a value}; shift 2 ;;
    --rounds) rounds=${2:?--rounds wants a value}; shift 2 ;;
    --hellos) hellos=${2:?--hellos wants a value}; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "exec.sh: unknown option $1" >&2; usage 2 ;;
  esac
done
for v in "$runs" "$scale" "$rounds" "$hellos"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || die "counts must be positive integers"
done

build_dir=${BUILD_DIR:-$root/build}
vessel=${VESSEL:-$build_dir/vessel}
qemu=${QEMU_USER:-qemu-riscv64}
sysroot=${SYSROOT:-/usr/riscv64-linux-gnu}
riscv_cc=${RISCV_LINUX_CC:-riscv64-linux-gnu-gcc}
host_cc=${HOST_CC:-gcc}
out=$build_dir/bench/exec
[[ -x $vessel ]] || die "$vessel not found (build vessel first)"
command -v "$qemu" >/dev/null || die "$qemu not found (apt install qemu-user)"
command -v "$riscv_cc" >/dev/null || die "$riscv_cc not found (apt install gcc-riscv64-linux-gnu)"
[[ -d $sysroot ]] || die "sysroot $sysroot not found (apt install libc6-riscv64-cross)"
mkdir -p "$out"

flags=(-O2 -ffp-contract=off -funsigned-char "-DCPU_SCALE=$scale")
"$riscv_cc" -static "${flags[@]}" -o "$out/cpu.rv" "$root/bench/programs/cpu/cpu.c" -lm
"$host_cc" "${flags[@]}" -o "$out/cpu.native" "$root/bench/programs/cpu/cpu.c" -lm
"$riscv_cc" -static -O2 -o "$out/procs.rv" "$root/bench/programs/exec/procs.c"
"$host_cc" -O2 -o "$out/procs.native" "$root/bench/programs/exec/procs.c"
"$riscv_cc" -O2 -o "$out/hello.rv" "$root/bench/programs/exec/hello.c"
"$host_cc" -O2 -o "$out/hello.native" "$root/bench/programs/exec/hello.c"

configs=(native qemu vessel-interp vessel-jit)
# launch CONFIG PROGRAM ARGS...: runs one program the way CONFIG does.
launch() {
  local config=$1 prog=$2
  shift 2
  case $config in
    native) "$out/$prog.native" "$@" ;;
    qemu) "$qemu" -L "$sysroot" "$out/$prog.rv" "$@" ;;
    vessel-interp) "$vessel" exec --sysroot "$sysroot" --engine interp "$out/$prog.rv" "$@" ;;
    vessel-jit) "$vessel" exec --sysroot "$sysroot" --engine jit "$out/$prog.rv" "$@" ;;
  esac
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# workload CONFIG NAME: runs it once, prints its milliseconds, checks output.
workload() {
  local config=$1 name=$2 t0 t1
  t0=$(now_ms)
  case $name in
    cpu) launch "$config" cpu >"$out/$config.cpu.out" ;;
    procs) launch "$config" procs "$rounds" >"$out/$config.procs.out" ;;
    hello)
      for ((i = 0; i < hellos; i++)); do launch "$config" hello; done >"$out/$config.hello.out" ;;
  esac
  t1=$(now_ms)
  echo $((t1 - t0))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A times
for name in cpu procs hello; do
  for ((r = 0; r < runs; r++)); do
    for config in "${configs[@]}"; do
      times[$config.$name]+="$(workload "$config" "$name") "
    done
  done
  # Every runner must have done the same work as the native program.
  want=$(grep -E 'total|checksum=|hello' "$out/native.$name.out" | sort | uniq -c)
  for config in "${configs[@]}"; do
    got=$(grep -E 'total|checksum=|hello' "$out/$config.$name.out" | sort | uniq -c)
    [[ $got == "$want" ]] || die "$config: $name printed something else than the native program"
  done
done

echo "exec: host $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); median of $runs runs, ms"
printf 'exec: %-22s' workload
for config in "${configs[@]}"; do printf ' %13s' "$config"; done
echo
declare -A med
for name in cpu procs hello; do
  case $name in
    cpu) label="cpu (scale $scale)" ;;
    procs) label="procs ($rounds forks)" ;;
    hello) label="hello x$hellos (dyn)" ;;
  esac
  printf 'exec: %-22s' "$label"
  for config in "${configs[@]}"; do
    med[$config.$name]=$(printf '%s\n' ${times[$config.$name]} | median)
    printf ' %13s' "${med[$config.$name]}"
  done
  echo
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
for name in cpu procs hello; do
  echo "exec: $name: qemu/vessel-jit $(ratio "${med[qemu.$name]}" "${med[vessel-jit.$name]}")x," \
    "qemu/vessel-interp $(ratio "${med[qemu.$name]}" "${med[vessel-interp.$name]}")x," \
    "vessel-jit/native $(ratio "${med[vessel-jit.$name]}" "${med[native.$name]}")x" \
    "(above 1: vessel faster than qemu)"
done
