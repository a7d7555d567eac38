"""The wire audio format: Opus, 16 kHz mono, 20 ms frames (Omi codec 21), and its PCM helpers.

Every hop (glasses -> edge -> host and back) carries exactly these packets; only the endpoints
that need samples (the edge's VAD, the host's ASR, the device's speaker) decode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import opuslib_next as opus

SAMPLE_RATE = 16_000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 320
MAX_PACKET_BYTES = 400  # far above 32 kbps/20 ms (80 bytes); a larger packet is malformed
# Lost frames are stood in for so that an audio timeline never skips. Opus PLC fades out after
# ~100 ms anyway, so longer gaps become silence; a gap over 10 s is a dropout, not loss, and the
# receiver starts its timeline afresh rather than inventing that much audio.
MAX_PLC_FRAMES = 5
MAX_GAP_FRAMES = 500


class CodecError(ValueError):
    """An Opus packet that cannot be decoded."""


@dataclass(frozen=True)
class EncoderConfig:
    bitrate: int = 32_000
    complexity: int = 3
    # Omi ships CELT-only low-delay frames; the uplink keeps that. The downlink may use VOIP
    # (SILK) with in-band FEC so a lost BLE write can be recovered from the next packet. At
    # complexity 3, libopus only adds FEC data from 10 % expected loss up (measured: 5 % adds none).
    application: int = opus.APPLICATION_RESTRICTED_LOWDELAY
    inband_fec: bool = False
    packet_loss_perc: int = 0


UPLINK_CONFIG = EncoderConfig()
DOWNLINK_CONFIG = EncoderConfig(bitrate=24_000, application=opus.APPLICATION_VOIP, inband_fec=True, packet_loss_perc=10)


class OpusEncoder:
    def __init__(self, config: EncoderConfig = UPLINK_CONFIG) -> None:
        self._enc = opus.Encoder(SAMPLE_RATE, 1, config.application)
        self._enc.bitrate = config.bitrate
        self._enc.complexity = config.complexity
        if config.inband_fec:
            self._enc.inband_fec = 1
            self._enc.packet_loss_perc = config.packet_loss_perc

    def encode(self, pcm: np.ndarray) -> bytes:
        """Encode exactly one frame of int16 samples."""
        if pcm.shape != (FRAME_SAMPLES,):
            raise ValueError(f"need {FRAME_SAMPLES} samples per frame, got {pcm.shape}")
        return self._enc.encode(np.ascontiguousarray(pcm, dtype="<i2").tobytes(), FRAME_SAMPLES)


class OpusDecoder:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the stream so far (a new stream from a reconnected device)."""
        self._dec = opus.Decoder(SAMPLE_RATE, 1)

    def decode(self, packet: bytes) -> np.ndarray:
        if not packet or len(packet) > MAX_PACKET_BYTES:
            raise CodecError(f"Opus packet of {len(packet)} bytes is out of range")
        try:
            out = self._dec.decode(packet, FRAME_SAMPLES)
        except opus.OpusError as exc:
            raise CodecError(f"undecodable Opus packet ({len(packet)} bytes): {exc}") from None
        pcm = np.frombuffer(out, dtype="<i2").copy()
        if len(pcm) != FRAME_SAMPLES:  # a valid packet of another duration is not our wire format
            raise CodecError(f"Opus packet holds {len(pcm)} samples, expected {FRAME_SAMPLES} (20 ms)")
        return pcm

    def conceal(self, next_packet: bytes | None = None) -> np.ndarray:
        """One frame for a lost packet: FEC from the next packet when it carries some, else PLC."""
        try:
            if next_packet:
                out = self._dec.decode(next_packet, FRAME_SAMPLES, decode_fec=True)
            else:
                out = self._dec.decode(b"", FRAME_SAMPLES)
        except opus.OpusError:
            out = self._dec.decode(b"", FRAME_SAMPLES)
        return np.frombuffer(out, dtype="<i2").copy()


def fill_gap(decoder: OpusDecoder, lost: int, next_packet: bytes | None = None) -> list[np.ndarray]:
    """Stand-ins for ``lost`` frames missing just before ``next_packet``: concealment for the first
    ``MAX_PLC_FRAMES`` (the one right before ``next_packet`` from its in-band FEC), silence after."""
    out = []
    for i in range(lost):
        if i < MAX_PLC_FRAMES:
            out.append(decoder.conceal(next_packet if i == lost - 1 else None))
        else:
            out.append(np.zeros(FRAME_SAMPLES, dtype=np.int16))
    return out


def frames_of(pcm: np.ndarray) -> list[np.ndarray]:
    """Split int16 audio into whole 20 ms frames, zero-padding the last one."""
    pad = (-len(pcm)) % FRAME_SAMPLES
    if pad:
        pcm = np.concatenate([pcm, np.zeros(pad, dtype=np.int16)])
    return [pcm[i : i + FRAME_SAMPLES] for i in range(0, len(pcm), FRAME_SAMPLES)]


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] to int16 with clipping."""
    return np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)


def to_float(pcm: np.ndarray) -> np.ndarray:
    return pcm.astype(np.float32) / 32768.0
