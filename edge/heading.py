"""Where the wearer's head points: the glasses' IMU fused into a heading from true north.

``imufusion`` (x-io's Fusion AHRS) fuses gyroscope, accelerometer and magnetometer into the head's
orientation: the gyroscope follows quick turns, gravity and the earth's field pull the estimate
back so the gyroscope's bias cannot make it drift. Its heading is magnetic; navigation needs true
north, so the magnetic declination at the wearer's position (the world magnetic model, ``ahrs``)
is added. Without a position there is no declination, so no true heading (about 10 degrees in
Helsinki: enough to call a street on the left "ahead").
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

import imufusion
import numpy as np

from sottovoce.proto.gatt.imu import ImuBatch
from sottovoce.proto.geo import distance_m
from sottovoce.proto.timeline import BLE_ID

log = logging.getLogger(__name__)

GAIN = 0.5  # Fusion's default: how hard gravity and the field pull against the gyroscope
GYRO_RANGE_DPS = 2000.0  # the glasses' gyroscope range (proto/gatt/imu.py): beyond it, Fusion recovers
# Walking shakes the head by a few tenths of a g and street furniture bends the field: readings that far
# off are ignored for a while rather than let them swing the heading.
ACCEL_REJECTION_DEG = 10.0
MAG_REJECTION_DEG = 20.0
REJECTION_TIMEOUT_S = 5.0
MAX_BRIDGED_GAP_S = 2.0  # lost samples up to this long are bridged by holding the last rate
DECLINATION_REFRESH_M = 5000.0  # declination changes by well under a degree over this distance


class Declination:
    """Magnetic declination (degrees east of true north) at a position, from the world magnetic model."""

    def __init__(self, date: datetime.date | None = None) -> None:
        self.date = date or datetime.date.today()
        self._model = None
        self._at: tuple[float, float] | None = None
        self._value = 0.0

    def at(self, latitude_deg: float, longitude_deg: float) -> float:
        if self._at is None or distance_m(*self._at, latitude_deg, longitude_deg) > DECLINATION_REFRESH_M:
            if self._model is None:
                from ahrs.utils import WMM  # loads its coefficients: once

                self._model = WMM(self.date, latitude=latitude_deg, longitude=longitude_deg, height=0.0)
            else:
                self._model.magnetic_field(latitude_deg, longitude_deg, 0.0, self.date)
            self._value = float(self._model.D)
            self._at = (latitude_deg, longitude_deg)
        return self._value


@dataclass
class HeadingCounters:
    batches: int = 0
    samples: int = 0
    lost_samples: int = 0  # counted from gaps in the batches' sample indexes
    unbridged_gaps: int = 0  # too long, or backwards: the fusion carried on without bridging


class HeadingFusion:
    """Feed it the IMU's batches; ``heading_deg`` is the head's true heading once it has settled."""

    def __init__(self, declination: Declination | None = None) -> None:
        self.declination = declination or Declination()
        self.counters = HeadingCounters()
        self._ahrs = imufusion.Ahrs()
        # The gyroscope's zero-rate offset, learnt whenever the head is still; left in, it would pull
        # the heading off by several degrees against the magnetometer's correction.
        self._bias = imufusion.Bias()
        self._period_us: int | None = None
        self._next_index: int | None = None
        self._declination_deg: float | None = None
        self._last_gyro: np.ndarray | None = None

    def _configure(self, period_us: int) -> None:
        rate = 1e6 / period_us
        settings = imufusion.AhrsSettings()
        settings.convention = imufusion.CONVENTION_NWU  # the glasses' axes: x forward, y left, z up
        settings.gain = GAIN
        settings.gyroscope_range = GYRO_RANGE_DPS
        settings.acceleration_rejection = ACCEL_REJECTION_DEG
        settings.magnetic_rejection = MAG_REJECTION_DEG
        settings.rejection_timeout = REJECTION_TIMEOUT_S  # seconds in the Python binding, not samples
        settings.sample_rate = round(rate)
        self._ahrs.set_settings(settings)
        self._ahrs.set_sample_period(period_us / 1e6)
        bias = imufusion.BiasSettings()
        bias.sample_rate = rate
        self._bias.set_settings(bias)
        self._period_us = period_us

    def feed(self, batch: ImuBatch) -> None:
        """One batch of samples, in the order the device sent them."""
        if batch.period_us != self._period_us:
            self._configure(batch.period_us)
        self.counters.batches += 1
        bridge = 0
        if self._next_index is not None and batch.first_index != self._next_index:
            gap = BLE_ID.delta(self._next_index, batch.first_index)
            if 0 < gap * batch.period_us <= MAX_BRIDGED_GAP_S * 1e6:
                self.counters.lost_samples += gap
                bridge = gap
            else:
                self.counters.unbridged_gaps += 1
        self._next_index = batch.next_index
        for i, s in enumerate(batch.samples):
            gyro = self._bias.update(np.array(s.gyro_dps))
            accel, mag = np.array(s.accel_g), np.array(s.mag_ut)
            if i == 0 and bridge and self._last_gyro is not None:
                # The lost samples' time, turned at the mean of the rates either side of the gap:
                # a head turn under way when the notification was lost is not forgotten.
                self._ahrs.set_sample_period(bridge * batch.period_us / 1e6)
                self._ahrs.update((self._last_gyro + gyro) / 2, accel, mag)
                self._ahrs.set_sample_period(batch.period_us / 1e6)
            self._ahrs.update(gyro, accel, mag)
            self._last_gyro = gyro
            self.counters.samples += 1

    def set_position(self, latitude_deg: float, longitude_deg: float) -> None:
        """Where the wearer is: sets the declination that turns magnetic into true north."""
        self._declination_deg = self.declination.at(latitude_deg, longitude_deg)

    @property
    def settled(self) -> bool:
        """Past the fusion's start-up: its first seconds run at a high gain to find its bearings."""
        return self.counters.samples > 0 and not self._ahrs.get_flags().startup

    @property
    def magnetic_heading_deg(self) -> float | None:
        if not self.settled:
            return None
        yaw = float(imufusion.quaternion_to_euler(self._ahrs.get_quaternion())[2])
        return (-yaw) % 360.0  # Fusion's yaw turns anticlockwise about up (NWU); a heading turns clockwise

    @property
    def heading_deg(self) -> float | None:
        """The head's heading, degrees clockwise from true north, [0, 360); None until settled and placed."""
        magnetic = self.magnetic_heading_deg
        if magnetic is None or self._declination_deg is None:
            return None
        return (magnetic + self._declination_deg) % 360.0
