"""An early cue of the wearer's onset over an answer, for the duck alone.

Silero reads the cancelled audio in 32 ms windows and reports speech some 60-120 ms after a real
onset (the "s" of "stop" reads as noise to it until the vowel comes), while the frame's level
jumps within the first frame or two. Two levels are watched, each against what the answer puts
into it: the microphone's (against the answer's echo, at the answer's present level times the
echo path) and the cancelled frame's (against what the canceller leaves of the answer). The raw
level needs no canceller to have converged, and the canceller's suppression, which can hold the
wearer's first frames down while the answer plays, does not touch it; the cancelled level still
hears the wearer under an echo louder than they are. A frame is a cue when either level stands
well above its background (a floor that falls at once and rises slowly, and a fixed level under
which no voice at the mic is) and above the most the answer has been seen to put into it
(learned on the frames where the answer played and the VAD heard no wearer). A frame is learned
from only once the VAD has stayed silent for ``LEARN_DELAY_FRAMES`` after it: the first frames of
the wearer's words come before the VAD hears them, and taken for echo they would silence the cue
for seconds; the echo itself, a cue or not, is learned that much later and stops being one.
Until enough has been learned, frames with the answer playing are no cue: the echo must never
duck the answer it came from. Nor is the cancelled level a cue while the echo of the answer's
first frames after a pause in it is on the way: AEC3 lets the first echo of a word that follows
silence through, uncancelled, while its render detector wakes (in the +6 dB echo scenario, a
-62 dBFS onset after 60 ms of silence reached the cue 13 dB above all that had been learned, 2 s
into the answer). The raw level still hears the wearer there, since the answer is quiet. The cue
only ducks; the VAD still decides what is speech, and so what holds or stops the answer.

The raw level also says when the answer cannot be heard at the microphone at all: on the frames
learned from, the answer playing raises the median level over that with no answer by less than
an echo at the background's level would (a whisper in a quiet room, through the glasses' mild echo path).
There the canceller has no echo to converge on, and its suppressor still eats the wearer's short
words; the VAD may then read the microphone as heard (``answer_inaudible``), since nothing of the
answer in it could be taken for speech.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from sottovoce.proto.codec import FRAME_MS

# The quietest frame that may be a cue: the wearer's voice at the mic is well above it, and a
# room so quiet that its floor is near digital silence would otherwise make a cue of anything.
MIN_CUE_DBFS = -50.0
ABOVE_FLOOR_DB = 15.0  # a cue stands this far above the background ...
ABOVE_ECHO_DB = 10.0  # ... and this far above the most the answer has been seen to put into the level
FLOOR_RISE_DB = 0.05  # per frame (2.5 dB/s): the floor follows a louder background, never a word
ECHO_DECAY_DB = 0.01  # per frame: what was learned forgets a bad moment (of the canceller, say) in ~20 s
LEARN_FRAMES = 25  # far-end-only frames measured before the answer's frames may be a cue
# The cancelled level learns for longer: while the canceller converges, what it lets through at a
# word after a pause in the answer stands 15-20 dB above what it let through in the answer's first
# half second, and the answer's own next word would duck it. A second of it is enough (bench echo,
# delays 4-30 ms: 6 echo ducks in 24 runs after half a second, none after one), and longer only
# slows the duck for a wearer talking over the first answer.
CANCELLED_LEARN_FRAMES = 50
LEARN_DELAY_FRAMES = 10  # longer than the VAD's lag behind an onset
ECHO_SPAN_FRAMES = 2  # reference frames whose echo may still be in this frame (reverberation) ...
# ... after the echo's delay behind its reference, as the canceller estimates it; until it has an
# estimate, this many frames: a frame of the answer gone quiet while the microphone still hears the
# louder one before it would otherwise stand far above "the answer's part" and duck the answer.
UNKNOWN_DELAY_FRAMES = 3
MAX_DELAY_FRAMES = 25  # the canceller's longest estimate (500 ms)
EVIDENT_DB = 6.0  # the answer's part this far above the background is measured; below it, it is lost in it
SILENT_DBFS = -70.0  # a reference quieter than this is no answer playing
UNKNOWN_DB = -120.0  # a counter's value for "nothing learned yet"
# The answer is inaudible at the microphone when, over the last INAUDIBLE_FRAMES learned from, the
# median level of frames with the answer within LOUD_REFERENCE_DB of its loudest stands less than
# INAUDIBLE_EXCESS_DB above the median level of frames with no answer: an echo 6 dB under the
# background adds 1 dB to it, one at its level 3 dB. Medians, because the wearer's first frames,
# before the VAD hears them, are learned from too.
INAUDIBLE_FRAMES = 100
LOUD_REFERENCE_DB = 10.0
INAUDIBLE_EXCESS_DB = 2.0
PLAYED_SPAN_FRAMES = 50


@dataclass
class OnsetCounters:
    cues: int = 0  # frames that were a cue
    cues_raw_only: int = 0  # ... that only the microphone's level made one
    echo_path_db: int = int(UNKNOWN_DB)  # the most seen: microphone minus reference level, dB
    residual_db: int = int(UNKNOWN_DB)  # the most seen: cancelled minus reference level, dB
    inaudible_frames: int = 0  # frames of an answer whose echo was below the background


class _Level:
    """One level against its background and against what the answer puts into it."""

    def __init__(self, learn_frames: int) -> None:
        self.learn_frames = learn_frames
        self.floor: float | None = None
        self.echo = -math.inf  # the level minus the reference's, the most seen lately
        self.learned = 0
        self._last: tuple[float, float, float] | None = None  # (level, reference, floor) of the last frame
        # (level minus reference or None with no answer, level, reference) of frames not yet learned from
        self._unsure: deque[tuple[float | None, float, float]] = deque()
        # the levels of the last frames learned from: with no answer, and (level, reference) with one
        self.quiet: deque[float] = deque(maxlen=INAUDIBLE_FRAMES)
        self.playing: deque[tuple[float, float]] = deque(maxlen=INAUDIBLE_FRAMES)

    def cue(self, level: float, ref: float) -> bool:
        floor = self.floor = level if self.floor is None else min(level, self.floor + FLOOR_RISE_DB)
        self._last = (level, ref, floor)
        cue = level >= max(floor + ABOVE_FLOOR_DB, MIN_CUE_DBFS)
        if ref > SILENT_DBFS:
            cue = cue and self.learned >= self.learn_frames and level >= ref + self.echo + ABOVE_ECHO_DB
        return cue

    def near_end(self, speech: bool) -> None:
        if self._last is None:
            return
        level, ref, floor = self._last
        self._last = None
        if speech:  # the frames before it may have been the wearer's onset
            self._unsure.clear()
            return
        if ref <= SILENT_DBFS:
            self._unsure.append((None, level, ref))  # no answer: the background alone
        else:  # the answer's part lost in the background says only that it is below it
            self._unsure.append((level - ref if level >= floor + EVIDENT_DB else -math.inf, level, ref))
        if len(self._unsure) <= LEARN_DELAY_FRAMES:
            return
        gap, level, ref = self._unsure.popleft()
        self.echo -= ECHO_DECAY_DB
        if gap is None:
            self.quiet.append(level)
        else:
            self.learned += 1
            self.echo = max(gap, self.echo)
            self.playing.append((level, ref))

    def reset(self) -> None:
        self.floor, self._last = None, None
        self._unsure.clear()


def _resumed(refs: list[float]) -> bool:
    """The answer plays in these reference frames and was silent in one of them: their echo is
    that of an answer resuming (or pausing), which AEC3 lets through at first."""
    return max(refs) > SILENT_DBFS and min(refs) <= SILENT_DBFS


class OnsetCue:
    """Per frame, from the levels (dBFS) of the microphone's frame, of the cancelled frame and of
    the answer's reference for it: whether the frame is a cue; then whether the VAD heard the
    wearer in it (to learn the answer's part on the frames it did not)."""

    def __init__(self) -> None:
        self.counters = OnsetCounters()
        self._raw, self._cancelled = _Level(LEARN_FRAMES), _Level(CANCELLED_LEARN_FRAMES)
        self._refs: deque[float] = deque(maxlen=ECHO_SPAN_FRAMES + MAX_DELAY_FRAMES)
        # a second: a pause in the answer is still the answer (the VAD's state spans pauses too)
        self._recent: deque[float] = deque(maxlen=PLAYED_SPAN_FRAMES)

    def frame(self, mic_dbfs: float, out_dbfs: float, ref_dbfs: float, delay_ms: int | None = None) -> bool:
        """``delay_ms``: how far the echo lags its reference (the canceller's estimate; None: unknown)."""
        self._refs.append(ref_dbfs)
        self._recent.append(ref_dbfs)
        delay = UNKNOWN_DELAY_FRAMES if delay_ms is None else min(math.ceil(delay_ms / FRAME_MS), MAX_DELAY_FRAMES)
        refs = list(self._refs)[-(ECHO_SPAN_FRAMES + delay) :]
        ref = max(refs)
        raw, cancelled = self._raw.cue(mic_dbfs, ref), self._cancelled.cue(out_dbfs, ref)
        cancelled = cancelled and not _resumed(refs)
        self.counters.cues += raw or cancelled
        self.counters.cues_raw_only += raw and not cancelled
        return raw or cancelled

    def answer_inaudible(self) -> bool:
        """Whether, as of the frame just given, an answer has been playing and its echo at the
        microphone is below the background (measured: nothing of it was ever evident there)."""
        raw = self._raw
        if max(self._recent, default=UNKNOWN_DB) <= SILENT_DBFS or min(len(raw.quiet), len(raw.playing)) < LEARN_FRAMES:
            return False
        loudest = max(ref for _, ref in raw.playing)
        loud = [level for level, ref in raw.playing if ref >= loudest - LOUD_REFERENCE_DB]
        inaudible = float(np.median(loud)) - float(np.median(raw.quiet)) < INAUDIBLE_EXCESS_DB
        self.counters.inaudible_frames += inaudible
        return inaudible

    def near_end(self, speech: bool) -> None:
        """Whether the VAD heard the wearer in the frame just scored."""
        self._raw.near_end(speech)
        self._cancelled.near_end(speech)
        self.counters.echo_path_db = round(max(self._raw.echo, UNKNOWN_DB))
        self.counters.residual_db = round(max(self._cancelled.echo, UNKNOWN_DB))

    def reset(self) -> None:
        """A new audio stream: the background is measured afresh; the echo path and the canceller,
        and so what they let through, carry on."""
        self._raw.reset()
        self._cancelled.reset()
        self._refs.clear()
        self._recent.clear()
