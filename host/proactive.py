"""Proactive speech: what the assistant says without being asked (a timer firing, a navigation
cue), queued until it may be said without talking over the wearer.

One rule for all of it (``may_speak``): nothing while an answer plays or the wearer holds the
floor; an urgent item (a turn a few metres ahead) may go as soon as the wearer pauses, without
waiting for the end of their turn to be confirmed. Items are asked for their words only when they
are about to be said (``Announcement.text_now``): a cue that went stale while it waited ("in 30
metres" when the turn is now behind) is dropped or says the distance as it is now. A newer item
with the same key replaces the one waiting (the next cue for the same turn).

The rule cannot see the wearer begin: the edge reports an onset a few hundred milliseconds after
it, so an item may start just as the wearer does. Such an item gives way (``gives_way``): speech
whose onset, on the audio's clock, falls before the item's first sample or within
``GIVE_WAY_MS`` of it, makes the session withdraw the item (the edge flushes it) and queue it
again (``ProactiveQueue.give_way``), to be said, in its words of then, when the floor frees.

Speech that begins over an item later stops it, as a barge-in stops an answer; the wearer has not
heard it all, and a turn cue's direction comes last. Such an item waits for the end of their turn
(``ProactiveQueue.stopped``) and is queued again after it, behind the answer, re-worded when said
(``ProactiveQueue.after_turn``), once more at most (``Again``) - unless all the wearer said was to
be quiet ("stop", "shh"): then it is dropped, as they asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from sottovoce.proto.codec import FRAME_MS
from sottovoce.proto.timeline import AUDIO_SEQ

log = logging.getLogger(__name__)

# Speech that begins this soon after an item's first sample began with it, not in reply to it:
# the item gives way. The edge reports onsets 100-300 ms late, and a wearer who talks over the
# first words of a cue has heard too little of it for it to count as said.
GIVE_WAY_MS = 300.0


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
    gave_way: int = 0  # begun, but the wearer began talking with it: withdrawn and queued again
    stopped: int = 0  # stopped by the wearer's speech before it was heard whole: waits for their turn's end
    resumed: int = 0  # stopped, then queued again after the wearer's turn
    silenced: int = 0  # stopped by a turn that only asked for quiet: dropped
    stopped_again: int = 0  # stopped a second time: dropped (said again once at most)
    dropped_full: int = 0  # the queue was full


def may_speak(urgent: bool, wearer_talking: bool, wearer_paused: bool, answer_playing: bool) -> bool:
    """Whether proactive speech may start now (the one rule, shared with the navigation bench)."""
    if answer_playing:
        return False
    if not wearer_talking:
        return True
    return urgent and wearer_paused


def gives_way(onset_after_start_ms: float, window_ms: float = GIVE_WAY_MS) -> bool:
    """Whether an item being said gives way to speech whose onset came ``onset_after_start_ms``
    after the item's first sample (negative: the wearer had begun before it)."""
    return onset_after_start_ms <= window_ms


def began_with(first_seq: int, onset_seq: int, window_ms: float = GIVE_WAY_MS) -> bool:
    """``gives_way`` on the audio's clock: speech from uplink frame ``onset_seq``, an item whose first
    sample went out while ``first_seq`` was the newest uplink frame (sequence numbers wrap)."""
    return gives_way(AUDIO_SEQ.delta(first_seq, onset_seq) * FRAME_MS, window_ms)


@dataclass(frozen=True)
class Again:
    """An item the wearer stopped, queued again after their turn: if they stop it again, it is not
    said a third time. Its key, urgency and words are the item's own."""

    item: Announcement

    @property
    def key(self) -> str:
        return self.item.key

    @property
    def urgent(self) -> bool:
        return self.item.urgent

    def text_now(self) -> str | None:
        return self.item.text_now()


def original(item: Announcement) -> Announcement:
    """The item as offered (an ``Again`` is the item it says again)."""
    return item.item if isinstance(item, Again) else item


class ProactiveQueue:
    """Bounded, in order of arrival, urgent items first when the floor frees; items the wearer
    stopped wait apart (as many as the queue holds) until their turn is over."""

    def __init__(self, max_queued: int) -> None:
        self.max_queued = max_queued
        self.counters = ProactiveCounters()
        self._items: list[Announcement] = []
        self._stopped: list[Again] = []  # stopped by the wearer, for after their turn

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
        self._requeue(item)

    def give_way(self, item: Announcement) -> None:
        """An item withdrawn as it began, the wearer talking (``gives_way``): first in line again."""
        self.counters.gave_way += 1
        self._requeue(item)

    def stopped(self, item: Announcement) -> None:
        """An item the wearer's speech stopped before they heard it whole (it began later than
        ``gives_way`` allows): it waits for ``after_turn``. One stopped before is dropped."""
        if isinstance(item, Again):
            self.counters.stopped_again += 1
            log.info("proactive %s stopped by the wearer again: dropped", item.key)
            return
        self.counters.stopped += 1
        self._stopped = [waiting for waiting in self._stopped if waiting.key != item.key]
        if len(self._stopped) >= self.max_queued:
            self.counters.dropped_full += 1
            log.warning("proactive speech dropped (queue full): %s", self._stopped.pop(0).key)
        self._stopped.append(Again(item))

    def after_turn(self, wanted_silence: bool) -> None:
        """The wearer's turn is over, its answer (if any) under way: what their speech stopped is
        first in line again, to be said once the answer has played - or, if all they asked for was
        silence, dropped. A newer item for the same key, queued meanwhile, wins."""
        stopped, self._stopped = self._stopped, []
        for item in reversed(stopped):
            if wanted_silence:
                self.counters.silenced += 1
                log.info("proactive %s dropped: the wearer asked for quiet", item.key)
            elif self._requeue(item):
                self.counters.resumed += 1
            else:
                self.counters.replaced += 1

    def _requeue(self, item: Announcement) -> bool:
        if any(queued.key == item.key for queued in self._items):
            return False
        self._items.insert(0, item)
        return True

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
