"""Wired dev kits: the GATT profile's traffic over a serial port (UART / USB CDC).

Each message is ``[type][payload][crc16]`` (CRC-16/CCITT-FALSE over type and payload, little
endian), COBS-encoded and ended by a 0x00 byte, so a receiver that starts mid-stream or hits line
noise resynchronises at the next zero. Types mirror the GATT characteristics, so the same
payloads (Omi audio notifications, button events, downlink writes) cross either link unchanged;
control messages go whole (a serial message holds up to 1 KiB), not in the fragments that a
GATT link needs for its small MTUs.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass
from enum import IntEnum

from .gatt.att import FramingError

MAX_MESSAGE = 1024  # bytes of payload; a longer run without a delimiter is noise


class MessageType(IntEnum):
    HELLO = 0x00  # device -> edge: [codec u8][max_audio_payload u16 LE]
    AUDIO = 0x01  # device -> edge: one Omi audio notification (3-byte header + data)
    BUTTON = 0x02  # device -> edge: Omi button payload
    BATTERY = 0x03  # device -> edge: uint8 percent
    CONTROL_UP = 0x04  # device -> edge: CBOR control message
    HELLO_REQUEST = 0x80  # edge -> device: please send HELLO
    DOWNLINK = 0x81  # edge -> device: one downlink packet
    CONTROL_DOWN = 0x84  # edge -> device: CBOR control message


@dataclass(frozen=True)
class Hello:
    codec: int
    max_audio_payload: int

    def encode(self) -> bytes:
        return struct.pack("<BH", self.codec, self.max_audio_payload)

    @classmethod
    def decode(cls, payload: bytes) -> Hello:
        if len(payload) != 3:
            raise FramingError(f"HELLO of {len(payload)} bytes, expected 3")
        return cls(*struct.unpack("<BH", payload))


def cobs_encode(data: bytes) -> bytes:
    out = bytearray()
    block = bytearray()
    for byte in data:
        if byte == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
        else:
            block.append(byte)
            if len(block) == 254:
                out.append(255)
                out += block
                block.clear()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0 or i + code > n:
            raise FramingError("malformed COBS block")
        block = data[i + 1 : i + code]
        if 0 in block:
            raise FramingError("zero byte inside a COBS block")
        out += block
        i += code
        if code != 255 and i < n:
            out.append(0)
    return bytes(out)


def encode_message(kind: MessageType, payload: bytes) -> bytes:
    if len(payload) > MAX_MESSAGE:
        raise FramingError(f"serial payload of {len(payload)} bytes exceeds {MAX_MESSAGE}")
    body = bytes([kind]) + payload
    return cobs_encode(body + struct.pack("<H", binascii.crc_hqx(body, 0xFFFF))) + b"\x00"


@dataclass
class DecoderStats:
    messages: int = 0
    bad_crc: int = 0
    bad_framing: int = 0
    unknown_type: int = 0
    overlong: int = 0


class SerialDecoder:
    """Feed it bytes as they arrive; it returns whole messages and counts what it had to drop."""

    def __init__(self) -> None:
        self.stats = DecoderStats()
        self._buffer = bytearray()
        self._skipping = False  # inside an overlong run: drop until the next delimiter

    def feed(self, data: bytes) -> list[tuple[MessageType, bytes]]:
        out: list[tuple[MessageType, bytes]] = []
        for chunk in _split_keep(data):
            if chunk == b"\x00":
                if not self._skipping and self._buffer:
                    message = self._parse(bytes(self._buffer))
                    if message is not None:
                        out.append(message)
                self._buffer.clear()
                self._skipping = False
                continue
            if self._skipping:
                continue
            self._buffer += chunk
            if len(self._buffer) > MAX_MESSAGE + 8:
                self.stats.overlong += 1
                self._buffer.clear()
                self._skipping = True
        return out

    def _parse(self, encoded: bytes) -> tuple[MessageType, bytes] | None:
        try:
            body = cobs_decode(encoded)
        except FramingError:
            self.stats.bad_framing += 1
            return None
        if len(body) < 3:
            self.stats.bad_framing += 1
            return None
        content, (crc,) = body[:-2], struct.unpack("<H", body[-2:])
        if binascii.crc_hqx(content, 0xFFFF) != crc:
            self.stats.bad_crc += 1
            return None
        try:
            kind = MessageType(content[0])
        except ValueError:
            self.stats.unknown_type += 1
            return None
        self.stats.messages += 1
        return kind, content[1:]


def _split_keep(data: bytes) -> list[bytes]:
    """Split on 0x00, keeping each delimiter as its own item."""
    parts: list[bytes] = []
    start = 0
    for i, byte in enumerate(data):
        if byte == 0:
            if i > start:
                parts.append(data[start:i])
            parts.append(b"\x00")
            start = i + 1
    if start < len(data):
        parts.append(data[start:])
    return parts
