"""Battery service (Bluetooth SIG): the level in percent, read and notified."""

from __future__ import annotations

from collections.abc import Callable

from .att import Characteristic, GattClient, Permission, Property, Service, ServiceServer

SERVICE_UUID = "180F"
LEVEL_UUID = "2A19"  # uint8 percent

SERVICE = Service(
    SERVICE_UUID,
    "Battery",
    (Characteristic(LEVEL_UUID, Property.READ | Property.NOTIFY, Permission.READABLE, "battery level (percent)"),),
)


class BatteryServer(ServiceServer):
    """The device's battery level, read on demand and notified when it changes."""

    service = SERVICE

    def __init__(self, level: Callable[[], int], notify: Callable[[str, bytes], bool]) -> None:
        self.level = level
        self.notify = notify
        self._notified: int | None = None

    def read(self, uuid: str) -> bytes:
        return bytes([self.level()])

    def refresh(self) -> bool:
        """Notify the level if it changed since it was last notified; True if a notification went out."""
        level = self.level()
        if level == self._notified or not self.notify(LEVEL_UUID, bytes([level])):
            return False
        self._notified = level
        return True


async def subscribe(gatt: GattClient, on_level: Callable[[int], None]) -> bool:
    """Report the level now and on every change; False if the peripheral has no battery service."""
    if not gatt.has(LEVEL_UUID):
        return False
    level = await gatt.read(LEVEL_UUID)
    if level:
        on_level(level[0])
    await gatt.subscribe(LEVEL_UUID, lambda data: on_level(data[0]) if data else None)
    return True
