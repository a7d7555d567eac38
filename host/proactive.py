"""Proactive speech: what the assistant says without being asked (a timer firing, a navigation
cue), queued until it may be said without talking over the wearer.

One rule for all of it (``may_speak``): nothing while an answer plays or the wearer holds the
floor; an urgent item (a turn a few metres ahead) may go as soon as the wearer pauses, without
waiting for the end of their turn to be confirmed. Items are asked for their words only when they
are about to be said (``Announcement.text_now``): a cue that went stale while it waited ("in 30
metres" when the turn is now behind) is dropped or says the distance as it is now. A newer item
with the same key replaces the one waiting (the next cue for the same turn).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


class Announcement(Protocol):
    @property
    def key(self) -> str: ...  # items with the same key replace each other in the queue

    @property
    def urgent(self) -> bool: ...

    def text_now(self) -> str | None:
        """The words to say now; None when the item has gone stale and must not be said."""


@dataclass
class ProactiveCounters:
    queued: int = 0
    taken: int = 0  # to be said (less those held back)
    replaced: int = 0  # a newer item with the same key took its place
    stale: int = 0  # dropped at speaking time: no longer true
    held_back: int = 0  # taken, but the wearer began talking while it was rendered: queued again
    dropped_full: int = 0  # the queue was full


def may_speak(urgent: bool, wearer_talking: bool, wearer_paused: bool, answer_playing: bool) -> bool:
    """Whether proactive speech may start now (the one rule, shared with the navigation bench)."""
    if answer_playing:
        return False
    if not wearer_talking:
        return True
    return urgent and wearer_paused


class ProactiveQueue:
    """Bounded, in order of arrival, urgent items first when the floor frees."""

    def __init__(self, max_queued: int) -> None:
        self.max_queued = max_queued
        self.counters = ProactiveCounters()
        self._items: list[Announcement] = []

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, item: Announcement) -> bool:
        """Queue ``item``; False (counted) when the queue is full."""
        for i, queued in enumerate(self._items):
            if queued.key == item.key:
                self._items[i] = item
                self.counters.replaced += 1
                return True
        if len(self._items) >= self.max_queued:
            self.counters.dropped_full += 1
            log.warning("proactive speech dropped (queue full): %s", item.key)
            return False
        self._items.append(item)
        self.counters.queued += 1
        return True

    def put_back(self, item: Announcement) -> None:
        """An item taken but not said after all: first in line again (a newer one for its key wins)."""
        self.counters.held_back += 1
        if not any(queued.key == item.key for queued in self._items):
            self._items.insert(0, item)

    def take(self, wearer_talking: bool, wearer_paused: bool, answer_playing: bool) -> tuple[Announcement, str] | None:
        """The item to say now and its words, if one may be said; stale items met are dropped."""
        for item in sorted(self._items, key=lambda a: not a.urgent):
            if not may_speak(item.urgent, wearer_talking, wearer_paused, answer_playing):
                continue
            self._items.remove(item)
            text = item.text_now()
            if text is None:
                self.counters.stale += 1
                log.info("proactive %s dropped: stale", item.key)
                continue
            self.counters.taken += 1
            return item, text
        return None
