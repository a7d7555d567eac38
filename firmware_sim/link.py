"""Air-time model for the BLE link.

bumble's virtual link delivers a PDU the moment it is sent, so the simulator imposes what a real
radio would: packets leave only at connection events (every ``connection_interval_ms``), a limited
number per event, with optional random loss and jitter from a seeded RNG. Both directions go
through it: uplink notifications before they are handed to bumble, downlink/control writes after
bumble delivered them and before the device firmware sees them.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Generic, TypeVar

from sottovoce.firmware_sim.scenario import Link

log = logging.getLogger(__name__)

T = TypeVar("T")

# A connection event carries as many packets as fit before the next anchor; real controllers
# manage a handful of 27-251-byte PDUs in 15 ms on 1M PHY. Keeping a cap makes a burst visible
# as queueing delay instead of vanishing into one instant.
MAX_PACKETS_PER_EVENT = 6
QUEUE_CAPACITY = 256  # packets per direction; beyond this a packet is dropped and counted


@dataclass
class DirectionCounters:
    offered: int = 0
    sent: int = 0
    lost: int = 0  # random loss
    overflow: int = 0  # queue full
    discarded: int = 0  # still queued when the connection dropped
    jittered: int = 0  # held back past the next connection event by jitter
    max_queue: int = 0


class LinkDirection(Generic[T]):
    """One direction of the link, driven by explicit times (seconds) so it is testable tick by
    tick: ``offer`` a packet when it is produced, ``release`` at each connection event."""

    def __init__(self, params: Link, rng: random.Random, capacity: int = QUEUE_CAPACITY) -> None:
        self.params = params
        self.rng = rng
        self.capacity = capacity
        self.counters = DirectionCounters()
        self._queue: deque[tuple[float, T]] = deque()
        self._last_ready = float("-inf")

    def offer(self, now: float, packet: T) -> bool:
        """Queue a packet produced at ``now``; False if it was lost or did not fit."""
        c = self.counters
        c.offered += 1
        if self.params.loss and self.rng.random() < self.params.loss:
            c.lost += 1
            return False
        if len(self._queue) >= self.capacity:
            c.overflow += 1
            return False
        ready = now
        if self.params.jitter_ms:
            extra = self.rng.uniform(0.0, self.params.jitter_ms / 1000.0)
            if extra >= self.params.connection_interval_ms / 1000.0:
                c.jittered += 1
            ready += extra
        # The link layer is ordered (a retransmission delays everything behind it), so jitter
        # never lets a packet overtake the one before it.
        ready = max(ready, self._last_ready)
        self._last_ready = ready
        self._queue.append((ready, packet))
        c.max_queue = max(c.max_queue, len(self._queue))
        return True

    def release(self, event_time: float, limit: int = MAX_PACKETS_PER_EVENT) -> list[T]:
        """Packets that go out at the connection event at ``event_time``."""
        out: list[T] = []
        while self._queue and len(out) < limit and self._queue[0][0] <= event_time:
            out.append(self._queue.popleft()[1])
        self.counters.sent += len(out)
        return out

    def clear(self) -> None:
        self.counters.discarded += len(self._queue)
        self._queue.clear()
        self._last_ready = float("-inf")

    def __len__(self) -> int:
        return len(self._queue)


@dataclass
class LinkCounters:
    connection_events: int = 0
    late_events: int = 0
    connections: int = 0
    disconnects_scheduled: int = 0
    disconnects_peer: int = 0
    mtu: int = 0  # last negotiated ATT MTU


class LinkModel:
    """Both directions plus the connection-event loop that releases them."""

    def __init__(self, params: Link, seed: int = 0) -> None:
        self.params = params
        self.rng = random.Random(seed)
        self.uplink: LinkDirection[tuple[str, bytes]] = LinkDirection(params, self.rng)
        self.downlink: LinkDirection[tuple[str, bytes]] = LinkDirection(params, self.rng)
        self.counters = LinkCounters()
        self._task: asyncio.Task | None = None

    @property
    def interval(self) -> float:
        return self.params.connection_interval_ms / 1000.0

    def start(
        self,
        send_up: Callable[[str, bytes], Awaitable[None]],
        deliver_down: Callable[[str, bytes], None],
    ) -> None:
        """Begin connection events (call on connection)."""
        self.stop()
        self.counters.connections += 1
        self._task = asyncio.create_task(self._run(send_up, deliver_down), name="link-events")

    def stop(self) -> None:
        """The connection is gone: stop events and discard what was in flight."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.uplink.clear()
        self.downlink.clear()

    async def _run(
        self, send_up: Callable[[str, bytes], Awaitable[None]], deliver_down: Callable[[str, bytes], None]
    ) -> None:
        # Absolute deadlines: the interval does not drift with processing time.
        anchor = time.monotonic()
        n = 0
        while True:
            n += 1
            deadline = anchor + n * self.interval
            delay = deadline - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -self.interval:
                self.counters.late_events += 1
            self.counters.connection_events += 1
            now = time.monotonic()
            # Central -> peripheral first: in a BLE connection event the central transmits first.
            for kind, data in self.downlink.release(now):
                try:
                    deliver_down(kind, data)
                except Exception:  # firmware must survive any write
                    log.exception("downlink handler failed")
            for kind, data in self.uplink.release(now):
                try:
                    await send_up(kind, data)
                except Exception as exc:
                    log.warning("notification not sent: %s", exc)

    def snapshot(self) -> dict[str, object]:
        return {
            **asdict(self.counters),
            "uplink": asdict(self.uplink.counters),
            "downlink": asdict(self.downlink.counters),
        }
