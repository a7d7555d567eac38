"""Sottovoce IMU service: the glasses' accelerometer, gyroscope and magnetometer, batched in notifications.

The edge fuses them into the head's heading (``edge/heading.py``) for navigation cues relative to
where the wearer faces. One notification carries a batch of consecutive samples:

    byte 0       format (``FORMAT_V1``)
    byte 1       n, samples in the batch (1..255)
    bytes 2..3   sample period, microseconds (uint16 LE)
    bytes 4..5   index of the batch's first sample (uint16 LE, wraps; ``BLE_ID`` arithmetic), so a
                 lost notification shows as a gap and the fusion can bridge the time it covers
    then n x 18  nine int16 LE per sample: accelerometer x y z, gyroscope x y z, magnetometer x y z

Axes are the glasses' own, right-handed: x forward (where the wearer looks), y left, z up. At rest
and level the accelerometer reads +1 g on z (the specific force, opposite to gravity). Scales are
those of common 16-bit MEMS parts at their walking ranges: 1/4096 g (+-8 g), 1/16 deg/s (+-2048
deg/s), 1/16 uT (+-2048 uT).

A batch needs 6 + 18 bytes, more than the 20 bytes a 23-byte ATT MTU leaves: the service works from
an ATT MTU of 27 (every phone and Pi negotiates more); below, batches are not sent and counted.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from sottovoce.proto.timeline import BLE_ID

from .att import ATT_HEADER, Characteristic, FramingError, GattClient, Permission, Property, Service, ServiceServer

SERVICE_UUID = "5D0E0010-3F6B-4D39-A1C6-7E2B9C55A001"
DATA_UUID = "5D0E0011-3F6B-4D39-A1C6-7E2B9C55A001"

FORMAT_V1 = 1
HEADER = struct.Struct("<BBHH")
SAMPLE = struct.Struct("<9h")
ACCEL_LSB_G = 1 / 4096
GYRO_LSB_DPS = 1 / 16
MAG_LSB_UT = 1 / 16
SAMPLE_RATE_HZ = 50  # the glasses' IMU output rate: heading needs well under 10 Hz, head turns need more
BATCH_SAMPLES = 5  # samples per notification: 10 notifications a second, 96 bytes each
MIN_ATT_MTU = ATT_HEADER + HEADER.size + SAMPLE.size

SERVICE = Service(
    SERVICE_UUID,
    "Sottovoce IMU",
    (Characteristic(DATA_UUID, Property.NOTIFY, Permission.READABLE, "IMU sample batch"),),
)

Vector = tuple[float, float, float]


@dataclass(frozen=True)
class ImuSample:
    accel_g: Vector
    gyro_dps: Vector
    mag_ut: Vector


@dataclass(frozen=True)
class ImuBatch:
    first_index: int  # of the first sample, uint16 wrapping
    period_us: int
    samples: tuple[ImuSample, ...]

    @property
    def next_index(self) -> int:
        """The index the batch after this one starts at, if none is lost."""
        return BLE_ID.add(self.first_index, len(self.samples))


def _quantize(values: Vector, lsb: float) -> list[int]:
    return [max(-32768, min(32767, round(v / lsb))) for v in values]


def encode_batch(batch: ImuBatch) -> bytes:
    """A batch's notification bytes (values beyond a sensor's range saturate, as the sensor's do)."""
    if not 1 <= len(batch.samples) <= 255:
        raise FramingError(f"an IMU batch holds 1..255 samples, got {len(batch.samples)}")
    if not 1 <= batch.period_us <= 0xFFFF:
        raise FramingError(f"IMU sample period {batch.period_us} us is outside 1..65535")
    out = bytearray(HEADER.pack(FORMAT_V1, len(batch.samples), batch.period_us, BLE_ID.wrap(batch.first_index)))
    for s in batch.samples:
        out += SAMPLE.pack(*_quantize(s.accel_g, ACCEL_LSB_G), *_quantize(s.gyro_dps, GYRO_LSB_DPS),
                           *_quantize(s.mag_ut, MAG_LSB_UT))  # fmt: skip
    return bytes(out)


def decode_batch(data: bytes) -> ImuBatch:
    """One notification's batch; FramingError says what is wrong with bytes that cannot be one."""
    if len(data) < HEADER.size:
        raise FramingError(f"IMU notification of {len(data)} bytes, need at least {HEADER.size}")
    fmt, n, period_us, first = HEADER.unpack_from(data)
    if fmt != FORMAT_V1:
        raise FramingError(f"IMU batch format {fmt} is not supported (this edge reads format {FORMAT_V1})")
    if n == 0:
        raise FramingError("IMU batch of 0 samples")
    if period_us == 0:
        raise FramingError("IMU batch with a sample period of 0 us")
    if len(data) != HEADER.size + n * SAMPLE.size:
        raise FramingError(f"IMU batch of {n} samples needs {HEADER.size + n * SAMPLE.size} bytes, got {len(data)}")
    samples = []
    for i in range(n):
        v = SAMPLE.unpack_from(data, HEADER.size + i * SAMPLE.size)
        samples.append(ImuSample(
            tuple(x * ACCEL_LSB_G for x in v[0:3]), tuple(x * GYRO_LSB_DPS for x in v[3:6]),  # type: ignore[arg-type]
            tuple(x * MAG_LSB_UT for x in v[6:9]),  # type: ignore[arg-type]
        ))  # fmt: skip
    return ImuBatch(first, period_us, tuple(samples))


def samples_per_notification(att_mtu: int, wanted: int = BATCH_SAMPLES) -> int:
    """How many samples one notification carries at ``att_mtu`` (0: the MTU is too small)."""
    return max(0, min(wanted, (att_mtu - ATT_HEADER - HEADER.size) // SAMPLE.size, 255))


@dataclass
class ImuCounters:
    samples: int = 0
    batches_sent: int = 0
    batches_unsent: int = 0  # the link refused them (nobody connected, queue full)
    batches_mtu_too_small: int = 0


class ImuServer(ServiceServer):
    """The device's IMU: samples in, one notification per ``BATCH_SAMPLES`` (fewer if the MTU is small)."""

    service = SERVICE

    def __init__(self, notify: Callable[[str, bytes], bool], period_us: int = 1_000_000 // SAMPLE_RATE_HZ) -> None:
        self.notify = notify
        self.period_us = period_us
        self.counters = ImuCounters()
        self._pending: list[ImuSample] = []
        self._first = 0
        self._next = 0

    def add(self, sample: ImuSample, att_mtu: int) -> None:
        """One sample from the sensor; a full batch goes out at once."""
        if not self._pending:
            self._first = self._next
        self._pending.append(sample)
        self._next = BLE_ID.add(self._next)
        self.counters.samples += 1
        per = samples_per_notification(att_mtu)
        if per == 0:
            self.counters.batches_mtu_too_small += 1
            self._pending.clear()
        elif len(self._pending) >= per:
            batch = ImuBatch(self._first, self.period_us, tuple(self._pending))
            self._pending.clear()
            if self.notify(DATA_UUID, encode_batch(batch)):
                self.counters.batches_sent += 1
            else:
                self.counters.batches_unsent += 1


async def subscribe(gatt: GattClient, on_batch: Callable[[bytes], None]) -> bool:
    """Deliver each IMU notification (decode it with ``decode_batch``); False if the device has no IMU."""
    if not gatt.has(DATA_UUID):
        return False
    await gatt.subscribe(DATA_UUID, on_batch)
    return True
