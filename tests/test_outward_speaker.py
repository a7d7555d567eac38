"""The glasses' outward speaker (translation mode's replies, said aloud for the person in front of
the wearer): stream ids with the ``OUTWARD`` bit, routed by the device, paced by the edge's
playback beside the ear's stream, and chosen by the daemon for responses marked OUTPUT_OUTWARD."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sottovoce.edge.config import EdgeConfig
from sottovoce.edge.daemon import Edge
from sottovoce.edge.links.base import DeviceLink
from sottovoce.edge.playback import Playback
from sottovoce.proto import control as ctl
from sottovoce.proto import events
from sottovoce.proto.codec import DOWNLINK_CONFIG, FRAME_SAMPLES, OpusEncoder
from sottovoce.proto.gatt import speaker
from sottovoce.proto.v1 import duplex_pb2 as pb
from sottovoce.tools import cli


def tone(n: int, hz: float = 300.0) -> list[bytes]:
    encoder = OpusEncoder(DOWNLINK_CONFIG)
    t = np.arange(n * FRAME_SAMPLES) / 16000
    pcm = (6000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return [encoder.encode(pcm[i : i + FRAME_SAMPLES]) for i in range(0, len(pcm), FRAME_SAMPLES)]


class DeviceOnLink(DeviceLink):
    """The simulator's device side (a real SpeakerServer), handed whole writes in memory."""

    description = "in-memory device"
    has_downlink = True
    att_mtu = 64

    def __init__(self) -> None:
        self.reports: list[ctl.ControlMessage] = []
        self.device = speaker.SpeakerServer(lambda m: self.reports.append(ctl.decode(m)), clock_us=lambda: 0)
        self.tick = 0

    async def open(self, events) -> None:  # pragma: no cover - not used here
        raise NotImplementedError

    async def write_downlink(self, data: bytes) -> None:
        self.device.speaker.on_downlink(data)

    async def write_control(self, data: bytes) -> None:
        self.device.on_control(data)

    async def close(self) -> None:
        pass

    def play(self, ticks: int) -> tuple[np.ndarray, np.ndarray]:
        """Both speakers for ``ticks`` frames: (ear, outward)."""
        ear, out = [], []
        for _ in range(ticks):
            ear.append(self.device.speaker.tick(self.tick))
            out.append(self.device.outward.tick(self.tick))
            self.tick += 1
        return np.concatenate(ear), np.concatenate(out)


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_ear_and_outward_streams_play_side_by_side_on_their_own_speakers():
    heard: list[tuple[str, int, int]] = []
    playback = Playback(lambda *e: heard.append(e), window_frames=10)
    link = DeviceOnLink()
    playback.attach(link)
    task = asyncio.create_task(playback.run())
    try:
        ear = playback.start(1)
        aloud = playback.start(2, outward=True)
        assert not speaker.is_outward(ear.stream_id) and speaker.is_outward(aloud.stream_id)
        assert ear.live and aloud.live  # neither supersedes the other
        for f in tone(6, 300.0):
            playback.add_frame(1, f)
        for f in tone(8, 900.0):
            playback.add_frame(2, f)
        playback.finish(1)
        playback.finish(2)
        await settle()
        in_ear, said = link.play(12)
        for report in link.reports:
            playback.on_report(report)
        await settle()
    finally:
        task.cancel()
    assert np.abs(in_ear).max() > 1000 and np.abs(said).max() > 1000

    def dominant_hz(x: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(x.astype(np.float64)))
        return float(np.argmax(spectrum) * 16000 / len(x))

    assert abs(dominant_hz(in_ear) - 300) < 30 and abs(dominant_hz(said) - 900) < 30
    ear_records, out_records = link.device.speaker.playback, link.device.outward.playback
    assert [r.stream for r in ear_records] == [ear.stream_id] and ear_records[0].ended == "finished"
    assert [r.stream for r in out_records] == [aloud.stream_id] and out_records[0].ended == "finished"
    assert out_records[0].samples == 8 * FRAME_SAMPLES
    assert ("finished", 1, 6 * FRAME_SAMPLES) in heard and ("finished", 2, 8 * FRAME_SAMPLES) in heard


def test_a_flush_or_duck_of_an_outward_stream_leaves_the_ear_alone():
    link = DeviceOnLink()
    packetizer = speaker.DownlinkPacketizer(64)
    outward_id = speaker.OUTWARD | 3
    for f_ear, f_out in zip(tone(4), tone(4, 700.0), strict=True):
        for chunk in packetizer.packetize(1, f_ear) + packetizer.packetize(outward_id, f_out):
            link.device.speaker.on_downlink(chunk)
    link.play(2)
    link.device.on_control(ctl.Duck(stream=outward_id, depth_db=30, ramp_ms=0).encode())
    link.device.on_control(ctl.Flush(stream=outward_id).encode())
    in_ear, said = link.play(2)
    assert np.abs(in_ear).max() > 1000 and not said.any()
    assert link.device.outward.counters.flushes == 1 and link.device.speaker.counters.flushes == 0
    assert link.device.outward.counters.ducks == 1 and link.device.speaker.counters.ducks == 0
    flushed = [m for m in link.reports if isinstance(m, ctl.PlaybackReport) and m.event == "flushed"]
    assert [m.stream for m in flushed] == [outward_id]


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=40), max_size=30))
def test_any_downlink_bytes_for_either_speaker_are_counted_never_raised(writes):
    device = speaker.SpeakerServer(lambda m: None, clock_us=lambda: 0)
    for w in writes:
        device.write(speaker.DOWNLINK_UUID, w)
    for k in range(3):
        device.speaker.tick(k)
        device.outward.tick(k)
    ear, out = device.speaker.counters, device.outward.counters
    assert ear.malformed_writes <= len(writes)
    assert ear.frames_received + out.frames_received <= len(writes)


@pytest.fixture
def translating_edge(tmp_path):
    edge = Edge(EdgeConfig(device="serial:/dev/ttyNOPE0", host="127.0.0.1:9", turn="silence", mode="translation",
                           language="es", events=tmp_path / "events.jsonl"))  # fmt: skip
    yield edge
    edge.close()


async def test_a_response_marked_outward_plays_on_the_outward_speaker_never_in_the_ear(translating_edge, tmp_path):
    edge = translating_edge
    assert (edge.host.start.mode, edge.host.start.language, edge.host.start.target_language) == (
        pb.MODE_TRANSLATION, "en", "es")  # fmt: skip
    link = DeviceOnLink()
    edge.link = link
    edge.playback.attach(link)
    task = asyncio.create_task(edge.playback.run())
    try:
        started = pb.ResponseEvent(kind=pb.ResponseEvent.STARTED, response_id=7, turn_id=1, text="Sí, la estación",
                                   output=pb.OUTPUT_OUTWARD)  # fmt: skip
        edge.on_host_message(pb.HostMessage(response=started))
        for f in tone(5):
            edge.on_host_message(pb.HostMessage(audio=pb.ResponseAudio(response_id=7, opus=f)))
        edge.on_host_message(pb.HostMessage(response=pb.ResponseEvent(kind=pb.ResponseEvent.DONE, response_id=7)))
        await settle()
        in_ear, said = link.play(8)
    finally:
        task.cancel()
    assert not in_ear.any() and np.abs(said).max() > 1000
    assert [r.samples for r in link.device.outward.playback] == [5 * FRAME_SAMPLES]
    assert link.device.speaker.playback == []
    assert edge.playback.active is None  # nothing in the ear for the arbiter to duck or stop
    edge.close()
    logged = events.of_type(events.read_events(tmp_path / "events.jsonl"), events.ResponseStarted)
    assert [(r.response_id, r.output) for r in logged] == [(7, "outward")]


def test_an_assistant_session_names_no_other_language():
    edge = Edge(EdgeConfig(device="serial:/dev/ttyNOPE0", host="127.0.0.1:9", turn="silence"))
    assert (edge.host.start.language, edge.host.start.target_language) == ("en", "")
    assert edge.floor is None


def test_a_language_that_is_no_language_code_is_a_one_line_error(capsys):
    assert cli.main(["edge", "--device", "serial:/dev/ttyNOPE0", "--mode", "translation", "--language", "Spanish"]) == 2
    err = capsys.readouterr().err
    assert "sottovoce edge: --language must be a language code such as 'es' or auto, got 'Spanish'" in err
