"""The simulated glasses' GATT database and advertising, on bumble, exactly per proto/gatt_profile.

Handlers here only move bytes: writes are handed to callbacks (the link model delays them before
the firmware sees them) and reads return the current values.
"""

from __future__ import annotations

from collections.abc import Callable

from bumble import data_types
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from sottovoce.proto import gatt_profile as gp

SIM_NAME = f"{gp.DEVICE_NAME_PREFIX}-Sim"
DEFAULT_ADDRESS = "F0:F1:F2:F3:F4:F5"  # static random: top two bits set, as the spec requires


class GlassesGatt:
    """Builds the four services and keeps references to the characteristics the firmware uses."""

    def __init__(
        self,
        on_downlink: Callable[[bytes], None],
        on_control: Callable[[bytes], None],
        battery_level: Callable[[], int],
    ) -> None:
        P = Characteristic.Properties
        self.audio = Characteristic(gp.AUDIO_DATA_UUID, P.NOTIFY, Characteristic.READABLE, b"")
        self.codec = Characteristic(
            gp.AUDIO_CODEC_UUID, P.READ, Characteristic.READABLE, bytes([gp.CODEC_OPUS_16K_20MS])
        )
        self.battery = Characteristic(
            gp.BATTERY_LEVEL_UUID,
            P.READ | P.NOTIFY,
            Characteristic.READABLE,
            CharacteristicValue(read=lambda _conn: bytes([battery_level()])),
        )
        self.button = Characteristic(gp.BUTTON_EVENT_UUID, P.NOTIFY, Characteristic.READABLE, bytes(8))
        self.downlink = Characteristic(
            gp.DOWNLINK_UUID,
            P.WRITE_WITHOUT_RESPONSE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=lambda _conn, value: on_downlink(bytes(value))),
        )
        self.control = Characteristic(
            gp.CONTROL_UUID,
            P.WRITE | P.NOTIFY,
            Characteristic.READABLE | Characteristic.WRITEABLE,
            CharacteristicValue(read=lambda _conn: b"", write=lambda _conn, value: on_control(bytes(value))),
        )
        self.services = [
            Service(gp.AUDIO_SERVICE_UUID, [self.audio, self.codec]),
            Service(gp.BATTERY_SERVICE_UUID, [self.battery]),
            Service(gp.BUTTON_SERVICE_UUID, [self.button]),
            Service(gp.SOTTOVOCE_SERVICE_UUID, [self.downlink, self.control]),
        ]
        self.by_kind = {"audio": self.audio, "battery": self.battery, "button": self.button, "control": self.control}

    def install(self, device: Device, max_mtu: int) -> None:
        device.add_services(self.services)
        # The MTU exchange answers with min(client, this): the device's limit from the scenario.
        device.gatt_server.max_mtu = max_mtu

    async def notify(self, device: Device, connection: Connection, kind: str, data: bytes) -> None:
        await device.notify_subscriber(connection, self.by_kind[kind], data)


def advertising_data() -> bytes:
    """Flags + the Omi audio service UUID (21 bytes), so scanners can filter on the service."""
    return bytes(
        AdvertisingData(
            [
                data_types.Flags(
                    AdvertisingData.Flags.LE_GENERAL_DISCOVERABLE_MODE | AdvertisingData.Flags.BR_EDR_NOT_SUPPORTED
                ),
                data_types.CompleteListOf128BitServiceUUIDs([UUID(gp.AUDIO_SERVICE_UUID)]),
            ]
        )
    )


def scan_response_data(name: str) -> bytes:
    # The name does not fit next to a 128-bit UUID in 31 legacy advertising bytes.
    return bytes(AdvertisingData([data_types.CompleteLocalName(name)]))
