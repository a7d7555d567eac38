"""A wired dev kit on a serial port (pyserial), speaking proto/serial_framing.py."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sottovoce.proto import serial_framing as sf
from sottovoce.proto.gatt import audio
from sottovoce.proto.gatt.att import ATT_HEADER

from .base import DeviceLink, DeviceNotFound, LinkEvents

log = logging.getLogger(__name__)


class SerialLink(DeviceLink):
    has_downlink = True

    def __init__(self, port: str, baudrate: int = 921_600, hello_timeout: float = 2.0) -> None:
        self.port = port
        self.baudrate = baudrate
        self.hello_timeout = hello_timeout
        self.description = f"serial device {port}"
        self.decoder = sf.SerialDecoder()
        self._serial: Any = None
        self._events: LinkEvents | None = None
        self._hello: asyncio.Future | None = None

    @classmethod
    def from_url(cls, spec: str) -> SerialLink:
        port, _, baud = spec.partition("@")
        if not port:
            raise DeviceNotFound("serial: needs a port, e.g. serial:/dev/ttyACM0@921600")
        try:
            return cls(port, int(baud)) if baud else cls(port)
        except ValueError:
            raise DeviceNotFound(f"serial baud rate {baud!r} is not a number") from None

    async def open(self, events: LinkEvents) -> None:
        import serial

        try:
            self._serial = serial.Serial(self.port, self.baudrate, timeout=0, write_timeout=1)
        except (serial.SerialException, OSError) as exc:
            raise DeviceNotFound(f"cannot open serial port {self.port}: {exc}") from None
        self._events = events
        loop = asyncio.get_running_loop()
        self._hello = loop.create_future()
        loop.add_reader(self._serial.fileno(), self._on_readable)
        self._send(sf.MessageType.HELLO_REQUEST, b"")
        try:
            hello: sf.Hello = await asyncio.wait_for(self._hello, self.hello_timeout)
        except TimeoutError:
            await self.close()
            raise DeviceNotFound(f"no Sottovoce device answered on {self.port} within {self.hello_timeout} s") from None
        if hello.codec != audio.CODEC_OPUS_16K_20MS:
            await self.close()
            raise DeviceNotFound(f"{self.description} streams codec {hello.codec}, need {audio.CODEC_OPUS_16K_20MS}")
        # Framing code thinks in ATT MTUs; a serial device declares its payload size instead.
        self.att_mtu = hello.max_audio_payload + ATT_HEADER + audio.HEADER

    def _on_readable(self) -> None:
        try:
            data = self._serial.read(4096)
        except Exception as exc:  # unplugged
            self._lost(f"serial read failed: {exc}")
            return
        if not data:
            return
        for kind, payload in self.decoder.feed(data):
            self._dispatch(kind, payload)

    def _dispatch(self, kind: sf.MessageType, payload: bytes) -> None:
        events = self._events
        if events is None:
            return
        if kind is sf.MessageType.HELLO:
            try:
                hello = sf.Hello.decode(payload)
            except ValueError as exc:
                log.warning("bad HELLO from %s: %s", self.port, exc)
                return
            if self._hello is not None and not self._hello.done():
                self._hello.set_result(hello)
        elif kind is sf.MessageType.AUDIO:
            events.on_audio(payload)
        elif kind is sf.MessageType.BUTTON:
            events.on_button(payload)
        elif kind is sf.MessageType.BATTERY and payload:
            events.on_battery(payload[0])
        elif kind is sf.MessageType.CONTROL_UP:
            events.on_control(payload)
        else:
            self.decoder.stats.unknown_type += 1

    def _send(self, kind: sf.MessageType, payload: bytes) -> None:
        try:
            self._serial.write(sf.encode_message(kind, payload))
        except Exception as exc:
            self._lost(f"serial write failed: {exc}")
            raise OSError(str(exc)) from None

    def _lost(self, reason: str) -> None:
        events, self._events = self._events, None
        if self._serial is not None:
            asyncio.get_running_loop().remove_reader(self._serial.fileno())
        if events is not None:
            events.on_disconnect(reason)

    async def write_downlink(self, data: bytes) -> None:
        self._send(sf.MessageType.DOWNLINK, data)

    async def write_control(self, data: bytes) -> None:
        self._send(sf.MessageType.CONTROL_DOWN, data)

    async def close(self) -> None:
        self._events = None
        if self._serial is not None:
            try:
                asyncio.get_running_loop().remove_reader(self._serial.fileno())
            except (ValueError, OSError):
                pass
            self._serial.close()
            self._serial = None
