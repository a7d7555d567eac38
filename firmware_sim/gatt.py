"""The simulated glasses' GATT database and advertising on bumble, built from the profile's declarations.

Every UUID, property and permission comes from the service modules in ``proto/gatt``; this
module only maps them onto bumble's types. Handlers only move bytes: reads ask the service's
server for its value now, writes go to ``on_write`` (the link model delays them before the
firmware sees them, then hands them to ``deliver``).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence

from bumble import data_types
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from sottovoce.proto.gatt import audio
from sottovoce.proto.gatt.att import Permission, Property, ServiceServer

_PROPERTIES = {
    Property.READ: Characteristic.Properties.READ,
    Property.WRITE: Characteristic.Properties.WRITE,
    Property.WRITE_WITHOUT_RESPONSE: Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
    Property.NOTIFY: Characteristic.Properties.NOTIFY,
}
_PERMISSIONS = {
    Permission.READABLE: Characteristic.Permissions.READABLE,
    Permission.WRITEABLE: Characteristic.Permissions.WRITEABLE,
}


def _properties(ours: Property) -> Characteristic.Properties:
    return functools.reduce(operator.or_, (theirs for flag, theirs in _PROPERTIES.items() if flag in ours))


def _permissions(ours: Permission) -> Characteristic.Permissions:
    return functools.reduce(operator.or_, (theirs for flag, theirs in _PERMISSIONS.items() if flag in ours))


class GlassesGatt:
    """The services of ``servers`` as one bumble attribute database."""

    def __init__(self, servers: Sequence[ServiceServer], on_write: Callable[[str, bytes], None]) -> None:
        self.characteristics: dict[str, Characteristic] = {}
        self._servers: dict[str, ServiceServer] = {}
        self.services = []
        for server in servers:
            chars = []
            for spec in server.service.characteristics:
                readable = Permission.READABLE in spec.permissions
                writeable = Permission.WRITEABLE in spec.permissions
                value = CharacteristicValue(
                    read=(lambda _conn, s=server, u=spec.uuid: s.read(u)) if readable else None,
                    write=(lambda _conn, data, u=spec.uuid: on_write(u, bytes(data))) if writeable else None,
                )
                char = Characteristic(
                    spec.uuid,
                    _properties(spec.properties),
                    _permissions(spec.permissions),
                    value,
                )
                self.characteristics[spec.uuid] = char
                self._servers[spec.uuid] = server
                chars.append(char)
            self.services.append(Service(server.service.uuid, chars))

    def install(self, device: Device, max_mtu: int) -> None:
        device.add_services(self.services)
        # The MTU exchange answers with min(client, this): the device's limit from the scenario.
        device.gatt_server.max_mtu = max_mtu

    def deliver(self, uuid: str, data: bytes) -> None:
        """A write as the firmware receives it, handed to its service."""
        self._servers[uuid].write(uuid, data)

    async def notify(self, device: Device, connection: Connection, uuid: str, data: bytes) -> None:
        await device.notify_subscriber(connection, self.characteristics[uuid], data)


def advertising_data() -> bytes:
    """Flags + the Omi audio service UUID (21 bytes), so scanners can filter on the service."""
    return bytes(
        AdvertisingData(
            [
                data_types.Flags(
                    AdvertisingData.Flags.LE_GENERAL_DISCOVERABLE_MODE | AdvertisingData.Flags.BR_EDR_NOT_SUPPORTED
                ),
                data_types.CompleteListOf128BitServiceUUIDs([UUID(audio.SERVICE_UUID)]),
            ]
        )
    )


def scan_response_data(name: str) -> bytes:
    # The name does not fit next to a 128-bit UUID in 31 legacy advertising bytes.
    return bytes(AdvertisingData([data_types.CompleteLocalName(name)]))
