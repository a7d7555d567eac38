"""Turn-taking: when the wearer starts talking, and when they have finished.

``TurnDetector`` sees every 20 ms frame as two numbers, the VAD's speech probability and (with a
learned model) the end-of-turn probability, and says what changed: speech started, a *tentative*
end (the host may start preemptive work), a *confirmed* end (the host releases the answer), or
that the wearer resumed after a tentative end. It runs no model and reads no clock: the same
numbers always give the same signals, which is what lets a benchmark or a recording replay it.

The speech-onset logic is shared; how the end is decided is an end-of-turn policy
(``sottovoce.edge.end_rules``): an ordered list of small named rules, the first of which to
speak decides, and names the reason of a confirmed end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from sottovoce.proto.codec import FRAME_MS


class TurnKind(Enum):
    SPEECH_START = "speech_start"
    TENTATIVE_END = "tentative_end"
    CONFIRMED_END = "confirmed_end"
    RESUMED = "resumed"


@dataclass(frozen=True)
class TurnSignal:
    kind: TurnKind
    frame: int  # index of the frame that triggered it (frames since the detector started)
    confidence: float = 1.0
    speech_frames: int = 0  # voiced frames in the turn so far (for barge-in / backchannel decisions)
    reason: str = ""  # what decided a CONFIRMED_END ("silence", "model", "words", "fallback", ...)


@dataclass(frozen=True)
class WordsReading:
    """The host's reading of the turn's words up to ``through_frame`` (from a TurnHint)."""

    through_frame: int
    complete: bool  # a finished sentence, as far as the words can tell
    question: bool = False  # ... and it asks something


@dataclass(frozen=True)
class VadThresholds:
    onset: float = 0.5  # probability that counts as speech
    offset: float = 0.35  # below this a speaking wearer counts as silent (hysteresis)
    min_speech_ms: int = 60  # voiced run needed to open a turn (rejects clicks)

    @classmethod
    def releasing_at(cls, offset: float) -> VadThresholds:
        """Speech released below ``offset``; onset never below the default, so a quick release
        does not also make onsets trigger-happy."""
        return cls(onset=max(cls.onset, offset), offset=offset)


# Silero reports silence 80-200 ms after the last word: a VAD that still hears speech this long
# after a tentative end called while it was lagging means the wearer never stopped.
VAD_LAG_MS = 240


@dataclass(frozen=True)
class EndContext:
    """What an end-of-turn rule sees on one frame inside a turn."""

    frame: int
    silence_ms: int  # VAD silence so far (0 while the VAD still reports speech)
    p: float  # the end-of-turn model's probability (1.0 without a model)
    tentative: bool  # a tentative end has been announced and not withdrawn
    decided_at: int  # frame of the last end decision (tentative or confirmed)
    words: WordsReading | None  # the host's reading of the words up to the tentative end, if it has come
    host_reads_words: bool  # a host that reads the words back is listening

    @property
    def waited_ms(self) -> int:
        """Time since the tentative end (0 when none is standing)."""
        return (self.frame - self.decided_at) * FRAME_MS if self.tentative else 0


@dataclass(frozen=True)
class EndCall:
    """A rule's call on one frame: no end yet (``kind`` None), a tentative or a confirmed end."""

    kind: TurnKind | None
    reason: str = ""


NOT_YET = EndCall(None)
TENTATIVE = EndCall(TurnKind.TENTATIVE_END)


def confirmed(reason: str) -> EndCall:
    return EndCall(TurnKind.CONFIRMED_END, reason)


class EndRule(Protocol):
    """One named end-of-turn rule: a call, or None to leave the frame to the next rule."""

    name: str

    def decide(self, ctx: EndContext) -> EndCall | None: ...

    def reset(self) -> None: ...


class EndOfTurnPolicy(Protocol):
    """How a detector hears speech (``vad``) and decides the end (``rules``, in order)."""

    @property
    def vad(self) -> VadThresholds: ...

    def rules(self) -> Sequence[EndRule]: ...


class TurnDetector:
    """Per-frame state machine: IDLE -> SPEAKING -> (TENTATIVE) -> IDLE."""

    def __init__(self, policy: EndOfTurnPolicy) -> None:
        self.policy = policy
        self.vad = policy.vad
        self.rules = tuple(policy.rules())
        # Whether a host that reads the words back (TurnHints) is listening: a rule may then wait
        # a little for that reading. Set as the host comes and goes; survives reset().
        self.host_reads_words = False
        self.reset()

    def reset(self) -> None:
        self.frame = -1
        self.speaking = False  # inside a turn (from SPEECH_START to CONFIRMED_END)
        self.tentative = False
        self.voiced_run = 0
        self.silent_run = 0
        self.speech_frames = 0
        self.in_speech = False  # VAD state with hysteresis
        self.decided_at = -1  # frame of the last end decision (tentative or confirmed)
        self.reading: WordsReading | None = None  # the host's latest reading of the words
        for rule in self.rules:
            rule.reset()

    def words_read(self, reading: WordsReading) -> None:
        """The host has read the turn's words (a TurnHint). Rules that weigh the words as well as
        the sound use it; others ignore it."""
        if self.reading is None or reading.through_frame >= self.reading.through_frame:
            self.reading = reading

    def words_at_pause(self) -> WordsReading | None:
        """The host's reading of the words up to the current tentative end, if it has come."""
        if self.tentative and self.reading is not None and self.reading.through_frame >= self.decided_at:
            return self.reading
        return None

    def push(self, speech_prob: float, end_prob: float | None = None) -> list[TurnSignal]:
        """Feed one 20 ms frame's speech probability and, with a model, its end-of-turn
        probability; return what changed."""
        self.frame += 1
        confidence = 1.0 if end_prob is None else end_prob
        threshold = self.vad.offset if self.in_speech else self.vad.onset
        self.in_speech = speech_prob >= threshold
        if self.in_speech:
            self.voiced_run += 1
            self.silent_run = 0
        else:
            self.voiced_run = 0
            self.silent_run += 1

        out: list[TurnSignal] = []
        min_frames = max(1, self.vad.min_speech_ms // FRAME_MS)
        # Speech counts as (re)starting only in a voiced run that began after the last decision:
        # a rule may call the end while the VAD, which lags the last word, still says speech.
        since = self.frame - self.decided_at
        fresh_run = min_frames <= self.voiced_run <= since
        if not self.speaking:
            if fresh_run:
                self.speaking, self.speech_frames = True, self.voiced_run
                out.append(self._signal(TurnKind.SPEECH_START, onset=self.voiced_run - 1))
            return out
        if self.in_speech:
            self.speech_frames += 1
            # A tentative end called during the VAD's lag, in speech that then simply goes on,
            # would otherwise never be resumed: the host would answer the words up to it.
            talking_through = self.voiced_run > since and since * FRAME_MS >= VAD_LAG_MS
            if self.tentative and (fresh_run or talking_through):
                self.tentative = False
                out.append(self._signal(TurnKind.RESUMED))
                return out
        call = self._decide(0 if self.in_speech else self.silent_run * FRAME_MS, confidence)
        if call.kind is TurnKind.TENTATIVE_END and not self.tentative:
            self.tentative, self.decided_at = True, self.frame
            out.append(self._signal(TurnKind.TENTATIVE_END, confidence=confidence))
        elif call.kind is TurnKind.CONFIRMED_END:
            if not self.tentative:  # always announce tentative first: the host relies on it
                out.append(self._signal(TurnKind.TENTATIVE_END, confidence=confidence))
            out.append(self._signal(TurnKind.CONFIRMED_END, confidence=confidence, reason=call.reason))
            self.speaking = self.tentative = False
            self.speech_frames, self.decided_at = 0, self.frame
        return out

    def _decide(self, silence_ms: int, p: float) -> EndCall:
        ctx = EndContext(self.frame, silence_ms, p, self.tentative, self.decided_at, self.words_at_pause(),
                         self.host_reads_words)  # fmt: skip
        for rule in self.rules:
            call = rule.decide(ctx)
            if call is not None:
                return call
        return NOT_YET

    def _signal(self, kind: TurnKind, onset: int = 0, confidence: float = 1.0, reason: str = "") -> TurnSignal:
        return TurnSignal(kind, self.frame - onset, confidence, self.speech_frames, reason)
