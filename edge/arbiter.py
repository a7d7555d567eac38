"""The turn arbiter: who holds the floor, decided from numbers alone.

Pure and clock-free: fed what the daemon observes (each uplink frame's speech and end-of-turn
probabilities with its sequence number, whether an answer is playing, the host's readings of
the words, the host and the device coming and going), it returns typed decisions that the
daemon carries out (tell the host, stop the answer, log). The same inputs always give the same
decisions, so a recording of them replays exactly (``sottovoce.edge.replay``).

It owns the end-of-turn detector (``TurnDetector`` with its policy's rules), the turn ids and
whether the host has a turn open, barge-in and backchannels, and which readings of the words
reach the detector. Speech that starts while an answer is playing is held back until it has
lasted ``barge_in_ms``: a cough or an "mm-hm" ends before that and never reaches the host, while a
real interruption stops the answer at once and opens a turn with the host.

Duck, hold, decide: the first frame that sounds like the wearer over an answer (the VAD's first
voiced frame, or sooner the onset cue on the frame's level, ``Frame.onset``) ducks it
(``Duck``), before it is known to be speech at all, let alone an interruption, so the wearer is
not talked over while the arbiter waits to be sure. Once it is speech (``SpeechDuringPlayback``:
the detector's minimum of voiced speech) the answer is held where it is: silent, its position
kept, nothing more of it played until the speech is decided. So the last sample of an answer
that is interrupted is heard at the hold, however long the words take to read, and one that is
not interrupted loses nothing. A barge-in then stops (flushes) the answer; a sound that falls
silent first (a blip, a cough, an "mm-hm") brings it back (``Restore``, which also sets a held
answer going from where it was) once the silence has lasted ``RESTORE_AFTER_MS``. That is sooner
than the backchannel is decided: the end of a turn the end-of-turn rules wait for can be more
than a second away, and the wearer should not wait that long for the answer. Should the wearer
go on, their next voiced frame ducks it again. A ``Duck`` never sets a held answer going; only a
``Restore`` or its end lets it go.

Length alone does not tell a backchannel from an interruption: a real "yes" lasts half a second,
a quick "stop" less. With ``OverlapRules`` and a host to read words, speech over an answer that
falls silent is read by the host (``AskOverlap``; its ``OverlapRead`` answers) while the answer
stays held: listening words ("yeah", "I see"), hesitations and sounds with no words bring it
back and get no turn; anything else stops it and opens a turn from its onset, as a barge-in by
length does. Speech that goes on for ``max_overlap_ms`` is an interruption whatever it says,
unless its readings so far say the wearer is listening (a drawn-out "mm-hmmm", an "okay, okay";
a reading of no words at all says nothing): then it may go on to ``max_backchannel_ms``, until
``CONTENT_READINGS`` readings in a row find content in it. A reading the host could not make
sense of (``unsure``: a murmur Whisper writes as "the", or words it doubts) is decided by length,
as without a reading: the wearer's own words said over an answer and read as doubted content
("Cole Anna." for "call Anna") must still stop it. Without a reading in time (the host slow or
gone), length decides as it does without a host. So that "stop" and "wait" do not wait for
their end, speech that has lasted ``barge_in_ms`` is read
while it goes on (again every ``REREAD_MS`` more of it, one reading at a time): a reading that
it begins with a command to stop stops the answer there; any other reading of a word cut off
half-way is no evidence either way (the first 350 ms of a real "right" reads as "Bye.", the
first 250 ms of a real "stop" as nothing) and the end is awaited.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from sottovoce.proto.codec import FRAME_MS
from sottovoce.proto.timeline import AUDIO_SEQ

from .turn import EndOfTurnPolicy, TurnDetector, TurnKind, TurnSignal, WordsReading

BARGE_IN_MS = 200  # speech needed to interrupt an answer
# Silence after a sound over an answer before the answer comes back: longer than the gaps inside
# a word, and the VAD already reports silence some 100 ms after the sound ends.
RESTORE_AFTER_MS = 200
# Backchannels ("yes", "right", "uh-huh", "I see") are over within this much speech; longer
# speech over an answer is an interruption whatever it says, and is not kept waiting for its end ...
MAX_OVERLAP_MS = 700
# ... unless what it has said so far reads as listening: a drawn-out or doubled backchannel
# ("mm-hmmm", "yeeeah", "okay, okay", "yeah, yeah, I see": 0.7-1.5 s) goes on past MAX_OVERLAP_MS, and
# stopping it there answers the backchannel. It is not let run longer: the answer stays held for it.
MAX_BACKCHANNEL_MS = 1500
# Readings in a row that find content before speech over an answer is no longer taken for listening.
# One is not enough: Whisper spells a hum differently at every length ("and the mason.", "and the
# nature.", "and the MHM."), a word now and then, while a wearer's real content reads the same
# again once more of it is heard ("What about?", "What about tomorrow?").
CONTENT_READINGS = 2
# How long the answer stays down waiting for the host's reading: its ASR of a second of audio
# takes ~150 ms on two cores, plus the link both ways.
VERDICT_WAIT_MS = 400
# Silence after speech over an answer before its words are read: the VAD reports silence some
# 100 ms after the sound ends already, and a gap inside a word taken for the end costs no more
# than a second reading.
ASK_AFTER_MS = 100
# More speech after which speech over an answer that goes on is read again: a real "stop" reads
# as nothing at 250 ms, as "Stop." at 350 ms.
REREAD_MS = 100
OVERLAP_VERDICTS = ("backchannel", "interruption", "unsure")


@dataclass(frozen=True)
class OverlapRules:
    """Speech over an answer is read by the host before it is called a backchannel or an
    interruption (see the module docstring)."""

    max_overlap_ms: int = MAX_OVERLAP_MS
    verdict_wait_ms: int = VERDICT_WAIT_MS
    max_backchannel_ms: int = MAX_BACKCHANNEL_MS  # the limit for speech read as listening so far

    def __post_init__(self) -> None:
        if self.max_overlap_ms < FRAME_MS or self.verdict_wait_ms < FRAME_MS:
            raise ValueError(f"overlap rules need at least one frame ({FRAME_MS} ms) each: {self}")
        if self.max_backchannel_ms < self.max_overlap_ms:
            raise ValueError(f"max_backchannel_ms is under max_overlap_ms: {self}")


# --- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """One uplink frame: its sequence number, the VAD's speech probability, the end-of-turn
    model's probability (None without a model) and whether its level says the wearer may have
    begun (the onset cue, ``onset.py``: it ducks an answer, nothing more)."""

    KIND: ClassVar[str] = "frame"
    seq: int
    speech: float
    end: float | None = None
    onset: bool = False


@dataclass(frozen=True)
class PlaybackState:
    """Whether an answer is playing (or about to) on the device."""

    KIND: ClassVar[str] = "playback"
    playing: bool


@dataclass(frozen=True)
class Hint:
    """The host's reading of the words of turn ``turn_id`` up to frame ``seq`` (a TurnHint)."""

    KIND: ClassVar[str] = "hint"
    turn_id: int
    seq: int
    complete: bool
    sure: bool
    question: bool = False


@dataclass(frozen=True)
class HostState:
    KIND: ClassVar[str] = "host"
    up: bool


@dataclass(frozen=True)
class DeviceLost:
    KIND: ClassVar[str] = "device_lost"


@dataclass(frozen=True)
class AnswerStarted:
    """The host announced an answer to turn ``turn_id`` (0: not an answer to a turn)."""

    KIND: ClassVar[str] = "answer_started"
    response_id: int
    turn_id: int


@dataclass(frozen=True)
class OverlapRead:
    """The host's reading of the words of overlap ``query_id``: one of OVERLAP_VERDICTS."""

    KIND: ClassVar[str] = "overlap_read"
    query_id: int
    verdict: str
    command: bool = False  # the words begin with a command to stop ("stop", "wait", "no", "hold on")
    # the host wrote something for it (words, a hum's letters, a sound's annotation); a backchannel
    # read from nothing at all is no sign of listening: a wearer under a loud echo reads so too
    words: bool = True

    def __post_init__(self) -> None:
        if self.verdict not in OVERLAP_VERDICTS:
            raise ValueError(f"overlap verdict {self.verdict!r} is not one of {OVERLAP_VERDICTS}")


Input = Frame | PlaybackState | Hint | HostState | DeviceLost | AnswerStarted | OverlapRead
INPUTS: tuple[type, ...] = (Frame, PlaybackState, Hint, HostState, DeviceLost, AnswerStarted, OverlapRead)

# --- decisions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeechStart:
    """Open turn ``turn_id`` with the host, from the onset frame ``seq``."""

    KIND: ClassVar[str] = "speech_start"
    turn_id: int
    seq: int
    barge_in: bool = False


@dataclass(frozen=True)
class TentativeEnd:
    KIND: ClassVar[str] = "tentative_end"
    turn_id: int
    seq: int
    confidence: float


@dataclass(frozen=True)
class Resumed:
    KIND: ClassVar[str] = "resumed"
    turn_id: int
    seq: int
    confidence: float


@dataclass(frozen=True)
class ConfirmedEnd:
    """The end of the host's turn, and what decided it (a rule's name)."""

    KIND: ClassVar[str] = "confirmed_end"
    turn_id: int
    seq: int
    confidence: float
    reason: str


@dataclass(frozen=True)
class Abandoned:
    """The device went away during the host's turn ``turn_id``: its audio stops at frame ``seq``,
    cut short, and the host must drop the turn rather than answer half a request."""

    KIND: ClassVar[str] = "abandoned"
    turn_id: int
    seq: int


@dataclass(frozen=True)
class SpeechLost:
    """The wearer was speaking when the device went away after frame ``seq``: they must be told
    they were not heard."""

    KIND: ClassVar[str] = "speech_lost"
    seq: int


@dataclass(frozen=True)
class SpeechDuringPlayback:
    """Speech began at ``seq`` while an answer plays: not yet known to be an interruption. Hold the
    answer where it is until it is decided (a ``BargeIn`` stops it, a ``Restore`` lets it go on)."""

    KIND: ClassVar[str] = "speech_during_playback"
    seq: int


@dataclass(frozen=True)
class BargeIn:
    """The speech that began at ``seq`` is an interruption: stop the answer (a SpeechStart with
    ``barge_in`` follows)."""

    KIND: ClassVar[str] = "barge_in"
    seq: int


@dataclass(frozen=True)
class Duck:
    """The wearer may be speaking over the answer from frame ``seq``: bring the answer down now."""

    KIND: ClassVar[str] = "duck"
    seq: int


@dataclass(frozen=True)
class Restore:
    """What ducked the answer has been silent since frame ``seq`` without becoming an interruption:
    bring the answer back, and set it going from where it was if it was held."""

    KIND: ClassVar[str] = "restore"
    seq: int


@dataclass(frozen=True)
class BackchannelIgnored:
    """Speech during an answer ended (at ``seq``) too short to be an interruption."""

    KIND: ClassVar[str] = "backchannel_ignored"
    seq: int


@dataclass(frozen=True)
class HintFiled:
    """What became of a reading of the words: ``complete`` / ``incomplete`` (passed to the
    detector), ``unsure`` (the host could not make out the words: no veto) or ``stale`` (for a
    turn or pause already over, or for audio not yet heard)."""

    KIND: ClassVar[str] = "hint_filed"
    turn_id: int
    seq: int
    verdict: str


@dataclass(frozen=True)
class AskOverlap:
    """Ask the host to read the words of frames ``first_seq``..``last_seq``, spoken over an answer."""

    KIND: ClassVar[str] = "ask_overlap"
    query_id: int
    first_seq: int
    last_seq: int


@dataclass(frozen=True)
class OverlapFiled:
    """What decided the speech over an answer asked about as ``query_id``: the host's reading
    (``backchannel`` / ``interruption``; ``command`` for a reading of speech still going on that
    begins with a command to stop, ``partial`` for any other such reading, which decides nothing),
    its length (``unsure``: the host could not tell, ``late``: no
    reading in time, ``host_down``, ``went_on``: the wearer spoke again before it
    came), or nothing (``stale``: a reading of speech already decided)."""

    KIND: ClassVar[str] = "overlap_filed"
    query_id: int
    verdict: str


@dataclass(frozen=True)
class AnswerStale:
    """The wearer has spoken again since the turn this answer is for: drop it."""

    KIND: ClassVar[str] = "answer_stale"
    response_id: int
    turn_id: int


Decision = (
    SpeechStart
    | TentativeEnd
    | Resumed
    | ConfirmedEnd
    | Abandoned
    | SpeechLost
    | SpeechDuringPlayback
    | BargeIn
    | BackchannelIgnored
    | Duck
    | Restore
    | HintFiled
    | AskOverlap
    | OverlapFiled
    | AnswerStale
)
DECISIONS: tuple[type, ...] = (SpeechStart, TentativeEnd, Resumed, ConfirmedEnd, Abandoned, SpeechLost,
                               SpeechDuringPlayback, BargeIn, BackchannelIgnored, Duck, Restore, HintFiled,
                               AskOverlap, OverlapFiled, AnswerStale)  # fmt: skip
# Every end of the wearer's speech comes out as exactly one of these: whoever runs the
# end-of-turn model starts its state afresh after it.
SPEECH_ENDS = (ConfirmedEnd, BackchannelIgnored, SpeechLost)


@dataclass
class ArbiterCounters:
    backchannels_ignored: int = 0
    barge_ins: int = 0
    ducks: int = 0  # answers brought down at the wearer's (possible) onset
    ducks_on_cue: int = 0  # ... by the onset cue, before the VAD heard speech
    restores: int = 0  # ... and brought back: it was no interruption
    stale_responses: int = 0
    hints_complete: int = 0  # the host read a turn's words as complete (and the turn was live)
    hints_incomplete: int = 0  # ... as unfinished
    hints_unsure: int = 0  # ... could not tell
    hints_stale: int = 0  # for a turn or pause already over
    turns_abandoned: int = 0  # host turns cut short by the device going away
    speech_lost: int = 0  # times the wearer was speaking when the device went away
    overlaps_asked: int = 0  # speech over an answer sent to the host to be read
    overlaps_backchannel: int = 0  # ... read as listening words or no words: the answer played on
    overlaps_interruption: int = 0  # ... read as content: the answer stopped
    overlaps_unsure: int = 0  # ... read as unsure: decided by length
    overlaps_by_length: int = 0  # ... decided by length: reading late, or the host gone
    overlap_readings_stale: int = 0  # readings for speech already decided or gone on since
    overlaps_held_longer: int = 0  # speech over an answer gone on past max_overlap_ms, read as listening so far


@dataclass
class _Query:
    """Speech over an answer, asked about and not yet decided."""

    query_id: int
    speech_ms: int  # how long it was voiced: what decides it without a reading
    frames_waited: int = 0


class TurnArbiter:
    def __init__(
        self, policy: EndOfTurnPolicy, barge_in_ms: int = BARGE_IN_MS, overlaps: OverlapRules | None = None
    ) -> None:
        """``overlaps``: have the host read speech over an answer (None: length alone decides)."""
        self.policy = policy
        self.barge_in_ms = barge_in_ms
        self.overlaps = overlaps
        self.detector = TurnDetector(policy)
        self.counters = ArbiterCounters()
        self.turn_id = 0
        self.in_host_turn = False  # the host has been told SPEECH_START for turn_id
        self.playing = False
        self.last_seq = 0  # seq of the frame the detector saw last (its frame detector.frame)
        self.pending_seq: int | None = None  # onset of speech heard while an answer plays
        self.ducked = False  # the playing answer is down (a Duck not yet undone)
        self.since_cue = 1 << 30  # frames since the last onset cue
        self.overlap_ms = 0  # voiced length of the speech at pending_seq
        self.overlap_read = False  # ... read as a backchannel: only its end is awaited
        self.overlap_end: tuple[int, int] | None = None  # (end seq, confirming frame) of the undecided speech
        self.overlap_tentative: TentativeEnd | None = None  # ... its tentative end, not yet resumed from
        self.query: _Query | None = None
        self.early_query: int | None = None  # a reading asked while the speech at pending_seq goes on
        self.early_asked_ms = 0  # ... at this much of it (0: none asked)
        self.heard_listening = False  # a reading of the speech at pending_seq found listening and no content
        self.content_run = 0  # ... the readings of it in a row, up to the last, that found content
        self.held_longer = False  # ... it went on past max_overlap_ms on the strength of them
        self.queries = 0

    def feed(self, event: Input) -> list[Decision]:
        """Any input; the decisions it leads to."""
        if isinstance(event, Frame):
            return self.frame(event)
        if isinstance(event, PlaybackState):
            self.playing = event.playing
            if not event.playing:  # the next answer starts at its full level
                self.ducked = False
            return []
        if isinstance(event, Hint):
            return self.hint(event)
        if isinstance(event, HostState):
            # a rule may wait a little for the words while a host is there to read them
            self.detector.host_reads_words = event.up
            return [] if event.up or self.query is None else self._by_length("host_down")
        if isinstance(event, OverlapRead):
            return self.overlap_read_in(event)
        if isinstance(event, DeviceLost):
            return self.device_lost()
        if isinstance(event, AnswerStarted):
            return self.answer_started(event)
        raise TypeError(f"not an arbiter input: {event!r}")

    # --- per frame ---------------------------------------------------------------------------------
    def frame(self, frame: Frame) -> list[Decision]:
        self.last_seq = frame.seq
        d = self.detector
        out: list[Decision] = []
        for signal in d.push(frame.speech, frame.end):
            out += self._on_signal(signal, frame.seq)
        if self.pending_seq is not None and d.speaking:
            self.overlap_ms = d.speech_frames * FRAME_MS
            if d.in_speech:  # the wearer goes on: a reading of what came before says nothing
                self.overlap_read = False
                if self.query is not None:
                    out.append(OverlapFiled(self.query.query_id, "went_on"))
                    self.query = None
            limit = self._overlap_limit()
            if self.overlap_ms >= limit:
                out += self._barge_in()
            elif self.overlaps is not None and self.overlap_ms >= self.overlaps.max_overlap_ms and not self.held_longer:
                self.held_longer = True
                self.counters.overlaps_held_longer += 1
            elif (
                self._undecided()
                and d.in_speech
                and self.early_query is None
                and self.overlap_ms >= max(self.barge_in_ms, self.early_asked_ms + REREAD_MS)
            ):
                out.append(self._ask(frame.seq, early=True))
        if self.query is not None:
            self.query.frames_waited += 1
            assert self.overlaps is not None
            if self.query.frames_waited * FRAME_MS >= self.overlaps.verdict_wait_ms:
                out += self._by_length("late")
        elif self._undecided() and (self.overlap_end is not None or d.silent_run * FRAME_MS >= ASK_AFTER_MS):
            out.append(self._ask(frame.seq))
        self.since_cue = 0 if frame.onset else self.since_cue + 1
        return out + self._duck_or_restore(frame.seq, frame.onset)

    def _reads_words(self) -> bool:
        """Speech over an answer waits for the host's reading of its words."""
        return self.overlaps is not None and self.detector.host_reads_words

    def _overlap_limit(self) -> int:
        """How long speech over an answer may go on before it is an interruption whatever it says:
        ``barge_in_ms`` with no words to go by; ``max_backchannel_ms`` while its readings say the
        wearer is listening (one has found only listening, and not ``CONTENT_READINGS`` in a row
        since have found content); else ``max_overlap_ms``."""
        if not self._reads_words():
            return self.barge_in_ms
        assert self.overlaps is not None
        if self.heard_listening and self.content_run < CONTENT_READINGS:
            return self.overlaps.max_backchannel_ms
        return self.overlaps.max_overlap_ms

    def _running_reading(self, verdict: str, words: bool) -> None:
        """A reading of the speech at pending_seq, for how long it may go on (``_overlap_limit``)."""
        if verdict == "backchannel":
            if words:  # nothing heard says neither
                self.heard_listening, self.content_run = True, 0
        elif verdict == "interruption":
            self.content_run += 1
        else:  # doubted words break a run of content: a hum's readings are mostly doubted
            self.content_run = 0

    def _new_overlap(self) -> None:
        """Forget the readings of the speech at pending_seq: it is decided, or new speech begins."""
        self.early_query, self.early_asked_ms = None, 0
        self.heard_listening, self.content_run, self.held_longer = False, 0, False

    def _undecided(self) -> bool:
        """Speech over an answer that the host is to read before it is decided."""
        return self.pending_seq is not None and not self.overlap_read and self._reads_words()

    def _barge_in(self) -> list[Decision]:
        onset, self.pending_seq = self.pending_seq, None
        assert onset is not None
        self.query, self.overlap_read = None, False
        self._new_overlap()
        self.overlap_tentative = None
        self.counters.barge_ins += 1
        self.ducked = False  # the answer is stopped, not brought back
        return [BargeIn(onset), self._start_host_turn(onset, barge_in=True)]

    def _ask(self, seq: int, early: bool = False) -> AskOverlap:
        assert self.pending_seq is not None
        self.queries += 1
        self.counters.overlaps_asked += 1
        if early:
            self.early_query, self.early_asked_ms = self.queries, self.overlap_ms
            return AskOverlap(self.queries, self.pending_seq, seq)
        self.query = _Query(self.queries, self.overlap_ms)
        last = self.overlap_end[0] if self.overlap_end is not None else seq
        if self.overlap_end is None and not self.detector.in_speech:
            last = AUDIO_SEQ.add(seq, -self.detector.silent_run)
        return AskOverlap(self.queries, self.pending_seq, last)

    def overlap_read_in(self, read: OverlapRead) -> list[Decision]:
        """The host's reading of speech over an answer."""
        if read.query_id == self.early_query and self.pending_seq is not None:
            self.early_query = None  # the next may be asked
            if read.command and read.verdict == "interruption" and not self.overlap_read:
                return self._decide_overlap(True, "command", read.query_id)
            self._running_reading(read.verdict, read.words)  # the next frame stops it if content ends the longer limit
            return [OverlapFiled(read.query_id, "partial")]
        if self.query is None or read.query_id != self.query.query_id:
            self.counters.overlap_readings_stale += 1
            return [OverlapFiled(read.query_id, "stale")]
        self._running_reading(read.verdict, read.words)  # should the wearer go on after it
        if read.verdict == "unsure":
            self.counters.overlaps_unsure += 1
            return self._by_length("unsure")
        return self._decide_overlap(read.verdict == "interruption", read.verdict)

    def _by_length(self, why: str) -> list[Decision]:
        """No reading to go by: the speech interrupts if it lasted ``barge_in_ms``."""
        assert self.query is not None
        self.counters.overlaps_by_length += 1
        return self._decide_overlap(self.query.speech_ms >= self.barge_in_ms, why)

    def _decide_overlap(self, interruption: bool, why: str, query_id: int | None = None) -> list[Decision]:
        """Decide the speech at pending_seq on the reading (or length) of ``query_id`` (the
        outstanding query's if None); a query still outstanding then reads nothing."""
        assert self.pending_seq is not None
        if query_id is None:
            assert self.query is not None
            query_id = self.query.query_id
        out: list[Decision] = [OverlapFiled(query_id, why)]
        self.query = None
        end, self.overlap_end = self.overlap_end, None
        if interruption:
            if why in ("interruption", "command"):
                self.counters.overlaps_interruption += 1
            tentative, self.overlap_tentative = self.overlap_tentative, None
            out += self._barge_in()
            if end is not None:  # the detector heard its end while the words were read
                self.in_host_turn = False
                out.append(ConfirmedEnd(self.turn_id, end[1], 1.0, "overlap_read"))
            elif tentative is not None:  # ... or thinks it near: the host prepares, and reads the words
                out.append(dataclasses.replace(tentative, turn_id=self.turn_id))
            return out
        if why == "backchannel":
            self.counters.overlaps_backchannel += 1
        if self.ducked:
            self.ducked = False
            self.counters.restores += 1
            silent = self.detector.silent_run
            out.append(Restore(AUDIO_SEQ.add(self.last_seq, -(silent - 1)) if silent else self.last_seq))
        self.overlap_tentative = None
        if end is None:
            self.overlap_read = True  # its end, when the detector hears it, is a backchannel's
        else:
            self.pending_seq = None
            self.counters.backchannels_ignored += 1
            out.append(BackchannelIgnored(end[0]))
        return out

    def _duck_or_restore(self, seq: int, cue: bool) -> list[Decision]:
        """Duck at the first voiced frame (or onset cue) over an answer outside the wearer's own
        turn; restore once that sound has been silent (no voice, no cue) for RESTORE_AFTER_MS
        without having become an interruption."""
        d = self.detector
        outside_turn = self.pending_seq is not None or not d.speaking
        if self.ducked and (self.query is not None or self._undecided()):
            return []  # down until the words are read
        if not self.ducked and self.playing and (d.in_speech or cue) and outside_turn:
            self.ducked = True
            self.counters.ducks += 1
            if not d.in_speech:
                self.counters.ducks_on_cue += 1
                return [Duck(seq)]
            return [Duck(AUDIO_SEQ.add(seq, -(d.voiced_run - 1)))]
        quiet = min(d.silent_run, self.since_cue)
        if self.ducked and outside_turn and quiet * FRAME_MS >= RESTORE_AFTER_MS:
            self.ducked = False
            self.counters.restores += 1
            return [Restore(AUDIO_SEQ.add(seq, -(quiet - 1)))]
        return []

    def _on_signal(self, signal: TurnSignal, seq: int) -> list[Decision]:
        onset_seq = AUDIO_SEQ.add(seq, -(self.detector.frame - signal.frame))
        if signal.kind is TurnKind.SPEECH_START:
            # speech over an answer still being read, begun again after its end: its reading is
            # of words now followed by more, so length decides it
            out: list[Decision] = self._by_length("went_on") if self.query is not None else []
            if self.playing:
                self.pending_seq, self.overlap_ms, self.overlap_read = onset_seq, 0, False
                self.overlap_tentative = None
                self._new_overlap()
                return [*out, SpeechDuringPlayback(onset_seq)]
            return [*out, self._start_host_turn(onset_seq, barge_in=False)]
        if self.pending_seq is not None:
            if signal.kind is TurnKind.TENTATIVE_END:  # the host hears of it if this becomes its turn
                self.overlap_tentative = TentativeEnd(0, seq, signal.confidence)
            elif signal.kind is TurnKind.RESUMED:
                self.overlap_tentative = None
            if signal.kind is TurnKind.CONFIRMED_END:
                if self._undecided():  # decided when the words are read
                    self.overlap_end = (onset_seq, seq)
                    return []
                self.counters.backchannels_ignored += 1  # too short to be an interruption
                self.pending_seq, self.overlap_read = None, False
                return [BackchannelIgnored(onset_seq)]
            return []
        if not self.in_host_turn:
            return []
        if signal.kind is TurnKind.TENTATIVE_END:
            return [TentativeEnd(self.turn_id, seq, signal.confidence)]
        if signal.kind is TurnKind.RESUMED:
            return [Resumed(self.turn_id, seq, signal.confidence)]
        self.in_host_turn = False
        return [ConfirmedEnd(self.turn_id, seq, signal.confidence, signal.reason)]

    def _start_host_turn(self, onset_seq: int, barge_in: bool) -> SpeechStart:
        self.turn_id += 1
        self.in_host_turn = True
        return SpeechStart(self.turn_id, onset_seq, barge_in)

    # --- the host ----------------------------------------------------------------------------------
    def hint(self, hint: Hint) -> list[Decision]:
        """The host's reading of the words up to a tentative end: the detector may confirm on it.
        Only for the live turn, and only for frames the detector has seen."""
        frames_ago = AUDIO_SEQ.forward(hint.seq, self.last_seq)
        if hint.turn_id != self.turn_id or not self.in_host_turn or frames_ago > self.detector.frame:
            self.counters.hints_stale += 1
            return [HintFiled(hint.turn_id, hint.seq, "stale")]
        if not (hint.complete or hint.sure):  # the host could not make out the words: no veto
            self.counters.hints_unsure += 1
            return [HintFiled(hint.turn_id, hint.seq, "unsure")]
        if hint.complete:
            self.counters.hints_complete += 1
        else:
            self.counters.hints_incomplete += 1
        self.detector.words_read(WordsReading(self.detector.frame - frames_ago, hint.complete, hint.question))
        return [HintFiled(hint.turn_id, hint.seq, "complete" if hint.complete else "incomplete")]

    def answer_started(self, answer: AnswerStarted) -> list[Decision]:
        if answer.turn_id and (answer.turn_id < self.turn_id or self.in_host_turn):
            # The wearer has spoken again since: this answer is to an old question.
            self.counters.stale_responses += 1
            return [AnswerStale(answer.response_id, answer.turn_id)]
        return []

    # --- the device --------------------------------------------------------------------------------
    def device_lost(self) -> list[Decision]:
        """The device went away: what the wearer was saying is lost. The host drops the open turn
        (its audio is cut short; answering it would answer half a request), and the daemon owes
        the wearer a cue. The next frames continue the same timeline, so the next turn is new."""
        out: list[Decision] = []
        if self.detector.speaking:
            self.counters.speech_lost += 1
            out.append(SpeechLost(self.last_seq))
        if self.in_host_turn:
            self.counters.turns_abandoned += 1
            out.append(Abandoned(self.turn_id, self.last_seq))
            self.in_host_turn = False
        self.pending_seq = None
        self.query, self.overlap_read, self.overlap_end, self.overlap_tentative = None, False, None, None
        self._new_overlap()
        self.ducked = False  # the device's playback is gone with it
        self.detector.reset()
        return out
