#!/usr/bin/env python3
"""A TCP proxy for fault tests: cutting_proxy.py LISTEN_PORT HOST:PORT LIMIT.

Accepts one connection on 127.0.0.1:LISTEN_PORT, connects to HOST:PORT and
forwards both ways until LIMIT bytes have gone from the client to the server,
then closes both connections at once (a network failure mid-stream).
"""
import select
import socket
import sys


def main():
    listen_port, target, limit = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    host, port = target.rsplit(":", 1)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", listen_port))
    server.listen(1)
    server.settimeout(60)
    client, _ = server.accept()
    upstream = socket.create_connection((host, int(port)), timeout=60)
    sent = 0
    while sent < limit:
        ready, _, _ = select.select([client, upstream], [], [], 60)
        if not ready:
            break
        if client in ready:
            data = client.recv(min(65536, limit - sent))
            if not data:
                break
            upstream.sendall(data)
            sent += len(data)
        if upstream in ready:
            data = upstream.recv(65536)
            if not data:
                break
            client.sendall(data)
    for s in (client, upstream):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()


if __name__ == "__main__":
    main()
