#!/usr/bin/env python3
"""A hostile migration source: migration_sender.py HOST:PORT [options].

Speaks vessel's migration protocol (src/vm/migration_stream.hpp) over plain
TCP: sends a HELLO describing whatever VM it is told to (any memory size, any
host paths as disks, any networks), prints the destination's answer as one
line (`READY` or `ERROR <text>`) and closes the connection without sending a
single page.

Options: --mem BYTES (default 64 MiB), --cpus N, --disk PATH:SIZE (repeatable),
--net SPEC (repeatable), --kernel PATH, --version N.
"""
import argparse
import json
import socket
import struct
import sys

MAGIC = 0x474D4C4553534556  # "VESSELMG" little-endian
HELLO, READY, ERROR = 1, 5, 6
DRAM_BASE = 0x80000000


def message(kind, payload):
    return struct.pack("<IIQ", kind, 0, len(payload)) + payload


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("target")
    ap.add_argument("--mem", type=int, default=64 << 20)
    ap.add_argument("--cpus", type=int, default=1)
    ap.add_argument("--disk", action="append", default=[])
    ap.add_argument("--net", action="append", default=[])
    ap.add_argument("--kernel", default="/etc/passwd")
    ap.add_argument("--version", type=int, default=3)
    args = ap.parse_args()

    disks, identities = [], []
    for spec in args.disk:
        path, size = spec.rsplit(":", 1)
        disks.append({"path": path, "read_only": False})
        identities.append({"size": int(size), "dev": 1, "ino": 1, "mtime_ns": 0})
    config = {
        "mem_size": args.mem, "cpus": args.cpus, "bios": "", "kernel": args.kernel,
        "initrd": "", "cmdline": "console=ttyS0", "deterministic": False, "disks": disks,
        "nets": args.net, "rng": False, "virtio_console": False, "balloon": False,
        "page_sharing": False, "sharing_rate": 20000,
    }
    description = json.dumps({"config": config, "disks": identities}).encode()
    hello = struct.pack("<QIQQII", MAGIC, args.version, DRAM_BASE, args.mem, args.cpus,
                        len(description)) + description

    host, port = args.target.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(message(HELLO, hello))
        try:
            kind, _flags, length = struct.unpack("<IIQ", read_exact(sock, 16))
            payload = read_exact(sock, min(length, 4096))
        except (EOFError, ConnectionError) as e:
            print(f"CLOSED {e}")
            return 0
    if kind == READY:
        print("READY")
    elif kind == ERROR:
        print("ERROR " + payload.decode(errors="replace"))
    else:
        print(f"UNEXPECTED {kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
