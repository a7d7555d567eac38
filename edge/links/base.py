"""The one interface every device link offers the edge, and the GATT sequence BLE links share."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Protocol

from sottovoce.proto.gatt import audio, battery, buttons, imu, speaker
from sottovoce.proto.gatt.att import DEFAULT_ATT_MTU, ProfileError

log = logging.getLogger(__name__)


class DeviceNotFound(RuntimeError):
    """The device, port or peripheral named by the user cannot be reached (one-line message)."""


class LinkEvents(Protocol):
    def on_audio(self, data: bytes) -> None: ...  # one Omi audio notification
    def on_button(self, data: bytes) -> None: ...
    def on_battery(self, percent: int) -> None: ...
    def on_control(self, data: bytes) -> None: ...  # one whole CBOR control message
    def on_imu(self, data: bytes) -> None: ...  # one IMU batch notification (only when ``wants_imu``)
    def on_disconnect(self, reason: str) -> None: ...


class DeviceLink(ABC):
    """A connected wearable: audio and control arrive through ``LinkEvents``; writes go out."""

    description: str = "device"
    att_mtu: int = DEFAULT_ATT_MTU
    has_downlink: bool = False  # the Sottovoce service (speaker + control) is present
    # Navigation needs the head's heading: the IMU's notifications cost air time, so only on request.
    wants_imu: bool = False
    has_imu: bool = False

    @abstractmethod
    async def open(self, events: LinkEvents) -> None:
        """Connect and subscribe. Raises DeviceNotFound if the device is not there."""

    @abstractmethod
    async def write_downlink(self, data: bytes) -> None:
        """One downlink packet (write without response)."""

    @abstractmethod
    async def write_control(self, data: bytes) -> None:
        """One whole CBOR control message."""

    @abstractmethod
    async def close(self) -> None: ...


class GattLink(DeviceLink):
    """A wearable over any GATT client (bumble, bleak): the profile's client side runs over the
    operations a subclass provides (``has``, ``read``, ``subscribe``, ``write``: ``att.GattClient``)."""

    WANTED_MTU = 247
    _speaker: speaker.SpeakerClient | None = None

    @abstractmethod
    async def _connect(self) -> None:
        """Find and connect the peripheral, negotiate the MTU, discover services."""

    @abstractmethod
    def has(self, uuid: str) -> bool: ...

    @abstractmethod
    async def read(self, uuid: str) -> bytes: ...

    @abstractmethod
    async def subscribe(self, uuid: str, on_value: Callable[[bytes], None]) -> None: ...

    @abstractmethod
    async def write(self, uuid: str, data: bytes, *, with_response: bool) -> None: ...

    async def open(self, events: LinkEvents) -> None:
        await self._connect()
        self._speaker = speaker.SpeakerClient(self)
        try:
            await audio.check_codec(self)
            await battery.subscribe(self, events.on_battery)
            await buttons.subscribe(self, events.on_button)
            self.has_downlink = self._speaker.present()
            if self.has_downlink:
                await self._speaker.subscribe(events.on_control)
            else:
                log.warning("%s has no Sottovoce speaker service: answers cannot be played", self.description)
            if self.wants_imu:
                self.has_imu = await imu.subscribe(self, events.on_imu)
                if not self.has_imu:
                    log.warning("%s has no IMU service: no heading for navigation", self.description)
            await audio.subscribe(self, events.on_audio)
        except ProfileError as exc:
            raise DeviceNotFound(f"{self.description} {exc}") from None

    @property
    def control_counters(self) -> speaker.ControlCounters | None:
        """Control fragments received malformed or lost on this connection (None without a control channel)."""
        control_in = self._speaker.control_in if self._speaker is not None else None
        return control_in.counters if control_in is not None else None

    def _speaker_client(self) -> speaker.SpeakerClient:
        if self._speaker is None:
            raise OSError(f"{self.description} is not open")
        return self._speaker

    async def write_downlink(self, data: bytes) -> None:
        await self._speaker_client().write_downlink(data)

    async def write_control(self, data: bytes) -> None:
        await self._speaker_client().write_control(data)
