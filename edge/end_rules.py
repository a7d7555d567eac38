"""End-of-turn policies, each an ordered list of small named rules.

On every frame inside a turn, a ``TurnDetector`` asks its rules in order; the first that makes a
call decides (no end yet, a tentative end, or a confirmed end with the rule's reason), and a rule
that has nothing to say leaves the frame to the next. Two policies are built from them:

- ``SilencePolicy``, the classic rule: the turn ends after a fixed stretch of silence.
- ``ModelPolicy``, the learned end-of-turn model with the VAD's silence count and, when a host
  reads the words back, the words (see its docstring for the order and why).

``TURN_POLICIES`` names them for the command line (``POLICIES`` by name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from sottovoce.edge.turn import NOT_YET, TENTATIVE, EndCall, EndContext, EndRule, VadThresholds, confirmed

if TYPE_CHECKING:
    from sottovoce.edge.turn_model import TurnModelMeta

SILENCE_CONFIRM_MS = 500
SILENCE_TENTATIVE_MS = 200


class _Stateless:
    """A rule that keeps nothing between frames."""

    name = ""

    def reset(self) -> None:
        pass


# --- the silence rule's parts ---------------------------------------------------------------------


class WhileSpeaking(_Stateless):
    """A silence rule has nothing to go on while the VAD hears speech."""

    name = "while speaking"

    def decide(self, ctx: EndContext) -> EndCall | None:
        return NOT_YET if ctx.silence_ms <= 0 else None


@dataclass
class SilenceTimeout(_Stateless):
    """Confirmed after ``confirm_ms`` of silence."""

    confirm_ms: int
    name: str = "silence"

    def decide(self, ctx: EndContext) -> EndCall | None:
        return confirmed(self.name) if ctx.silence_ms >= self.confirm_ms else None


@dataclass
class SilenceTentative(_Stateless):
    """Tentative after ``tentative_ms`` of silence."""

    tentative_ms: int
    name: str = "silence tentative"

    def decide(self, ctx: EndContext) -> EndCall | None:
        return TENTATIVE if 0 < ctx.silence_ms and ctx.silence_ms >= self.tentative_ms else None


# --- the model's parts ------------------------------------------------------------------------------


@dataclass
class Fallback(_Stateless):
    """Confirmed after ``max_silence_ms``, whatever the model says."""

    max_silence_ms: int
    name: str = "fallback"

    def decide(self, ctx: EndContext) -> EndCall | None:
        return confirmed(self.name) if ctx.silence_ms >= self.max_silence_ms else None


@dataclass
class Late(_Stateless):
    """From ``late_ms`` of silence on, confirmed once the model reaches the lower ``threshold``."""

    late_ms: int
    threshold: float
    name: str = "late"

    def decide(self, ctx: EndContext) -> EndCall | None:
        return confirmed(self.name) if ctx.silence_ms >= self.late_ms and ctx.p >= self.threshold else None


@dataclass
class TooSoon(_Stateless):
    """Before ``min_silence_ms`` of silence nothing is confirmed; a tentative end may be."""

    min_silence_ms: int
    tentative: float
    name: str = "too soon"

    def decide(self, ctx: EndContext) -> EndCall | None:
        if ctx.silence_ms >= self.min_silence_ms:
            return None
        return TENTATIVE if ctx.p >= self.tentative else NOT_YET


@dataclass
class Words(_Stateless):
    """The words of this very pause read as a complete sentence: confirmed once the model reaches
    ``hint`` (``question`` for a question)."""

    hint: float
    question: float
    name: str = "words"

    def decide(self, ctx: EndContext) -> EndCall | None:
        words = ctx.words
        if words is None or not words.complete:
            return None
        bar = self.question if words.question else self.hint
        return confirmed(self.name) if ctx.p >= bar else None


@dataclass
class WordsLate(_Stateless):
    """Complete words and ``late_ms`` of silence: confirmed at the lower ``threshold``."""

    late_ms: int
    threshold: float
    name: str = "words late"

    def decide(self, ctx: EndContext) -> EndCall | None:
        words = ctx.words
        if words is None or not words.complete:
            return None
        return confirmed(self.name) if ctx.silence_ms >= self.late_ms and ctx.p >= self.threshold else None


@dataclass
class ModelSure:
    """The model alone is sure (``confirm`` within ``decision_window_ms`` of silence). With a host
    reading the words, the end waits for them, at most ``words_wait_ms`` from the tentative end:
    complete words confirm it, unfinished ones veto it."""

    confirm: float
    decision_window_ms: int
    words_wait_ms: int
    name: str = "model"
    sure_at: int = field(default=-1, init=False)  # frame at which the model was sure of the current pause

    def reset(self) -> None:
        self.sure_at = -1

    def decide(self, ctx: EndContext) -> EndCall | None:
        held = ctx.tentative and self.sure_at >= ctx.decided_at  # sure of this pause already
        if not held and ctx.silence_ms < self.decision_window_ms and ctx.p >= self.confirm:
            self.sure_at = ctx.frame
        if not (held or self.sure_at == ctx.frame):
            return None
        # The answer is not ready sooner than the wait anyway, and unfinished words ("set a timer
        # for") veto the end.
        words = None if ctx.words is None else ctx.words.complete
        if words:
            return confirmed(Words.name)
        if words is None and (not ctx.host_reads_words or ctx.waited_ms >= self.words_wait_ms):
            return confirmed(self.name)
        return TENTATIVE


@dataclass
class Probable(_Stateless):
    """A tentative end whenever the model reaches ``tentative``."""

    tentative: float
    name: str = "probable"

    def decide(self, ctx: EndContext) -> EndCall | None:
        return TENTATIVE if ctx.p >= self.tentative else None


# --- the policies -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SilencePolicy:
    """The classic rule: the turn ends after a fixed stretch of silence."""

    NAME: ClassVar[str] = "silence"
    confirm_ms: int = SILENCE_CONFIRM_MS
    tentative_ms: int = SILENCE_TENTATIVE_MS
    vad: VadThresholds = field(default_factory=VadThresholds)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tentative_ms", min(self.tentative_ms, self.confirm_ms))

    def rules(self) -> list[EndRule]:
        return [WhileSpeaking(), SilenceTimeout(self.confirm_ms), SilenceTentative(self.tentative_ms)]


@dataclass(frozen=True)
class ModelPolicy:
    """The VAD for onset and silence, the model for whether a silence ends the turn. In order:

    - ``Fallback``: CONFIRMED_END after ``max_silence_ms``, whatever the model says;
    - ``Late``: from ``late_ms`` of silence on, CONFIRMED_END once the probability reaches the
      lower ``late_threshold`` (a turn the model finds merely likely to be over should not wait
      for the fallback);
    - ``TooSoon``: no confirmed end before ``min_silence_ms`` of VAD silence (a stop consonant is
      not an end). Silero reports silence 80-200 ms after the last word, more than the whole
      latency budget, so with ``min_silence_ms`` 0 the model may call the end while the VAD still
      says speech: the model, trained to stay low while the wearer speaks, is then the only judge;
    - ``Words``: once the host has read the words up to the tentative end as a complete sentence
      (``TurnDetector.words_read``, from a TurnHint), CONFIRMED_END as soon as the probability is
      at least ``hint`` (below ``confirm``: the words make up the difference; ``question`` if the
      words end in a question mark). Prosody alone cannot tell a finished question's rise from a
      speaker going on; the words can, and the model still vetoes the pauses in a list or a
      dictated number, whose every prefix reads complete;
    - ``WordsLate``: complete words and ``words_late_ms`` of silence confirm at the lower
      ``words_late_threshold`` (0: whatever the model says). A request whose end the model finds
      merely possible, as with a voice whose final fall it hears poorly, need not wait for the
      fallback (a pause it cuts that the wearer talks straight through, the host repairs: it
      withdraws the answer and hears the turn whole);
    - ``ModelSure``: within ``decision_window_ms`` of silence, CONFIRMED_END once the probability
      reaches ``confirm``. A short window gives a long pause few chances to be mistaken for an
      end. The words' veto: while a host that reads the words is connected, an end the model
      alone is sure of waits for the reading, up to ``words_wait_ms`` after the tentative end.
      The host needs longer than that to have the answer's first audio ready, so the wait is not
      heard; words that read unfinished ("set a timer for") cancel it. Without a reading (no
      host, an unsure transcript) the model decides alone;
    - ``Probable``: TENTATIVE_END whenever the probability reaches ``tentative`` (the host starts
      its work), before ``min_silence_ms`` too (``TooSoon`` says so), and while the lagging VAD
      still says speech: the host's ASR pass and first audio take 0.2-0.4 s from the tentative
      end, so starting them at the model's first hint of an end, not at the VAD's, is what most
      shortens the wait for the answer (and brings the host's reading of the words sooner). A
      false one costs the host wasted work.
    - ``SilenceTentative``: TENTATIVE_END after ``read_silence_ms`` of VAD silence, whatever the
      model says. On real voices the model's probability often stays low at a true end (it was
      trained on synthetic ones), so it never asks the host for the words and every such turn
      waits for the fallback; after this much silence the host reads them anyway, and ``Words``/
      ``WordsLate``/``ModelSure`` weigh the reading as above (``max_silence_ms``: never).
    The VAD's speech/silence hysteresis defaults to the model's (``vad_offset``: a quicker release
    than the generic default, since the model, not a timeout, guards against pauses). The model's
    state is cleared after each confirmed end (by whoever runs it): the next turn starts fresh, as
    in training.

    The settings come from the model's metadata (``from_meta``), which the pipeline chose on
    validation data; any of them may be overridden (the operating-point search does).
    """

    NAME: ClassVar[str] = "model"
    tentative: float
    confirm: float
    min_silence_ms: int
    decision_window_ms: int
    late_ms: int
    late_threshold: float
    hint: float
    question: float
    words_wait_ms: int
    words_late_ms: int
    words_late_threshold: float
    max_silence_ms: int
    vad: VadThresholds
    read_silence_ms: int | None = None  # None: never (max_silence_ms)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tentative", min(self.confirm, self.tentative))
        if not 0.0 <= self.confirm <= 1.0:
            raise ValueError(f"confirm threshold {self.confirm} is not within 0..1")
        if not self.min_silence_ms < self.decision_window_ms <= self.max_silence_ms:
            raise ValueError(
                f"need min_silence_ms ({self.min_silence_ms}) < decision_window_ms ({self.decision_window_ms})"
                f" <= max_silence_ms ({self.max_silence_ms})"
            )

    @classmethod
    def from_meta(cls, meta: TurnModelMeta, **overrides) -> ModelPolicy:
        """The policy the model was built with (``turn_model.json``), with ``overrides``."""
        settings = {
            "tentative": meta.tentative_threshold,
            "confirm": meta.confirm_threshold,
            "min_silence_ms": meta.min_silence_ms,
            "decision_window_ms": meta.decision_window_ms,
            "late_ms": meta.late_ms,
            "late_threshold": meta.late_threshold,
            "hint": meta.hint_threshold,
            "question": meta.question_threshold,
            "words_wait_ms": meta.words_wait_ms,
            "words_late_ms": meta.words_late_ms,
            "words_late_threshold": meta.words_late_threshold,
            "max_silence_ms": meta.max_silence_ms,
            "read_silence_ms": meta.read_silence_ms,
            "vad": VadThresholds.releasing_at(meta.vad_offset),
        }
        return cls(**{**settings, **overrides})

    def rules(self) -> list[EndRule]:
        return [
            Fallback(self.max_silence_ms),
            Late(self.late_ms, self.late_threshold),
            TooSoon(self.min_silence_ms, self.tentative),
            Words(self.hint, self.question),
            WordsLate(self.words_late_ms, self.words_late_threshold),
            ModelSure(self.confirm, self.decision_window_ms, self.words_wait_ms),
            Probable(self.tentative),
            SilenceTentative(self.max_silence_ms if self.read_silence_ms is None else self.read_silence_ms),
        ]


POLICIES: dict[str, type[SilencePolicy] | type[ModelPolicy]] = {p.NAME: p for p in (ModelPolicy, SilencePolicy)}
TURN_POLICIES = tuple(POLICIES)  # the choices of ``--turn``; the first (the learned model) is the default
