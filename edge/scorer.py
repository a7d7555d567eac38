"""Per uplink frame, the two numbers the turn arbiter decides on: the VAD's speech probability and
the end-of-turn model's probability. The models keep state from frame to frame; the arbiter
does not run them, so it can be replayed from the numbers alone."""

from __future__ import annotations

import numpy as np

from .arbiter import Frame
from .turn_model import TurnModel
from .vad import Vad


class FrameScorer:
    def __init__(self, vad: Vad, model: TurnModel | None = None) -> None:
        self.vad = vad
        self.model = model  # None: an end-of-turn policy without a model (the silence rule)

    def score(self, seq: int, pcm: np.ndarray) -> Frame:
        """One 20 ms int16 frame, in order."""
        speech = self.vad.process(pcm)
        return Frame(seq, speech, None if self.model is None else self.model.step(pcm))

    def turn_ended(self) -> None:
        """After each end of the wearer's speech the model starts afresh, as in training (its
        feature window keeps sliding)."""
        if self.model is not None:
            self.model.reset()

    def reset(self) -> None:
        """A new audio stream (the device reconnected): forget everything."""
        self.vad.reset()
        if self.model is not None:
            self.model.reset_all()
