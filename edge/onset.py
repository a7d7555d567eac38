"""An early cue of the wearer's onset over an answer, for the duck alone.

Silero reads the cancelled audio in 32 ms windows and reports speech some 60-120 ms after a real
onset (the "s" of "stop" reads as noise to it until the vowel comes), while the frame's level
after echo cancellation jumps within the first frame or two. A frame is a cue when that level
stands well above both the background (a floor that falls at once and rises slowly; and a
fixed level, under which no voice at the mic is) and what
the canceller leaves of the answer at the answer's present level (the residual, learned on the
frames where the answer played and the VAD heard no wearer). A frame is learned from only once
the VAD has stayed silent for ``LEARN_DELAY_FRAMES`` after it: the first frames of the wearer's
words come before the VAD hears them, and taken for echo they would silence the cue for seconds;
the echo itself, a cue or not, is learned 200 ms late, and stops being one. Until the residual has been learned,
frames with the answer playing are no cue: the echo must never duck the answer it came from. The
cue only ducks; the VAD still decides what is speech, and so what holds or stops the answer.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

# The quietest frame that may be a cue: the wearer's voice at the mic is well above it, and a
# room so quiet that its floor is near digital silence would otherwise make a cue of anything.
MIN_CUE_DBFS = -50.0
ABOVE_FLOOR_DB = 15.0  # a cue stands this far above the background ...
ABOVE_RESIDUAL_DB = 10.0  # ... and this far above the most the canceller has been seen to leave of the answer
FLOOR_RISE_DB = 0.05  # per frame (2.5 dB/s): the floor follows a louder background, never a word
RESIDUAL_DECAY_DB = 0.01  # per frame: the residual learned forgets a bad moment of the canceller in ~10 s
LEARN_FRAMES = 25  # far-end-only frames measured before the answer's frames may be a cue
LEARN_DELAY_FRAMES = 10  # longer than the VAD's lag behind an onset
ECHO_SPAN_FRAMES = 2  # reference frames whose echo may still be in this frame (delay, reverberation)
EVIDENT_DB = 6.0  # a residual this far above the background is measured; below it, it is lost in it
SILENT_DBFS = -70.0  # a reference quieter than this is no answer playing


@dataclass
class OnsetCounters:
    cues: int = 0  # frames that were a cue
    residual_db: int = 0  # the residual learned: cancelled level minus reference level, dB (rounded)


class OnsetCue:
    """Per frame, from the levels (dBFS) of the cancelled frame and of the answer's reference for
    it: whether the frame is a cue; then whether the VAD heard the wearer in it (to learn the
    residual on the frames it did not)."""

    def __init__(self) -> None:
        self.counters = OnsetCounters()
        self._floor: float | None = None
        self._residual = -math.inf  # cancelled minus reference level, the most seen lately
        self._learned = 0
        self._refs: deque[float] = deque(maxlen=ECHO_SPAN_FRAMES)
        self._last: tuple[float, float, float] | None = None  # (cancelled, reference, floor) levels of the last frame
        self._unsure: deque[float | None] = deque()  # cancelled minus reference level of frames not yet learned from

    def frame(self, out_dbfs: float, ref_dbfs: float) -> bool:
        self._refs.append(ref_dbfs)
        ref = max(self._refs)
        floor = self._floor = out_dbfs if self._floor is None else min(out_dbfs, self._floor + FLOOR_RISE_DB)
        self._last = (out_dbfs, ref, floor)
        cue = out_dbfs >= max(floor + ABOVE_FLOOR_DB, MIN_CUE_DBFS)
        if ref > SILENT_DBFS:
            cue = cue and self._learned >= LEARN_FRAMES and out_dbfs >= ref + self._residual + ABOVE_RESIDUAL_DB
        self.counters.cues += cue
        return cue

    def near_end(self, speech: bool) -> None:
        """Whether the VAD heard the wearer in the frame just scored."""
        if self._last is None:
            return
        out, ref, floor = self._last
        self._last = None
        if speech:  # the frames before it may have been the wearer's onset
            self._unsure.clear()
            return
        if ref <= SILENT_DBFS:
            self._unsure.append(None)  # no answer: nothing to learn
        else:  # a residual lost in the background says only that it is below it
            self._unsure.append(out - ref if out >= floor + EVIDENT_DB else -math.inf)
        if len(self._unsure) <= LEARN_DELAY_FRAMES:
            return
        gap = self._unsure.popleft()
        self._residual -= RESIDUAL_DECAY_DB
        if gap is not None:
            self._learned += 1
            self._residual = max(gap, self._residual)
            self.counters.residual_db = round(max(self._residual, -120.0))

    def reset(self) -> None:
        """A new audio stream: the background is measured afresh; the canceller, and so its
        residual, carries on."""
        self._floor, self._last = None, None
        self._refs.clear()
        self._unsure.clear()
