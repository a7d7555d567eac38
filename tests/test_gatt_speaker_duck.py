"""The device's speaker ducking an answer and restoring it: sample-exact ramps, reported, no skip."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sottovoce.proto import control as ctl
from sottovoce.proto.codec import DOWNLINK_CONFIG, FRAME_SAMPLES, OpusEncoder
from sottovoce.proto.gatt.speaker import DownlinkPacketizer, Speaker, gain_of, ramp_gains, samples_to_reach

FRAMES = 20


def _answer_writes() -> list[list[bytes]]:
    """A 400 ms tone as the edge sends it: Opus frames split into downlink writes."""
    encoder, packetizer = OpusEncoder(DOWNLINK_CONFIG), DownlinkPacketizer(64)
    t = np.arange(FRAMES * FRAME_SAMPLES) / 16000
    pcm = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    return [packetizer.packetize(1, encoder.encode(f)) for f in pcm.reshape(FRAMES, FRAME_SAMPLES)]


WRITES = _answer_writes()


def _play(commands: dict[int, ctl.ControlMessage]) -> tuple[np.ndarray, Speaker, list[ctl.ControlMessage]]:
    """The answer through a fresh speaker, ``commands[k]`` arriving just before tick k."""
    sent: list[ctl.ControlMessage] = []
    speaker = Speaker(sent.append, lambda: 0)
    for writes in WRITES:
        for w in writes:
            speaker.on_downlink(w)
    speaker.on_control(ctl.StreamEnd(stream=1, frames=FRAMES))
    ear = []
    for k in range(FRAMES + 2):
        if k in commands:
            speaker.on_control(commands[k])
        ear.append(speaker.tick(k))
    return np.concatenate(ear), speaker, sent


REFERENCE, _, _ = _play({})


def test_a_duck_ramps_down_from_the_next_sample_and_a_restore_brings_the_same_audio_back():
    ear, speaker, sent = _play({5: ctl.Duck(1, 24, 10), 10: ctl.Duck(1, 0, 40)})
    n = FRAME_SAMPLES
    # nothing before the duck changed; nothing skipped or repeated: every sample is the reference's, scaled
    assert np.array_equal(ear[: 5 * n], REFERENCE[: 5 * n])
    down = ramp_gains(1.0, gain_of(24), 160, 0, 5 * n)
    assert np.array_equal(ear[5 * n : 10 * n], np.round(REFERENCE[5 * n : 10 * n] * down).astype(np.int16))
    up = ramp_gains(gain_of(24), 1.0, 640, 0, 5 * n)
    assert np.array_equal(ear[10 * n : 15 * n], np.round(REFERENCE[10 * n : 15 * n] * up).astype(np.int16))
    assert np.array_equal(ear[15 * n :], REFERENCE[15 * n :])
    # >= 20 dB down within the ramp, and no click: the gain moves by under 1 % of full scale per sample
    assert np.abs(ear[5 * n + 160 : 10 * n]).max() <= 0.1 * np.abs(REFERENCE[5 * n + 160 : 10 * n]).max()
    assert np.abs(np.diff(np.concatenate([[1.0], down, up]))).max() < 0.01
    record = speaker.playback[0]
    assert record.ended == "finished" and record.samples == FRAMES * n
    assert [(d.sample, d.from_db, d.depth_db, d.ramp_samples) for d in record.ducks] == [
        (5 * n, 0.0, 24, 160),
        (10 * n, 24.0, 0, 640),
    ]
    reports = [(m.event, m.sample) for m in sent if isinstance(m, ctl.PlaybackReport)]
    assert ("ducked", 5 * n) in reports and ("restored", 10 * n) in reports
    assert speaker.counters.ducks == 2


def test_a_duck_during_a_restore_starts_from_the_level_reached():
    ear, speaker, _ = _play({5: ctl.Duck(1, 30, 0), 6: ctl.Duck(1, 0, 40), 7: ctl.Duck(1, 30, 10)})
    first, second, third = speaker.playback[0].ducks
    assert first.from_db == 0.0 and second.from_db == 30.0
    assert 0 < third.from_db < 30  # 20 ms into a 40 ms restore
    start = gain_of(third.from_db)
    n = FRAME_SAMPLES
    assert abs(int(ear[7 * n]) - round(REFERENCE[7 * n] * start)) <= abs(REFERENCE[7 * n]) * 0.01 + 1


def test_a_duck_for_a_stream_not_playing_is_counted_and_changes_nothing():
    ear, speaker, sent = _play({5: ctl.Duck(9, 24, 10)})
    assert np.array_equal(ear, REFERENCE)
    assert speaker.counters.ducks_stale == 1 and not speaker.playback[0].ducks
    assert not [m for m in sent if isinstance(m, ctl.PlaybackReport) and m.event in ("ducked", "restored")]


@pytest.mark.parametrize(("depth", "ramp"), [(24, 160), (20, 160), (60, 0), (40, 1)])
def test_samples_to_reach_agrees_with_the_ramp(depth, ramp):
    target = gain_of(depth)
    n = samples_to_reach(1.0, target, ramp, gain_of(20))
    gains = ramp_gains(1.0, target, ramp, 0, max(ramp, 1) + 1)
    assert n is not None and gains[n - 1] <= gain_of(20) + 1e-12
    assert n == 1 or gains[n - 2] > gain_of(20)


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.integers(0, 2000), st.floats(0.001, 1.0))
def test_samples_to_reach_is_the_first_sample_at_or_below_the_gain(start, target, ramp, gain):
    n = samples_to_reach(start, target, ramp, gain)
    gains = ramp_gains(start, target, ramp, 0, ramp + 2)
    if n is None:
        assert target > gain and (gains > gain - 1e-9).all()
    elif n > 0:
        assert gains[n - 1] <= gain + 1e-9
        assert n == 1 or gains[n - 2] > gain - 1e-9
