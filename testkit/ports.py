"""Spare ports of 127.0.0.1 for servers that the tests start on a number of their own, and for "nothing listens here".

Taken below the kernel's ephemeral range (32768 and up by default), from which every bind to port 0 and
every outgoing connection draws: none of those can take a port between the probe and the server's bind,
nor start listening on one a test counts on being closed. Each pytest-xdist worker has a stretch of its
own, handed out in turn from a random start, so that workers and test sessions side by side do not meet.
"""

from __future__ import annotations

import itertools
import os
import random
import socket

FIRST, STRETCH, STRETCHES = 12000, 2000, 10


def _candidates():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = FIRST + (int(worker) % STRETCHES if worker.isdigit() else 0) * STRETCH
    start = random.randrange(STRETCH)
    return (first + (start + step) % STRETCH for step in itertools.count())


_ports = _candidates()


def free_port() -> int:
    """The next port of this worker's stretch that nothing holds now."""
    for port in itertools.islice(_ports, STRETCH):
        if is_free(port):
            return port
    raise OSError(f"all {STRETCH} ports of this worker's stretch (from {FIRST} up) are taken")


def is_free(port: int) -> bool:
    """Whether nothing holds this port of 127.0.0.1 now."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
