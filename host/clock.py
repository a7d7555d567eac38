"""Wall clock and sleeping, behind one small interface so skills and timers can be tested
against a clock the test moves by hand instead of waiting."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import datetime, timedelta


class Clock:
    """The real clock: local time and asyncio sleeps."""

    def now(self) -> datetime:
        return datetime.now().astimezone()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock(Clock):
    """A clock that only moves when ``advance`` is called; sleepers wake in due order."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + timedelta(seconds=seconds), next(self._order), fut))
        await fut

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper that is due, and let them run."""
        for _ in range(5):  # let freshly created tasks reach their sleep() first
            await asyncio.sleep(0)
        self._now += timedelta(seconds=seconds)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)
        for _ in range(5):  # a few loop turns: woken tasks may hand results on through queues
            await asyncio.sleep(0)
