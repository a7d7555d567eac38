"""The learned end-of-turn model on the edge.

``TurnModel`` runs the int8 TFLite model (a single GRU step: this frame's features and the
carried state in, the end-of-turn probability and the new state out) with LiteRT, one call per
20 ms frame. The policy built on its probability (``sottovoce.edge.end_rules.ModelPolicy``)
combines it with the VAD's silence count: a *tentative* end as soon as the model is fairly sure
after a short silence (the host starts preemptive work), a *confirmed* end when it is sure, and a
hard maximum-silence fallback for when it never is.

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
    read_silence_ms: int | None = None  # VAD silence after which the host reads the words (None: never)

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
                read_silence_ms=None if raw.get("read_silence_ms") is None else int(raw["read_silence_ms"]),
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
