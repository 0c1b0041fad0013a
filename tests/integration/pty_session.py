#!/usr/bin/env python3
"""Drive a program on a pseudo-terminal the way a person at a terminal would.

Usage: pty_session.py SCRIPT -- COMMAND ARGS...

SCRIPT holds one step a line:
  expect SECONDS TEXT   wait until TEXT has appeared in the output
  send TEXT             type TEXT followed by Enter
  keys HEX              type raw bytes (e.g. "0178" is Ctrl-a x)
  exit SECONDS STATUS   wait for the program to end with STATUS

The program is a direct child on a pty of our own (no terminal server to
start or to outlive us), so the test behaves the same on a developer's
machine and in CI. Exits 0 when every step held, 1 with the reason and the
last output otherwise.
"""
import os
import pty
import select
import signal
import struct
import sys
import termios
import fcntl
import time


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit("usage: pty_session.py SCRIPT -- COMMAND ARGS...")
    steps = [line.rstrip("\n") for line in open(sys.argv[1]) if line.strip()]
    command = sys.argv[3:]
    try:
        pid, fd = pty.fork()
    except OSError as e:
        sys.exit(f"FAIL: cannot open a pseudo-terminal: {e}")
    if pid == 0:
        os.execvp(command[0], command)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    seen = bytearray()
    status = None

    def fail(why):
        tail = seen[-3000:].decode("utf-8", "replace")
        print(f"FAIL: {why}\n--- output (last 3000 bytes) ---\n{tail}", file=sys.stderr)
        if status is None:
            os.kill(pid, signal.SIGKILL)
        sys.exit(1)

    def pump(deadline):
        """Read output until the deadline; returns False once the child is gone."""
        nonlocal status
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            ready, _, _ = select.select([fd], [], [], min(left, 0.1))
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: the child closed its terminal
                    data = b""
                if not data:
                    _, raw = os.waitpid(pid, 0)
                    status = os.waitstatus_to_exitcode(raw)
                    return False
                seen.extend(data)
                return True

    for step in steps:
        verb, _, rest = step.partition(" ")
        if verb == "expect":
            seconds, _, text = rest.partition(" ")
            deadline = time.monotonic() + float(seconds)
            start = max(0, len(seen) - len(text))
            while text.encode() not in seen[start:]:
                if time.monotonic() >= deadline:
                    fail(f"timed out after {seconds} s waiting for '{text}'")
                if not pump(deadline):
                    if text.encode() not in seen[start:]:
                        fail(f"the program ended (status {status}) before '{text}'")
            # Later expectations look only at output after this match.
            seen_mark = seen.find(text.encode(), start) + len(text)
            del seen[:seen_mark]
        elif verb == "send":
            os.write(fd, rest.encode() + b"\r")
        elif verb == "keys":
            os.write(fd, bytes.fromhex(rest))
        elif verb == "exit":
            seconds, _, want = rest.partition(" ")
            deadline = time.monotonic() + float(seconds)
            while status is None:
                if time.monotonic() >= deadline:
                    fail(f"the program did not end within {seconds} s")
                pump(deadline)
            if status != int(want):
                fail(f"expected exit status {want}, got {status}")
        else:
            sys.exit(f"pty_session.py: unknown step '{step}'")


if __name__ == "__main__":
    main()
