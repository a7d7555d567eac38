"""Translations said one after another, in the order their segments were committed, each
prepared ahead: a segment's translation (and the rendering of its first words) starts the moment
it is put, while the ones before it are still being said, so the listener does not also wait for
the translator and the voice between two segments. Used by the translation session and by
``sottovoce bench translate``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class InOrder(Generic[T, R]):
    """``translate(item)`` runs as soon as an item is put (None or "": nothing to say; it handles
    its own failures); ``say(item, prepared)`` runs for one item at a time, in order, from ``run``."""

    def __init__(
        self,
        translate: Callable[[T], Awaitable[R | None]],
        say: Callable[[T, R], Awaitable[None]],
        max_queued: int,
    ) -> None:
        self._translate = translate
        self._say = say
        self._queue: asyncio.Queue[tuple[T, asyncio.Task[R | None]] | None] = asyncio.Queue(max_queued)
        self._busy = False  # an item taken from the queue is being prepared or said

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing being said: the listener hears nothing from here now."""
        return self._queue.empty() and not self._busy

    def put(self, item: T) -> bool:
        """Queue ``item``; False when the queue is full (the item is not taken)."""
        if self._queue.full():
            return False
        task = asyncio.get_running_loop().create_task(self._translate(item), name="translate")
        self._queue.put_nowait((item, task))
        return True

    def end(self) -> None:
        """No more items: ``run`` returns once those queued are said (waits for room if full)."""
        asyncio.get_running_loop().create_task(self._queue.put(None))

    async def run(self) -> None:
        while (entry := await self._queue.get()) is not None:
            item, task = entry
            self._busy = True
            try:
                text = await task
                if text:
                    await self._say(item, text)
            finally:
                self._busy = False

    def close(self) -> None:
        """Cancel the translations still queued."""
        while not self._queue.empty():
            entry = self._queue.get_nowait()
            if entry is not None:
                entry[1].cancel()
