"""A LinkEvents sink that records everything a device link delivers (shared by the link tests)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RecordedEvents:
    audio: list[bytes] = field(default_factory=list)
    buttons: list[bytes] = field(default_factory=list)
    battery: list[int] = field(default_factory=list)
    control: list[bytes] = field(default_factory=list)
    disconnects: list[str] = field(default_factory=list)
    imu: list[bytes] = field(default_factory=list)

    def on_audio(self, data: bytes) -> None:
        self.audio.append(data)

    def on_button(self, data: bytes) -> None:
        self.buttons.append(data)

    def on_battery(self, percent: int) -> None:
        self.battery.append(percent)

    def on_control(self, data: bytes) -> None:
        self.control.append(data)

    def on_imu(self, data: bytes) -> None:
        self.imu.append(data)

    def on_disconnect(self, reason: str) -> None:
        self.disconnects.append(reason)
