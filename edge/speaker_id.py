"""Whose voice is it: the wearer's, or the person's in front of them (translation mode).

The glasses' microphone is a few centimetres from the wearer's mouth and a metre or more from
anyone else, so the wearer's speech reaches it some 20-25 dB louder by the inverse-distance law;
the other person's arrives with the room's reverberation, which makes up a few dB of that. The level
of a stretch of speech relative to the wearer's own running level is therefore the cue: speech
more than ``margin_db`` below the wearer's level is the other person's.

The wearer's level starts from the close-talk level a glasses microphone hears
(``WEARER_PRIOR_DBFS``) and may follow each turn attributed to the wearer (``follow``), so that a
quieter or louder wearer, or a microphone with another gain, moves it. By default it does not:
``sottovoce bench speakers`` (the simulator's voices and real people, each as the wearer and at 1,
1.5 and 3 m, every voice at a normal speaking level varied by its speaker's effort) attributes every
turn right either way, and a followed level chases the one-word turns whose levels scatter most.
Real sentences at close-talking microphones read -17 to -23 dBFS, the same voices a metre or more
away 17-24 dB lower (the room's reverberation makes up for part of the distance).

Pure and clock-free, like the arbiter: fed per-frame levels and whether the frame is voiced, it
answers for the speech heard since the last ``reset``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sottovoce.proto.v1 import duplex_pb2 as pb

WEARER = pb.SPEAKER_WEARER
OTHER = pb.SPEAKER_OTHER
WEARER_PRIOR_DBFS = -20.0  # close-talk speech at a glasses microphone (the simulator's voices: -17 to -21)
# Speech this far below the wearer's level is another person's: half the gap at the nearest a
# conversation partner stands (1 m: 20 dB by distance from a mouth 0.1 m from the microphone, less
# the 3 dB the room's reverberation adds at about its critical distance), so that a voice raised or
# lowered by up to as much (the wearer's or theirs) is still told apart.
MARGIN_DB = 8.5
FOLLOW = 0.0  # how far each wearer turn moves the wearer's level towards its own (0: a fixed threshold)
SILENT_DBFS = -100.0


def frame_dbfs(pcm: np.ndarray) -> float:
    """The RMS level of an int16 frame in dB relative to full scale."""
    power = float(np.mean(pcm.astype(np.float64) ** 2)) if pcm.size else 0.0
    return 10.0 * math.log10(power / 32768.0**2) if power > 0 else SILENT_DBFS


@dataclass
class SpeakerCounters:
    turns_wearer: int = 0
    turns_other: int = 0


class SpeakerAttributor:
    """Attributes the speech since the last ``reset`` to the wearer or the other person."""

    def __init__(self, wearer_dbfs: float = WEARER_PRIOR_DBFS, margin_db: float = MARGIN_DB,
                 follow: float = FOLLOW) -> None:  # fmt: skip
        """``follow``: how far each wearer turn moves the wearer's level towards its own (0: a
        fixed threshold at ``wearer_dbfs - margin_db``)."""
        self.wearer_dbfs = wearer_dbfs
        self.margin_db = margin_db
        self.follow = follow
        self.counters = SpeakerCounters()
        self._energy = 0.0  # sum of the voiced frames' power (linear, full scale = 1)
        self._frames = 0

    def frame(self, level_dbfs: float, voiced: bool) -> None:
        """One frame's level; only voiced frames count."""
        if voiced:
            self._energy += 10.0 ** (level_dbfs / 10.0)
            self._frames += 1

    @property
    def heard(self) -> bool:
        """Voiced frames have been heard since the last reset."""
        return self._frames > 0

    @property
    def level_dbfs(self) -> float:
        """The voiced frames' level since the last reset (energy mean: the loud frames dominate)."""
        return 10.0 * math.log10(self._energy / self._frames) if self._frames else SILENT_DBFS

    @property
    def speaker(self) -> int:
        """Who the speech since the last reset is: ``WEARER`` or ``OTHER`` (the wearer, with nothing heard)."""
        if not self._frames:
            return WEARER
        return OTHER if self.level_dbfs < self.wearer_dbfs - self.margin_db else WEARER

    def reset(self) -> None:
        """The next stretch of speech begins."""
        self._energy, self._frames = 0.0, 0

    def turn_ended(self) -> int:
        """The turn is over: who said it (counted); a wearer's turn moves the wearer's level
        towards its own. Then ``reset``."""
        speaker = self.speaker
        if speaker == WEARER and self._frames:
            self.wearer_dbfs += self.follow * (self.level_dbfs - self.wearer_dbfs)
            self.counters.turns_wearer += 1
        elif speaker == OTHER:
            self.counters.turns_other += 1
        self.reset()
        return speaker


OUTWARD_TAIL_FRAMES = 10  # the outward speaker's sound and the room's echo of it die away (200 ms)
QUIET_RESET_FRAMES = 10  # silence that ends a stretch of speech outside a turn (200 ms)


@dataclass
class FloorCounters:
    frames_outward: int = 0  # mic frames not listened to: the outward speaker was playing
    frames_other_over_answer: int = 0  # the other person's speech over the whisper: it played on


@dataclass(frozen=True)
class FloorView:
    """What the turn arbiter is to be told about one frame: its speech probability and onset cue
    (zeroed while the outward speaker plays), and whether the ear's answer counts as playing."""

    speech: float
    onset: bool
    answer_playing: bool


class TranslationFloor:
    """Translation mode's view of the floor, between the frame scorer and the turn arbiter.

    Two voices reach the microphone besides the wearer's. The outward speaker's (the wearer's
    words said aloud in the other language) is loud and near: while it plays, and
    ``OUTWARD_TAIL_FRAMES`` after, the mic is not listened to, so it is never translated back.
    Measured on a Spanish sentence said aloud at -20 dBFS and leaking at -6 dB: with nothing done
    the VAD reads 162 of its 172 frames as speech; the echo canceller given it as reference
    cancels it (37 dB ERLE, no frame read as speech) when it is the only thing playing, but the
    canceller follows one reference stream at a time, and in translation the whisper in the ear
    and the words said aloud overlap, so the mic is gated instead. The cost: the other person
    cutting into the words said aloud is not heard until they end. The other person's speech over the whispered
    translation is what the whisper is for: it must not duck, hold or stop it, so while the speech
    heard is theirs the arbiter is told no answer plays, and it opens an ordinary turn for it. The
    wearer's speech over the whisper still ducks it and barges in as in assistant mode.

    ``frame`` per uplink frame, ``turn_started``/``turn_ended`` as the arbiter opens and closes turns.
    """

    def __init__(self, attributor: SpeakerAttributor | None = None, onset: float = 0.5) -> None:
        self.attributor = attributor if attributor is not None else SpeakerAttributor()
        self.onset = onset  # the speech probability that counts as voiced
        self.counters = FloorCounters()
        self.turn_speaker: int | None = None  # the open turn's speaker, as decided at its start
        self._outward_tail = 0
        self._quiet = 0

    def frame(self, speech: float, onset: bool, level_dbfs: float, answer_playing: bool,
              outward_playing: bool) -> FloorView:  # fmt: skip
        """One frame: the scorer's ``speech`` and ``onset`` cue, its level (echo removed), whether
        an answer plays in the ear and whether the outward speaker plays (or is about to)."""
        if outward_playing:
            self._outward_tail = OUTWARD_TAIL_FRAMES
        elif self._outward_tail:
            self._outward_tail -= 1
        else:
            return self._listen(speech, onset, level_dbfs, answer_playing)
        self.counters.frames_outward += 1
        return FloorView(0.0, False, answer_playing)

    def _listen(self, speech: float, onset: bool, level_dbfs: float, answer_playing: bool) -> FloorView:
        voiced = speech >= self.onset
        a = self.attributor
        a.frame(level_dbfs, voiced)
        self._quiet = 0 if voiced else self._quiet + 1
        if self.turn_speaker is None and self._quiet >= QUIET_RESET_FRAMES:
            a.reset()  # a sound that opened no turn is over
        if self.turn_speaker is not None:
            other = self.turn_speaker == OTHER
        elif a.heard:
            other = a.speaker == OTHER
        else:  # the onset cue before any voiced frame: its level alone
            other = onset and level_dbfs < a.wearer_dbfs - a.margin_db
        if other and answer_playing and (voiced or onset):
            self.counters.frames_other_over_answer += 1
        return FloorView(speech, onset, answer_playing and not other)

    def turn_started(self) -> int:
        """The arbiter opened a turn: whose it is, from the speech heard so far."""
        self.turn_speaker = self.attributor.speaker
        return self.turn_speaker

    @property
    def speaker(self) -> int:
        """Who the open turn is by, from all of it heard so far."""
        return self.attributor.speaker

    def turn_ended(self) -> int:
        """The turn is over: whose it was, from all of it (the wearer's level follows it)."""
        self.turn_speaker = None
        self._quiet = 0
        return self.attributor.turn_ended()
