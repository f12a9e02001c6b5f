#!/usr/bin/env python3
"""A hostile host on a vmrdma segment: sends frames of the vmrdma EtherType from one interface at a steady rate.

Captures the vmrdma frames it sees on the interface (both directions) and sends, in turn: a captured frame again
(replay), a captured frame with a few bytes flipped, a captured frame under a made-up source MAC and node id, and
random bytes. Prints a running count once a second. Stops on SIGTERM.
"""
import argparse
import os
import random
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interface", required=True)
    parser.add_argument("--ether-type", type=lambda v: int(v, 0), default=0x88B5)
    parser.add_argument("--rate", type=int, default=400, help="frames per second")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((args.interface, 0))
    sock.setblocking(False)
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    captured = []
    sent = {"replay": 0, "flipped": 0, "forged": 0, "random": 0}
    kinds = list(sent)
    interval = 1.0 / args.rate
    next_send = time.monotonic()
    next_report = next_send + 1
    while running[0]:
        timeout = max(0.0, next_send - time.monotonic())
        readable, _, _ = select.select([sock], [], [], timeout)
        if readable:
            try:
                frame, address = sock.recvfrom(65536)
            except BlockingIOError:
                frame = b""
            if len(frame) > 14 and struct.unpack("!H", frame[12:14])[0] == args.ether_type:
                if len(captured) < 256:
                    captured.append(frame)
                else:
                    captured[rng.randrange(256)] = frame
        now = time.monotonic()
        if now < next_send:
            continue
        next_send = now + interval
        kind = kinds[rng.randrange(4)] if captured else "random"
        if kind == "random":
            frame = (bytes(rng.randrange(256) for _ in range(6)) + bytes([2, 0, 0, 0xEE, 0, 1])
                     + struct.pack("!H", args.ether_type) + os.urandom(rng.randrange(20, 1400)))
            frame = b"\xff" * 6 + frame[6:] if rng.random() < 0.3 else frame
        else:
            frame = bytearray(rng.choice(captured))
            if kind == "flipped":
                for _ in range(rng.randrange(1, 4)):
                    at = rng.randrange(14, len(frame))
                    frame[at] ^= 1 << rng.randrange(8)
            elif kind == "forged":
                frame[6:12] = bytes([2, rng.randrange(256), rng.randrange(256), rng.randrange(256),
                                     rng.randrange(256), rng.randrange(256)])
                if len(frame) >= 14 + 8:
                    frame[14 + 4:14 + 6] = struct.pack("<H", rng.randrange(65536))  # source node id
            frame = bytes(frame)
        try:
            sock.send(frame)
            sent[kind] += 1
        except OSError:
            pass
        if now >= next_report:
            next_report = now + 1
            print("sent " + ", ".join(f"{k} {v}" for k, v in sent.items()) + f"; {len(captured)} frames captured",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
