"""What every service of the profile shares: ATT sizes, declarations, the client's view of a peripheral.

A service module declares its characteristics with ``Characteristic``/``Service`` (plain data, no
Bluetooth stack): the simulator turns them into a bumble GATT database, and a central's link
implements ``GattClient`` so each service's client side can run over it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Flag, auto
from typing import ClassVar, Protocol, TypeVar

ATT_HEADER = 3  # opcode + handle in front of every notification/write payload
DEFAULT_ATT_MTU = 23  # before an MTU exchange (and what BlueZ reports until it has one)
MAX_ATT_MTU = 517  # the largest ATT MTU the Bluetooth Core specification allows

T = TypeVar("T")


class FramingError(ValueError):
    """A notification or write whose bytes cannot be a valid packet."""


class ProfileError(RuntimeError):
    """The peripheral does not offer what the profile needs; the message completes '<device> ...'."""


BASE_UUID_TAIL = "-0000-1000-8000-00805F9B34FB"  # the Bluetooth base UUID that 16-bit SIG UUIDs sit in


def full_uuid(uuid: str) -> str:
    """A UUID in the one spelling stacks can compare: 128 bits, upper case (16-bit ones expanded)."""
    uuid = uuid.upper()
    return f"0000{uuid}{BASE_UUID_TAIL}" if len(uuid) == 4 else uuid


def max_chunk(att_mtu: int, header: int) -> int:
    """Payload bytes that fit in one notification or write after the ATT and packet headers."""
    room = att_mtu - ATT_HEADER - header
    if room <= 0:
        raise FramingError(f"ATT MTU {att_mtu} leaves no room for payload")
    return room


def split(data: bytes, size: int, limit: int) -> list[bytes]:
    """``data`` in chunks of ``size`` bytes (one empty chunk for empty data), at most ``limit`` of them."""
    chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    if len(chunks) > limit:
        raise FramingError(f"{len(data)} bytes need {len(chunks)} chunks (max {limit})")
    return chunks


# --- declarations -------------------------------------------------------------------------------


class Property(Flag):
    """What a central may do with a characteristic (the GATT characteristic properties)."""

    READ = auto()
    WRITE = auto()
    WRITE_WITHOUT_RESPONSE = auto()
    NOTIFY = auto()


class Permission(Flag):
    """What the device's attribute server allows on the characteristic's value."""

    READABLE = auto()
    WRITEABLE = auto()


@dataclass(frozen=True)
class Characteristic:
    uuid: str
    properties: Property
    permissions: Permission
    description: str  # what it carries, for logs and errors


@dataclass(frozen=True)
class Service:
    uuid: str
    name: str
    characteristics: tuple[Characteristic, ...]


class ServiceServer:
    """The device side of one service: what its attribute server answers to reads and writes.

    Values go out through the ``notify(uuid, data)`` callback each server is built with."""

    service: ClassVar[Service]

    def read(self, uuid: str) -> bytes:
        return b""

    def write(self, uuid: str, data: bytes) -> None:
        raise FramingError(f"{self.service.name}: characteristic {uuid} takes no writes")


class GattClient(Protocol):
    """A connected peripheral as a central sees it (bumble's Peer, bleak's BleakClient, ...)."""

    att_mtu: int

    def has(self, uuid: str) -> bool: ...

    async def read(self, uuid: str) -> bytes: ...

    async def subscribe(self, uuid: str, on_value: Callable[[bytes], None]) -> None: ...

    async def write(self, uuid: str, data: bytes, *, with_response: bool) -> None: ...
