"""Plays the scenario's script on the audio clock, reacting to what the wearer hears.

The wearer behaves like a person: an utterance can wait for the assistant's answer to begin or
end (as played by the speaker, i.e. as heard), then speak after a delay. If the answer never
comes, the utterance goes ahead after ``timeout`` and the miss is logged and counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from sottovoce.firmware_sim.scenario import Scenario, Trigger
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE
from sottovoce.proto.gatt.speaker import PlaybackRecord

log = logging.getLogger(__name__)


@dataclass
class UtteranceLog:
    index: int
    text: str
    start_sample: int
    end_sample: int  # one past the last sample of speech
    barge_in: bool
    trigger: str  # the anchor that released it, or "timeout(<anchor>)"
    expects_reply: bool = True
    speaker: str = "wearer"
    language: str | None = None


@dataclass
class FiredEvent:
    table: str  # button | gesture
    kind: str
    sample: int
    trigger: str


def _seconds(s: float) -> int:
    return round(s * SAMPLE_RATE)


class Director:
    def __init__(self, scenario: Scenario, aloud: list[PlaybackRecord] | None = None) -> None:
        """``aloud``: the outward speaker's streams as they play (the ``aloud_*`` anchors)."""
        self.scenario = scenario
        self.aloud = aloud if aloud is not None else []
        self.spoken: list[UtteranceLog] = []
        self.misses = 0
        self._pending_events = [("button", e) for e in scenario.buttons] + [("gesture", e) for e in scenario.gestures]
        self.fired: list[FiredEvent] = []
        self._finish_at: int | None = None

    # --- anchors ------------------------------------------------------------------------------

    def _answer_to(self, ref: int, playback: list[PlaybackRecord]) -> PlaybackRecord | None:
        """The first stream heard after utterance ``ref`` ended: the assistant's answer to it."""
        end = self.spoken[ref].end_sample
        for record in playback:
            if record.start_sample is not None and record.start_sample >= end:
                return record
        return None

    def _due(self, trigger: Trigger, now: int, playback: list[PlaybackRecord]) -> tuple[int, str] | None:
        """Timeline sample at which ``trigger`` fires and why, or None if not known yet."""
        if trigger.at is not None:
            return _seconds(trigger.at), "at"
        delay = _seconds(trigger.delay)
        if trigger.after == "start":
            return delay, "start"
        ref = trigger.ref
        assert ref is not None  # validated at load
        if ref >= len(self.spoken) or self.spoken[ref].end_sample > now:
            return None  # the referenced utterance has not finished yet
        said = self.spoken[ref]
        if trigger.after == "previous_end":
            return said.end_sample + delay, "previous_end"
        answer = self._answer_to(ref, self.aloud if trigger.after.startswith("aloud") else playback)
        if trigger.after.endswith("_start") and answer is not None:
            return answer.start_sample + delay, trigger.after  # type: ignore[operator]
        if trigger.after.endswith("_end") and answer is not None and answer.ended is not None:
            return (answer.end_sample or answer.start_sample or 0) + delay, trigger.after
        deadline = said.end_sample + _seconds(trigger.timeout)
        if now >= deadline:
            return deadline, f"timeout({trigger.after})"
        return None

    # --- per tick -----------------------------------------------------------------------------

    def step(self, k: int, playback: list[PlaybackRecord]) -> tuple[np.ndarray, list[FiredEvent]]:
        """Speech for timeline frame ``k`` (float, int16 scale) and the device events due in it."""
        start, stop = k * FRAME_SAMPLES, (k + 1) * FRAME_SAMPLES
        # Utterances begin in file order; one can start within this frame, at sample accuracy.
        i = len(self.spoken)
        if i < len(self.scenario.utterances):
            u = self.scenario.utterances[i]
            due = self._due(u.trigger, start, playback)
            if due is not None and due[0] < stop:
                at, why = max(due[0], start), due[1]
                if why.startswith("timeout"):
                    self.misses += 1
                    log.warning("utterance #%d: %s did not happen in %.1f s; speaking anyway", i + 1,
                                u.trigger.after, u.trigger.timeout)  # fmt: skip
                assert u.audio is not None, "scenario not synthesised"
                self.spoken.append(UtteranceLog(i, u.text, at, at + len(u.audio), u.barge_in, why, u.reply,
                                                u.speaker, u.language))  # fmt: skip
        speech = np.zeros(FRAME_SAMPLES, dtype=np.float64)
        for said in self.spoken:
            if said.end_sample <= start or said.start_sample >= stop:
                continue
            audio = self.scenario.utterances[said.index].audio
            assert audio is not None
            lo, hi = max(start, said.start_sample), min(stop, said.end_sample)
            speech[lo - start : hi - start] += audio[lo - said.start_sample : hi - said.start_sample]
        fired = []
        for item in list(self._pending_events):
            table, event = item
            due = self._due(event.trigger, start, playback)
            if due is not None and due[0] < stop:
                self._pending_events.remove(item)
                fired.append(FiredEvent(table, event.kind, max(due[0], start), due[1]))
        self.fired.extend(fired)
        return speech, fired

    def finished(self, k: int, playback: list[PlaybackRecord]) -> bool:
        """True once the script, the last answer and the tail are over (or max_duration hit)."""
        now = (k + 1) * FRAME_SAMPLES
        if now >= _seconds(self.scenario.max_duration):
            return True
        if self._finish_at is None:
            if len(self.spoken) < len(self.scenario.utterances) or self._pending_events:
                return False
            last = self.spoken[-1]
            if last.end_sample > now:
                return False
            answer = self._answer_to(len(self.spoken) - 1, playback)
            if answer is not None and answer.ended is None:
                # Still playing (or stalled): wait, but not forever after the last sound.
                heard = max((r.end_sample or 0) for r in playback)
                if now < heard + _seconds(self.scenario.utterances[-1].trigger.timeout):
                    return False
            elif answer is None and now < last.end_sample + _seconds(self.scenario.utterances[-1].trigger.timeout):
                return False
            self._finish_at = now + _seconds(self.scenario.tail)
        return now >= self._finish_at
