# Measured launch and attestation: the default guest booted with --measure
# prints its launch digest, reads the same digest from its device tree, and a
# quote from `ctl attest` verifies against it; a kernel with one byte changed
# gives another digest, and its quote fails against the first one.
set -e
source "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || fail "openssl is missing (scripts/setup installs it)"

openssl genpkey -algorithm ed25519 -out "$WORK/host.pem" 2>/dev/null
openssl pkey -in "$WORK/host.pem" -pubout -out "$WORK/host.pub"
openssl genpkey -algorithm ed25519 -out "$WORK/other.pem" 2>/dev/null
openssl pkey -in "$WORK/other.pem" -pubout -out "$WORK/other.pub"

# The guest prints the 32 bytes of /chosen/vessel,launch-digest as hex, then
# waits to be attested and stopped.
GUEST='echo guest-digest=$(od -An -tx1 -v /proc/device-tree/chosen/vessel,launch-digest | tr -d " \n")
echo guest-ready; sleep 600'

printed_digest() {  # printed_digest FILE: the digest vessel --measure printed
  grep -o '^vessel: launch-digest=sha256:[0-9a-f]\{64\}' "$1" | head -1 | cut -d= -f2
}

# launch NAME KERNEL NONCE: boots the guest measured, with a key and a
# control socket; once it is up, saves its quote for NONCE in
# $WORK/NAME.quote and stops it. Output in $WORK/NAME.out (and $WORK/out),
# the digest vessel printed in $DIGEST.
launch() {
  timeout 240 "$VESSEL" run --kernel "$2" --initrd "$INITRD" --cmdline "console=ttyS0" \
    --measure --attest-key "$WORK/host.pem" --api-socket "$WORK/$1.sock" \
    -- sh -c "$GUEST" </dev/null >"$WORK/$1.out" 2>&1 &
  local pid=$!
  wait_for_text "$WORK/$1.out" guest-ready 180
  "$VESSEL" ctl "$WORK/$1.sock" attest "$3" >"$WORK/$1.quote" 2>"$WORK/ctl.err" || {
    cat "$WORK/ctl.err" "$WORK/$1.out" >"$WORK/out"
    fail "ctl attest failed on $1"
  }
  "$VESSEL" ctl "$WORK/$1.sock" quit >/dev/null 2>&1 || true
  set +e
  wait "$pid"
  local status=$?
  set -e
  cp "$WORK/$1.out" "$WORK/out"
  [ $status -eq 0 ] || fail "$1 did not stop cleanly ($status)"
  DIGEST=$(printed_digest "$WORK/$1.out")
  [ -n "$DIGEST" ] || fail "$1: no 'vessel: launch-digest=sha256:HEX' line"
}

# verify ARGS...: runs vessel verify, output in $WORK/verify, status in $STATUS.
verify() {
  set +e
  "$VESSEL" verify "$@" >"$WORK/verify" 2>&1
  STATUS=$?
  set -e
}
expect_verified() {
  verify "$@"
  cp "$WORK/verify" "$WORK/out"
  expect_status 0
  [ "$(wc -l <"$WORK/verify")" -eq 1 ] || fail "verify printed more than one line"
  grep -q 'verified: launch-digest=sha256:' "$WORK/verify" || fail "verify did not say verified"
}
expect_refused() {  # expect_refused PATTERN ARGS...
  local pattern=$1
  shift
  verify "$@"
  cp "$WORK/verify" "$WORK/out"
  [ "$STATUS" -ne 0 ] || fail "verify accepted what it should refuse ($pattern)"
  expect_one_error_line "$WORK/verify"
  grep -q -- "$pattern" "$WORK/verify" || fail "verify did not say '$pattern'"
}

# --- the original kernel ---
launch first "$KERNEL" nonce-a1b2c3
digest1=$DIGEST
# The line comes before the guest runs: before anything the kernel prints.
first_line=$(grep -n -m1 'launch-digest=' "$WORK/first.out" | cut -d: -f1)
kernel_line=$(grep -n -m1 'Linux version' "$WORK/first.out" | cut -d: -f1)
[ "$first_line" -lt "$kernel_line" ] || fail "the digest was printed after the guest started"
guest=$(tr -d '\r' <"$WORK/first.out" | grep -o '^guest-digest=[0-9a-f]*' | cut -d= -f2)
[ "sha256:$guest" = "$digest1" ] || fail "the guest read '$guest' from its device tree, vessel printed $digest1"

expect_verified "$WORK/first.quote" --expect "$digest1" --key "$WORK/host.pub" --nonce nonce-a1b2c3
expect_verified "$WORK/first.quote" --expect "$digest1" --key "$WORK/host.pub"
expect_refused 'wrong nonce' "$WORK/first.quote" --expect "$digest1" --key "$WORK/host.pub" --nonce other
expect_refused 'bad signature' "$WORK/first.quote" --expect "$digest1" --key "$WORK/other.pub"
sed 's/"nonce":"nonce-a1b2c3"/"nonce":"nonce-a1b2c4"/' "$WORK/first.quote" >"$WORK/tampered.quote"
expect_refused 'bad signature' "$WORK/tampered.quote" --expect "$digest1" --key "$WORK/host.pub"
head -c 100 "$WORK/first.quote" >"$WORK/cut.quote"
expect_refused 'not a quote' "$WORK/cut.quote" --expect "$digest1" --key "$WORK/host.pub"
expect_refused 'not a launch digest' "$WORK/first.quote" --expect sha256:1234 --key "$WORK/host.pub"

# The same launch measured again, without a socket or key (neither is
# measured) and stopped before the guest runs: the same digest.
run_vessel run --kernel "$KERNEL" --initrd "$INITRD" --cmdline "console=ttyS0" --measure \
  --max-instructions 1 -- sh -c "$GUEST"
expect_status 124
[ "$(printed_digest "$WORK/out")" = "$digest1" ] || fail "the same launch measured differently"

# --- a copy of the kernel with one byte changed (in the Image header's
# reserved field at offset 40, so it still boots) ---
cp "$KERNEL" "$WORK/Image.changed"
printf '\x01' | dd of="$WORK/Image.changed" bs=1 seek=40 conv=notrunc 2>/dev/null
cmp -s "$KERNEL" "$WORK/Image.changed" && fail "the kernel copy did not change"
launch second "$WORK/Image.changed" nonce-d4e5f6
digest2=$DIGEST
[ "$digest2" != "$digest1" ] || fail "one changed kernel byte left the digest as it was"
expect_refused 'wrong launch digest' "$WORK/second.quote" --expect "$digest1" --key "$WORK/host.pub"
expect_verified "$WORK/second.quote" --expect "$digest2" --key "$WORK/host.pub" --nonce nonce-d4e5f6

# --- options that cannot work are refused with one line ---
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/ec.pem" 2>/dev/null
refuse_run() {  # refuse_run PATTERN ARGS...
  local pattern=$1
  shift
  run_vessel run "$@"
  [ "$STATUS" -eq 1 ] || fail "expected status 1 for: $*"
  expect_one_error_line "$WORK/out"
  expect_output "$pattern"
}
refuse_run 'needs --measure' --attest-key "$WORK/host.pem" --api-socket "$WORK/x.sock"
refuse_run 'needs --api-socket' --measure --attest-key "$WORK/host.pem"
refuse_run 'not an Ed25519 key' --measure --attest-key "$WORK/ec.pem" --api-socket "$WORK/x.sock"
refuse_run 'not a PEM private key' --measure --attest-key "$WORK/host.pub" --api-socket "$WORK/x.sock"
refuse_run 'cannot open attestation key' --measure --attest-key "$WORK/missing.pem" \
  --api-socket "$WORK/x.sock"
echo "measured launch: $digest1, changed kernel: $digest2"
