#!/usr/bin/env python3
"""Times reverse-stepi on `vessel replay DIR --gdb PORT` for bench/replay.sh.

usage: rsp_reverse.py PORT [COUNT]

Speaks gdb's remote protocol itself (so gdb's own overhead is not counted):
continues the replay to the end of its log (the `replaylog:end` stop), then
sends `bs` COUNT times (default 9) and measures each time from sending it to
the stop reply, then `bc` once (no breakpoints: back to the start,
`replaylog:begin`) and detaches, so the replay runs to its end and is
checked. Prints one line: `reverse-stepi ms: median M min A max B (N) at
instruction-end; reverse-continue to the start S s`."""
import socket
import statistics
import sys
import time


def packet(payload: bytes) -> bytes:
    return b"$" + payload + b"#" + (b"%02x" % (sum(payload) % 256))


class Client:
    def __init__(self, port: int):
        deadline = time.time() + 60
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=600)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def byte(self) -> bytes:
        while not self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the stub closed the connection")
            self.buf += chunk
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def reply(self) -> bytes:
        while self.byte() != b"$":
            pass
        body = b""
        while (b := self.byte()) != b"#":
            body += b
        self.byte()
        self.byte()
        return body

    def ask(self, payload: bytes) -> bytes:
        self.sock.sendall(packet(payload))
        return self.reply()


def main() -> int:
    port = int(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 9
    c = Client(port)
    c.ask(b"qSupported:swbreak+")
    c.ask(b"QStartNoAckMode")
    r = c.ask(b"c")
    if b"replaylog:end" not in r:
        print(f"rsp_reverse: continue stopped with {r!r}, not at the end of the log")
        return 1
    times = []
    for _ in range(count):
        start = time.perf_counter()
        r = c.ask(b"bs")
        times.append((time.perf_counter() - start) * 1000)
        if not r.startswith(b"T05"):
            print(f"rsp_reverse: bs answered {r!r}")
            return 1
    start = time.perf_counter()
    r = c.ask(b"bc")
    back = time.perf_counter() - start
    if b"replaylog:begin" not in r:
        print(f"rsp_reverse: bc answered {r!r}, not the start of the log")
        return 1
    c.ask(b"D")
    print(f"reverse-stepi ms: median {statistics.median(times):.1f} min {min(times):.1f} "
          f"max {max(times):.1f} ({count} at the end of the log); "
          f"reverse-continue to the start {back:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
