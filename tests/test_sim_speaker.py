"""Speaker buffer semantics, driven tick by tick without BLE: real downlink framing, real Opus."""

from __future__ import annotations

import numpy as np
import pytest

from sottovoce.proto import control as ctl
from sottovoce.proto.codec import DOWNLINK_CONFIG, FRAME_SAMPLES, OpusEncoder
from sottovoce.proto.gatt.speaker import CAPACITY_FRAMES, REPORT_EVERY_TICKS, DownlinkPacketizer, Speaker

MTU = 64


class Edge:
    """The sending side: encodes a tone and packetizes it like the edge does."""

    def __init__(self) -> None:
        self.encoder = OpusEncoder(DOWNLINK_CONFIG)
        self.packetizer = DownlinkPacketizer(MTU)
        self.n = 0

    def frame(self, stream: int) -> list[bytes]:
        t = (np.arange(FRAME_SAMPLES) + self.n * FRAME_SAMPLES) / 16000
        self.n += 1
        pcm = (6000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)
        return self.packetizer.packetize(stream, self.encoder.encode(pcm))


@pytest.fixture
def rig():
    sent: list[ctl.ControlMessage] = []
    now = [0]

    def clock() -> int:
        return now[0]

    speaker = Speaker(sent.append, clock)
    return speaker, Edge(), sent


def send(speaker: Speaker, edge: Edge, stream: int, frames: int) -> None:
    for _ in range(frames):
        for chunk in edge.frame(stream):
            speaker.on_downlink(chunk)


def playback(sent: list[ctl.ControlMessage]) -> list[tuple[str, int, int]]:
    return [(m.event, m.stream, m.sample) for m in sent if isinstance(m, ctl.PlaybackReport)]


def test_playback_waits_for_two_frames_then_reports_started(rig):
    speaker, edge, sent = rig
    send(speaker, edge, 1, 1)
    assert not speaker.tick(0).any()  # one frame queued: not yet
    send(speaker, edge, 1, 1)
    out = speaker.tick(1)
    assert np.abs(out).max() > 500
    assert playback(sent) == [("started", 1, 0)]
    assert speaker.playback[0].start_sample == 1 * FRAME_SAMPLES


def test_stream_end_lets_a_single_frame_play_and_then_finishes(rig):
    speaker, edge, sent = rig
    send(speaker, edge, 2, 1)
    speaker.on_control(ctl.StreamEnd(stream=2, frames=1))
    speaker.tick(0)
    assert playback(sent) == [("started", 2, 0), ("finished", 2, FRAME_SAMPLES)]
    record = speaker.playback[0]
    assert (record.ended, record.start_sample, record.end_sample) == ("finished", 0, FRAME_SAMPLES)


def test_flush_reports_exact_samples_played_and_drops_the_queue(rig):
    speaker, edge, sent = rig
    send(speaker, edge, 3, 10)
    for k in range(4):
        speaker.tick(k)
    speaker.on_control(ctl.Flush(stream=3))
    assert playback(sent)[-1] == ("flushed", 3, 4 * FRAME_SAMPLES)
    last = sent[-1]
    assert isinstance(last, ctl.BufferReport) and (last.queued, last.free, last.played) == (
        0,
        CAPACITY_FRAMES,
        4 * FRAME_SAMPLES,
    )
    assert not speaker.tick(4).any()  # silent at once
    record = speaker.playback[0]
    assert record.ended == "flushed" and record.flush_received_sample == 4 * FRAME_SAMPLES
    assert speaker.counters.frames_dropped_flush == 6
    # Frames of the flushed stream still in flight are dropped, not played.
    send(speaker, edge, 3, 3)
    assert not speaker.tick(5).any()
    assert speaker.counters.frames_dropped_late == 3


def test_new_stream_supersedes_the_old_one(rig):
    speaker, edge, _ = rig
    send(speaker, edge, 4, 5)
    speaker.tick(0)
    send(speaker, edge, 5, 2)
    speaker.tick(1)
    old, new = speaker.playback
    assert (old.stream, old.ended, old.samples) == (4, "superseded", FRAME_SAMPLES)
    assert new.stream == 5 and new.start_sample == FRAME_SAMPLES
    assert speaker.counters.superseded == 1 and speaker.counters.frames_dropped_flush == 4


def test_overflow_is_counted_and_a_full_buffer_is_reported(rig):
    speaker, edge, sent = rig
    send(speaker, edge, 6, CAPACITY_FRAMES + 7)
    assert speaker.counters.overflow == 7
    full = [m for m in sent if isinstance(m, ctl.BufferReport)]
    assert full and full[0].queued == CAPACITY_FRAMES and full[0].free == 0


def test_underrun_mid_stream_is_reported_once_and_playback_resumes(rig):
    speaker, edge, sent = rig
    send(speaker, edge, 7, 2)
    speaker.tick(0)
    speaker.tick(1)
    assert not speaker.tick(2).any()  # ran dry before StreamEnd
    assert not speaker.tick(3).any()
    assert playback(sent) == [("started", 7, 0), ("underrun", 7, 2 * FRAME_SAMPLES)]
    send(speaker, edge, 7, 2)
    assert speaker.tick(4).any()
    speaker.on_control(ctl.StreamEnd(stream=7, frames=4))
    speaker.tick(5)
    assert playback(sent)[-1] == ("finished", 7, 4 * FRAME_SAMPLES)
    assert speaker.counters.underruns == 1


def test_buffer_reports_every_100_ms_while_active(rig):
    speaker, edge, sent = rig
    send(speaker, edge, 8, 30)
    for k in range(20):
        speaker.tick(k)
    reports = [m for m in sent if isinstance(m, ctl.BufferReport)]
    assert len(reports) == 20 // REPORT_EVERY_TICKS
    assert [r.played for r in reports] == [FRAME_SAMPLES * (1 + REPORT_EVERY_TICKS * i) for i in range(4)]


def test_lost_write_is_concealed_in_place(rig):
    speaker, edge, _ = rig
    chunks = [edge.frame(9) for _ in range(4)]
    for i, frame in enumerate(chunks):
        for j, chunk in enumerate(frame):
            if not (i == 1 and j == 0):  # lose the first write of frame 1
                speaker.on_downlink(chunk)
    speaker.on_control(ctl.StreamEnd(stream=9, frames=4))
    for k in range(4):
        assert speaker.tick(k).any()
    assert speaker.counters.frames_concealed == 1
    assert speaker.playback[0].samples == 4 * FRAME_SAMPLES


def test_volume_scales_the_ear_and_whisper_is_recorded(rig):
    speaker, edge, _ = rig
    send(speaker, edge, 10, 4)
    loud = speaker.tick(0)
    speaker.on_control(ctl.SetVolume(level=25))
    speaker.on_control(ctl.SetWhisper(on=True))
    quiet = speaker.tick(1)
    assert 0 < np.abs(quiet).max() < np.abs(loud).max() / 2
    assert speaker.whisper and speaker.whisper_changes == 1
    assert not speaker.on_control(ctl.SetMute(on=True))  # the mic's business, not the speaker's


def test_malformed_write_is_counted_not_raised(rig):
    speaker, _, _ = rig
    speaker.on_downlink(b"\x01")
    assert speaker.counters.malformed_writes == 1
