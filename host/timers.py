"""Timers and reminders that fire later as spoken, proactive notifications.

The responder only *requests* a timer (``TimerRequest`` in its reply); the session arms it when
the reply is actually released, so preemptive work that is thrown away leaves no timer behind.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sottovoce.host.clock import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimerRequest:
    seconds: float
    announcement: str  # what the wearer hears when it fires
    label: str = "timer"  # "timer" or "reminder"
    subject: str = ""  # what a reminder is about ("call Anne"), as the wearer asked it


@dataclass
class Timer:
    id: int
    request: TimerRequest
    due: datetime  # on the session's clock, so "how long is left" can be answered
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    # A fired timer is proactive speech (``host.proactive.Announcement``): never stale, never urgent.
    urgent = False

    @property
    def key(self) -> str:
        return f"timer-{self.id}"

    def text_now(self) -> str:
        return self.request.announcement


class TooManyTimers(RuntimeError):
    pass


class Timers:
    """Pending timers of one session; fired ones come out of ``next_fired`` in firing order."""

    def __init__(self, clock: Clock, max_pending: int = 16) -> None:
        self.clock = clock
        self.max_pending = max_pending
        self._pending: dict[int, Timer] = {}
        self._ids = itertools.count(1)
        # Bounded by construction: at most max_pending timers can be waiting to be fired.
        self._fired: asyncio.Queue[Timer] = asyncio.Queue(maxsize=max_pending)

    def pending(self) -> list[Timer]:
        return list(self._pending.values())

    def arm(self, request: TimerRequest) -> Timer:
        if len(self._pending) >= self.max_pending:
            raise TooManyTimers(f"{self.max_pending} timers are already running")
        timer = Timer(next(self._ids), request, self.clock.now() + timedelta(seconds=request.seconds))
        self._pending[timer.id] = timer
        timer.task = asyncio.get_running_loop().create_task(self._run(timer), name=f"timer-{timer.id}")
        log.info("timer %d armed: %.1f s, %r", timer.id, request.seconds, request.announcement)
        return timer

    async def _run(self, timer: Timer) -> None:
        await self.clock.sleep(timer.request.seconds)
        self._pending.pop(timer.id, None)
        self._fired.put_nowait(timer)

    async def next_fired(self) -> Timer:
        return await self._fired.get()

    def seconds_left(self, timer: Timer) -> float:
        return max(0.0, (timer.due - self.clock.now()).total_seconds())

    def cancel(self, timer_id: int) -> bool:
        """Disarm one pending timer; False if it already fired or never existed."""
        timer = self._pending.pop(timer_id, None)
        if timer is not None and timer.task:
            timer.task.cancel()
        return timer is not None

    def cancel_all(self) -> int:
        return sum(self.cancel(timer_id) for timer_id in list(self._pending))
