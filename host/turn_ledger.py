"""The turns of one conversation, as the edge reports them: what the host should do about each.

The edge drives turns: speech starts, a *tentative* end (the host prepares the answer at once,
but holds it), RESUMED (the wearer went on: that work is thrown away), a *confirmed* end (the
answer is released). An end confirmed too soon is repaired here: speech that starts right after
it continues that turn (``LedgerConfig.continuation_gap_ms``), whose answer is taken back, and the
turn is heard again whole.

The ledger is pure and clock-free: typed inputs in, typed decisions out, all timing measured on
the audio's own clock (uplink frame numbers). The session carries the decisions out; the same
inputs always give the same decisions, so recorded conversations can be replayed against it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sottovoce.proto.codec import SAMPLE_RATE
from sottovoce.proto.timeline import AUDIO_SEQ, frames_in, ms_between


@dataclass(frozen=True)
class LedgerConfig:
    preroll_ms: int = 300  # audio kept before the edge's speech onset (VAD onsets are late)
    # A wearer who speaks again right after the end of their turn was confirmed had not finished:
    # the new words continue that turn, which is heard again whole and answered once (its answer,
    # exchange and timers are taken back). "Right after": within the longest mid-turn pause, and
    # before they can have heard enough of the answer to be replying to it.
    continuation_gap_ms: int = 1500
    continuation_react_ms: int = 600


# ---------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class AnswerProgress:
    """How far the answer to the last confirmed turn has got, as far as the host knows."""

    started_seq: int | None  # newest uplink frame when its first audio went out (None: not yet)
    heard_samples: int  # as the edge reported when its playback ended (0 until then)
    heard_whole: bool  # played to its end, not cancelled


@dataclass(frozen=True)
class SpeechStart:
    turn_id: int
    audio_seq: int
    barge_in: bool = False
    answer: AnswerProgress | None = None  # of the answer to the last confirmed turn, if there is one


@dataclass(frozen=True)
class TentativeEnd:
    turn_id: int
    audio_seq: int


@dataclass(frozen=True)
class Resumed:
    turn_id: int
    audio_seq: int


@dataclass(frozen=True)
class ConfirmedEnd:
    turn_id: int
    audio_seq: int


@dataclass(frozen=True)
class Abandoned:
    """The edge lost the turn's audio (the device went away mid-turn): nothing is to be answered."""

    turn_id: int
    audio_seq: int


TurnInput = SpeechStart | TentativeEnd | Resumed | ConfirmedEnd | Abandoned

# ---------------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class TakeBack:
    """The wearer went on: withdraw the answer to this confirmed turn, its exchange and timers."""

    turn_id: int
    by_turn: int  # the turn that continues it
    gap_ms: int  # from its confirmed end to the new speech


@dataclass(frozen=True)
class Interrupt:
    """The edge calls the new speech a barge-in: stop the answer that is still being sent."""


@dataclass(frozen=True)
class Drop:
    """Abandon an open turn that never ended (new speech started)."""

    turn_id: int


@dataclass(frozen=True)
class Open:
    """Listen to a turn whose audio starts at ``start_seq``."""

    turn_id: int
    start_seq: int


@dataclass(frozen=True)
class Prepare:
    """Hear the turn's audio up to ``end_seq`` and get its answer ready, but hold it."""

    turn_id: int
    end_seq: int


@dataclass(frozen=True)
class Discard:
    """Throw away the turn's prepared answer."""

    turn_id: int


@dataclass(frozen=True)
class Release:
    """The turn is over (its audio ends at ``end_seq``): say its prepared answer."""

    turn_id: int
    end_seq: int


@dataclass(frozen=True)
class Reject:
    """An event that does not fit the turns as they stand."""

    reason: str


Decision = TakeBack | Interrupt | Drop | Open | Prepare | Discard | Release | Reject


@dataclass
class LedgerCounters:
    turns: int = 0
    tentative_ends: int = 0
    resumed: int = 0
    confirmed: int = 0
    dropped: int = 0  # open turns abandoned for new speech
    abandoned: int = 0  # open turns whose audio the edge lost
    continued_turns: int = 0
    rejected: int = 0


@dataclass
class _Turn:
    turn_id: int
    start_seq: int
    preparing: bool = False
    end_seq: int | None = None  # audio seq of its confirmed end


class TurnLedger:
    def __init__(self, config: LedgerConfig | None = None) -> None:
        self.config = config or LedgerConfig()
        self.counters = LedgerCounters()
        self._open: _Turn | None = None
        self._last: _Turn | None = None  # the latest confirmed turn (a continuation may reopen it)

    @property
    def open_turn(self) -> int | None:
        return None if self._open is None else self._open.turn_id

    @property
    def last_confirmed(self) -> int | None:
        """The turn a continuation would reopen (None once taken back)."""
        return None if self._last is None else self._last.turn_id

    def feed(self, event: TurnInput) -> list[Decision]:
        """The decisions one event calls for, in the order they are to be carried out."""
        if isinstance(event, SpeechStart):
            return self._speech_start(event)
        turn = self._open
        if turn is None or turn.turn_id != event.turn_id:
            self.counters.rejected += 1
            return [Reject(f"{_EVENT_NAMES[type(event)]} for unknown turn {event.turn_id}")]
        if isinstance(event, TentativeEnd):
            self.counters.tentative_ends += 1
            decisions = self._discard(turn)
            turn.preparing = True
            return [*decisions, Prepare(turn.turn_id, event.audio_seq)]
        if isinstance(event, Resumed):
            self.counters.resumed += 1
            return self._discard(turn)
        if isinstance(event, Abandoned):
            # Half a question must not be answered: its words are cut, and the wearer was told so.
            self.counters.abandoned += 1
            self._open = None
            return [*self._discard(turn), Drop(turn.turn_id)]
        self.counters.confirmed += 1
        # No tentative end before (or the wearer resumed after it): prepare everything now.
        prepare: list[Decision] = [] if turn.preparing else [Prepare(turn.turn_id, event.audio_seq)]
        turn.end_seq = event.audio_seq
        self._open, self._last = None, turn
        return [*prepare, Release(turn.turn_id, event.audio_seq)]

    @staticmethod
    def _discard(turn: _Turn) -> list[Decision]:
        if not turn.preparing:
            return []
        turn.preparing = False
        return [Discard(turn.turn_id)]

    def _speech_start(self, event: SpeechStart) -> list[Decision]:
        decisions: list[Decision] = []
        continued = self._continued(event)
        if continued is not None:
            self._last = None
            self.counters.continued_turns += 1
            assert continued.end_seq is not None
            gap_ms = ms_between(continued.end_seq, event.audio_seq)
            decisions.append(TakeBack(continued.turn_id, event.turn_id, gap_ms))
        if event.barge_in:
            decisions.append(Interrupt())
        if self._open is not None:
            self.counters.dropped += 1
            decisions.append(Drop(self._open.turn_id))
        if continued is not None:
            start_seq = continued.start_seq
        else:
            start_seq = AUDIO_SEQ.add(event.audio_seq, -frames_in(self.config.preroll_ms))
        self._open = _Turn(event.turn_id, start_seq)
        self.counters.turns += 1
        decisions.append(Open(event.turn_id, start_seq))
        return decisions

    def _continued(self, event: SpeechStart) -> _Turn | None:
        """The confirmed turn this speech goes on from, if it starts right after it."""
        last, cfg = self._last, self.config
        if last is None or last.end_seq is None or self._open is not None:
            return None
        if ms_between(last.end_seq, event.audio_seq) > cfg.continuation_gap_ms:
            return None
        answer = event.answer
        if answer is not None and answer.heard_whole:
            return None
        if answer is not None and answer.started_seq is not None:
            # The uplink runs in real time while the answer plays; the edge may also have said
            # how much was heard already (a playback that ended before this speech began). Not
            # when this very speech stopped the answer (a barge-in): the edge then reports all it
            # played up to the stop, ducked under the wearer's voice and while the host read
            # their words, and what they heard after they went on cannot be what they reply to;
            # counting it made a wearer who simply finished their sentence over an early answer
            # start a turn of their own, heard and answered without its first part.
            heard_ms = ms_between(answer.started_seq, event.audio_seq)
            if not event.barge_in:
                heard_ms = max(heard_ms, answer.heard_samples * 1000 // SAMPLE_RATE)
            if heard_ms > cfg.continuation_react_ms:
                return None
        return last


_EVENT_NAMES = {
    TentativeEnd: "TENTATIVE_END",
    Resumed: "RESUMED",
    ConfirmedEnd: "CONFIRMED_END",
    Abandoned: "ABANDONED",
}
