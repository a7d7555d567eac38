"""The other person's voice, 20 dB under the wearer's, after a stretch of silence: the VAD must still
hear it (translation mode's ``FrameScorer(fresh_after_silence=True)``)."""

from __future__ import annotations

import numpy as np
import pytest

from sottovoce.edge.scorer import SILENCE_RESET_FRAMES, FrameScorer
from sottovoce.edge.vad import VADS, make_vad
from sottovoce.firmware_sim.mic import Mic
from sottovoce.firmware_sim.scenario import Echo, Noise, load_scenario
from sottovoce.proto.codec import FRAME_SAMPLES


@pytest.fixture(scope="module")
def voices() -> tuple[np.ndarray, np.ndarray]:
    s = load_scenario("translation")  # the wearer close, the other person 1.5 m away in a room
    return s.utterances[1].audio, s.utterances[2].audio


def _voiced_frames(wearer: np.ndarray, other: np.ndarray, silence_s: float, fresh: bool) -> tuple[int, int, int]:
    """The wearer speaks, ``silence_s`` of background, then the other person: (their frames read as
    speech, their frames, VAD resets)."""
    mic = Mic(Noise(-58.0, "pink"), Echo(), seed=0)
    gap = np.zeros(round(silence_s * 16000))
    speech = np.concatenate([np.zeros(16000), wearer, gap, other, np.zeros(16000)]).astype(np.float64)
    scorer = FrameScorer(make_vad(next(iter(VADS))), fresh_after_silence=fresh)
    heard = [scorer.score(k, mic.capture(speech[k * FRAME_SAMPLES : (k + 1) * FRAME_SAMPLES])).speech
             for k in range(len(speech) // FRAME_SAMPLES)]  # fmt: skip
    first = (16000 + len(wearer) + len(gap)) // FRAME_SAMPLES
    theirs = np.array(heard[first : first + len(other) // FRAME_SAMPLES])
    return int((theirs >= 0.7).sum()), len(theirs), scorer.vad_resets


def test_after_ten_seconds_of_silence_the_vad_started_afresh_still_hears_the_other_person(voices):
    wearer, other = voices
    carried, n, _ = _voiced_frames(wearer, other, 10.0, fresh=False)
    fresh, _, resets = _voiced_frames(wearer, other, 10.0, fresh=True)
    # Silero's state carried over ten seconds of background reads almost none of them as speech
    assert carried < 0.2 * n
    assert fresh > 0.6 * n and resets >= 10.0 * 50 // SILENCE_RESET_FRAMES - 1


def test_the_vad_is_not_reset_while_anyone_speaks(voices):
    wearer, _ = voices
    scorer = FrameScorer(make_vad(next(iter(VADS))), fresh_after_silence=True)
    for k in range(len(wearer) // FRAME_SAMPLES):
        scorer.score(k, wearer[k * FRAME_SAMPLES : (k + 1) * FRAME_SAMPLES])
    assert scorer.vad_resets == 0
