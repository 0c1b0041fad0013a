#!/bin/bash
# Runs a command and passes iff it exits with status CODE and (if REGEX is
# not empty) its output (stdout+stderr) matches the extended regex REGEX.
# Usage: expect-exit.sh CODE REGEX COMMAND [ARGS...]
set -u
if [[ $# -lt 3 ]]; then
  echo "usage: $0 CODE REGEX COMMAND [ARGS...]" >&2
  exit 2
fi
want=$1 regex=$2
shift 2
out=$("$@" 2>&1 </dev/null)
status=$?
printf '%s\n' "$out"
if [[ $status -ne $want ]]; then
  echo "expect-exit: exit status $status, expected $want" >&2
  exit 1
fi
if [[ -n $regex ]] && ! grep -Eq -- "$regex" <<<"$out"; then
  echo "expect-exit: output does not match /$regex/" >&2
  exit 1
fi
exit 0
