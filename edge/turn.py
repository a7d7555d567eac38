"""Turn-taking: when the wearer starts talking, and when they have finished.

A policy sees every 20 ms frame with the VAD's speech probability and says what changed:
speech started, a *tentative* end (the host may start preemptive work), a *confirmed* end (the
host releases the answer), or that the wearer resumed after a tentative end. Policies differ only
in how they decide the end; the speech-onset logic is shared.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum

import numpy as np

from sottovoce.proto.codec import FRAME_MS


class TurnKind(Enum):
    SPEECH_START = "speech_start"
    TENTATIVE_END = "tentative_end"
    CONFIRMED_END = "confirmed_end"
    RESUMED = "resumed"


@dataclass(frozen=True)
class TurnSignal:
    kind: TurnKind
    frame: int  # index of the frame that triggered it (frames since the policy started)
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


class TurnPolicy(ABC):
    """Per-frame state machine: IDLE -> SPEAKING -> (TENTATIVE) -> IDLE."""

    # Whether a host that reads the words back (TurnHints) is listening: a policy may then wait
    # a little for that reading. Set by the daemon as the host comes and goes; survives reset().
    host_reads_words = False

    def __init__(self, vad: VadThresholds | None = None) -> None:
        self.vad = vad or VadThresholds()
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
        self.end_reason = ""  # set by decide_end along with a CONFIRMED_END

    def words_read(self, reading: WordsReading) -> None:
        """The host has read the turn's words (a TurnHint). Policies that weigh the words as well
        as the sound use it; others ignore it."""
        if self.reading is None or reading.through_frame >= self.reading.through_frame:
            self.reading = reading

    def words_at_pause(self) -> WordsReading | None:
        """The host's reading of the words up to the current tentative end, if it has come."""
        if self.tentative and self.reading is not None and self.reading.through_frame >= self.decided_at:
            return self.reading
        return None

    def push(self, pcm: np.ndarray, speech_prob: float) -> list[TurnSignal]:
        """Feed one 20 ms int16 frame and its speech probability; return what changed."""
        self.frame += 1
        threshold = self.vad.offset if self.in_speech else self.vad.onset
        self.in_speech = speech_prob >= threshold
        if self.in_speech:
            self.voiced_run += 1
            self.silent_run = 0
        else:
            self.voiced_run = 0
            self.silent_run += 1
        self.observe(pcm, speech_prob)

        out: list[TurnSignal] = []
        min_frames = max(1, self.vad.min_speech_ms // FRAME_MS)
        # Speech counts as (re)starting only in a voiced run that began after the last decision:
        # a policy may call the end while the VAD, which lags the last word, still says speech.
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
        decision = self.decide_end(0 if self.in_speech else self.silent_run * FRAME_MS)
        if decision is TurnKind.TENTATIVE_END and not self.tentative:
            self.tentative, self.decided_at = True, self.frame
            out.append(self._signal(TurnKind.TENTATIVE_END, confidence=self.end_confidence()))
        elif decision is TurnKind.CONFIRMED_END:
            if not self.tentative:  # always announce tentative first: the host relies on it
                out.append(self._signal(TurnKind.TENTATIVE_END, confidence=self.end_confidence()))
            out.append(self._signal(TurnKind.CONFIRMED_END, confidence=self.end_confidence(), reason=self.end_reason))
            self.speaking = self.tentative = False
            self.speech_frames, self.decided_at = 0, self.frame
        return out

    def _signal(self, kind: TurnKind, onset: int = 0, confidence: float = 1.0, reason: str = "") -> TurnSignal:
        return TurnSignal(kind, self.frame - onset, confidence, self.speech_frames, reason)

    def observe(self, pcm: np.ndarray, speech_prob: float) -> None:  # noqa: B027 - optional hook
        """Hook for policies that look at every frame (a learned model keeps its state here)."""

    def end_confidence(self) -> float:
        return 1.0

    @abstractmethod
    def decide_end(self, silence_ms: int) -> TurnKind | None:
        """Called on each frame inside a turn with the VAD silence so far (0 while the VAD still
        reports speech): TENTATIVE_END, CONFIRMED_END (with ``end_reason`` set) or None."""


class SilenceTurnPolicy(TurnPolicy):
    """The classic rule: the turn ends after a fixed stretch of silence."""

    def __init__(self, confirm_ms: int = 500, tentative_ms: int = 200, vad: VadThresholds | None = None):
        self.confirm_ms = confirm_ms
        self.tentative_ms = min(tentative_ms, confirm_ms)
        super().__init__(vad)

    def decide_end(self, silence_ms: int) -> TurnKind | None:
        if silence_ms <= 0:  # a silence rule has nothing to go on while the VAD hears speech
            return None
        if silence_ms >= self.confirm_ms:
            self.end_reason = "silence"
            return TurnKind.CONFIRMED_END
        if silence_ms >= self.tentative_ms:
            return TurnKind.TENTATIVE_END
        return None
