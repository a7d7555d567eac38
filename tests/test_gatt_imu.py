"""The IMU service's batch format: round trip, saturation, batching per MTU, and a decoder that
turns any bytes into a batch or one clear FramingError."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sottovoce.proto.gatt import imu
from sottovoce.proto.gatt.att import DEFAULT_ATT_MTU, FramingError

SAMPLE = imu.ImuSample((0.01, -0.02, 1.0), (1.5, -30.25, 250.0), (14.5, -2.7, -50.5))


def test_a_batch_round_trips_within_one_lsb():
    batch = imu.ImuBatch(first_index=65534, period_us=20_000, samples=(SAMPLE, SAMPLE))
    data = imu.encode_batch(batch)
    assert len(data) == imu.HEADER.size + 2 * imu.SAMPLE.size and data[0] == imu.FORMAT_V1
    back = imu.decode_batch(data)
    assert (back.first_index, back.period_us, len(back.samples)) == (65534, 20_000, 2)
    assert back.next_index == 0  # wraps like every 16-bit counter of the profile
    for got, want, lsb in zip(
        (back.samples[0].accel_g, back.samples[0].gyro_dps, back.samples[0].mag_ut),
        (SAMPLE.accel_g, SAMPLE.gyro_dps, SAMPLE.mag_ut),
        (imu.ACCEL_LSB_G, imu.GYRO_LSB_DPS, imu.MAG_LSB_UT),
        strict=True,
    ):
        assert all(abs(g - w) <= lsb / 2 + 1e-12 for g, w in zip(got, want, strict=True))


def test_values_beyond_the_range_saturate_like_the_sensor():
    wild = imu.ImuSample((100.0, -100.0, 0.0), (5000.0, 0.0, 0.0), (0.0, 0.0, -9999.0))
    back = imu.decode_batch(imu.encode_batch(imu.ImuBatch(0, 20_000, (wild,)))).samples[0]
    assert back.accel_g[0] == pytest.approx(32767 * imu.ACCEL_LSB_G) and back.accel_g[1] == -8.0
    assert back.gyro_dps[0] == pytest.approx(32767 * imu.GYRO_LSB_DPS) and back.mag_ut[2] == -2048.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01\x01", "need at least 6"),
        (bytes([2, 1]) + struct.pack("<HH", 20_000, 0) + bytes(18), "format 2 is not supported"),
        (bytes([1, 0]) + struct.pack("<HH", 20_000, 0), "0 samples"),
        (bytes([1, 1]) + struct.pack("<HH", 0, 0) + bytes(18), "period of 0"),
        (bytes([1, 2]) + struct.pack("<HH", 20_000, 0) + bytes(18), "needs 42 bytes, got 24"),
    ],
)
def test_bad_batches_say_what_is_wrong(data: bytes, message: str):
    with pytest.raises(FramingError, match=message):
        imu.decode_batch(data)


@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_framing_error(data: bytes):
    try:
        batch = imu.decode_batch(data)
    except FramingError:
        return
    assert imu.encode_batch(batch) == data  # whatever decodes is exactly what was sent


finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False)
vectors = st.tuples(finite, finite, finite)


@given(st.lists(st.builds(imu.ImuSample, vectors, vectors, vectors), min_size=1, max_size=20),
       st.integers(0, 65535), st.integers(1, 65535))  # fmt: skip
def test_encoded_batches_always_decode(samples, first, period):
    back = imu.decode_batch(imu.encode_batch(imu.ImuBatch(first, period, tuple(samples))))
    assert (back.first_index, back.period_us, len(back.samples)) == (first, period, len(samples))


def test_the_server_batches_per_notification_and_counts_what_cannot_go():
    sent: list[bytes] = []
    ok = [True]
    server = imu.ImuServer(lambda uuid, data: (sent.append(data), ok[0])[1])
    for _ in range(2 * imu.BATCH_SAMPLES):
        server.add(SAMPLE, att_mtu=247)
    assert [imu.decode_batch(d).first_index for d in sent] == [0, imu.BATCH_SAMPLES]
    # at a small MTU fewer samples fit; below the service's minimum none do, and that is counted
    assert imu.samples_per_notification(imu.MIN_ATT_MTU) == 1
    assert imu.samples_per_notification(DEFAULT_ATT_MTU) == 0
    server.add(SAMPLE, att_mtu=DEFAULT_ATT_MTU)
    assert server.counters.batches_mtu_too_small == 1 and len(sent) == 2
    ok[0] = False
    for _ in range(imu.BATCH_SAMPLES):
        server.add(SAMPLE, att_mtu=247)
    assert server.counters.batches_unsent == 1 and server.counters.batches_sent == 2
    # a sample that could not go still took its index: the edge sees the gap and bridges it
    assert imu.decode_batch(sent[-1]).first_index == 2 * imu.BATCH_SAMPLES + 1
