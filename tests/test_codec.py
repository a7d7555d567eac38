"""Opus framing on the wire: 16 kHz, 20 ms, and concealment of lost frames."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sottovoce.proto import codec


def tone(seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * codec.SAMPLE_RATE)) / codec.SAMPLE_RATE
    return codec.to_int16(0.3 * np.sin(2 * np.pi * hz * t))


def snr_db(ref: np.ndarray, out: np.ndarray) -> float:
    noise = ref.astype(float) - out.astype(float)
    return 10 * np.log10(np.sum(ref.astype(float) ** 2) / max(np.sum(noise**2), 1e-9))


def test_frames_of_pads_to_whole_frames():
    frames = codec.frames_of(np.ones(700, dtype=np.int16))
    assert [len(f) for f in frames] == [320, 320, 320]
    assert frames[-1][60:].sum() == 0


@pytest.mark.parametrize(("config", "max_bytes"), [(codec.UPLINK_CONFIG, 160), (codec.DOWNLINK_CONFIG, 400)])
def test_round_trip_keeps_the_signal(config, max_bytes):
    enc, dec = codec.OpusEncoder(config), codec.OpusDecoder()
    pcm = tone(1.0)
    packets = [enc.encode(f) for f in codec.frames_of(pcm)]
    assert all(0 < len(p) <= max_bytes for p in packets)  # uplink: Omi's ≤ 160 bytes per frame
    out = np.concatenate([dec.decode(p) for p in packets])
    # Opus has a few ms of algorithmic delay: align before comparing.
    lag = int(np.argmax(np.correlate(out[:3200].astype(float), pcm[:1600].astype(float), "valid")))
    assert snr_db(pcm[1600:12000], out[1600 + lag : 12000 + lag]) > 10


def test_packet_of_another_duration_is_rejected():
    with pytest.raises(codec.CodecError, match="expected 320"):
        codec.OpusDecoder().decode(b"\x00")  # a valid 10 ms packet


def test_encoder_rejects_wrong_frame_size():
    with pytest.raises(ValueError, match="320 samples"):
        codec.OpusEncoder().encode(np.zeros(160, dtype=np.int16))


def test_fec_conceals_a_lost_downlink_frame_better_than_plc():
    from sottovoce.host.tts import EspeakTts

    enc = codec.OpusEncoder(codec.DOWNLINK_CONFIG)
    pcm = EspeakTts().synthesize("Forward error correction carries a copy of the last frame.")
    packets = [enc.encode(f) for f in codec.frames_of(pcm)]
    lost = 30
    fec_dec, plc_dec = codec.OpusDecoder(), codec.OpusDecoder()
    for p in packets[:lost]:
        fec_dec.decode(p)
        plc_dec.decode(p)
    fec = fec_dec.conceal(packets[lost + 1])
    plc = plc_dec.conceal()
    reference = codec.OpusDecoder()
    ref = [reference.decode(p) for p in packets[: lost + 1]][-1]
    assert snr_db(ref, fec) > snr_db(ref, plc) + 6


@settings(max_examples=200)
@given(st.binary(max_size=500))
def test_decoder_raises_only_codec_error_on_garbage(data):
    dec = codec.OpusDecoder()
    try:
        out = dec.decode(data)
    except codec.CodecError:
        return
    assert out.shape == (codec.FRAME_SAMPLES,)
