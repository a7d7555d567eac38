"""bumble's controller hub in a subprocess: two virtual BLE controllers on one link (shared by the BLE tests)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sottovoce.tools.demo import free_ports


@contextmanager
def controllers(timeout: float = 20.0) -> Iterator[tuple[str, str]]:
    """Yields the HCI transport URLs of the two controllers (peripheral's, central's) once both listen."""
    ports = free_ports(2)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bumble.apps.controllers", *(f"tcp-server:127.0.0.1:{p}" for p in ports)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        for port in ports:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise AssertionError(f"the controllers never listened on port {port}") from None
                    time.sleep(0.1)
        yield f"tcp-client:127.0.0.1:{ports[0]}", f"tcp-client:127.0.0.1:{ports[1]}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
