"""Omi audio uplink service: Opus frames from the wearable's microphone, in notifications.

Compatible with the open Omi wearable, so real Omi/omiGlass hardware talks to the edge unchanged.
Each notification starts with ``[id_lo, id_hi, sub_index]``: the id is a uint16 counter per
notification (it wraps), sub_index 0 on a frame's first chunk; a frame longer than MTU - 6 bytes
is split. The codec characteristic says what the frames are (21: Opus 16 kHz, 20 ms frames).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sottovoce.proto.codec import UPLINK_CONFIG, OpusEncoder
from sottovoce.proto.timeline import BLE_ID

from .att import (
    DEFAULT_ATT_MTU,
    Characteristic,
    FramingError,
    GattClient,
    Permission,
    ProfileError,
    Property,
    Service,
    ServiceServer,
    max_chunk,
    split,
)

SERVICE_UUID = "19B10000-E8F2-537E-4F6C-D104768A1214"
DATA_UUID = "19B10001-E8F2-537E-4F6C-D104768A1214"
CODEC_UUID = "19B10002-E8F2-537E-4F6C-D104768A1214"
CODEC_OPUS_16K_20MS = 21  # Omi codec id: Opus, 16 kHz, 20 ms frames (320 samples)

HEADER = 3  # [id_lo, id_hi, sub_index]
MAX_CHUNKS = 256  # sub_index is one byte

SERVICE = Service(
    SERVICE_UUID,
    "Omi audio",
    (
        Characteristic(DATA_UUID, Property.NOTIFY, Permission.READABLE, "audio notification"),
        Characteristic(CODEC_UUID, Property.READ, Permission.READABLE, "codec id (one byte)"),
    ),
)


# --- framing ------------------------------------------------------------------------------------


class UplinkPacketizer:
    """Splits Opus frames into Omi audio notifications with the 3-byte header.

    The id is a uint16 counter per notification (it wraps); sub_index is 0 on a frame's first
    chunk and counts up on the chunks that follow.
    """

    def __init__(self, att_mtu: int = DEFAULT_ATT_MTU, first_id: int = 0) -> None:
        self.att_mtu = att_mtu
        self._next_id = BLE_ID.wrap(first_id)

    def packetize(self, frame: bytes) -> list[bytes]:
        out = []
        for sub, chunk in enumerate(split(frame, max_chunk(self.att_mtu, HEADER), MAX_CHUNKS)):
            out.append(bytes((self._next_id & 0xFF, self._next_id >> 8, sub)) + chunk)
            self._next_id = BLE_ID.add(self._next_id)
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
        if len(data) < HEADER:
            self.stats.malformed += 1
            raise FramingError(f"audio notification of {len(data)} bytes is shorter than its header")
        nid = data[0] | (data[1] << 8)
        sub = data[2]
        payload = data[HEADER:]
        self.stats.notifications += 1
        gap = 0 if self._last_id is None else BLE_ID.forward(BLE_ID.add(self._last_id), nid)
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
        if len(payload) < max_chunk(self.att_mtu, HEADER):
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


# --- device side --------------------------------------------------------------------------------


class AudioServer(ServiceServer):
    """What the wearable does with its microphone: each 20 ms frame Opus-encoded (Omi's CELT-only
    settings) and notified in chunks that fit the connection's ATT MTU."""

    service = SERVICE

    def __init__(self, notify: Callable[[str, bytes], object]) -> None:
        self.notify = notify
        self.encoder = OpusEncoder(UPLINK_CONFIG)
        self.packetizer = UplinkPacketizer()

    def new_connection(self, att_mtu: int) -> None:
        """Notification ids start over on each connection."""
        self.packetizer = UplinkPacketizer(att_mtu)

    def send(self, pcm: np.ndarray, att_mtu: int) -> None:
        """Encode one frame of int16 samples and notify it (``att_mtu``: the connection's, now)."""
        self.packetizer.att_mtu = att_mtu
        for chunk in self.packetizer.packetize(self.encoder.encode(pcm)):
            self.notify(DATA_UUID, chunk)

    def read(self, uuid: str) -> bytes:
        return bytes([CODEC_OPUS_16K_20MS]) if uuid == CODEC_UUID else b""


# --- central side -------------------------------------------------------------------------------


async def check_codec(gatt: GattClient) -> None:
    """Raise ProfileError unless the peripheral has the Omi audio service streaming Opus 16 kHz 20 ms."""
    if not gatt.has(DATA_UUID):
        raise ProfileError(f"has no Omi audio service ({SERVICE_UUID})")
    codec = await gatt.read(CODEC_UUID)
    if not codec or codec[0] != CODEC_OPUS_16K_20MS:
        raise ProfileError(
            f"streams codec {codec[0] if codec else None}; Sottovoce needs {CODEC_OPUS_16K_20MS} (Opus 16 kHz 20 ms)"
        )


async def subscribe(gatt: GattClient, on_notification: Callable[[bytes], None]) -> None:
    """Start the audio notifications (the simulator starts its scenario clock on this)."""
    await gatt.subscribe(DATA_UUID, on_notification)
