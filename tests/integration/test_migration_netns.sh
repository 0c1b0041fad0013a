# Live migration between two network namespaces joined by a veth pair (two
# hosts on one machine): the guest's counter continues on the destination
# with no gap and its disk is intact. Plain TCP, asked for on both sides
# (--insecure); test_migration.sh covers TLS.
set -e
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || fail "network namespaces need root"
command -v ip >/dev/null || fail "ip (iproute2) is needed"
src_ns=vessel-src-$$
dst_ns=vessel-dst-$$
cleanup() {
  kill "${src:-}" "${dst:-}" 2>/dev/null || true
  ip netns del "$src_ns" 2>/dev/null || true
  ip netns del "$dst_ns" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$src_ns"
ip netns add "$dst_ns"
ip link add vs$$ netns "$src_ns" type veth peer name vd$$ netns "$dst_ns"
ip -n "$src_ns" addr add 10.231.0.1/24 dev vs$$
ip -n "$dst_ns" addr add 10.231.0.2/24 dev vd$$
for ns in "$src_ns" "$dst_ns"; do ip -n "$ns" link set lo up; done
ip -n "$src_ns" link set vs$$ up
ip -n "$dst_ns" link set vd$$ up

COUNT=400
# Sector N holds count N: 64 MiB leave room for 130000 counts (the counter
# runs as long as a slow or busy machine takes; 1 MiB ran out at 2048).
truncate -s 64M "$WORK/disk.img"
sock=$WORK/src.sock
ip netns exec "$src_ns" timeout 200 "$VESSEL" run --disk "$WORK/disk.img" --api-socket "$sock" \
  -- sh -c "$(counter_command $COUNT)" </dev/null >"$WORK/src.out" 2>&1 &
src=$!
ip netns exec "$dst_ns" timeout 200 "$VESSEL" receive --listen 10.231.0.2:4444 \
  --accept-timeout 120 --disk "$WORK/disk.img" --insecure </dev/null >"$WORK/dst.out" 2>&1 &
dst=$!
wait_for_text "$WORK/src.out" 'count=20' 120
# The control socket is a file: the ctl client reaches it from outside the namespace.
"$VESSEL" ctl "$sock" migrate 10.231.0.2:4444 --insecure >"$WORK/ctl" 2>&1 || {
  cp "$WORK/ctl" "$WORK/out"
  fail "migration between namespaces failed"
}
set +e
wait $src
src_status=$?
wait $dst
dst_status=$?
set -e
[ $src_status -eq 0 ] || { cp "$WORK/src.out" "$WORK/out"; fail "the source exited $src_status"; }
[ $dst_status -eq 0 ] || { cp "$WORK/dst.out" "$WORK/out"; fail "the destination exited $dst_status"; }
check_counter "$WORK/src.out" "$WORK/dst.out" "$WORK/disk.img" $COUNT
cat "$WORK/ctl"
