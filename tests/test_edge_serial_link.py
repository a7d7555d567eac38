"""The serial link over a real pseudo-terminal pair: the test plays the dev kit on the other end."""

from __future__ import annotations

import asyncio
import os

import pytest
from link_events import RecordedEvents

from sottovoce.edge.links import DeviceNotFound, open_link
from sottovoce.edge.links.serial_link import SerialLink
from sottovoce.proto import control
from sottovoce.proto import serial_framing as sf


class DevKit:
    """The device end of the pty: answers HELLO and records what the edge sends."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.decoder = sf.SerialDecoder()
        self.received: list[tuple[sf.MessageType, bytes]] = []
        asyncio.get_running_loop().add_reader(fd, self._readable)

    def _readable(self) -> None:
        for kind, payload in self.decoder.feed(os.read(self.fd, 4096)):
            self.received.append((kind, payload))
            if kind is sf.MessageType.HELLO_REQUEST:
                self.send(sf.MessageType.HELLO, sf.Hello(21, 160).encode())

    def send(self, kind, payload) -> None:
        os.write(self.fd, sf.encode_message(kind, payload))

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.fd)


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


async def until(predicate):
    for _ in range(200):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_hello_audio_control_and_downlink_over_a_pty(pty_pair):
    master, path = pty_pair
    kit = DevKit(master)
    link = open_link(f"serial:{path}@115200")
    assert isinstance(link, SerialLink)
    events = RecordedEvents()
    try:
        await link.open(events)
        assert link.att_mtu == 160 + 6
        kit.send(sf.MessageType.AUDIO, b"\x01\x00\x00opus")
        kit.send(sf.MessageType.BATTERY, b"\x42")
        kit.send(sf.MessageType.CONTROL_UP, control.BufferReport(1, 0, 50, 0).encode())
        os.write(master, b"\x05noise\x00")  # line noise is counted, not fatal
        await until(lambda: events.control)
        assert events.audio == [b"\x01\x00\x00opus"]
        assert events.battery == [0x42]
        assert link.decoder.stats.bad_crc + link.decoder.stats.bad_framing == 1
        await link.write_downlink(b"\x00\x00\x01\x80xyz")
        await link.write_control(control.Flush(stream=1).encode())
        await until(lambda: len(kit.received) == 3)
        assert kit.received[1] == (sf.MessageType.DOWNLINK, b"\x00\x00\x01\x80xyz")
        assert control.decode(kit.received[2][1]) == control.Flush(stream=1)
    finally:
        kit.close()
        await link.close()


async def test_silent_port_is_not_a_device(pty_pair):
    _, path = pty_pair
    link = SerialLink(path, hello_timeout=0.2)
    with pytest.raises(DeviceNotFound, match=f"no Sottovoce device answered on {path}"):
        await link.open(RecordedEvents())


async def test_missing_port_is_named():
    with pytest.raises(DeviceNotFound, match="cannot open serial port /dev/ttyNOPE0"):
        await open_link("serial:/dev/ttyNOPE0").open(RecordedEvents())


def test_bad_baud_is_named():
    with pytest.raises(DeviceNotFound, match="baud rate 'fast'"):
        open_link("serial:/dev/ttyUSB0@fast")
