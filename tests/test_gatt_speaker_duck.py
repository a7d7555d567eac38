"""The device's speaker ducking an answer and restoring it, or holding it where it is and setting it
going again: sample-exact ramps, reported, nothing skipped or repeated."""

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


def _play(
    commands: dict[int, ctl.ControlMessage], ticks: int = FRAMES + 2
) -> tuple[np.ndarray, Speaker, list[ctl.ControlMessage]]:
    """The answer through a fresh speaker, ``commands[k]`` arriving just before tick k."""
    sent: list[ctl.ControlMessage] = []
    speaker = Speaker(sent.append, lambda: 0)
    for writes in WRITES:
        for w in writes:
            speaker.on_downlink(w)
    speaker.on_control(ctl.StreamEnd(stream=1, frames=FRAMES))
    ear = []
    for k in range(ticks):
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


HOLD = ctl.Duck(1, 60, 20, hold=True)
RESUME = ctl.Duck(1, 0, 40)


def _reports(sent: list[ctl.ControlMessage]) -> list[tuple[str, int]]:
    return [(m.event, m.sample) for m in sent if isinstance(m, ctl.PlaybackReport)]


def test_a_hold_fades_out_one_frame_waits_and_resumes_from_the_next_frame():
    n = FRAME_SAMPLES
    # ducked at tick 3, held at tick 5 (the frame of tick 5 fades out), resumed at tick 12
    ear, speaker, sent = _play({3: ctl.Duck(1, 24, 10), 5: HOLD, 12: RESUME}, ticks=FRAMES + 10)
    record = speaker.playback[0]
    # the frame in play fades from the ducked level to silence, then nothing until the resume
    fade = ramp_gains(gain_of(24), 0.0, n, 0, n)
    assert np.array_equal(ear[5 * n : 6 * n], np.round(REFERENCE[5 * n : 6 * n] * fade).astype(np.int16))
    assert not ear[6 * n : 12 * n].any()
    assert np.abs(np.diff(np.concatenate([[gain_of(24)], fade]))).max() < 0.01  # no click
    # ... and goes on with frame 6 of the answer, fading in: nothing skipped, nothing repeated
    up = ramp_gains(0.0, 1.0, 640, 0, 2 * n)
    assert np.array_equal(ear[12 * n : 14 * n], np.round(REFERENCE[6 * n : 8 * n] * up).astype(np.int16))
    assert np.array_equal(ear[14 * n : (FRAMES + 6) * n], REFERENCE[8 * n : FRAMES * n])
    assert record.ended == "finished" and record.samples == FRAMES * n
    (hold,) = record.holds
    assert (hold.sample, hold.from_db, hold.ramp_samples) == (5 * n, 24.0, n)
    assert (hold.held_sample, hold.resumed_sample) == (6 * n, 12 * n)
    assert [d.depth_db for d in record.ducks] == [24, 0]  # the hold is no level change of its own
    # 'held' once stopped, at the samples played; no underrun while held; back at the same position
    reports = _reports(sent)
    assert ("held", 6 * n) in reports and ("restored", 6 * n) in reports
    assert not [r for r in reports if r[0] == "underrun"] and speaker.counters.underruns == 0
    assert speaker.counters.holds == 1 and speaker.counters.resumes == 1


def test_a_held_answer_flushed_was_last_heard_at_the_hold():
    n = FRAME_SAMPLES
    ear, speaker, sent = _play({3: ctl.Duck(1, 24, 10), 5: HOLD, 9: ctl.Flush(1)})
    record = speaker.playback[0]
    assert record.ended == "flushed" and record.end_sample == 6 * n and record.samples == 6 * n
    assert not ear[6 * n :].any()
    assert ("flushed", 6 * n) in _reports(sent)  # what the wearer heard, to the sample
    assert record.holds[0].resumed_sample is None


def test_a_hold_undone_during_its_ramp_never_stops_the_stream():
    n = FRAME_SAMPLES
    ear, speaker, sent = _play({5: ctl.Duck(1, 60, 60, hold=True), 6: RESUME})
    record = speaker.playback[0]
    assert record.ended == "finished" and record.samples == FRAMES * n
    assert all(ear[k * n : (k + 1) * n].any() for k in range(FRAMES))  # no silent frame: it never stopped
    assert record.holds[0].held_sample is None and "held" not in [r[0] for r in _reports(sent)]
    assert speaker.counters.resumes == 0


def test_a_duck_while_held_leaves_the_answer_held_until_a_restore():
    n = FRAME_SAMPLES
    ear, speaker, sent = _play({5: HOLD, 7: ctl.Duck(1, 24, 10), 10: RESUME}, ticks=FRAMES + 6)
    assert not ear[6 * n : 10 * n].any()
    assert speaker.counters.ducks_while_held == 1 and speaker.playback[0].holds[0].resumed_sample == 10 * n
    assert [r[0] for r in _reports(sent) if r[0] in ("held", "ducked", "restored")] == ["held", "restored"]


def test_a_hold_before_the_stream_starts_keeps_it_from_starting():
    n = FRAME_SAMPLES
    ear, speaker, sent = _play({0: HOLD, 4: RESUME}, ticks=FRAMES + 6)
    record = speaker.playback[0]
    assert not ear[: 4 * n].any() and record.start_sample == 4 * n
    assert record.ended == "finished" and record.samples == FRAMES * n
    assert ("held", 0) in _reports(sent)


@given(
    st.lists(st.tuples(st.integers(0, FRAMES + 8), st.sampled_from([HOLD, RESUME, ctl.Duck(1, 24, 10)])), max_size=8)
)
def test_holds_and_resumes_in_any_order_skip_and_repeat_nothing(schedule):
    """Whatever holds, ducks and restores come when: the frames played, in order, are the answer's
    frames (each at some level between silence and full), every one of them once."""
    commands = dict(schedule)
    sent: list[ctl.ControlMessage] = []
    speaker = Speaker(sent.append, lambda: 0)
    for writes in WRITES:
        for w in writes:
            speaker.on_downlink(w)
    speaker.on_control(ctl.StreamEnd(stream=1, frames=FRAMES))
    played = []
    for k in range(FRAMES + 10):
        if k in commands:
            speaker.on_control(commands[k])
        before = speaker.counters.frames_played
        out = speaker.tick(k)
        if speaker.counters.frames_played > before:
            played.append(out)
        else:
            assert not out.any()  # a tick that consumes no frame is silent
    if speaker.playback[0].ended != "finished":  # held at the end of the run: resume it to the end
        speaker.on_control(RESUME)
        for k in range(FRAMES + 10, 2 * FRAMES + 12):
            before = speaker.counters.frames_played
            out = speaker.tick(k)
            if speaker.counters.frames_played > before:
                played.append(out)
    assert len(played) == FRAMES and speaker.counters.underruns == 0
    ear = np.concatenate(played).astype(np.int32)
    ref = REFERENCE[: FRAMES * FRAME_SAMPLES].astype(np.int32)
    assert (np.abs(ear) <= np.abs(ref) + 1).all() and (ear * ref >= 0).all()
