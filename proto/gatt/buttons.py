"""Omi's button service: one notification per button event, the code in the first int32 of 8 bytes."""

from __future__ import annotations

import struct
from collections.abc import Callable
from enum import IntEnum

from .att import Characteristic, FramingError, GattClient, Permission, Property, Service, ServiceServer

SERVICE_UUID = "23BA7924-0000-1000-7450-346EAC492E92"
EVENT_UUID = "23BA7925-0000-1000-7450-346EAC492E92"

SERVICE = Service(
    SERVICE_UUID,
    "Omi buttons",
    (Characteristic(EVENT_UUID, Property.NOTIFY, Permission.READABLE, "button event (8 bytes)"),),
)


class ButtonEvent(IntEnum):
    TAP = 1
    DOUBLE_TAP = 2
    LONG_PRESS = 3
    PRESS = 4
    RELEASE = 5


def encode_button(event: ButtonEvent) -> bytes:
    """Omi button payload: event code in the first little-endian int32, 8 bytes in all."""
    return struct.pack("<ii", int(event), 0)


def decode_button(data: bytes) -> ButtonEvent:
    if len(data) < 4:
        raise FramingError(f"button event of {len(data)} bytes, need at least 4")
    (code,) = struct.unpack_from("<i", data)
    try:
        return ButtonEvent(code)
    except ValueError:
        raise FramingError(f"unknown button event code {code}") from None


class ButtonServer(ServiceServer):
    service = SERVICE

    def __init__(self, notify: Callable[[str, bytes], bool]) -> None:
        self.notify = notify

    def read(self, uuid: str) -> bytes:
        return bytes(8)

    def press(self, event: ButtonEvent) -> bool:
        """Notify one button event; False if it could not be sent."""
        return self.notify(EVENT_UUID, encode_button(event))


async def subscribe(gatt: GattClient, on_event: Callable[[bytes], None]) -> bool:
    """Deliver each button notification (decode it with ``decode_button``); False if there are no buttons."""
    if not gatt.has(EVENT_UUID):
        return False
    await gatt.subscribe(EVENT_UUID, on_event)
    return True
