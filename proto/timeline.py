"""Wrapping counters, written once: the conversation's audio timeline and the BLE packet ids.

Every 20 ms uplink frame of a conversation has one ``AUDIO_SEQ`` number, assigned by the edge
and used by the host to address its audio buffer; turn events, hints and playback events name
frames by it. It is one timeline per conversation: it keeps counting across device reconnects,
advancing by the time the device was away, so the host never mistakes new audio for old.
The BLE profile's per-notification ids and downlink write sequence numbers are 16-bit counters
with the same arithmetic (``BLE_ID``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sottovoce.proto.codec import FRAME_MS


@dataclass(frozen=True)
class Wrapping:
    """Arithmetic on an unsigned counter of ``bits`` bits that wraps to 0."""

    bits: int

    @property
    def modulus(self) -> int:
        return 1 << self.bits

    def wrap(self, value: int) -> int:
        return value % self.modulus

    def add(self, value: int, step: int = 1) -> int:
        return (value + step) % self.modulus

    def forward(self, earlier: int, later: int) -> int:
        """Steps from ``earlier`` forward to ``later`` (0 .. modulus-1)."""
        return (later - earlier) % self.modulus

    def delta(self, earlier: int, later: int) -> int:
        """Signed steps from ``earlier`` to ``later``: negative when ``later`` is in fact behind
        (half the counter's range either way)."""
        d = self.forward(earlier, later)
        return d - self.modulus if d >= self.modulus // 2 else d


AUDIO_SEQ = Wrapping(32)  # uplink frames: 2^32 x 20 ms is over two years
BLE_ID = Wrapping(16)  # Omi notification ids, downlink write sequence numbers


def ms_between(first_seq: int, later_seq: int) -> int:
    """Audio time from one uplink frame to a later one."""
    return AUDIO_SEQ.forward(first_seq, later_seq) * FRAME_MS


def frames_in(ms: float) -> int:
    """Whole frames in ``ms`` milliseconds of audio (rounded down)."""
    return int(ms // FRAME_MS)
