# shellcheck shell=bash disable=SC2034,SC2154,SC2153 # sourced: sets globals for the caller, uses its me, root, out_dir
# Shared by bench/blk.sh and bench/net.sh (after bench/lib/linux-guest.sh):
#   io_build                 cross-compiles bench/programs/io/vio.c into
#                            $out_dir/root/bin/vio and sets initrd to
#                            $out_dir/initrd.cpio.gz = $INITRD + a gzipped newc
#                            archive holding /bin/vio (Linux unpacks both)
#   io_loadavg               the 1-minute load average
#   io_fmt VALUE DECIMALS    VALUE with DECIMALS decimals ("-" if empty)
# Env: RISCV_LINUX_CC (default riscv64-linux-gnu-gcc).

io_build() {
  local cc=${RISCV_LINUX_CC:-riscv64-linux-gnu-gcc} src=$root/bench/programs/io/vio.c
  command -v "$cc" >/dev/null || die "$cc not found (apt install gcc-riscv64-linux-gnu libc6-dev-riscv64-cross)"
  mkdir -p "$out_dir/root/bin"
  "$cc" -static -O2 -Wall -o "$out_dir/root/bin/vio" "$src" || die "cross-compiling $src failed"
  lg_extend_initrd "$out_dir" vio
}

io_loadavg() { cut -d' ' -f1 /proc/loadavg; }

io_fmt() { [[ -n $1 ]] && printf "%.${2}f" "$1" || printf -- -; }
