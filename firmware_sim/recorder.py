"""Recording of a run: the mic and ear tracks on one timeline, and what happened when.

``mic.wav`` is what the microphone captured (before Opus), ``ear.wav`` what the ear speaker
played, ``outward.wav`` what the outward speaker said aloud for the person in front of the
wearer; sample n of one is the same instant as sample n of the others, so latencies measured
between them are what the wearer (and the other person) experience. ``sim_events.json`` holds the
ground truth (utterance onsets/ends, who said them) and the playback history of both speakers in
seconds on that timeline (``sottovoce.proto.events``: ``SimEvents``).
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np

from sottovoce.firmware_sim.director import FiredEvent, UtteranceLog
from sottovoce.proto.codec import SAMPLE_RATE
from sottovoce.proto.events import (
    SimAction,
    SimDisconnect,
    SimDuck,
    SimEvents,
    SimHold,
    SimPlayback,
    SimUnplayed,
    SimUtterance,
    write_sim_events,
)
from sottovoce.proto.gatt.speaker import PlaybackRecord


def seconds(sample: int) -> float:
    """A sample index on the recordings' timeline, in seconds."""
    return round(sample / SAMPLE_RATE, 5)


def _s(sample: int | None) -> float | None:
    return None if sample is None else seconds(sample)


def _action(e: FiredEvent) -> SimAction:
    return SimAction(e.kind, seconds(e.sample), e.trigger)


def _heard(p: PlaybackRecord) -> SimPlayback:
    assert p.start_sample is not None and p.end_sample is not None  # set together by the first sample played
    ducks = [SimDuck(seconds(d.sample), d.from_db, d.depth_db, seconds(d.ramp_samples), d.queued_frames)
             for d in p.ducks]  # fmt: skip
    holds = [SimHold(seconds(h.sample), h.from_db, seconds(h.ramp_samples), _s(h.held_sample), _s(h.resumed_sample))
             for h in p.holds]  # fmt: skip
    return SimPlayback(p.stream, seconds(p.start_sample), seconds(p.end_sample), p.ended, _s(p.flush_received_sample),
                       p.samples, ducks, holds)  # fmt: skip


def write_wav(path: Path, pcm: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.ascontiguousarray(pcm, dtype="<i2").tobytes())


class Recorder:
    def __init__(self) -> None:
        self._mic: list[np.ndarray] = []
        self._ear: list[np.ndarray] = []
        self._outward: list[np.ndarray] = []
        self.disconnects: list[SimDisconnect] = []

    def add(self, mic: np.ndarray, ear: np.ndarray, outward: np.ndarray | None = None) -> None:
        """One tick: the tracks advance together, so they always have the same length (``outward``
        None: the outward speaker was silent)."""
        self._mic.append(mic)
        self._ear.append(ear)
        self._outward.append(outward if outward is not None else np.zeros_like(ear))

    @property
    def samples(self) -> int:
        return sum(len(f) for f in self._mic)

    def mic(self) -> np.ndarray:
        return np.concatenate(self._mic) if self._mic else np.zeros(0, dtype=np.int16)

    def ear(self) -> np.ndarray:
        return np.concatenate(self._ear) if self._ear else np.zeros(0, dtype=np.int16)

    def outward(self) -> np.ndarray:
        return np.concatenate(self._outward) if self._outward else np.zeros(0, dtype=np.int16)

    def events(
        self,
        utterances: list[UtteranceLog],
        playback: list[PlaybackRecord],
        fired: list[FiredEvent],
        counters: dict[str, Any],
        outward: list[PlaybackRecord] | None = None,
    ) -> SimEvents:
        """``playback``: the ear speaker's streams; ``outward``: the outward speaker's."""
        return SimEvents(
            sample_rate=SAMPLE_RATE,
            duration_s=seconds(self.samples),
            utterances=[
                SimUtterance(
                    u.index,
                    u.text,
                    seconds(u.start_sample),
                    seconds(u.end_sample),
                    u.barge_in,
                    u.trigger,
                    u.expects_reply,
                    u.speaker,
                    u.language,
                )
                for u in utterances
            ],
            # Only streams that were heard; ones dropped before their first sample are listed apart
            # so every playback entry has a start_s to measure from.
            playback=[_heard(p) for p in playback if p.start_sample is not None],
            unplayed=[
                SimUnplayed(p.stream, p.ended, _s(p.flush_received_sample)) for p in playback if p.start_sample is None
            ],
            buttons=[_action(e) for e in fired if e.table == "button"],
            gestures=[_action(e) for e in fired if e.table == "gesture"],
            disconnects=self.disconnects,
            counters=counters,
            outward=[_heard(p) for p in outward or [] if p.start_sample is not None],
        )

    def write(self, out: Path, events: SimEvents) -> None:
        out.mkdir(parents=True, exist_ok=True)
        write_wav(out / "mic.wav", self.mic())
        write_wav(out / "ear.wav", self.ear())
        write_wav(out / "outward.wav", self.outward())
        write_sim_events(out / "sim_events.json", events)
