"""Device links: how the edge reaches the wearable (bumble, bleak, serial, local audio).

``open_link(url)`` picks the link from the device URL:
- ``ble:AA:BB:CC:DD:EE:FF`` or ``ble:NAME`` — the OS Bluetooth stack through bleak (real glasses)
- ``serial:/dev/ttyACM0[@baud]`` — a wired dev kit speaking the serial framing in proto/serial_framing.py
- ``audio:[INPUT[,OUTPUT]]`` — a microphone and speaker attached to the Pi (pyaudio)
- anything else is a bumble transport URL (``tcp-client:127.0.0.1:6402``, ``usb:0``, …), with an
  optional ``#ADDRESS`` or ``#NAME`` naming the peripheral (default: the first device whose
  name starts with "Sottovoce" or that advertises the Omi audio service).
"""

from __future__ import annotations

from .base import DeviceLink, DeviceNotFound, LinkEvents


def open_link(url: str, scan_timeout: float = 10.0) -> DeviceLink:
    """The link for ``url``; ``scan_timeout`` bounds the search for a wireless peripheral."""
    if url.startswith("ble:"):
        from .bleak_link import BleakLink

        return BleakLink(url[len("ble:") :], scan_timeout=scan_timeout)
    if url.startswith("serial:"):
        from .serial_link import SerialLink

        return SerialLink.from_url(url[len("serial:") :])
    if url.startswith("audio:"):
        from .audio_link import AudioLink

        return AudioLink.from_url(url[len("audio:") :])
    from .bumble_link import BumbleLink

    transport, _, peer = url.partition("#")
    return BumbleLink(transport, peer or None, scan_timeout=scan_timeout)


__all__ = ["DeviceLink", "DeviceNotFound", "LinkEvents", "open_link"]
