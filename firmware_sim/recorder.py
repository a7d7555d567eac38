"""Recording of a run: the mic and ear tracks on one timeline, and what happened when.

``mic.wav`` is what the microphone captured (before Opus), ``ear.wav`` what the speaker played;
sample n of one is the same instant as sample n of the other, so latencies measured between
them are what the wearer experiences. ``sim_events.json`` holds the ground truth (utterance
onsets/ends) and the playback history in seconds on that timeline.
"""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import numpy as np

from sottovoce.firmware_sim.director import FiredEvent, UtteranceLog
from sottovoce.proto.codec import SAMPLE_RATE
from sottovoce.proto.gatt.speaker import PlaybackRecord


def _s(sample: int | None) -> float | None:
    return None if sample is None else round(sample / SAMPLE_RATE, 5)


def _event(e: FiredEvent) -> dict[str, Any]:
    return {"kind": e.kind, "at_s": _s(e.sample), "trigger": e.trigger}


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
        self.disconnects: list[dict[str, Any]] = []

    def add(self, mic: np.ndarray, ear: np.ndarray) -> None:
        """One tick: both tracks advance together, so they always have the same length."""
        self._mic.append(mic)
        self._ear.append(ear)

    @property
    def samples(self) -> int:
        return sum(len(f) for f in self._mic)

    def mic(self) -> np.ndarray:
        return np.concatenate(self._mic) if self._mic else np.zeros(0, dtype=np.int16)

    def ear(self) -> np.ndarray:
        return np.concatenate(self._ear) if self._ear else np.zeros(0, dtype=np.int16)

    def events(
        self,
        utterances: list[UtteranceLog],
        playback: list[PlaybackRecord],
        fired: list[FiredEvent],
        counters: dict[str, Any],
    ) -> dict[str, Any]:
        return {
            "sample_rate": SAMPLE_RATE,
            "duration_s": _s(self.samples),
            "utterances": [
                {
                    "index": u.index,
                    "text": u.text,
                    "start_s": _s(u.start_sample),
                    "end_s": _s(u.end_sample),
                    "barge_in": u.barge_in,
                    "trigger": u.trigger,
                }
                for u in utterances
            ],
            # Only streams that were heard; ones dropped before their first sample are listed apart
            # so every playback entry has a start_s to measure from.
            "playback": [
                {
                    "stream": p.stream,
                    "start_s": _s(p.start_sample),
                    "end_s": _s(p.end_sample),
                    "ended": p.ended,
                    "flush_received_s": _s(p.flush_received_sample),
                    "samples": p.samples,
                }
                for p in playback
                if p.start_sample is not None
            ],
            "unplayed": [
                {"stream": p.stream, "ended": p.ended, "flush_received_s": _s(p.flush_received_sample)}
                for p in playback
                if p.start_sample is None
            ],
            "buttons": [_event(e) for e in fired if e.table == "button"],
            "gestures": [_event(e) for e in fired if e.table == "gesture"],
            "disconnects": self.disconnects,
            "counters": counters,
        }

    def write(self, out: Path, events: dict[str, Any]) -> None:
        out.mkdir(parents=True, exist_ok=True)
        write_wav(out / "mic.wav", self.mic())
        write_wav(out / "ear.wav", self.ear())
        (out / "sim_events.json").write_text(json.dumps(events, indent=2) + "\n", encoding="utf-8")
