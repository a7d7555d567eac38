"""The BLE GATT profile of a Sottovoce wearable, and the byte framing on its characteristics.

The audio uplink and button service are the open Omi wearable's, so real Omi/omiGlass hardware
talks to the edge unchanged. Sottovoce adds one service of its own for what Omi lacks: a
streaming Opus downlink and a two-way CBOR control channel (see ``control.py``).

Everything here is pure Python over bytes: the simulator (bumble), the edge's bumble and bleak
transports, and the serial bridge all share it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

# --- Omi audio uplink ---------------------------------------------------------------------------
AUDIO_SERVICE_UUID = "19B10000-E8F2-537E-4F6C-D104768A1214"
AUDIO_DATA_UUID = "19B10001-E8F2-537E-4F6C-D104768A1214"  # notify
AUDIO_CODEC_UUID = "19B10002-E8F2-537E-4F6C-D104768A1214"  # read, one byte
CODEC_OPUS_16K_20MS = 21  # Omi codec id: Opus, 16 kHz, 20 ms frames (320 samples)

# --- Battery (SIG) ------------------------------------------------------------------------------
BATTERY_SERVICE_UUID = "180F"
BATTERY_LEVEL_UUID = "2A19"  # read + notify, uint8 percent

# --- Omi buttons --------------------------------------------------------------------------------
BUTTON_SERVICE_UUID = "23BA7924-0000-1000-7450-346EAC492E92"
BUTTON_EVENT_UUID = "23BA7925-0000-1000-7450-346EAC492E92"  # notify, 8 bytes

# --- Sottovoce downlink + control ---------------------------------------------------------------
SOTTOVOCE_SERVICE_UUID = "5D0E0000-3F6B-4D39-A1C6-7E2B9C55A001"
DOWNLINK_UUID = "5D0E0001-3F6B-4D39-A1C6-7E2B9C55A001"  # write without response
CONTROL_UUID = "5D0E0002-3F6B-4D39-A1C6-7E2B9C55A001"  # write + notify, CBOR

DEVICE_NAME_PREFIX = "Sottovoce"

ATT_HEADER = 3  # opcode + handle in front of every notification/write payload
UPLINK_HEADER = 3  # [id_lo, id_hi, sub_index]
DOWNLINK_HEADER = 4  # [seq_lo, seq_hi, stream, sub_index | FINAL]
DOWNLINK_FINAL = 0x80
DEFAULT_ATT_MTU = 23  # before an MTU exchange (and what BlueZ reports until it has one)


class FramingError(ValueError):
    """A notification or write whose bytes cannot be a valid packet."""


class ButtonEvent(IntEnum):
    TAP = 1
    DOUBLE_TAP = 2
    LONG_PRESS = 3
    PRESS = 4
    RELEASE = 5


def encode_button(event: ButtonEvent) -> bytes:
    """Omi button payload: event code in the first little-endian int32, 8 bytes in all."""
    return struct.pack("<ii", int(event), 0)


def decode_button(data: bytes) -> ButtonEvent:
    if len(data) < 4:
        raise FramingError(f"button event of {len(data)} bytes, need at least 4")
    (code,) = struct.unpack_from("<i", data)
    try:
        return ButtonEvent(code)
    except ValueError:
        raise FramingError(f"unknown button event code {code}") from None


def max_chunk(att_mtu: int, header: int) -> int:
    """Payload bytes that fit in one notification or write after the ATT and packet headers."""
    room = att_mtu - ATT_HEADER - header
    if room <= 0:
        raise FramingError(f"ATT MTU {att_mtu} leaves no room for payload")
    return room


# --- Uplink (Omi) framing -----------------------------------------------------------------------


class UplinkPacketizer:
    """Splits Opus frames into Omi audio notifications with the 3-byte header.

    The id is a uint16 counter per notification (it wraps); sub_index is 0 on a frame's first
    chunk and counts up on the chunks that follow.
    """

    def __init__(self, att_mtu: int = DEFAULT_ATT_MTU, first_id: int = 0) -> None:
        self.att_mtu = att_mtu
        self._next_id = first_id & 0xFFFF

    def packetize(self, frame: bytes) -> list[bytes]:
        size = max_chunk(self.att_mtu, UPLINK_HEADER)
        chunks = [frame[i : i + size] for i in range(0, len(frame), size)] or [b""]
        if len(chunks) > 256:
            raise FramingError(f"frame of {len(frame)} bytes needs {len(chunks)} chunks (max 256)")
        out = []
        for sub, chunk in enumerate(chunks):
            out.append(bytes((self._next_id & 0xFF, self._next_id >> 8, sub)) + chunk)
            self._next_id = (self._next_id + 1) & 0xFFFF
        return out


@dataclass
class ReassemblyStats:
    frames: int = 0
    notifications: int = 0
    lost_notifications: int = 0  # gaps in the id counter
    dropped_frames: int = 0  # partial frames thrown away because a chunk was lost
    malformed: int = 0


class UplinkReassembler:
    """Rebuilds Opus frames from Omi audio notifications.

    A frame is complete as soon as a chunk shorter than the largest chunk arrives, or when the
    next frame's first chunk (sub_index 0) arrives. ``on_frame(frame, lost_before)`` receives each
    frame with the number of whole frames known lost just before it (so the decoder can conceal
    them); lost notifications inside a frame drop that frame.
    """

    def __init__(self, on_frame: Callable[[bytes, int], None], att_mtu: int = DEFAULT_ATT_MTU) -> None:
        self.on_frame = on_frame
        self.att_mtu = att_mtu
        self.stats = ReassemblyStats()
        self._last_id: int | None = None
        self._parts: list[bytes] = []
        self._chunks_per_frame = 1
        self._pending_loss = 0

    def feed(self, data: bytes) -> None:
        if len(data) < UPLINK_HEADER:
            self.stats.malformed += 1
            raise FramingError(f"audio notification of {len(data)} bytes is shorter than its header")
        nid = data[0] | (data[1] << 8)
        sub = data[2]
        payload = data[UPLINK_HEADER:]
        self.stats.notifications += 1
        gap = 0 if self._last_id is None else (nid - self._last_id - 1) & 0xFFFF
        self._last_id = nid
        if gap:
            # Frames whose chunks fell in the gap, estimated from the last frame's chunk count;
            # the frame in progress (if any) is one of them.
            self.stats.lost_notifications += gap
            lost = -(-gap // self._chunks_per_frame)
            self._parts = []
            self._pending_loss += lost
            self.stats.dropped_frames += lost
            if sub != 0:  # the tail of a frame already counted lost
                return
        if sub == 0:
            if self._parts:  # previous frame ended on a full-size chunk
                self._emit()
            self._parts = [payload]
        elif self._parts and sub == len(self._parts):
            self._parts.append(payload)
        else:  # a continuation whose head we never saw (e.g. right after connecting)
            self._parts = []
            self._pending_loss += 1
            self.stats.dropped_frames += 1
            return
        if len(payload) < max_chunk(self.att_mtu, UPLINK_HEADER):
            self._emit()

    def flush(self) -> None:
        """Emit a frame still waiting for a possible continuation (e.g. at end of stream)."""
        if self._parts:
            self._emit()

    def _emit(self) -> None:
        frame = b"".join(self._parts)
        self._chunks_per_frame = len(self._parts)
        self._parts = []
        lost, self._pending_loss = self._pending_loss, 0
        self.stats.frames += 1
        self.on_frame(frame, lost)


# --- Downlink (Sottovoce) framing ---------------------------------------------------------------


@dataclass(frozen=True)
class DownlinkChunk:
    seq: int  # uint16 per write
    stream: int  # uint8 response stream id; a flush invalidates older streams
    sub_index: int
    final: bool  # last chunk of its frame
    payload: bytes


class DownlinkPacketizer:
    """Splits response Opus frames into downlink writes: [seq_lo, seq_hi, stream, sub|FINAL]."""

    def __init__(self, att_mtu: int = DEFAULT_ATT_MTU) -> None:
        self.att_mtu = att_mtu
        self._seq = 0

    def packetize(self, stream: int, frame: bytes) -> list[bytes]:
        size = max_chunk(self.att_mtu, DOWNLINK_HEADER)
        chunks = [frame[i : i + size] for i in range(0, len(frame), size)] or [b""]
        if len(chunks) > DOWNLINK_FINAL:
            raise FramingError(f"frame of {len(frame)} bytes needs {len(chunks)} chunks (max 128)")
        out = []
        for sub, chunk in enumerate(chunks):
            flag = DOWNLINK_FINAL if sub == len(chunks) - 1 else 0
            out.append(bytes((self._seq & 0xFF, self._seq >> 8, stream & 0xFF, sub | flag)) + chunk)
            self._seq = (self._seq + 1) & 0xFFFF
        return out


def parse_downlink(data: bytes) -> DownlinkChunk:
    if len(data) < DOWNLINK_HEADER:
        raise FramingError(f"downlink write of {len(data)} bytes is shorter than its header")
    return DownlinkChunk(
        seq=data[0] | (data[1] << 8),
        stream=data[2],
        sub_index=data[3] & 0x7F,
        final=bool(data[3] & DOWNLINK_FINAL),
        payload=bytes(data[DOWNLINK_HEADER:]),
    )


@dataclass
class DownlinkStats:
    frames: int = 0
    writes: int = 0
    lost_writes: int = 0
    dropped_frames: int = 0
    malformed: int = 0


class DownlinkReassembler:
    """Device side: rebuilds (stream, frame) from downlink writes; a gap drops the frame."""

    def __init__(self, on_frame: Callable[[int, bytes], None]) -> None:
        self.on_frame = on_frame
        self.stats = DownlinkStats()
        self._last_seq: int | None = None
        self._parts: list[bytes] = []
        self._stream = -1

    def feed(self, data: bytes) -> None:
        try:
            chunk = parse_downlink(data)
        except FramingError:
            self.stats.malformed += 1
            raise
        self.stats.writes += 1
        if self._last_seq is not None and (chunk.seq - self._last_seq - 1) & 0xFFFF:
            self.stats.lost_writes += (chunk.seq - self._last_seq - 1) & 0xFFFF
            if self._parts:
                self._parts = []
                self.stats.dropped_frames += 1
        self._last_seq = chunk.seq
        if chunk.sub_index == 0:
            if self._parts:
                self.stats.dropped_frames += 1
            self._parts, self._stream = [chunk.payload], chunk.stream
        elif self._parts and chunk.sub_index == len(self._parts) and chunk.stream == self._stream:
            self._parts.append(chunk.payload)
        else:
            if self._parts:
                self._parts = []
            self.stats.dropped_frames += 1
            return
        if chunk.final:
            frame, self._parts = b"".join(self._parts), []
            self.stats.frames += 1
            self.on_frame(self._stream, frame)
