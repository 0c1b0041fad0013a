#!/usr/bin/env python3
"""Host side of bench/net.sh: a TCP sink and source on 127.0.0.1 for `vio`.

Usage: netserver.py PORTFILE LOGFILE [SEED]

Listens on 127.0.0.1 (any free port), writes the port number to PORTFILE,
then serves connections one at a time until killed. The pattern of SEED is
made before listening (others when first asked for, inside the guest's timed
window). Each
connection starts with one line from the guest:

  send <bytes> <seed>   the guest sends <bytes> bytes of the xorshift64
                        pattern of <seed> (see pattern() in vio.c); the sink
                        compares every byte and, at EOF, answers
                        "ok <bytes>" or "bad <reason>".
  recv <bytes> <seed>   the source sends <bytes> bytes of that pattern, then
                        closes.

Every connection appends one line to LOGFILE:
  <send|recv> bytes=<n> host_seconds=<s> <ok|bad: reason>
host_seconds runs from the header line to EOF (send) or to the last byte
handed to the kernel (recv): a cross-check of the guest's clock.
"""
import os
import socket
import sys
import time

PATTERN = 64 << 10
MASK = (1 << 64) - 1


def pattern(seed):
    s = seed if seed else 0x9E3779B97F4A7C15
    out = bytearray(PATTERN)
    for i in range(0, PATTERN, 8):
        s ^= (s << 13) & MASK
        s ^= s >> 7
        s ^= (s << 17) & MASK
        out[i:i + 8] = s.to_bytes(8, "little")
    return bytes(out)


def read_line(conn):
    line = bytearray()
    while not line.endswith(b"\n"):
        c = conn.recv(1)
        if not c:
            break
        line += c
        if len(line) > 200:
            break
    return line.decode("ascii", "replace").strip()


def sink(conn, nbytes, pat):
    pat2 = pat + pat
    pos = 0
    bad = None
    start = time.monotonic()
    while True:
        chunk = conn.recv(PATTERN)
        if not chunk:
            break
        if bad is None:
            po = pos % PATTERN
            if chunk != pat2[po:po + len(chunk)]:
                bad = f"data differs from the pattern near byte {pos}"
        pos += len(chunk)
    secs = time.monotonic() - start
    if bad is None and pos != nbytes:
        bad = f"received {pos} bytes, expected {nbytes}"
    conn.sendall((f"bad {bad}\n" if bad else f"ok {pos}\n").encode())
    return pos, secs, bad


def source(conn, nbytes, pat):
    start = time.monotonic()
    view = memoryview(pat)
    left = nbytes
    while left:
        n = min(left, PATTERN)
        conn.sendall(view[:n])
        left -= n
    secs = time.monotonic() - start
    return nbytes, secs, None


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    portfile, logfile = sys.argv[1], sys.argv[2]
    patterns = {}
    if len(sys.argv) == 4:
        seed = int(sys.argv[3])
        patterns[seed] = pattern(seed)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    with open(portfile + ".tmp", "w") as f:
        f.write(f"{srv.getsockname()[1]}\n")
    os.replace(portfile + ".tmp", portfile)
    while True:
        conn, _ = srv.accept()
        with conn:
            kind, nbytes, secs, bad = "?", 0, 0.0, None
            try:
                conn.settimeout(600)
                words = read_line(conn).split()
                if len(words) != 3 or words[0] not in ("send", "recv"):
                    bad = f"bad header {' '.join(words)!r}"
                else:
                    kind, want, seed = words[0], int(words[1]), int(words[2])
                    if seed not in patterns:
                        patterns[seed] = pattern(seed)
                    fn = sink if kind == "send" else source
                    nbytes, secs, bad = fn(conn, want, patterns[seed])
            except (OSError, ValueError) as e:
                bad = f"{type(e).__name__}: {e}"
            with open(logfile, "a") as f:
                f.write(f"{kind} bytes={nbytes} host_seconds={secs:.6f} "
                        f"{'ok' if bad is None else 'bad: ' + bad}\n")


if __name__ == "__main__":
    sys.exit(main())
