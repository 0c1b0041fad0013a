# Content-based page sharing across the VMs of one `vessel host` process.
# Three guests each write two files of identical pseudo-random data (the same
# in every guest) and one file of their own. Once the scanner has seen them,
# the identical pages are stored once: page_store.pages_saved grows by ~the 5
# extra copies and the process's PSS drops. Then each guest overwrites random
# pages of one identical file: the writes break the sharing for that guest
# only; every guest reads back exactly its own data, and the other identical
# file (which shared pages with every guest's written one) is unchanged.
#
# The host signals the guests through a read-only disk: it writes goN into
# the first sector, which the guests poll with O_DIRECT reads.
set -e
source "$(dirname "$0")/lib.sh"
MiB=1048576
PAGES=2048  # each data file is 128 chunks of 64 KiB + 9 bytes: ~2048 distinct pages

GUEST='waitgo() {
  n=0
  until dd if=/dev/vda bs=512 count=1 iflag=direct 2>/dev/null | grep -q "$1"; do
    usleep 200000; n=$((n + 1)); [ $n -lt 600 ] || { echo "no $1 from the host"; exit 9; }
  done
}
m() { md5sum <"$1" | cut -d" " -f1; }
echo booted
waitgo go1
# 64 KiB from a fixed seed, repeated behind a chunk number: every page differs
# from every other page of the file, and the file is the same in every guest.
awk "BEGIN { srand(42); for (i = 0; i < 8192; i++) printf \"%08x\", int(rand() * 4294967296) }" >/tmp/seed
head -c 65536 /dev/urandom >/tmp/mine
chunks() { i=0; while [ $i -lt 128 ]; do printf "%08d\n" $i; cat $1; i=$((i + 1)); done; }
chunks /tmp/seed >/tmp/same
chunks /tmp/seed >/tmp/keep
chunks /tmp/mine >/tmp/own
echo "initial same=$(m /tmp/same) keep=$(m /tmp/keep) own=$(m /tmp/own)"
echo ready
waitgo go2
cp /tmp/same /tmp/mirror
bad=0
for j in 1 2 3 4 5 6 7 8; do
  off=$((RANDOM % 2048))
  head -c 4096 /dev/urandom >/tmp/b$j
  dd if=/tmp/b$j of=/tmp/same bs=4096 seek=$off conv=notrunc 2>/dev/null
  dd if=/tmp/b$j of=/tmp/mirror bs=4096 seek=$off conv=notrunc 2>/dev/null
  [ "$(dd if=/tmp/same bs=4096 skip=$off count=1 2>/dev/null | md5sum)" = "$(md5sum </tmp/b$j)" ] ||
    { echo "page $off does not read back"; bad=1; }
done
echo "final same=$(m /tmp/same) mirror=$(m /tmp/mirror) keep=$(m /tmp/keep) own=$(m /tmp/own)"
[ $bad = 0 ] && echo verified'

sig=$WORK/signal.img
truncate -s 1M "$sig"
# The script is too long for the kernel command line: it travels on the disk
# (from 4 KiB on) and the guest command only loads and runs it.
printf '%s\n' "$GUEST" | dd of="$sig" bs=4096 seek=1 conv=notrunc 2>/dev/null
LOADER="dd if=/dev/vda bs=4096 skip=1 count=16 2>/dev/null | head -c $(($(printf '%s\n' "$GUEST" | wc -c))) >/s; sh /s"
go() { printf '%s\n' "$1" | dd of="$sig" conv=notrunc 2>/dev/null; }
sock=$WORK/api.sock
logs=$WORK/logs
timeout 240 "$VESSEL" host --vms 3 --mem 128M --share-pages --share-rate 100000 --disk "$sig,ro" \
  --api-socket "$sock" --console-dir "$logs" -- sh -c "$LOADER" </dev/null >"$WORK/host.out" 2>&1 &
host=$!
trap 'kill $host 2>/dev/null || true; rm -rf "$WORK"' EXIT

stats() { "$VESSEL" ctl "$sock" stats >"$WORK/stats" 2>&1 || { cp "$WORK/stats" "$WORK/out"; fail "ctl stats failed"; }; }
field() {  # field PATH: a number from the last ctl stats, e.g. field page_store.pages_saved
  python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v = v[k]
print(v)' "$WORK/stats" "$1"
}
wait_all() {  # wait_all PATTERN SECONDS: every VM's log shows PATTERN
  local i
  for i in 0 1 2; do wait_for_text "$logs/vm-$i.log" "$1" "$2"; done
}
ctl() { "$VESSEL" ctl "$sock" "$@" >"$WORK/ctl" 2>&1 || { cp "$WORK/ctl" "$WORK/out"; fail "ctl $* failed"; }; }

wait_all '^booted' 120
# The scanner waits while the guests write, so the figures before and after
# sharing their data are measured, not raced.
ctl sharing off
go go1
wait_all '^ready' 120
stats
saved0=$(field page_store.pages_saved)
pss0=$(field host.pss_bytes)
want=$((saved0 + PAGES * 5 * 7 / 10))
ctl sharing on --rate 100000
start=$SECONDS
for ((n = 0; n < 300; n++)); do
  stats
  [ "$(field page_store.pages_saved)" -ge $want ] && break
  kill -0 $host 2>/dev/null || { cp "$WORK/host.out" "$WORK/out"; fail "vessel host exited early"; }
  sleep 0.2
done
saved1=$(field page_store.pages_saved)
pss1=$(field host.pss_bytes)
echo "pages_saved $saved0 -> $saved1 (+$((saved1 - saved0)), ideal +$((PAGES * 5))) in $((SECONDS - start)) s;" \
  "PSS $((pss0 / MiB)) -> $((pss1 / MiB)) MiB; page_store $(python3 -c '
import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["page_store"]))' "$WORK/stats")"
[ "$saved1" -ge $want ] ||
  fail "pages_saved reached $saved1 in 60 s: the identical data should save >= $((want - saved0)) more pages than $saved0"
# The 5 spare copies of 8 MiB are gone from the process: at least half of that.
[ $((pss0 - pss1)) -ge $((PAGES * 5 * 4096 / 2)) ] ||
  fail "PSS went from $((pss0 / MiB)) to $((pss1 / MiB)) MiB while $((saved1 - saved0)) more pages were shared"

go go2
set +e
wait $host
STATUS=$?
set -e
cat "$WORK/host.out" "$logs"/vm-*.log >"$WORK/out"
expect_status 0
initial=()
own=()
for i in 0 1 2; do
  log=$logs/vm-$i.log
  line=$(grep '^initial ' "$log" | tr -d '\r') || { cp "$log" "$WORK/out"; fail "vm $i printed no initial checksums"; }
  final=$(grep '^final ' "$log" | tr -d '\r') || { cp "$log" "$WORK/out"; fail "vm $i printed no final checksums"; }
  grep -q '^verified' "$log" || { cp "$log" "$WORK/out"; fail "vm $i: a page it wrote did not read back"; }
  sum() { echo "$1" | grep -o " $2=[0-9a-f]*" | cut -d= -f2; }
  same=$(sum "$line" same)
  [ "$(sum "$line" keep)" = "$same" ] || fail "vm $i: two copies of the same data have different checksums"
  [ "$(sum "$final" same)" = "$(sum "$final" mirror)" ] ||
    { cp "$log" "$WORK/out"; fail "vm $i: after its writes the shared file differs from its private mirror"; }
  [ "$(sum "$final" same)" != "$same" ] || fail "vm $i: its writes did not change the file"
  [ "$(sum "$final" keep)" = "$same" ] ||
    { cp "$log" "$WORK/out"; fail "vm $i: the untouched identical file changed (a write leaked through a shared page)"; }
  [ "$(sum "$final" own)" = "$(sum "$line" own)" ] || { cp "$log" "$WORK/out"; fail "vm $i: its own file changed"; }
  initial[$i]=$same
  own[$i]=$(sum "$line" own)
done
[ "${initial[0]}" = "${initial[1]}" ] && [ "${initial[1]}" = "${initial[2]}" ] ||
  fail "the identical data differs between guests: ${initial[*]}"
[ "${own[0]}" != "${own[1]}" ] && [ "${own[1]}" != "${own[2]}" ] && [ "${own[0]}" != "${own[2]}" ] ||
  fail "the guests' own files are not distinct: ${own[*]}"
