"""The learned end-of-turn model on the edge, and the turn policy built on it.

``TurnModel`` runs the int8 TFLite model (a single GRU step: this frame's features and the
carried state in, the end-of-turn probability and the new state out) with LiteRT, one call per
20 ms frame. ``ModelTurnPolicy`` combines it with the VAD's silence count: a *tentative* end as
soon as the model is fairly sure after a short silence (the host starts preemptive work), a
*confirmed* end when it is sure, and a hard maximum-silence fallback for when it never is.

The model, its input normalisation and the thresholds chosen on validation data come from
``python -m sottovoce.tools.turn.build``; see ``edge/models/turn_model.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from sottovoce.edge.features import N_FEATURES, FeatureExtractor
from sottovoce.edge.turn import TurnKind, TurnPolicy, TurnSignal, VadThresholds
from sottovoce.proto.codec import FRAME_MS

MODEL_NAME = "turn_model"


class TurnModelError(RuntimeError):
    """The model files are missing, inconsistent, or no TFLite runtime is installed."""


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:  # the legacy runtime, only where LiteRT is not available (it needs numpy<2)
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise TurnModelError("no TFLite runtime; pip install ai-edge-litert") from None
    return Interpreter


def default_model_path() -> Path:
    return Path(str(resources.files("sottovoce.edge") / "models" / f"{MODEL_NAME}.tflite"))


@dataclass(frozen=True)
class TurnModelMeta:
    """What the pipeline wrote next to the .tflite (``turn_model.json``)."""

    hidden: int
    mean: np.ndarray  # per-feature normalisation, applied before the model
    std: np.ndarray
    tentative_threshold: float
    confirm_threshold: float
    min_silence_ms: int
    decision_window_ms: int
    late_ms: int
    late_threshold: float
    hint_threshold: float
    question_threshold: float
    hint_delay_ms: int  # the host's reading time the words stage was chosen with (informational)
    words_wait_ms: int
    words_late_ms: int
    words_late_threshold: float
    max_silence_ms: int
    vad_offset: float
    sha256: str

    @classmethod
    def load(cls, path: Path) -> TurnModelMeta:
        try:
            raw = json.loads(path.read_text())
            meta = cls(
                hidden=int(raw["hidden"]),
                mean=np.asarray(raw["feature_mean"], dtype=np.float32),
                std=np.asarray(raw["feature_std"], dtype=np.float32),
                tentative_threshold=float(raw["tentative_threshold"]),
                confirm_threshold=float(raw["confirm_threshold"]),
                min_silence_ms=int(raw["min_silence_ms"]),
                decision_window_ms=int(raw["decision_window_ms"]),
                late_ms=int(raw["late_ms"]),
                late_threshold=float(raw["late_threshold"]),
                # a model built before the host read words: they never lower its bar
                hint_threshold=float(raw.get("hint_threshold", raw["confirm_threshold"])),
                question_threshold=float(raw.get("question_threshold", raw.get("hint_threshold", 1.0))),
                hint_delay_ms=int(raw.get("hint_delay_ms", 0)),
                words_wait_ms=int(raw.get("words_wait_ms", 0)),
                words_late_ms=int(raw.get("words_late_ms", raw["max_silence_ms"])),
                words_late_threshold=float(raw.get("words_late_threshold", 1.0)),
                max_silence_ms=int(raw["max_silence_ms"]),
                vad_offset=float(raw["vad_offset"]),
                sha256=str(raw["sha256"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TurnModelError(f"bad model metadata {path}: {exc}") from None
        if meta.mean.shape != (N_FEATURES,) or meta.std.shape != (N_FEATURES,):
            raise TurnModelError(f"{path}: normalisation has the wrong size for {N_FEATURES} features")
        return meta


class TurnModel:
    """Streaming end-of-turn probability, one call per 20 ms frame, state carried inside."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_model_path()
        if not self.path.exists():
            raise TurnModelError(f"turn model not found: {self.path}")
        self.meta = TurnModelMeta.load(self.path.with_suffix(".json"))
        self._inv_std = (1.0 / self.meta.std).astype(np.float32)
        self.size_bytes = self.path.stat().st_size
        # One thread: a step is a few microseconds; threads would only add scheduling cost.
        self._interp = _interpreter_class()(model_path=str(self.path), num_threads=1)
        self._interp.allocate_tensors()
        self._x_in, self._h_in = self._by_width(self._interp.get_input_details(), "input")
        self._p_out, self._h_out = self._by_width(self._interp.get_output_details(), "output")
        self.features = FeatureExtractor()
        self.reset()

    def _by_width(self, details: list[dict], what: str) -> tuple[int, int]:
        """Tell the two tensors apart by width: (features or probability, state)."""
        h = self.meta.hidden
        first_width = N_FEATURES if what == "input" else 1
        by = {int(d["shape"][-1]): d["index"] for d in details}
        if len(details) != 2 or set(by) != {first_width, h}:
            shapes = [list(d["shape"]) for d in details]
            raise TurnModelError(f"{self.path}: unexpected {what} tensors {shapes} for hidden size {h}")
        return by[first_width], by[h]

    def reset(self) -> None:
        """Forget the conversation so far (the feature window keeps sliding)."""
        self._state = np.zeros((1, self.meta.hidden), dtype=np.float32)
        self.probability = 0.0

    def reset_all(self) -> None:
        self.reset()
        self.features.reset()

    def step_features(self, features: np.ndarray) -> float:
        """Advance one frame given its raw features; the end-of-turn probability."""
        return self.step_normalized((features - self.meta.mean) * self._inv_std)

    def step_normalized(self, x: np.ndarray) -> float:
        """Advance one frame given already-normalised features (what the network itself sees)."""
        self._interp.set_tensor(self._x_in, np.asarray(x, dtype=np.float32).reshape(1, N_FEATURES))
        self._interp.set_tensor(self._h_in, self._state)
        self._interp.invoke()
        self._state = self._interp.get_tensor(self._h_out)
        self.probability = float(self._interp.get_tensor(self._p_out)[0, 0])
        return self.probability

    def step(self, pcm: np.ndarray) -> float:
        """Advance one 20 ms int16 frame."""
        return self.step_features(self.features.push(pcm))


class ModelTurnPolicy(TurnPolicy):
    """VAD for onset and silence, the model for whether a silence ends the turn.

    - no confirmed end before ``min_silence_ms`` of VAD silence (a stop consonant is not an end).
      Silero reports silence 80-200 ms after the last word, more than the whole latency budget,
      so with ``min_silence_ms`` 0 the model may call the end while the VAD still says speech:
      the model, trained to stay low while the wearer speaks, is then the only judge;
    - within ``decision_window_ms`` of silence: CONFIRMED_END once the model's probability
      reaches ``confirm``. A short window gives a long pause few chances to be mistaken for an end;
    - TENTATIVE_END whenever the probability reaches ``tentative`` (the host starts its work),
      before ``min_silence_ms`` too, and while the lagging VAD still says speech: the host's ASR
      pass and first audio take 0.2-0.4 s from the tentative end, so starting them at the model's
      first hint of an end, not at the VAD's, is what most shortens the wait for the answer (and
      brings the host's reading of the words sooner). A false one costs the host wasted work;
    - words and sound together: once the host has read the words up to the tentative end as a
      complete sentence (``words_read``, from a TurnHint), CONFIRMED_END as soon as the
      probability is at least ``hint`` (below ``confirm``: the words make up the difference;
      ``question`` if the words end in a question mark). Prosody alone
      cannot tell a finished question's rise from a speaker going on; the words can, and the
      model still vetoes the pauses in a list or a dictated number, whose every prefix reads
      complete;
    - the words' veto: while a host that reads the words is connected (``host_reads_words``), an
      end the model alone is sure of waits for the reading, up to ``words_wait_ms`` after the
      tentative end. The host needs longer than that to have the answer's first audio ready,
      so the wait is not heard; words that read unfinished ("set a timer for") cancel it.
      Without a reading (no host, an unsure transcript) the model decides alone;
    - the words' late stage: complete words and ``words_late_ms`` of silence confirm at the lower
      ``words_late_threshold`` (0: whatever the model says). A request whose end the model finds
      merely possible, as with a voice whose final fall it hears poorly, need not wait for the
      fallback (a pause it cuts that the wearer talks straight through, the host repairs: it
      withdraws the answer and hears the turn whole);
    - the late stage: from ``late_ms`` of silence on, CONFIRMED_END once the probability reaches
      the lower ``late_threshold`` (a turn the model finds merely likely to be over should not
      wait for the fallback);
    - CONFIRMED_END after ``max_silence_ms``, whatever the model says.
    The VAD's speech/silence hysteresis defaults to the model's (``vad_offset``: a quicker
    release than the generic default, since the model, not a timeout, guards against pauses).
    The GRU state is cleared after each confirmed end: the next turn starts fresh, as in training.
    """

    def __init__(
        self,
        model: TurnModel | None = None,
        *,
        tentative: float | None = None,
        confirm: float | None = None,
        min_silence_ms: int | None = None,
        decision_window_ms: int | None = None,
        late_ms: int | None = None,
        late_threshold: float | None = None,
        hint: float | None = None,
        question: float | None = None,
        words_wait_ms: int | None = None,
        words_late_ms: int | None = None,
        words_late_threshold: float | None = None,
        max_silence_ms: int | None = None,
        vad: VadThresholds | None = None,
    ) -> None:
        self.model = model or TurnModel()
        meta = self.model.meta
        # (``self.tentative`` is the base class's "tentative end announced" flag)
        self.confirm_threshold = meta.confirm_threshold if confirm is None else confirm
        self.tentative_threshold = min(
            self.confirm_threshold, meta.tentative_threshold if tentative is None else tentative
        )
        self.hint_threshold = meta.hint_threshold if hint is None else hint
        self.question_threshold = meta.question_threshold if question is None else question
        self.words_wait_ms = meta.words_wait_ms if words_wait_ms is None else words_wait_ms
        self.words_late_ms = meta.words_late_ms if words_late_ms is None else words_late_ms
        self.words_late_threshold = meta.words_late_threshold if words_late_threshold is None else words_late_threshold
        self.min_silence_ms = meta.min_silence_ms if min_silence_ms is None else min_silence_ms
        self.decision_window_ms = meta.decision_window_ms if decision_window_ms is None else decision_window_ms
        self.late_ms = meta.late_ms if late_ms is None else late_ms
        self.late_threshold = meta.late_threshold if late_threshold is None else late_threshold
        self.max_silence_ms = meta.max_silence_ms if max_silence_ms is None else max_silence_ms
        if not 0.0 <= self.confirm_threshold <= 1.0:
            raise ValueError(f"confirm threshold {self.confirm_threshold} is not within 0..1")
        if not self.min_silence_ms < self.decision_window_ms <= self.max_silence_ms:
            raise ValueError(
                f"need min_silence_ms ({self.min_silence_ms}) < decision_window_ms ({self.decision_window_ms})"
                f" <= max_silence_ms ({self.max_silence_ms})"
            )
        super().__init__(vad or self.default_vad(self.model))

    @staticmethod
    def default_vad(model: TurnModel) -> VadThresholds:
        return VadThresholds.releasing_at(model.meta.vad_offset)

    def reset(self) -> None:
        super().reset()
        self.sure_at = -1  # frame at which the model alone was sure of the current pause
        self.model.reset_all()

    def push(self, pcm: np.ndarray, speech_prob: float) -> list[TurnSignal]:
        signals = super().push(pcm, speech_prob)
        if any(s.kind is TurnKind.CONFIRMED_END for s in signals):
            self.clear_state()
        return signals

    def clear_state(self) -> None:
        """After a confirmed end: the next turn starts with a fresh model state."""
        self.model.reset()

    def observe(self, pcm: np.ndarray, speech_prob: float) -> None:
        self.model.step(pcm)

    def end_confidence(self) -> float:
        return self.model.probability

    def decide_end(self, silence_ms: int) -> TurnKind | None:
        p = self.end_confidence()
        if silence_ms >= self.max_silence_ms:
            return self._confirm("fallback")
        if silence_ms >= self.late_ms and p >= self.late_threshold:
            return self._confirm("late")
        if silence_ms < self.min_silence_ms:
            return TurnKind.TENTATIVE_END if p >= self.tentative_threshold else None
        reading = self.words_at_pause()
        words = None if reading is None else reading.complete
        hint = self.question_threshold if reading is not None and reading.question else self.hint_threshold
        if words and p >= hint:
            return self._confirm("words")  # the words of this very pause are a complete sentence
        if words and silence_ms >= self.words_late_ms and p >= self.words_late_threshold:
            return self._confirm("words late")
        held = self.tentative and self.sure_at >= self.decided_at  # sure of this pause already
        if not held and silence_ms < self.decision_window_ms and p >= self.confirm_threshold:
            self.sure_at = self.frame
        if held or self.sure_at == self.frame:
            # The model is sure. With a host reading the words, the end waits for them (at most
            # words_wait_ms from the tentative end): the answer is not ready sooner anyway, and
            # unfinished words ("set a timer for") veto it.
            if words:
                return self._confirm("words")
            waited_ms = (self.frame - self.decided_at) * FRAME_MS if self.tentative else 0
            if words is None and (not self.host_reads_words or waited_ms >= self.words_wait_ms):
                return self._confirm("model")
            return TurnKind.TENTATIVE_END
        if p >= self.tentative_threshold:
            return TurnKind.TENTATIVE_END
        return None

    def _confirm(self, reason: str) -> TurnKind:
        self.end_reason = reason
        return TurnKind.CONFIRMED_END
