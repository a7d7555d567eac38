"""The wearable over bumble's Bluetooth host stack: a USB HCI dongle, or the simulator's virtual
controller (``tcp-client:127.0.0.1:P``). Real ATT/GATT PDUs, MTU exchange and notifications."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable

from sottovoce.proto.gatt import DEVICE_NAME_PREFIX, audio
from sottovoce.proto.gatt.att import full_uuid

from .base import DeviceNotFound, GattLink, LinkEvents

log = logging.getLogger(__name__)

ADDRESS_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}(/P)?$")
CENTRAL_ADDRESS = "E0:E1:E2:E3:E4:E5"  # static random: the two top bits set


class BumbleLink(GattLink):
    def __init__(self, transport: str, peer: str | None = None, scan_timeout: float = 10.0) -> None:
        self.transport_url = transport
        self.peer = peer
        self.scan_timeout = scan_timeout
        self.description = f"bumble device at {transport}" + (f"#{peer}" if peer else "")
        self._transport = None
        self._device = None
        self._gatt = None
        self._chars: dict[str, object] = {}
        self._events: LinkEvents | None = None

    async def _connect(self) -> None:
        from bumble.device import Device, Peer
        from bumble.hci import Address
        from bumble.transport import open_transport

        if self._transport is None:  # the HCI transport outlives BLE connections: reconnect over it
            try:
                self._transport = await open_transport(self.transport_url)
            except Exception as exc:
                raise DeviceNotFound(f"cannot open bumble transport {self.transport_url}: {exc}") from None
            self._device = Device.with_hci(
                "sottovoce-edge", Address(CENTRAL_ADDRESS), self._transport.source, self._transport.sink
            )
            await self._device.power_on()
        self._chars.clear()
        address = await self._find_peer()
        try:
            connection = await self._device.connect(address, timeout=self.scan_timeout)
        except Exception as exc:
            raise DeviceNotFound(f"cannot connect to {address} via {self.transport_url}: {exc}") from None
        connection.on("disconnection", self._on_disconnection)
        self._gatt = Peer(connection)
        self.att_mtu = await self._gatt.request_mtu(self.WANTED_MTU)
        await self._gatt.discover_services()
        for service in self._gatt.services:
            for char in await self._gatt.discover_characteristics(service=service):
                self._chars[_norm(str(char.uuid))] = char
        log.info("connected to %s (ATT MTU %d, %d characteristics)", address, self.att_mtu, len(self._chars))

    async def _find_peer(self):
        from bumble.hci import Address

        if self.peer and ADDRESS_RE.match(self.peer):
            return Address(self.peer)
        found: asyncio.Future = asyncio.get_running_loop().create_future()
        audio_service = _norm(audio.SERVICE_UUID)

        def on_advertisement(adv) -> None:
            name = adv.data.get(adv.data.COMPLETE_LOCAL_NAME) or adv.data.get(adv.data.SHORTENED_LOCAL_NAME)
            name = name.decode() if isinstance(name, bytes) else name
            uuids = adv.data.get(adv.data.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS) or []
            if self.peer:
                match = name == self.peer
            else:
                match = (name or "").startswith(DEVICE_NAME_PREFIX) or any(
                    _norm(str(u)) == audio_service for u in uuids
                )
            if match and adv.is_connectable and not found.done():
                found.set_result(adv.address)

        self._device.on("advertisement", on_advertisement)
        await self._device.start_scanning(filter_duplicates=True)
        try:
            return await asyncio.wait_for(found, self.scan_timeout)
        except TimeoutError:
            wanted = repr(self.peer) if self.peer else f"named {DEVICE_NAME_PREFIX}* or with the Omi service"
            raise DeviceNotFound(
                f"no peripheral {wanted} advertising on {self.transport_url} within {self.scan_timeout:.0f} s"
            ) from None
        finally:
            self._device.remove_listener("advertisement", on_advertisement)
            await self._device.stop_scanning()

    async def open(self, events: LinkEvents) -> None:
        self._events = events
        await super().open(events)

    def _on_disconnection(self, reason) -> None:
        if self._events:
            self._events.on_disconnect(f"BLE disconnection (reason {reason})")

    def has(self, uuid: str) -> bool:
        return _norm(uuid) in self._chars

    async def read(self, uuid: str) -> bytes:
        return bytes(await self._gatt.read_value(self._chars[_norm(uuid)]))

    async def subscribe(self, uuid: str, on_value: Callable[[bytes], None]) -> None:
        await self._gatt.subscribe(self._chars[_norm(uuid)], lambda value: on_value(bytes(value)))

    async def write(self, uuid: str, data: bytes, *, with_response: bool) -> None:
        await self._gatt.write_value(self._chars[_norm(uuid)], data, with_response=with_response)

    async def close(self) -> None:
        self._events = None
        if self._transport is not None:
            try:
                if self._gatt is not None:
                    await asyncio.wait_for(self._gatt.connection.disconnect(), 2.0)
            except Exception as exc:  # already gone: nothing to tidy
                log.debug("disconnect on close: %s", exc)
            await self._transport.close()
            self._transport = None


def _norm(uuid: str) -> str:
    """bumble prints UUIDs as 'UUID-16:180F', '180F' or a 128-bit one followed by a name."""
    return full_uuid(uuid.upper().replace("UUID-16:", "").replace("UUID-128:", "").split(" ")[0])
