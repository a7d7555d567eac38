"""Sequenced chunks: messages longer than one ATT payload, split so a receiver can rebuild them safely.

Each packet is ``[seq_lo, seq_hi, *tag, sub_index | FINAL]`` + a chunk of one message: a uint16
sequence number per packet (it wraps), the chunk's index in its message, a flag on the last chunk
and an optional tag that every chunk of a message repeats (the downlink's stream id). Sequence
numbers are consecutive within a message, so a receiver sees any loss or reordering, and a
message it delivers is exactly one the sender sent, never chunks of two joined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sottovoce.proto.timeline import BLE_ID

from .att import DEFAULT_ATT_MTU, FramingError, max_chunk, split

HEADER = 3  # [seq_lo, seq_hi, sub_index | FINAL], plus the tag
FINAL = 0x80  # on the last chunk of a message; the low 7 bits are the chunk's index
MAX_CHUNKS = FINAL


class ChunkPacketizer:
    """Splits messages into ``[seq_lo, seq_hi, *tag, sub_index | FINAL]`` + chunk packets."""

    def __init__(self, tag_bytes: int, att_mtu: int = DEFAULT_ATT_MTU, first_seq: int = 0) -> None:
        self.tag_bytes = tag_bytes
        self.att_mtu = att_mtu
        self._seq = BLE_ID.wrap(first_seq)

    def packetize(self, message: bytes, tag: bytes = b"") -> list[bytes]:
        if len(tag) != self.tag_bytes:
            raise ValueError(f"tag of {len(tag)} bytes, this framing carries {self.tag_bytes}")
        chunks = split(message, max_chunk(self.att_mtu, HEADER + self.tag_bytes), MAX_CHUNKS)
        out = []
        for sub, chunk in enumerate(chunks):
            flag = FINAL if sub == len(chunks) - 1 else 0
            out.append(bytes((self._seq & 0xFF, self._seq >> 8)) + tag + bytes((sub | flag,)) + chunk)
            self._seq = BLE_ID.add(self._seq)
        return out


@dataclass
class ChunkStats:
    messages: int = 0
    packets: int = 0
    lost_packets: int = 0  # gaps in the sequence number
    stale_packets: int = 0  # behind the last sequence number seen (duplicated or reordered): ignored
    dropped_messages: int = 0  # known to have lost a chunk: thrown away, never delivered in part
    malformed: int = 0


class ChunkReassembler:
    """Rebuilds messages from sequenced chunks: ``on_message(tag, message)`` for each whole one.

    A message is delivered only if all its chunks arrived, in order. Anything else is counted in
    ``stats`` and said to ``on_loss(reason)``: a gap in the sequence numbers, a chunk arriving
    behind the last one (reordered or repeated), a message whose first chunk never came.
    """

    def __init__(
        self,
        on_message: Callable[[bytes, bytes], None],
        tag_bytes: int,
        on_loss: Callable[[str], None] | None = None,
    ) -> None:
        self.on_message = on_message
        self.on_loss = on_loss
        self.tag_bytes = tag_bytes
        self.stats = ChunkStats()
        self._last_seq: int | None = None
        # The message in progress: its tag, the index its next chunk has, and its chunks so far
        # (None once it is known to be incomplete: the rest of it is skipped, not counted again).
        self._open = False
        self._tag = b""
        self._next_sub = 0
        self._parts: list[bytes] | None = None

    def feed(self, data: bytes) -> None:
        header = HEADER + self.tag_bytes
        if len(data) < header:
            self.stats.malformed += 1
            raise FramingError(f"packet of {len(data)} bytes is shorter than its {header}-byte header")
        seq = data[0] | (data[1] << 8)
        tag = bytes(data[2 : 2 + self.tag_bytes])
        sub, final = data[header - 1] & (FINAL - 1), bool(data[header - 1] & FINAL)
        payload = bytes(data[header:])
        self.stats.packets += 1
        missed = 0
        if self._last_seq is not None:
            step = BLE_ID.delta(self._last_seq, seq)
            if step <= 0:
                self.stats.stale_packets += 1
                self._lost(f"packet {seq} arrived after packet {self._last_seq}; ignored")
                return
            missed = step - 1
        self._last_seq = seq
        if missed:
            self.stats.lost_packets += missed
            # Numbers are consecutive within a message: a chunk whose index fills the gap exactly
            # belongs to the message in progress, which lost chunks in the middle.
            same = self._open and sub == self._next_sub + missed and tag == self._tag
            if self._open and self._parts is not None:
                where = "in the middle of" if same else "at the end of"
                self._drop(f"{missed} packet(s) before packet {seq} lost {where} a message")
            elif sub == 0:  # a later chunk is the rest of a message already dropped, or is said below
                self._lost(f"{missed} packet(s) before packet {seq} lost between messages")
            self._parts = None
            self._open = same
            if same:
                self._next_sub = sub
        if sub == 0:
            if self._open and self._parts is not None:
                self._drop(f"a message ended without its final chunk (packet {seq} starts the next)")
            self._open, self._tag, self._parts = True, tag, [payload]
        elif self._open and sub == self._next_sub and tag == self._tag:
            if self._parts is not None:
                self._parts.append(payload)
        else:
            if self._open and self._parts is not None:
                self._drop(f"packet {seq} does not continue the message in progress")
            self._drop(f"packet {seq} continues a message whose start was lost")
            self._open, self._tag, self._parts = True, tag, None
        self._next_sub = sub + 1
        if final:
            self._open = False
            if self._parts is not None:
                message, self._parts = b"".join(self._parts), None
                self.stats.messages += 1
                self.on_message(self._tag, message)

    def _drop(self, reason: str) -> None:
        self._parts = None
        self.stats.dropped_messages += 1
        self._lost(reason)

    def _lost(self, reason: str) -> None:
        if self.on_loss is not None:
            self.on_loss(reason)
