"""Real glasses through the operating system's Bluetooth stack (bleak: BlueZ, CoreBluetooth, WinRT).

BlueZ reports an ATT MTU of 23 until the MTU has been acquired; bleak's BlueZ backend can acquire
it, and until then the link frames its writes for 23 bytes, which every device accepts (control
messages are fragmented to fit, like everything else in the profile).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from sottovoce.proto.gatt.att import full_uuid

from .base import DeviceNotFound, GattLink, LinkEvents

log = logging.getLogger(__name__)

ADDRESS_RE = re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f-]{36}$")  # MAC, or macOS UUID


class BleakLink(GattLink):
    def __init__(
        self,
        target: str,
        scan_timeout: float = 10.0,
        client_factory: Callable[..., Any] | None = None,
        scanner: Any | None = None,
    ) -> None:
        if not target:
            raise DeviceNotFound("ble: needs an address or a name, e.g. ble:AA:BB:CC:DD:EE:FF or ble:Omi")
        self.target = target
        self.scan_timeout = scan_timeout
        self.description = f"BLE device {target}"
        self._client_factory = client_factory
        self._scanner = scanner
        self._client: Any = None
        self._uuids: set[str] = set()
        self._events: LinkEvents | None = None

    async def open(self, events: LinkEvents) -> None:
        self._events = events
        await super().open(events)

    async def _connect(self) -> None:
        try:
            from bleak import BleakClient, BleakScanner
        except ImportError:
            raise DeviceNotFound("bleak is not installed: pip install 'sottovoce[edge]'") from None
        scanner = self._scanner or BleakScanner
        factory = self._client_factory or BleakClient
        try:
            if ADDRESS_RE.match(self.target):
                device = await scanner.find_device_by_address(self.target, timeout=self.scan_timeout)
            else:
                device = await scanner.find_device_by_name(self.target, timeout=self.scan_timeout)
        except Exception as exc:  # no adapter, no BlueZ, no permission
            raise DeviceNotFound(f"cannot scan for {self.target}: {exc}") from None
        if device is None:
            raise DeviceNotFound(f"no BLE device {self.target} found within {self.scan_timeout:.0f} s")
        self._client = factory(device, disconnected_callback=self._on_disconnect)
        try:
            await self._client.connect()
        except Exception as exc:
            raise DeviceNotFound(f"cannot connect to {self.target}: {exc}") from None
        acquire = getattr(getattr(self._client, "_backend", None), "_acquire_mtu", None)
        if acquire is not None:
            try:
                await acquire()
            except Exception as exc:  # older BlueZ: stay at the safe default
                log.info("could not acquire the MTU (%s); framing for %d bytes", exc, self._client.mtu_size)
        self.att_mtu = self._client.mtu_size
        self._uuids = {c.uuid.upper() for s in self._client.services for c in s.characteristics}
        log.info("connected to %s (ATT MTU %d)", self.target, self.att_mtu)

    def _on_disconnect(self, _client: Any) -> None:
        if self._events:
            self._events.on_disconnect(f"{self.target} disconnected")

    def has(self, uuid: str) -> bool:
        return full_uuid(uuid) in self._uuids

    async def read(self, uuid: str) -> bytes:
        return bytes(await self._client.read_gatt_char(full_uuid(uuid)))

    async def subscribe(self, uuid: str, on_value: Callable[[bytes], None]) -> None:
        await self._client.start_notify(full_uuid(uuid), lambda _char, data: on_value(bytes(data)))

    async def write(self, uuid: str, data: bytes, *, with_response: bool) -> None:
        await self._client.write_gatt_char(full_uuid(uuid), data, response=with_response)

    async def close(self) -> None:
        self._events = None
        if self._client is not None:
            try:
                await self._client.disconnect()
            except Exception as exc:
                log.debug("disconnect on close: %s", exc)
            self._client = None
