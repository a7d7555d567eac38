"""The bleak link against a fake at the BleakClient boundary (no BlueZ or radio here)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from link_events import RecordedEvents

from sottovoce.edge.links import DeviceNotFound, open_link
from sottovoce.edge.links.bleak_link import BleakLink
from sottovoce.edge.uplink import Uplink
from sottovoce.proto import control
from sottovoce.proto.codec import OpusEncoder, frames_of, to_int16
from sottovoce.proto.gatt import audio, battery, buttons, imu, speaker


@dataclass
class FakeChar:
    uuid: str


@dataclass
class FakeService:
    characteristics: list[FakeChar]


class FakeBleakClient:
    """Behaves like bleak's BleakClient on BlueZ for an Omi-compatible wearable: MTU stays 23."""

    def __init__(self, device, disconnected_callback=None) -> None:
        self.device = device
        self.disconnected_callback = disconnected_callback
        self.mtu_size = 23
        uuids = [audio.DATA_UUID, audio.CODEC_UUID, battery.LEVEL_UUID, buttons.EVENT_UUID,
                 speaker.DOWNLINK_UUID, speaker.CONTROL_UUID, imu.DATA_UUID]  # fmt: skip
        full = [f"0000{u}-0000-1000-8000-00805f9b34fb" if len(u) == 4 else u.lower() for u in uuids]
        self.services = [FakeService([FakeChar(u) for u in full])]
        self.notify: dict[str, object] = {}
        self.writes: list[tuple[str, bytes, bool]] = []
        self.connected = False

    async def connect(self) -> None:
        self.connected = True

    async def disconnect(self) -> None:
        self.connected = False

    async def read_gatt_char(self, uuid: str) -> bytearray:
        return bytearray({audio.CODEC_UUID: [21], "00002A19-0000-1000-8000-00805F9B34FB": [87]}[uuid])

    async def start_notify(self, uuid: str, callback) -> None:
        self.notify[uuid] = callback

    async def write_gatt_char(self, uuid: str, data: bytes, response: bool = False) -> None:
        self.writes.append((uuid, bytes(data), response))


@dataclass
class FakeScanner:
    known: dict[str, str] = field(default_factory=lambda: {"AA:BB:CC:DD:EE:FF": "Omi"})

    async def find_device_by_address(self, address, timeout):
        return address if address in self.known else None

    async def find_device_by_name(self, name, timeout):
        return next((a for a, n in self.known.items() if n == name), None)


def make(target: str = "Omi"):
    clients: list[FakeBleakClient] = []

    def factory(device, disconnected_callback=None):
        clients.append(FakeBleakClient(device, disconnected_callback))
        return clients[-1]

    return BleakLink(target, scan_timeout=0.1, client_factory=factory, scanner=FakeScanner()), clients


async def test_connects_subscribes_and_streams_audio_at_the_bluez_default_mtu():
    link, clients = make("Omi")
    events = RecordedEvents()
    await link.open(events)
    client = clients[0]
    assert link.att_mtu == 23 and link.has_downlink
    assert events.battery == [87]
    assert audio.DATA_UUID in client.notify

    # Omi at MTU 23 splits each Opus frame over several notifications: the edge must rebuild them.
    speech = to_int16(0.3 * np.sin(np.arange(16000) * 2 * np.pi * 300 / 16000))
    encoder, packetizer = OpusEncoder(), audio.UplinkPacketizer(att_mtu=link.att_mtu)
    decoded = []
    uplink = Uplink(decoded.append)
    uplink.connected(link.att_mtu)
    for frame in frames_of(speech):
        for notification in packetizer.packetize(encoder.encode(frame)):
            client.notify[audio.DATA_UUID](None, bytearray(notification))
    for n in events.audio:
        uplink.feed(n)
    uplink.reassembler.flush()
    assert len(decoded) == 50
    assert uplink.counters.concealed == 0

    await link.write_downlink(b"\x00\x00\x01\x80abc")
    await link.write_control(control.Flush(stream=1).encode())
    assert client.writes[0] == (speaker.DOWNLINK_UUID, b"\x00\x00\x01\x80abc", False)
    assert client.writes[1][0] == speaker.CONTROL_UUID and client.writes[1][2] is True

    client.disconnected_callback(client)  # BleakClient passes itself
    assert events.disconnects == ["Omi disconnected"]


async def test_missing_device_names_it():
    link, _ = make("11:22:33:44:55:66")
    with pytest.raises(DeviceNotFound, match="no BLE device 11:22:33:44:55:66 found"):
        await link.open(RecordedEvents())


def test_device_urls_pick_their_link():
    assert isinstance(open_link("ble:AA:BB:CC:DD:EE:FF"), BleakLink)
    with pytest.raises(DeviceNotFound, match="needs an address or a name"):
        open_link("ble:")


async def test_control_messages_cross_in_fragments_at_the_bluez_default_mtu():
    link, clients = make("Omi")
    events = RecordedEvents()
    await link.open(events)
    client = clients[0]
    end = control.StreamEnd(stream=3, frames=1234).encode()
    await link.write_control(end)
    fragments = [data for uuid, data, response in client.writes if uuid == speaker.CONTROL_UUID and response]
    assert len(fragments) > 1 and all(len(f) <= 23 - 3 for f in fragments)
    device: list[bytes] = []
    device_in = speaker.ControlReassembler(device.append, "device")
    for f in fragments:
        device_in.feed(f)
    assert device == [end]

    report = control.PlaybackReport("finished", 3, 123_456, 2**40).encode()
    for f in speaker.ControlPacketizer().packetize(report, link.att_mtu):
        client.notify[speaker.CONTROL_UUID](None, bytearray(f))
    client.notify[speaker.CONTROL_UUID](None, bytearray(b"\x01"))  # too short to be a fragment
    assert events.control == [report]
    assert link.control_counters == speaker.ControlCounters(fragments_malformed=1)


async def test_the_imu_is_subscribed_only_when_navigation_wants_it():
    link, clients = make("Omi")
    await link.open(RecordedEvents())
    assert imu.DATA_UUID not in clients[0].notify and not link.has_imu  # air time is for audio

    link, clients = make("Omi")
    link.wants_imu = True
    events = RecordedEvents()
    await link.open(events)
    assert link.has_imu
    sample = imu.ImuSample((0.0, 0.0, 1.0), (0.0, 0.0, 0.0), (14.5, 2.7, -50.5))
    batch = imu.encode_batch(imu.ImuBatch(0, 20_000, (sample,)))
    clients[0].notify[imu.DATA_UUID](None, bytearray(batch))
    assert events.imu == [batch]
