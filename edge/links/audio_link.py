"""The Pi itself as the wearable: a microphone and speaker on the edge machine, through PyAudio.

The link runs the wearable's side of the profile locally, the same server side the simulator
runs (``proto.gatt``): the microphone is Opus-encoded and packetised exactly as glasses would send
it (so the rest of the edge cannot tell the difference), and the downlink and control messages go
to the device's speaker service (playback buffer, flush, exact sample reports, mute, time sync).
One duplex PortAudio stream clocks both directions, 20 ms per callback, so mic and speaker share
one timeline.

PyAudio builds against PortAudio (Debian: portaudio19-dev to build, libportaudio2 to run);
install it with ``pip install 'sottovoce[edge-audio]'``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from types import ModuleType
from typing import Any

import numpy as np

from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE
from sottovoce.proto.gatt import audio, speaker

from .base import DeviceLink, DeviceNotFound, LinkEvents

log = logging.getLogger(__name__)

SILENCE = bytes(FRAME_SAMPLES * 2)
EAR_QUEUE_FRAMES = 4  # frames rendered ahead of the output callback: bounds the added latency


class AudioLink(DeviceLink):
    has_downlink = True
    att_mtu = 247  # nothing is sent over the air: frame as a well-negotiated BLE link would

    def __init__(
        self, input_device: str | None = None, output_device: str | None = None, pyaudio: ModuleType | None = None
    ) -> None:
        self.input_device = input_device
        self.output_device = output_device
        self.description = f"local audio (in={input_device or 'default'}, out={output_device or 'default'})"
        self._module = pyaudio
        self._pa: Any = None
        self._stream: Any = None
        self._events: LinkEvents | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ear: deque[bytes] = deque()
        self._tick = 0
        self.bad_mic_buffers = 0
        self.ear_underruns = 0
        self.ear_overruns = 0

    @classmethod
    def from_url(cls, spec: str) -> AudioLink:
        """``audio:`` (default devices), ``audio:IN`` or ``audio:IN,OUT`` (index or name part)."""
        inp, _, out = spec.partition(",")
        return cls(inp or None, out or inp or None)

    async def open(self, events: LinkEvents) -> None:
        module = self._module or _import_pyaudio()
        try:
            self._pa = module.PyAudio()
        except Exception as exc:
            raise DeviceNotFound(f"cannot start PortAudio: {exc}") from None
        inp = self._find(self.input_device, "maxInputChannels")
        out = self._find(self.output_device, "maxOutputChannels")
        self._events = events
        self._loop = asyncio.get_running_loop()
        # Nothing crosses a radio here: the device's side hands whole messages and notifications over.
        self._audio = audio.AudioServer(lambda _uuid, notification: events.on_audio(notification))
        self.device = speaker.SpeakerServer(events.on_control, clock_us=lambda: time.monotonic_ns() // 1000)
        try:
            self._stream = self._pa.open(
                format=module.paInt16, channels=1, rate=SAMPLE_RATE, input=True, output=True,
                frames_per_buffer=FRAME_SAMPLES, input_device_index=inp, output_device_index=out,
                stream_callback=self._callback,
            )  # fmt: skip
        except Exception as exc:
            self._pa.terminate()
            raise DeviceNotFound(f"cannot open {self.description} at 16 kHz mono: {exc}") from None
        self._continue = module.paContinue

    def _find(self, wanted: str | None, channels_key: str) -> int | None:
        if wanted is None:
            return None
        infos = [self._pa.get_device_info_by_index(i) for i in range(self._pa.get_device_count())]
        for info in infos:
            named = wanted == str(info["index"]) or wanted.lower() in info["name"].lower()
            if named and info.get(channels_key, 0) > 0:
                return int(info["index"])
        kind = "input" if "Input" in channels_key else "output"
        names = ", ".join(f"{i['index']}:{i['name']}" for i in infos if i.get(channels_key, 0) > 0) or "none"
        raise DeviceNotFound(f"no audio {kind} device {wanted!r} (have: {names})")

    def _callback(self, in_data: bytes, frame_count: int, _time_info: Any, _status: int) -> tuple[bytes, int]:
        """PortAudio's thread: hand the mic to the event loop, take the next rendered ear frame."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._on_mic, bytes(in_data))
        if self._ear:
            return self._ear.popleft(), self._continue
        self.ear_underruns += 1
        return SILENCE, self._continue

    def _on_mic(self, data: bytes) -> None:
        events = self._events
        if events is None:
            return
        if len(data) != FRAME_SAMPLES * 2:
            self.bad_mic_buffers += 1
            return
        if not self.device.muted:
            self._audio.send(np.frombuffer(data, dtype="<i2"), self.att_mtu)
        # One speaker tick per mic frame keeps both on one timeline. The one output device here
        # is the ear and the outward speaker at once: both play into it.
        played = speaker.mix(self.device.speaker.tick(self._tick), self.device.outward.tick(self._tick))
        self._ear.append(played.tobytes())
        self._tick += 1
        if len(self._ear) > EAR_QUEUE_FRAMES:
            self._ear.popleft()
            self.ear_overruns += 1

    async def write_downlink(self, data: bytes) -> None:
        self.device.speaker.on_downlink(data)

    async def write_control(self, data: bytes) -> None:
        self.device.on_control(data)

    async def close(self) -> None:
        self._events = None
        if self._stream is not None:
            self._stream.stop_stream()
            self._stream.close()
            self._stream = None
        if self._pa is not None:
            self._pa.terminate()
            self._pa = None


def _import_pyaudio() -> ModuleType:
    try:
        import pyaudio
    except ImportError:
        raise DeviceNotFound(
            "pyaudio is not installed: apt install portaudio19-dev, then pip install 'sottovoce[edge-audio]'"
        ) from None
    return pyaudio
