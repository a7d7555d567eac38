"""The local-audio link against a fake at the PyAudio boundary (no sound card here)."""

from __future__ import annotations

import types
from typing import ClassVar

import numpy as np
import pytest
from link_events import RecordedEvents

from sottovoce.edge.links import DeviceNotFound, open_link
from sottovoce.edge.links.audio_link import AudioLink
from sottovoce.edge.uplink import Uplink
from sottovoce.proto import control
from sottovoce.proto.codec import DOWNLINK_CONFIG, FRAME_SAMPLES, OpusEncoder, frames_of, to_int16
from sottovoce.proto.gatt.speaker import DownlinkPacketizer


class FakeStream:
    def __init__(self, callback) -> None:
        self.callback = callback
        self.stopped = self.closed = False

    def stop_stream(self) -> None:
        self.stopped = True

    def close(self) -> None:
        self.closed = True


class FakePyAudio:
    """PortAudio with one USB headset; the test plays the sound card by calling the callback."""

    DEVICES: ClassVar[list[dict]] = [
        {"index": 0, "name": "bcm2835 HDMI", "maxInputChannels": 0, "maxOutputChannels": 2},
        {"index": 1, "name": "USB Headset", "maxInputChannels": 1, "maxOutputChannels": 2},
    ]

    def __init__(self) -> None:
        self.stream: FakeStream | None = None
        self.opened: dict = {}

    def get_device_count(self) -> int:
        return len(self.DEVICES)

    def get_device_info_by_index(self, i: int) -> dict:
        return self.DEVICES[i]

    def open(self, **kwargs) -> FakeStream:
        self.opened = kwargs
        self.stream = FakeStream(kwargs["stream_callback"])
        return self.stream

    def terminate(self) -> None:
        pass


def fake_module() -> tuple[types.ModuleType, list[FakePyAudio]]:
    instances: list[FakePyAudio] = []

    def make() -> FakePyAudio:
        instances.append(FakePyAudio())
        return instances[-1]

    module = types.SimpleNamespace(PyAudio=make, paInt16=8, paContinue=0)
    return module, instances  # type: ignore[return-value]


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return to_int16(0.3 * np.sin(2 * np.pi * 300 * t))


async def pump(link: AudioLink, stream: FakeStream, frames: list[np.ndarray]) -> list[np.ndarray]:
    """Play the sound card for len(frames) callbacks; returns what the speaker was given."""
    import asyncio

    ear = []
    for f in frames:
        out, _ = stream.callback(f.tobytes(), FRAME_SAMPLES, {}, 0)
        ear.append(np.frombuffer(out, dtype="<i2"))
        await asyncio.sleep(0)  # let call_soon_threadsafe deliver the mic frame
    return ear


async def test_mic_becomes_omi_audio_and_the_downlink_plays_with_reports():
    module, pas = fake_module()
    link = AudioLink("Headset", pyaudio=module)
    events = RecordedEvents()
    await link.open(events)
    assert pas[0].opened["input_device_index"] == 1 and pas[0].opened["rate"] == 16000
    stream = pas[0].stream

    speech = tone(0.4)
    await pump(link, stream, frames_of(speech))
    decoded = []
    uplink = Uplink(decoded.append)
    uplink.connected(link.att_mtu)
    for n in events.audio:
        uplink.feed(n)
    assert len(decoded) == 20  # every mic frame crossed as one Omi notification

    encoder, packetizer = OpusEncoder(DOWNLINK_CONFIG), DownlinkPacketizer(link.att_mtu)
    for f in frames_of(tone(0.2)):
        for packet in packetizer.packetize(1, encoder.encode(f)):
            await link.write_downlink(packet)
    await link.write_control(control.StreamEnd(stream=1, frames=10).encode())
    ear = await pump(link, stream, [np.zeros(FRAME_SAMPLES, np.int16)] * 20)
    loud = [int(np.abs(e.astype(np.int32)).max()) for e in ear]
    assert max(loud) > 1000
    reports = [control.decode(c) for c in events.control]
    kinds = [r.event for r in reports if isinstance(r, control.PlaybackReport)]
    assert kinds == ["started", "finished"]
    await link.close()
    assert stream.closed


async def test_mute_stops_the_microphone_and_a_time_sync_is_answered():
    module, pas = fake_module()
    link = AudioLink(pyaudio=module)
    events = RecordedEvents()
    await link.open(events)
    await link.write_control(control.SetMute(on=True).encode())
    await pump(link, pas[0].stream, frames_of(tone(0.1)))
    assert events.audio == []
    await link.write_control(control.SetMute(on=False).encode())
    await pump(link, pas[0].stream, frames_of(tone(0.1)))
    assert len(events.audio) == 5
    await link.write_control(control.TimeSyncRequest(t0=7).encode())
    (reply,) = [control.decode(c) for c in events.control]
    assert isinstance(reply, control.TimeSyncResponse) and reply.t0 == 7 and reply.t1 > 0
    await link.close()


async def test_unknown_device_lists_what_there_is():
    module, _ = fake_module()
    link = AudioLink("Bluetooth", None, pyaudio=module)
    with pytest.raises(DeviceNotFound, match=r"no audio input device 'Bluetooth' \(have: 1:USB Headset\)"):
        await link.open(RecordedEvents())


def test_audio_urls():
    link = open_link("audio:1,0")
    assert isinstance(link, AudioLink)
    assert (link.input_device, link.output_device) == ("1", "0")
