#!/usr/bin/env python3
"""A hostile, then polite, gdb remote-protocol client for test_gdb.sh.

usage: gdb_client.py PORT

Sends garbage and malformed packets to vessel's gdb stub and checks that each
gets the answer the protocol asks for (a NAK for a bad checksum, an E reply
for a malformed command, the empty reply for an unknown one), then continues
the VM, interrupts it with Ctrl-C (0x03), checks the stop reply, and detaches
so that the guest runs to its end. Exits non-zero with a line saying what
went wrong."""
import socket
import sys
import time


def checksum(payload: bytes) -> bytes:
    return b"%02x" % (sum(payload) % 256)


def packet(payload: bytes) -> bytes:
    return b"$" + payload + b"#" + checksum(payload)


class Client:
    def __init__(self, port: int):
        deadline = time.time() + 30
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.buf = b""

    def send(self, data: bytes):
        self.sock.sendall(data)

    def read_byte(self) -> bytes:
        while not self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the stub closed the connection")
            self.buf += chunk
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def expect_ack(self, want: bytes = b"+"):
        b = self.read_byte()
        if b != want:
            fail(f"expected {want!r}, got {b!r}")

    def read_packet(self) -> bytes:
        while self.read_byte() != b"$":
            pass
        body = b""
        while True:
            b = self.read_byte()
            if b == b"#":
                break
            body += b
        check = self.read_byte() + self.read_byte()
        if check != checksum(body):
            fail(f"bad checksum on reply {body!r}")
        self.send(b"+")
        return body

    def ask(self, payload: bytes) -> bytes:
        self.send(packet(payload))
        self.expect_ack()
        return self.read_packet()


def fail(message: str):
    print(f"gdb_client: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    c = Client(int(sys.argv[1]))
    # Noise between packets is ignored; a bad checksum is NAKed.
    c.send(b"garbage\x00\xff")
    c.send(b"$g#00")
    c.expect_ack(b"-")
    c.send(b"$g#zz")
    c.expect_ack(b"-")
    # Malformed commands: E replies. Unknown ones: the empty reply.
    for bad in [b"m", b"mzz,4", b"M80000000,4:xyz", b"Z2,0,0", b"p999999", b"Hg99",
                b"vCont;q", b"X80000000,ffffffff:"]:
        reply = c.ask(bad)
        if not reply.startswith(b"E"):
            fail(f"{bad!r} got {reply!r}, expected an E reply")
    if c.ask(b"qNoSuchThing") != b"":
        fail("an unknown query did not get the empty reply")
    # A bad repeat count and an escape with nothing after it: malformed.
    c.send(b"$a*\x01#" + checksum(b"a*\x01"))
    c.expect_ack()
    if not c.read_packet().startswith(b"E"):
        fail("a bad run-length count did not get an E reply")
    # A packet far over PacketSize: dropped and answered, not buffered.
    big = b"M80000000,1:" + b"0" * 70000
    c.send(b"$" + big + b"#" + checksum(big))
    c.expect_ack()
    if not c.read_packet().startswith(b"E"):
        fail("an overlong packet did not get an E reply")
    # Absurd memory reads are bounded, unmapped ones fail cleanly.
    reply = c.ask(b"mffffffffffffff00,ffffffffffffffff")
    if not reply.startswith(b"E"):
        fail(f"a read of unmapped memory got {reply!r}")
    # Still a working stub.
    if not c.ask(b"?").startswith(b"T"):
        fail("no stop reply to '?'")
    regs = c.ask(b"g")
    if len(regs) != 33 * 16:
        fail(f"'g' reply has {len(regs)} hex digits, expected {33 * 16}")
    # Continue, then Ctrl-C.
    c.send(packet(b"c"))
    c.expect_ack()
    time.sleep(1.0)
    c.send(b"\x03")
    stop = c.read_packet()
    if not stop.startswith(b"T02"):
        fail(f"Ctrl-C got {stop!r}, expected a T02 stop reply")
    print(f"gdb_client: interrupted: {stop.decode()}")
    # The VM has not gone on: the pc stays where it stopped.
    pc1 = c.ask(b"p20")
    time.sleep(0.3)
    pc2 = c.ask(b"p20")
    if pc1 != pc2:
        fail(f"the VM ran while halted: pc {pc1!r} then {pc2!r}")
    if c.ask(b"D") != b"OK":
        fail("detach not acknowledged")
    print("gdb_client: detached")


if __name__ == "__main__":
    main()
