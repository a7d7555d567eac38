"""The one interface every device link offers the edge, and the GATT sequence BLE links share."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Protocol

from sottovoce.proto import gatt_profile as gp

log = logging.getLogger(__name__)

MIN_CONTROL_MTU = 64  # one CBOR control message per notification (see proto/control.cddl)


class DeviceNotFound(RuntimeError):
    """The device, port or peripheral named by the user cannot be reached (one-line message)."""


class LinkEvents(Protocol):
    def on_audio(self, data: bytes) -> None: ...  # one Omi audio notification
    def on_button(self, data: bytes) -> None: ...
    def on_battery(self, percent: int) -> None: ...
    def on_control(self, data: bytes) -> None: ...  # one CBOR control message
    def on_disconnect(self, reason: str) -> None: ...


class DeviceLink(ABC):
    """A connected wearable: audio and control arrive through ``LinkEvents``; writes go out."""

    description: str = "device"
    att_mtu: int = gp.DEFAULT_ATT_MTU
    has_downlink: bool = False  # the Sottovoce service (speaker + control) is present

    @abstractmethod
    async def open(self, events: LinkEvents) -> None:
        """Connect and subscribe. Raises DeviceNotFound if the device is not there."""

    @abstractmethod
    async def write_downlink(self, data: bytes) -> None:
        """One downlink packet (write without response)."""

    @abstractmethod
    async def write_control(self, data: bytes) -> None:
        """One CBOR control message."""

    @abstractmethod
    async def close(self) -> None: ...


class GattLink(DeviceLink):
    """The connect sequence of the GATT profile, over any GATT client (bumble, bleak)."""

    WANTED_MTU = 247

    @abstractmethod
    async def _connect(self) -> None:
        """Find and connect the peripheral, negotiate the MTU, discover services."""

    @abstractmethod
    def _has(self, uuid: str) -> bool: ...

    @abstractmethod
    async def _read(self, uuid: str) -> bytes: ...

    @abstractmethod
    async def _subscribe(self, uuid: str, callback: Callable[[bytes], None]) -> None: ...

    @abstractmethod
    async def _write(self, uuid: str, data: bytes, with_response: bool) -> None: ...

    async def open(self, events: LinkEvents) -> None:
        await self._connect()
        if not self._has(gp.AUDIO_DATA_UUID):
            raise DeviceNotFound(f"{self.description} has no Omi audio service ({gp.AUDIO_SERVICE_UUID})")
        codec = await self._read(gp.AUDIO_CODEC_UUID)
        if not codec or codec[0] != gp.CODEC_OPUS_16K_20MS:
            raise DeviceNotFound(
                f"{self.description} streams codec {codec[0] if codec else None}; "
                f"Sottovoce needs {gp.CODEC_OPUS_16K_20MS} (Opus 16 kHz 20 ms)"
            )
        if self._has(gp.BATTERY_LEVEL_UUID):
            level = await self._read(gp.BATTERY_LEVEL_UUID)
            if level:
                events.on_battery(level[0])
            await self._subscribe(gp.BATTERY_LEVEL_UUID, lambda d: d and events.on_battery(d[0]))
        if self._has(gp.BUTTON_EVENT_UUID):
            await self._subscribe(gp.BUTTON_EVENT_UUID, events.on_button)
        self.has_downlink = self._has(gp.DOWNLINK_UUID) and self._has(gp.CONTROL_UUID)
        if self.has_downlink:
            if self.att_mtu < MIN_CONTROL_MTU:
                log.warning("%s: ATT MTU %d is below %d; the device cannot send its playback reports",
                            self.description, self.att_mtu, MIN_CONTROL_MTU)  # fmt: skip
            await self._subscribe(gp.CONTROL_UUID, events.on_control)
        else:
            log.warning("%s has no Sottovoce speaker service: answers cannot be played", self.description)
        await self._subscribe(gp.AUDIO_DATA_UUID, events.on_audio)

    async def write_downlink(self, data: bytes) -> None:
        await self._write(gp.DOWNLINK_UUID, data, with_response=False)

    async def write_control(self, data: bytes) -> None:
        # With response: control messages are rare and must not be lost (a flush, a stream end).
        await self._write(gp.CONTROL_UUID, data, with_response=True)
