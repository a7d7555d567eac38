"""Per uplink frame, the numbers the turn arbiter decides on: the VAD's speech probability, the
end-of-turn model's probability, and (with echo cancellation) the early onset cue that ducks an
answer before the VAD is sure (``onset.py``). The VAD reads the frame with the assistant's own voice taken
out of it (echo cancellation, when on), so the answer leaking into the mic is never speech. The
end-of-turn model reads the frame as the microphone sent it: it was trained on that audio, and
the canceller's processing (high-pass, suppression) moves the features it relies on enough to
leave it unsure of ends it finds on the raw audio. Where the answer cannot be heard at the
microphone at all (``OnsetCue.answer_inaudible``) a second state of the VAD reads the microphone
as heard too, and either reading hearing speech is speech: the canceller, with no echo to
converge on, suppresses short words ("Stop.") it should pass, and there is no echo the raw
reading could take for the wearer. The models keep state from frame to frame;
the arbiter does not run them, so it can be replayed from the numbers alone.

With ``fresh_after_silence`` (translation mode) the VAD's state starts afresh after every
``SILENCE_RESET_FRAMES`` of silence: Silero's recurrent state drifts over a long stretch of
background and echo until a voice 20 dB under the wearer's (the other person's, a metre or two
away) no longer reads as speech. Measured on a translation run's microphone recording: the other
person's reply 5 s after a whisper ended read as speech in 0 of 146 frames with the state carried
over, in 108 with it started afresh after each second of silence, with no speech read in the
silences either way."""

from __future__ import annotations

import numpy as np

from .arbiter import Frame
from .echo import EchoCanceller
from .onset import OnsetCue
from .turn import VadThresholds
from .turn_model import TurnModel
from .vad import Vad

SILENCE_RESET_FRAMES = 50  # a second of silence: the VAD's state starts afresh
SILENT_PROBABILITY = 0.1  # below this a frame is silence for that purpose


class FrameScorer:
    def __init__(
        self,
        vad: Vad,
        model: TurnModel | None = None,
        echo: EchoCanceller | None = None,
        raw_vad: Vad | None = None,
        fresh_after_silence: bool = False,
    ) -> None:
        self.vad = vad
        self.raw_vad = raw_vad if echo is not None else None  # the same VAD, on the microphone as heard
        self.model = model  # None: an end-of-turn policy without a model (the silence rule)
        self.echo = echo  # None: echo cancellation off
        # without a canceller the echo is in the frame's level: no cue could tell it from the wearer
        self.onset = OnsetCue() if echo is not None else None
        self.fresh_after_silence = fresh_after_silence
        self.vad_resets = 0
        self._silent_frames = 0

    def score(self, seq: int, pcm: np.ndarray) -> Frame:
        """One 20 ms int16 frame, in order."""
        cleaned = pcm if self.echo is None else self.echo.process(pcm)
        speech = self.vad.process(cleaned)
        raw = None if self.raw_vad is None else self.raw_vad.process(pcm)  # every frame: its state follows the audio
        cue = False
        if self.echo is not None and self.onset is not None:
            delay = self.echo.counters.delay_ms
            cue = self.onset.frame(*self.echo.last_dbfs, delay if delay >= 0 else None)
            if raw is not None and self.onset.answer_inaudible():
                speech = max(speech, raw)
            # what the wearer said is never learned as echo, whichever reading heard it
            self.echo.near_end(speech >= VadThresholds.onset)
            self.onset.near_end(speech >= VadThresholds.onset)
        if self.fresh_after_silence:
            self._silent_frames = self._silent_frames + 1 if max(speech, raw or 0.0) < SILENT_PROBABILITY else 0
            if self._silent_frames >= SILENCE_RESET_FRAMES:
                self._silent_frames = 0
                self.vad_resets += 1
                self.vad.reset()
                if self.raw_vad is not None:
                    self.raw_vad.reset()
        return Frame(seq, speech, None if self.model is None else self.model.step(pcm), cue)

    def turn_ended(self) -> None:
        """After each end of the wearer's speech the model starts afresh, as in training (its
        feature window keeps sliding)."""
        if self.model is not None:
            self.model.reset()

    def reset(self) -> None:
        """A new audio stream (the device reconnected): forget everything."""
        self._silent_frames = 0
        self.vad.reset()
        if self.raw_vad is not None:
            self.raw_vad.reset()
        if self.echo is not None:
            self.echo.reset()
        if self.onset is not None:
            self.onset.reset()
        if self.model is not None:
            self.model.reset_all()
