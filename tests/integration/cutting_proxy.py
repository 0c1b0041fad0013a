#!/usr/bin/env python3
"""A TCP proxy for fault tests: cutting_proxy.py LISTEN_PORT HOST:PORT LIMIT [DELAY].

Accepts one connection on 127.0.0.1:LISTEN_PORT, connects to HOST:PORT and
forwards both ways until LIMIT bytes have gone from the client to the server,
then closes both connections at once (a network failure mid-stream). With
DELAY, it first holds the connection that many seconds (a slow network);
with DELAY "until:FILE", until FILE exists (a link held exactly as long as a
test needs it, however loaded the machine). Prints "listening" once it
accepts connections and "accepted" once it has one.
"""
import os
import select
import socket
import sys
import time


def main():
    listen_port, target, limit = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    delay = sys.argv[4] if len(sys.argv) > 4 else "0"
    host, port = target.rsplit(":", 1)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", listen_port))
    server.listen(1)
    print("listening", flush=True)
    server.settimeout(60)
    client, _ = server.accept()
    upstream = socket.create_connection((host, int(port)), timeout=60)
    print("accepted", flush=True)
    if delay.startswith("until:"):
        release = delay[len("until:"):]
        deadline = time.monotonic() + 600
        while not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.01)
    else:
        time.sleep(float(delay))
    sent = 0
    # A side that closes is passed on as a close (FIN, after all it sent),
    # as a network would; only the cut resets both connections at once.
    open_ends = {client: upstream, upstream: client}
    while sent < limit and open_ends:
        ready, _, _ = select.select(list(open_ends), [], [], 60)
        if not ready:
            break
        for side in ready:
            want = min(65536, limit - sent) if side is client else 65536
            data = side.recv(want)
            other = open_ends[side]
            if not data:
                other.shutdown(socket.SHUT_WR)
                del open_ends[side]
                continue
            other.sendall(data)
            if side is client:
                sent += len(data)
            if sent >= limit:
                break
    if sent >= limit or open_ends:
        for s in (client, upstream):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    for s in (client, upstream):
        s.close()


if __name__ == "__main__":
    main()
