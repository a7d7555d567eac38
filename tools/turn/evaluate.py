"""Scoring turn policies on labelled turns: the definitions behind ``sottovoce bench turn``.

Every policy sees the same frames: the Opus-decoded audio of each turn and, per 20 ms frame,
the Silero VAD's speech probability. A decision made on frame ``f`` happens at the end of that
frame, ``(f + 1) * 20 ms``. Ground truth comes from the corpus: where each spoken chunk starts
and ends (before noise and Opus).

- **False cut-off**: the policy confirms the end of the turn during a mid-turn pause (from the
  pause's start until 100 ms after speech resumes, allowing for the VAD's lag), or at any other
  moment before the wearer's last word has ended. Rate = false cut-offs / mid-turn pauses.
- **Decision latency**: on the true end of each turn, time from the end of the last word to the
  first confirmed end at or after it (``inf`` if the policy never confirms).
- **At a 300 ms budget**: a false cut-off counts only if it came within 300 ms of the start of
  its pause (the question a policy answers when it must commit 300 ms into any silence);
  ``ends_within_budget`` is the share of true ends confirmed within 300 ms.
- **Answer latency** (estimated): what the wearer waits for the first sound of the answer. The
  host starts its work (final ASR pass, reply, first TTS sentence) at the tentative end that the
  confirmed end follows and plays once both are done: ``max(confirmed, tentative + prep)`` minus
  the end of the last word, with ``prep`` the host's measured time (ANSWER_PREP_MS). A policy
  that decides sooner than the host can answer gains nothing audible.
- **Repaired** cut-offs: those the host undoes (``LedgerConfig.continuation_gap_ms`` and
  ``continuation_react_ms``): the wearer resumes within the gap of the confirmed end and before
  hearing that much of the answer (taken to start at the answer latency above), so their turn is
  heard whole and answered once; they cost the wearer the start of a withdrawn answer, not their
  request. Only cut-offs in a pause count; the false cut-off rate counts them all.
- **Recovered words**: for each turn the host repairs, replayed through the host's own turn
  ledger (``host.turn_ledger``): the share of the turn's words inside the span the ledger
  finally answers, each spoken chunk's words counted by the ASR pass over that chunk. The answer
  counts as started at the answer latency above, and the wearer is taken to have heard none of
  it when they go on.
- **At 5 % false cut-offs**: the model's confirm threshold is swept, and the operating point is
  the one with the lowest median latency among those with a false cut-off rate <= 5 %. A fixed
  silence rule has no knob: its latency counts only if its own false cut-off rate is <= 5 %.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from sottovoce.edge.end_rules import ModelPolicy
from sottovoce.edge.features import batch_features
from sottovoce.edge.turn import EndOfTurnPolicy, TurnDetector, TurnKind, TurnSignal, WordsReading
from sottovoce.edge.turn_model import TurnModel
from sottovoce.edge.vad import SileroVad, Vad
from sottovoce.host import completeness
from sottovoce.host.asr import AsrResult
from sottovoce.host.turn_ledger import (
    AnswerProgress,
    ConfirmedEnd,
    LedgerConfig,
    Open,
    Release,
    Resumed,
    SpeechStart,
    TakeBack,
    TentativeEnd,
    TurnInput,
    TurnLedger,
)
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE, frames_of
from sottovoce.tools.turn.corpus import FINAL_SILENCE_MS, Turn

_HOST = LedgerConfig()  # the host's continuation rule, which decides what counts as repaired
UNREPAIRED = (
    f"the wearer resumes only after hearing {_HOST.continuation_react_ms / 1000:g} s of the answer or "
    f"{_HOST.continuation_gap_ms / 1000:g} s after the end"
)

RESUME_SLACK = 1600  # samples (100 ms): a decision this soon after speech resumes is still the pause's
BUDGET_S = 0.3
MAX_FALSE_CUTOFF = 0.05
# The host's time from a tentative end to the answer's first audio being ready, when nothing
# else holds it up: 356-449 ms (median 391) in `sottovoce demo` on this 2-core machine (tiny.en
# final pass ~190 ms, then the reply's first Piper sentence).
ANSWER_PREP_MS = 400


class End(NamedTuple):
    """A confirmed end and the tentative end announcing it (the same frame if decided at once)."""

    tentative: int
    confirmed: int


@dataclass
class Episode:
    """One turn prepared for replay: its frames, VAD probabilities and raw features."""

    turn: Turn
    frames: list[np.ndarray]
    vad: np.ndarray
    features: np.ndarray
    _probabilities: dict[tuple[str, int], np.ndarray] = field(default_factory=dict, repr=False)

    def model_probabilities(self, model: TurnModel, start: int) -> np.ndarray:
        """The model's output for each frame from ``start`` on, its state fresh at ``start``.

        Cached: the output depends only on the audio and on where the state was last cleared (the
        policy clears it after each confirmed end), so a threshold sweep replays the model once
        per distinct clearing point instead of once per threshold."""
        key = (model.meta.sha256, start)
        if key not in self._probabilities:
            model.reset()
            steps = [model.step_features(x) for x in self.features[start:]]
            self._probabilities[key] = np.asarray(steps, dtype=np.float32)
        return self._probabilities[key]


def prepare(turns: Sequence[Turn], vad: Vad | None = None) -> list[Episode]:
    vad = vad or SileroVad()
    episodes = []
    for turn in turns:
        vad.reset()
        frames = frames_of(turn.pcm)
        probs = np.array([vad.process(f) for f in frames], dtype=np.float32)
        episodes.append(Episode(turn, frames, probs, batch_features(turn.pcm)))
    return episodes


def _mean_wait(seconds: np.ndarray) -> float:
    """Mean wait, a turn never confirmed counting as the corpus's whole final silence."""
    return float(np.mean(np.minimum(seconds, FINAL_SILENCE_MS / 1000)))


@dataclass
class Outcome:
    pauses: int
    cutoffs: int  # pauses cut + early ends while speaking
    repaired: int  # ... of which the host's continuation rule undoes (see the module docstring)
    cutoffs_in_budget: int
    early_in_speech: int
    latencies: np.ndarray  # seconds, one per turn (inf = never confirmed)
    answer_latencies: np.ndarray  # seconds, one per turn: the estimated answer latency (see above)

    @property
    def false_cutoff_rate(self) -> float:
        return self.cutoffs / max(1, self.pauses)

    @property
    def unrepaired_cutoff_rate(self) -> float:
        return (self.cutoffs - self.repaired) / max(1, self.pauses)

    @property
    def false_cutoff_at_budget(self) -> float:
        return self.cutoffs_in_budget / max(1, self.pauses)

    @property
    def median_latency_s(self) -> float:
        return float(np.median(self.latencies))

    @property
    def mean_latency_s(self) -> float:
        return _mean_wait(self.latencies)

    @property
    def median_answer_s(self) -> float:
        return float(np.median(self.answer_latencies))

    @property
    def mean_answer_s(self) -> float:
        return _mean_wait(self.answer_latencies)

    @property
    def ends_within_budget(self) -> float:
        return float(np.mean(self.latencies <= BUDGET_S + 1e-9))


class HostReading:
    """The host's side of a TurnHint, replayed: on a tentative end, the real final ASR pass over
    the audio so far and the completeness judgement of its words (with ``end_of_utterance``, the
    language model's probability that they end the message, as the host reads them); a sure
    reading (complete or not) reaches the policy after the measured recognition and reading time
    (or a fixed ``delay_ms``, for repeatable replays) plus one frame for the round trip. Readings
    are cached per (turn, frame), so replaying several policies costs one ASR pass per distinct
    tentative end."""

    def __init__(
        self,
        transcribe: Callable[[np.ndarray], AsrResult],
        delay_ms: int | None = None,
        end_of_utterance: Callable[[str], float] | None = None,
    ) -> None:
        self.transcribe = transcribe
        self.delay_ms = delay_ms
        self.end_of_utterance = end_of_utterance
        self._cache: dict[tuple[int, int], tuple[int, WordsReading | None]] = {}
        self.decode_s: list[float] = []
        self.read_s: list[float] = []  # the language model's time per reading

    def read(self, episode: Episode, frame: int) -> tuple[int, WordsReading | None]:
        """(frame at which the reading arrives, the reading; None if the host is unsure)."""
        key = (id(episode.turn), frame)
        if key not in self._cache:
            result = self.transcribe(episode.turn.pcm[: (frame + 1) * FRAME_SAMPLES])
            self.decode_s.append(result.decode_s)
            p, seconds = None, result.decode_s
            if self.end_of_utterance is not None and result.text:
                t0 = time.perf_counter()
                p = self.end_of_utterance(result.text)
                self.read_s.append(time.perf_counter() - t0)
                seconds += self.read_s[-1]
            verdict = completeness.judge_result(result, p)
            seconds = seconds if self.delay_ms is None else self.delay_ms / 1000
            delay = math.ceil(seconds * SAMPLE_RATE / FRAME_SAMPLES) + 1
            reading = WordsReading(frame, verdict.complete, verdict.question) if verdict.sure else None
            self._cache[key] = (frame + delay, reading)
        return self._cache[key]


def replay_signals(
    policy: EndOfTurnPolicy,
    episode: Episode,
    host: HostReading | None = None,
    model: TurnModel | None = None,
    live: bool = False,
) -> Iterator[TurnSignal]:
    """Every signal of a detector running ``policy`` over the whole episode (with the host's
    readings of the words after each tentative end, if ``host`` is given). With ``model``, each
    frame's end-of-turn probability is the model's, its state cleared after each confirmed end as
    on the edge: read from the episode's cached outputs, or with ``live`` computed by the model
    from the audio (as on the edge, features included)."""
    detector = TurnDetector(policy)
    detector.host_reads_words = host is not None
    if live and model is not None:
        model.reset_all()
    cleared_at = 0  # the frame from which the model's state is fresh
    due: dict[int, WordsReading] = {}  # arrival frame -> reading
    for i, (frame, p) in enumerate(zip(episode.frames, episode.vad, strict=True)):
        if i in due:
            detector.words_read(due.pop(i))
        end = None
        if model is not None:
            end = model.step(frame) if live else float(episode.model_probabilities(model, cleared_at)[i - cleared_at])
        for signal in detector.push(float(p), end):
            if signal.kind is TurnKind.CONFIRMED_END:
                cleared_at = i + 1
                if live and model is not None:
                    model.reset()
            elif signal.kind is TurnKind.TENTATIVE_END and host is not None:
                arrival, reading = host.read(episode, signal.frame)
                if reading is not None:
                    due[max(arrival, i + 1)] = reading
            yield signal


def confirmed_ends(
    policy: EndOfTurnPolicy,
    episode: Episode,
    host: HostReading | None = None,
    model: TurnModel | None = None,
    live: bool = False,
) -> list[End]:
    """The ends ``policy`` confirmed over the whole episode (see ``replay_signals``)."""
    ends: list[End] = []
    tentative = -1
    for signal in replay_signals(policy, episode, host, model, live):
        if signal.kind is TurnKind.CONFIRMED_END:
            ends.append(End(tentative, signal.frame))
        elif signal.kind is TurnKind.TENTATIVE_END:
            tentative = signal.frame
    return ends


def score(episodes: Sequence[Episode], ends_per_episode: Sequence[list[End]]) -> Outcome:
    pauses = cutoffs = in_budget = in_speech = repaired = 0
    latencies, answers = [], []
    prep = ANSWER_PREP_MS * SAMPLE_RATE // 1000
    gap, react = (ms * SAMPLE_RATE // 1000 for ms in (_HOST.continuation_gap_ms, _HOST.continuation_react_ms))
    for episode, ends in zip(episodes, ends_per_episode, strict=True):
        turn = episode.turn
        windows = turn.pauses()
        pauses += len(windows)
        cut = [False] * len(windows)
        latency = answer = np.inf
        for end in ends:
            t = (end.confirmed + 1) * FRAME_SAMPLES
            answer_at = max(t, (end.tentative + 1) * FRAME_SAMPLES + prep)  # the answer's first sound
            if t >= turn.speech_end:
                latency = (t - turn.speech_end) / SAMPLE_RATE
                answer = (answer_at - turn.speech_end) / SAMPLE_RATE
                break
            hit = next((k for k, (s, e) in enumerate(windows) if s <= t < e + RESUME_SLACK), None)
            if hit is None:
                in_speech += 1
                cutoffs += 1
                in_budget += 1  # an end called mid-word is within any budget
            elif not cut[hit]:
                cut[hit] = True
                cutoffs += 1
                in_budget += (t - windows[hit][0]) / SAMPLE_RATE <= BUDGET_S
                resume = windows[hit][1]
                repaired += resume - t <= gap and resume - answer_at <= react
        latencies.append(latency)
        answers.append(answer)
    return Outcome(pauses, cutoffs, repaired, in_budget, in_speech, np.asarray(latencies), np.asarray(answers))


def evaluate(
    policy: EndOfTurnPolicy,
    episodes: Sequence[Episode],
    host: HostReading | None = None,
    model: TurnModel | None = None,
) -> Outcome:
    return score(episodes, [confirmed_ends(policy, e, host, model) for e in episodes])


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def answered_spans(episode: Episode, signals: Sequence[TurnSignal]) -> list[tuple[int, int, bool]]:
    """The spans the host's turn ledger answers, as [first, last] frames, and whether each is a
    turn it repaired (one the wearer went on from): the episode's turn signals fed to the ledger
    as the session feeds them, frame numbers as the audio clock."""
    ledger = TurnLedger(_HOST)
    prep = math.ceil(ANSWER_PREP_MS / (1000 * FRAME_SAMPLES / SAMPLE_RATE))
    turn_id, answer_at, tentative = 0, None, -1
    starts: dict[int, int] = {}
    continued: set[int] = set()
    spans = []
    for signal in signals:
        event: TurnInput
        if signal.kind is TurnKind.SPEECH_START:
            turn_id += 1
            started = answer_at if answer_at is not None and answer_at <= signal.frame else None
            progress = None if answer_at is None else AnswerProgress(started, 0, False)
            event = SpeechStart(turn_id, signal.frame, answer=progress)
        elif signal.kind is TurnKind.TENTATIVE_END:
            tentative, event = signal.frame, TentativeEnd(turn_id, signal.frame)
        elif signal.kind is TurnKind.RESUMED:
            event = Resumed(turn_id, signal.frame)
        else:
            answer_at = max(signal.frame, tentative + prep)
            event = ConfirmedEnd(turn_id, signal.frame)
        for decision in ledger.feed(event):
            if isinstance(decision, TakeBack):
                continued.add(decision.by_turn)
            elif isinstance(decision, Open):
                starts[decision.turn_id] = decision.start_seq
            elif isinstance(decision, Release):
                spans.append((max(0, starts[decision.turn_id]), decision.end_seq, decision.turn_id in continued))
    return spans


@dataclass
class Recovery:
    """What the repaired turns kept of their words (see the module docstring)."""

    recalls: list[float]  # one per repaired turn
    split_turns: int  # turns answered in parts, a cut the ledger did not repair

    @property
    def turns(self) -> int:
        return len(self.recalls)

    @property
    def mean_recall(self) -> float:
        return float(np.mean(self.recalls)) if self.recalls else math.nan

    @property
    def min_recall(self) -> float:
        return float(np.min(self.recalls)) if self.recalls else math.nan


def recovered_words(
    policy: EndOfTurnPolicy,
    episodes: Sequence[Episode],
    transcribe: Callable[[np.ndarray], AsrResult],
    host: HostReading | None = None,
    model: TurnModel | None = None,
) -> Recovery:
    """The words each turn the ledger repairs keeps, against the turn heard whole."""
    recalls, split = [], 0
    guard = RESUME_SLACK  # a chunk's edges, as far as the labels and the VAD can place them
    for episode in episodes:
        spans = answered_spans(episode, list(replay_signals(policy, episode, host, model)))
        turn = episode.turn
        ends_turn = [span for span in spans if (span[1] + 1) * FRAME_SAMPLES >= turn.speech_end][:1]
        if not ends_turn:
            continue
        first, last, repaired = ends_turn[0]
        if not repaired:
            split += spans[0] != ends_turn[0]  # an earlier part was answered on its own
            continue
        # Each spoken chunk's words, counted by an ASR pass over it alone: the measure is which
        # words the answered span holds, not how well the recogniser hears them (tiny.en reads
        # the same eSpeak turn differently when it starts a frame later).
        counts = [len(_words(transcribe(turn.pcm[max(0, s - guard) : e + guard]).text)) for s, e in turn.speech]
        held = [s >= first * FRAME_SAMPLES - guard and e <= (last + 1) * FRAME_SAMPLES for s, e in turn.speech]
        total = sum(counts)
        recalls.append(sum(c for c, h in zip(counts, held, strict=True) if h) / total if total else 1.0)
    return Recovery(recalls, split)


def turn_shape(episode: Episode) -> str:
    """A one-sentence request (what an assistant mostly hears) or a turn whose last chunk
    follows a pause: the model decides them very differently (see the model card)."""
    return "one sentence" if len(episode.turn.speech) == 1 else "after a pause"


def evaluate_by(
    policy: EndOfTurnPolicy,
    episodes: Sequence[Episode],
    group: Callable[[Episode], str],
    host: HostReading | None = None,
    model: TurnModel | None = None,
) -> tuple[Outcome, dict[str, Outcome]]:
    """``evaluate`` over all episodes, and over each group of them, from one replay."""
    ends = [confirmed_ends(policy, e, host, model) for e in episodes]
    members: dict[str, list[int]] = {}
    for i, e in enumerate(episodes):
        members.setdefault(group(e), []).append(i)
    groups = {k: score([episodes[i] for i in idx], [ends[i] for i in idx]) for k, idx in sorted(members.items())}
    return score(episodes, ends), groups


def sweep(
    model: TurnModel,
    episodes: Sequence[Episode],
    choices: Sequence[dict],
    host: HostReading | None = None,
    **policy_args,
) -> list[tuple[dict, Outcome]]:
    """The model policy replayed once per choice of its settings (``choices``, on top of the fixed
    ``policy_args``; ``ModelPolicy`` fields). The model's outputs are cached per episode, so each
    choice costs only the rules. With ``host``, readings are cached: when the choices leave the
    tentative ends alone (the words stage's thresholds), one ASR pass per tentative end serves
    the whole sweep."""
    policies = [ModelPolicy.from_meta(model.meta, **policy_args, **c) for c in choices]
    return [(c, evaluate(p, episodes, host, model)) for c, p in zip(choices, policies, strict=True)]


def sweep_model(
    model: TurnModel, episodes: Sequence[Episode], thresholds: Sequence[float], **policy_args
) -> list[tuple[float, Outcome]]:
    """The confirm (and tentative) threshold swept, the rest of the policy fixed."""
    rows = sweep(model, episodes, [{"confirm": th, "tentative": th} for th in thresholds], **policy_args)
    return [(c["confirm"], o) for c, o in rows]


def best_under(
    sweep: Sequence[tuple[float, Outcome]], max_false_cutoff: float = MAX_FALSE_CUTOFF
) -> tuple[float, Outcome] | None:
    """The operating point with the lowest median latency among those within the cut-off cap."""
    ok = [(th, o) for th, o in sweep if o.false_cutoff_rate <= max_false_cutoff]
    return min(ok, key=lambda item: (item[1].median_latency_s, -item[0])) if ok else None


DEFAULT_THRESHOLDS = (0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)
