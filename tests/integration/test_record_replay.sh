# Record and replay (issue 11): a boot of the default guest plus a workload
# that reads the console, the disk, the rng and the network is recorded,
# then replayed three times, on both engines, without the host's input: the
# same console bytes and the same final state hash each time. A corrupted
# log gets one line with the position, a truncated one replays to its cut;
# a replay whose input was changed on purpose is caught at the first
# checkpoint after the change.
set -e
source "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 is needed for the host-side HTTP server"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$WORK/www"
head -c 20000 /dev/urandom | base64 > "$WORK/www/payload.txt"
want_http=$(sha256sum < "$WORK/www/payload.txt" | cut -d' ' -f1)
port=$(free_port)
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$WORK/www" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$WORK"' EXIT
wait_http "$port"
truncate -s 16M "$WORK/disk.img"
printf 'host-written-sector' | dd of="$WORK/disk.img" bs=512 seek=100 conv=notrunc 2>/dev/null

WORKLOAD="echo READY-FOR-INPUT; read line; echo \"typed: \$line\"
head -c 64 /dev/hwrng | sha256sum | cut -c1-16
dd if=/dev/vda bs=512 skip=100 count=1 2>/dev/null | head -c 19; echo
echo guest-wrote-this | dd of=/dev/vda bs=512 seek=2048 conv=sync,fsync 2>/dev/null
wget -q -O - http://10.0.2.2:$port/payload.txt | sha256sum
echo WORKLOAD-DONE"
CHECKPOINT=1000000

# record NAME ENGINE: records the workload into $WORK/NAME, typing a line
# once the guest asks for it; its console bytes in $WORK/NAME.out.
record() {
  mkfifo "$WORK/$1.in"
  set +e
  timeout -k 10 240 "$VESSEL" run --record "$WORK/$1" --record-checkpoint $CHECKPOINT \
    --engine "$2" --stats --disk "$WORK/disk.img" --net user --rng -- sh -c "$WORKLOAD" \
    <"$WORK/$1.in" >"$WORK/$1.out" 2>"$WORK/$1.err" &
  local vm=$!
  set -e
  exec 3>"$WORK/$1.in"
  wait_for_text "$WORK/$1.out" READY-FOR-INPUT 180
  echo "hello-replay" >&3
  exec 3>&-
  wait_exit $vm
  cat "$WORK/$1.out" "$WORK/$1.err" > "$WORK/out"
  expect_status 0
  expect_output "typed: hello-replay"
  expect_output "host-written-sector"
  expect_output "$want_http"
  expect_output "WORKLOAD-DONE"
  grep -q "recorded [0-9]* instructions, log [0-9]* bytes" "$WORK/$1.err" || fail "no recording summary"
}

# replay NAME ENGINE OUT: replays $WORK/NAME; console bytes in $WORK/OUT.out.
replay() {
  set +e
  timeout -k 10 240 "$VESSEL" replay "$WORK/$1" --engine "$2" </dev/null \
    >"$WORK/$3.out" 2>"$WORK/$3.err"
  STATUS=$?
  set -e
  cat "$WORK/$3.err" > "$WORK/out"
  cat "$WORK/$3.err" >> "$WORK/replays.log"
  expect_status 0
  grep -q "replay matches the recording" "$WORK/$3.err" || fail "$3: no match reported"
  cmp -s "$WORK/$1.out" "$WORK/$3.out" || fail "$3: the console bytes differ from the recording's"
  [ "$(hash_of "$WORK/$3.err")" = "$(hash_of "$WORK/$1.err")" ] || fail "$3: another state hash"
}
hash_of() { grep -o 'state hash: [0-9a-f]*' "$1"; }

record jitrec jit
[ -n "$(hash_of "$WORK/jitrec.err")" ] || fail "the recording printed no state hash"
# The replays need neither the network nor the disk: both go away.
kill $server 2>/dev/null; wait $server 2>/dev/null || true
mv "$WORK/disk.img" "$WORK/disk.img.after"
replay jitrec jit r1
replay jitrec interp r2
replay jitrec jit r3

# The other way round: recorded by the interpreter, replayed by the translator.
mv "$WORK/disk.img.after" "$WORK/disk.img"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$WORK/www" >/dev/null 2>&1 &
server=$!
wait_http "$port"
record interprec interp
kill $server 2>/dev/null; wait $server 2>/dev/null || true
replay interprec jit r4

# A corrupted log: one line with the position, status 1, before anything runs.
cp -r "$WORK/jitrec" "$WORK/bad"
size=$(stat -c %s "$WORK/jitrec/log.bin")
printf '\x5a' | dd of="$WORK/bad/log.bin" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
run_vessel replay "$WORK/bad"
expect_status 1
expect_one_error_line "$WORK/out"
expect_output "replay log .*/bad/log.bin: .*corrupted.* (at byte [0-9]*, after instruction [0-9]*)"
# Truncated (as a killed recording leaves it): replayed up to the cut, which
# it names; status 4, not a divergence (test_record_ctl.sh kills one).
cp "$WORK/jitrec/log.bin" "$WORK/bad/log.bin"
truncate -s $((size - 7)) "$WORK/bad/log.bin"
run_vessel replay "$WORK/bad"
expect_status 4
expect_output "replay stopped at instruction [0-9]*: the recording was cut there"
grep -q "diverged" "$WORK/out" && fail "the truncated log's replay reported a divergence"

# A typed byte changed on purpose: caught at the first checkpoint after it.
run_vessel replay "$WORK/jitrec" --replay-perturb console:1
expect_status 3
changed=$(grep -o 'console input #1 (at instruction [0-9]*)' "$WORK/out" | grep -o '[0-9]*)' | tr -d ')')
caught=$(grep -o 'replay diverged at instruction [0-9]*' "$WORK/out" | grep -o '[0-9]*$')
[ -n "$changed" ] && [ -n "$caught" ] || fail "the perturbed replay did not say where"
[ "$caught" -ge "$changed" ] && [ "$caught" -lt $((changed + CHECKPOINT + 32768)) ] ||
  fail "the change at instruction $changed was caught at $caught, not at the next checkpoint"
grep -q "console output\|state of uart" "$WORK/out" || fail "the divergence does not say what differs"
if [ -n "${VESSEL_TEST_VERBOSE:-}" ]; then
  cat "$WORK/jitrec.err" "$WORK/interprec.err" "$WORK/replays.log" "$WORK/out"
fi
