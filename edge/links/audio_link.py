"""The Pi itself as the wearable: a microphone and speaker on the edge machine, through PyAudio.

The link runs the wearable's side of the profile locally: the microphone is Opus-encoded and
packetised exactly as glasses would send it (so the rest of the edge cannot tell the difference),
and the downlink goes through the same speaker firmware model the simulator uses
(``firmware_sim.speaker``: playback buffer, flush, exact sample reports). One duplex PortAudio
stream clocks both directions, 20 ms per callback, so mic and speaker share one timeline.

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

from sottovoce.proto import control
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE, OpusEncoder
from sottovoce.proto.gatt_profile import UplinkPacketizer

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
        from sottovoce.firmware_sim.speaker import Speaker  # the wearable's speaker firmware model

        module = self._module or _import_pyaudio()
        try:
            self._pa = module.PyAudio()
        except Exception as exc:
            raise DeviceNotFound(f"cannot start PortAudio: {exc}") from None
        inp = self._find(self.input_device, "maxInputChannels")
        out = self._find(self.output_device, "maxOutputChannels")
        self._events = events
        self._loop = asyncio.get_running_loop()
        self._encoder = OpusEncoder()
        self._packetizer = UplinkPacketizer(self.att_mtu)
        self.speaker = Speaker(
            send=lambda msg: events.on_control(msg.encode()), clock_us=lambda: time.monotonic_ns() // 1000
        )
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
        pcm = np.frombuffer(data, dtype="<i2")
        for notification in self._packetizer.packetize(self._encoder.encode(pcm)):
            events.on_audio(notification)
        # One speaker tick per mic frame keeps both on one timeline.
        self._ear.append(self.speaker.tick(self._tick).tobytes())
        self._tick += 1
        if len(self._ear) > EAR_QUEUE_FRAMES:
            self._ear.popleft()
            self.ear_overruns += 1

    async def write_downlink(self, data: bytes) -> None:
        self.speaker.on_downlink(data)

    async def write_control(self, data: bytes) -> None:
        msg = control.decode(data)
        if isinstance(msg, control.TimeSyncRequest) and self._events is not None:
            reply = control.TimeSyncResponse(t0=msg.t0, t1=time.monotonic_ns() // 1000)
            self._events.on_control(reply.encode())
        elif not self.speaker.on_control(msg):
            log.info("local audio ignores %s", msg.TYPE)

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
