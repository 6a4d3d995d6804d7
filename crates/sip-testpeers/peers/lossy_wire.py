#!/usr/bin/env python3
"""A lossy wire in user space: two TUN devices, and every IP packet read from one written to
the other, except those it loses, duplicates or delays past the next one (reordering).

The kernel of the test machines has no netem, so this stands in for it. sip-testpeers'
`LossyWire` starts it, moves each TUN device into a network namespace of the test's own and
addresses them point to point: whatever the two namespaces send each other crosses this
program, SIP and RTP alike, with their addresses untouched.

    lossy_wire.py NAME_A NAME_B STATS_FILE LOSS DUPLICATE REORDER SEED

LOSS, DUPLICATE and REORDER are shares (0.1 is 10 %) applied to each direction on its own,
drawn from a generator seeded with SEED. "ready" is printed once both devices exist. The
counts of each direction are written to STATS_FILE as JSON every half second and at the end
(SIGTERM).
"""

import fcntl
import json
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
# A packet held back for reordering goes out after the next one, or after this long.
HOLD_SECONDS = 0.02


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class Direction:
    """One way along the wire, with its counts and the packet it holds back."""

    def __init__(self, name, out_fd):
        self.name = name
        self.out_fd = out_fd
        self.held = None
        self.held_since = 0.0
        self.counts = {"read": 0, "written": 0, "lost": 0, "duplicated": 0, "reordered": 0, "unwritable": 0}

    def write(self, packet):
        try:
            os.write(self.out_fd, packet)
            self.counts["written"] += 1
        except OSError:
            # The far device is not up yet (EIO): lost like on a cable not plugged in.
            self.counts["unwritable"] += 1

    def release(self):
        if self.held is not None:
            packet, self.held = self.held, None
            self.write(packet)

    def carry(self, packet, rng, loss, duplicate, reorder):
        self.counts["read"] += 1
        if rng.random() < loss:
            self.counts["lost"] += 1
            return
        if self.held is None and rng.random() < reorder:
            self.counts["reordered"] += 1
            self.held, self.held_since = packet, time.monotonic()
            return
        self.write(packet)
        self.release()
        if rng.random() < duplicate:
            self.counts["duplicated"] += 1
            self.write(packet)


def main():
    name_a, name_b, stats_file = sys.argv[1], sys.argv[2], sys.argv[3]
    loss, duplicate, reorder = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
    rng = random.Random(int(sys.argv[7]))
    fd_a, fd_b = open_tun(name_a), open_tun(name_b)
    ways = {fd_a: Direction("a_to_b", fd_b), fd_b: Direction("b_to_a", fd_a)}

    def write_stats():
        tmp = stats_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({w.name: w.counts for w in ways.values()}, f)
        os.replace(tmp, stats_file)

    running = [True]

    def stop(_signum, _frame):
        running[0] = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    last_stats = 0.0
    while running[0]:
        try:
            readable, _, _ = select.select(list(ways), [], [], HOLD_SECONDS)
        except InterruptedError:
            continue
        for fd in readable:
            try:
                packet = os.read(fd, 65536)
            except OSError:
                continue
            ways[fd].carry(packet, rng, loss, duplicate, reorder)
        now = time.monotonic()
        for way in ways.values():
            if way.held is not None and now - way.held_since >= HOLD_SECONDS:
                way.release()
        if now - last_stats >= 0.5:
            write_stats()
            last_stats = now
    write_stats()


if __name__ == "__main__":
    main()
