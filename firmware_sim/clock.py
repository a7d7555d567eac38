"""The audio clock: one tick per 20 ms frame on absolute deadlines.

Deadlines are ``origin + k * 20 ms``, never "now + 20 ms", so processing time and event-loop
hiccups do not make the simulated glasses drift against real time (a complaint about real
wearables). A late tick runs at once and the ticks after it catch up back to back; late ticks
are counted, and so is the worst lateness.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sottovoce.proto.codec import FRAME_MS

TICK_S = FRAME_MS / 1000.0
LATE_S = 0.005  # a tick this far past its deadline counts as late


@dataclass
class ClockCounters:
    ticks: int = 0
    late_ticks: int = 0
    max_late_ms: float = 0.0


class AudioClock:
    def __init__(self, first_tick: int = 0) -> None:
        self.counters = ClockCounters()
        self.first_tick = first_tick
        self.origin: float | None = None  # monotonic time of tick 0

    def deadline(self, k: int) -> float:
        assert self.origin is not None
        return self.origin + k * TICK_S

    async def ticks(self) -> AsyncIterator[int]:
        """Yield tick numbers from ``first_tick`` on, each at (or as soon as possible after) its deadline."""
        self.origin = time.monotonic() - self.first_tick * TICK_S
        k = self.first_tick
        while True:
            delay = self.deadline(k) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                late = -delay
                if late > LATE_S:
                    self.counters.late_ticks += 1
                    self.counters.max_late_ms = max(self.counters.max_late_ms, late * 1000)
                await asyncio.sleep(0)  # let BLE I/O run even while catching up
            self.counters.ticks += 1
            yield k
            k += 1
