"""Downlink pacing and playback bookkeeping against a device link that records what it is sent."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from sottovoce.edge.links.base import DeviceLink
from sottovoce.edge.playback import DUCK_DB, DUCK_RAMP_MS, HOLD_DB, HOLD_RAMP_MS, RESTORE_RAMP_MS, Playback
from sottovoce.proto import control
from sottovoce.proto.codec import DOWNLINK_CONFIG, FRAME_SAMPLES, OpusEncoder
from sottovoce.proto.gatt.speaker import DownlinkReassembler, Speaker


class RecordingLink(DeviceLink):
    """The device side of the downlink, in memory: reassembles what a real device would receive."""

    description = "recording link"
    has_downlink = True
    att_mtu = 64

    def __init__(self) -> None:
        self.frames: list[tuple[int, bytes]] = []
        self.controls: list[control.ControlMessage] = []
        self.reassembler = DownlinkReassembler(lambda s, f: self.frames.append((s, f)))

    async def open(self, events) -> None:  # pragma: no cover - not used here
        raise NotImplementedError

    async def write_downlink(self, data: bytes) -> None:
        self.reassembler.feed(data)

    async def write_control(self, data: bytes) -> None:
        self.controls.append(control.decode(data))

    async def close(self) -> None:
        pass


@pytest.fixture
async def setup():
    events: list[tuple[str, int, int]] = []
    playback = Playback(lambda *e: events.append(e), window_frames=10)
    link = RecordingLink()
    playback.attach(link)
    task = asyncio.create_task(playback.run())
    yield playback, link, events
    task.cancel()


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


async def test_sends_a_window_ahead_then_paces_by_reports(setup):
    playback, link, events = setup
    stream = playback.start(response_id=7)
    for i in range(30):
        playback.add_frame(7, bytes([i]) * 70)  # 70 bytes: split over two writes at MTU 64
    await settle()
    assert [f for _, f in link.frames] == [bytes([i]) * 70 for i in range(10)]
    playback.on_report(control.PlaybackReport("started", stream.stream_id, 0, 0))
    assert events == [("started", 7, 0)]
    playback.on_report(control.BufferReport(stream.stream_id, queued=5, free=45, played=5 * 320))
    await settle()
    assert len(link.frames) == 15
    playback.finish(7)
    playback.on_report(control.BufferReport(stream.stream_id, queued=0, free=50, played=30 * 320))
    await settle()
    assert len(link.frames) == 30
    assert link.controls == [control.StreamEnd(stream=stream.stream_id, frames=30)]
    playback.on_report(control.PlaybackReport("finished", stream.stream_id, 30 * 320, 0))
    assert events[-1] == ("finished", 7, 30 * 320)
    assert playback.active is None


async def test_a_queued_response_plays_after_the_one_playing_instead_of_superseding_it(setup):
    playback, link, events = setup
    first = playback.start(response_id=1)
    for i in range(5):
        playback.add_frame(1, bytes([i]) * 40)
    playback.finish(1)
    await settle()
    playback.on_report(control.PlaybackReport("started", first.stream_id, 0, 0))
    second = playback.start(response_id=2, queued=True)  # the next clause of a translation
    for i in range(5):
        playback.add_frame(2, bytes([10 + i]) * 40)
    playback.finish(2)
    await settle()
    assert playback.active is first and [s for s, _ in link.frames] == [first.stream_id] * 5  # one at a time
    playback.on_report(control.PlaybackReport("finished", first.stream_id, 5 * 320, 0))
    await settle()
    assert playback.active is second and [s for s, _ in link.frames][5:] == [second.stream_id] * 5
    assert ("interrupted", 1, 0) not in events and events[-1] == ("finished", 1, 5 * 320)


async def test_flush_stops_at_once_and_reports_what_was_heard(setup):
    playback, link, events = setup
    stream = playback.start(response_id=1)
    for i in range(40):
        playback.add_frame(1, bytes([i]) * 40)
    await settle()
    playback.on_report(control.PlaybackReport("started", stream.stream_id, 0, 0))
    await playback.flush(1)
    assert link.controls == [control.Flush(stream=stream.stream_id)]
    assert playback.active is None  # not a barge-in target any more
    playback.add_frame(1, b"late")
    assert playback.counters.frames_dropped_stale == 1
    playback.on_report(control.PlaybackReport("flushed", stream.stream_id, 2240, 0))
    assert events[-1] == ("interrupted", 1, 2240)
    await settle()
    assert len(link.frames) == 10  # nothing after the flush


async def test_new_response_supersedes_the_old_one(setup):
    playback, _, events = setup
    playback.start(response_id=1)
    playback.add_frame(1, b"x" * 10)
    second = playback.start(response_id=2)
    assert events == [("interrupted", 1, 0)]
    assert playback.active is second


async def test_queue_is_bounded_and_overflow_counted():
    playback = Playback(lambda *e: None, window_frames=10, max_queued_frames=5)
    playback.start(response_id=1)
    for _ in range(8):
        playback.add_frame(1, b"x")
    assert playback.counters.frames_dropped_overflow == 3


async def test_report_for_unknown_stream_is_counted(setup):
    playback, _, _ = setup
    playback.on_report(control.PlaybackReport("started", 200, 0, 0))
    assert playback.counters.bad_reports == 1


async def test_reconnect_interrupts_what_was_playing(setup):
    playback, _, events = setup
    playback.start(response_id=3)
    playback.attach(RecordingLink())
    assert events == [("interrupted", 3, 0)]


async def test_a_duck_goes_to_the_device_and_the_answer_keeps_flowing(setup):
    playback, link, events = setup
    stream = playback.start(response_id=4)
    assert not await playback.duck(4, DUCK_DB, DUCK_RAMP_MS)  # nothing sent yet: nothing to duck
    for i in range(15):
        playback.add_frame(4, bytes([i]) * 30)
    await settle()
    assert await playback.duck(4, DUCK_DB, DUCK_RAMP_MS)
    assert await playback.duck(4, 0, RESTORE_RAMP_MS)
    assert link.controls == [
        control.Duck(stream=stream.stream_id, depth_db=DUCK_DB, ramp_ms=DUCK_RAMP_MS),
        control.Duck(stream=stream.stream_id, depth_db=0, ramp_ms=RESTORE_RAMP_MS),
    ]
    playback.on_report(control.PlaybackReport("ducked", stream.stream_id, 960, 0))
    playback.on_report(control.PlaybackReport("restored", stream.stream_id, 4800, 0))
    assert events == [("ducked", 4, 960), ("restored", 4, 4800)]
    # ducking skips nothing: the pacing goes on and every frame reaches the device
    playback.on_report(control.BufferReport(stream.stream_id, queued=0, free=50, played=15 * 320))
    await settle()
    assert [f for _, f in link.frames] == [bytes([i]) * 30 for i in range(15)]
    assert playback.active is stream and (playback.counters.ducks, playback.counters.ducks_unsent) == (2, 1)
    await playback.flush(4)
    assert not await playback.duck(4, DUCK_DB, DUCK_RAMP_MS)  # stopped: a flush, not a duck
    assert link.controls[-1] == control.Flush(stream=stream.stream_id)


class SpeakerLink(RecordingLink):
    """The device side as a real device runs it: the wearable's speaker, ticked by the test."""

    def __init__(self, playback: Playback) -> None:
        super().__init__()
        self.speaker = Speaker(playback.on_report, lambda: 0)
        self.tick_no = 0

    async def write_downlink(self, data: bytes) -> None:
        self.speaker.on_downlink(data)

    async def write_control(self, data: bytes) -> None:
        await super().write_control(data)
        self.speaker.on_control(control.decode(data))

    def tick(self, n: int = 1) -> None:
        for _ in range(n):
            self.speaker.tick(self.tick_no)
            self.tick_no += 1


def _tone_frames(n: int) -> list[bytes]:
    encoder = OpusEncoder(DOWNLINK_CONFIG)
    t = np.arange(n * FRAME_SAMPLES) / 16000
    pcm = (6000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)
    return [encoder.encode(f) for f in pcm.reshape(n, FRAME_SAMPLES)]


async def _held_answer(response_id: int) -> tuple[Playback, SpeakerLink, list[tuple[str, int, int]], asyncio.Task]:
    """A 60-frame answer playing on a real speaker, held after 8 frames."""
    events: list[tuple[str, int, int]] = []
    playback = Playback(lambda *e: events.append(e), window_frames=10)
    link = SpeakerLink(playback)
    playback.attach(link)
    task = asyncio.create_task(playback.run())
    playback.start(response_id)
    for f in _tone_frames(60):
        playback.add_frame(response_id, f)
    playback.finish(response_id)
    for _ in range(8):
        await settle()
        link.tick()
    assert await playback.duck(response_id, HOLD_DB, HOLD_RAMP_MS, hold=True)
    link.tick()  # the frame in play fades out: held from here
    await settle()
    return playback, link, events, task


async def test_a_held_answer_stops_the_sending_at_the_window_and_resumes_where_it_was():
    playback, link, events, task = await _held_answer(5)
    try:
        assert events[-1] == ("held", 5, 9 * FRAME_SAMPLES)
        sent = playback.counters.frames_sent
        for _ in range(25):  # half a second held: the device's reports stand still, so does the sending
            link.tick()
            await settle()
        assert playback.counters.frames_sent == sent <= 9 + 10
        assert link.speaker.counters.underruns == 0 and link.speaker.counters.overflow == 0
        assert await playback.duck(5, 0, RESTORE_RAMP_MS)
        for _ in range(80):
            await settle()
            link.tick()
        record = link.speaker.playback[0]
        # every frame sent once, played once: the history's "heard" is the whole answer
        assert record.ended == "finished" and record.samples == 60 * FRAME_SAMPLES
        assert playback.counters.frames_sent == 60 and link.speaker.counters.frames_dropped_flush == 0
        assert events[-1] == ("finished", 5, 60 * FRAME_SAMPLES)
        assert [e[0] for e in events] == ["started", "held", "restored", "finished"]
    finally:
        task.cancel()


async def test_a_held_answer_flushed_reports_the_samples_heard_up_to_the_hold():
    playback, link, events, task = await _held_answer(6)
    try:
        link.tick(10)
        await playback.flush(6)
        assert events[-1] == ("interrupted", 6, 9 * FRAME_SAMPLES)
        assert link.speaker.playback[0].end_sample == 9 * FRAME_SAMPLES
    finally:
        task.cancel()


async def test_the_wearers_volume_reaches_the_device_and_every_later_connection(setup):
    playback, link, _ = setup
    await playback.set_volume(40)
    assert link.controls == [control.SetVolume(level=40)]
    playback.attach(None)
    await playback.set_volume(30)  # asked for while the glasses were away
    again = RecordingLink()
    playback.attach(again)  # reconnected: the device came up at full
    await settle()
    assert again.controls == [control.SetVolume(level=30)]
    assert playback.counters.volume_changes == 2
    fresh = RecordingLink()
    playback.attach(None)
    await playback.set_volume(100)
    playback.attach(fresh)  # at full already: nothing to say
    await settle()
    assert fresh.controls == []
