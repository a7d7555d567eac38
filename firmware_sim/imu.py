"""The glasses' IMU, simulated from the walk: what a real accelerometer, gyroscope and magnetometer read.

Each sample is built from the head's true motion (``walk.WalkSample``) in the glasses' axes
(``proto/gatt/imu.py``: x forward, y left, z up): gravity's reaction (+1 g up) plus the vertical
bob and fore-aft surge of each step while walking; the head's yaw rate; the earth's magnetic
field where the walk starts (the world magnetic model, as a compass there would feel it) turned
into the head's frame. Every sensor has white noise, and the gyroscope a small constant bias, as
real MEMS parts do: the edge's fusion has to cope with both.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

import numpy as np

from sottovoce.proto.gatt.imu import ImuSample

from .walk import WalkSample

STEP_LENGTH_M = 0.7  # an adult's stride: at 1.4 m/s, two steps a second
BOB_G = 0.15  # vertical acceleration of the head over a step, amplitude
SURGE_G = 0.05  # fore-aft
ACCEL_NOISE_G = 0.01
GYRO_NOISE_DPS = 0.15
MAG_NOISE_UT = 0.4
GYRO_BIAS_DPS = (0.3, -0.2, 0.5)  # a consumer gyroscope's zero-rate offset after factory calibration


@dataclass(frozen=True)
class EarthField:
    """The geomagnetic field's components, microtesla: north (true), east, down."""

    north_ut: float
    east_ut: float
    down_ut: float

    @property
    def declination_deg(self) -> float:
        return math.degrees(math.atan2(self.east_ut, self.north_ut))


def earth_field(latitude_deg: float, longitude_deg: float, date: datetime.date | None = None) -> EarthField:
    """The field at a place from the world magnetic model (``ahrs``), today unless ``date``."""
    from ahrs.utils import WMM

    model = WMM(date or datetime.date.today(), latitude=latitude_deg, longitude=longitude_deg, height=0.0)
    return EarthField(model.X / 1000.0, model.Y / 1000.0, model.Z / 1000.0)  # nT -> uT


class SimulatedImu:
    """One IMU sample per walk sample, from the head's true heading and motion."""

    def __init__(self, field: EarthField, seed: int = 0, gyro_bias_dps: tuple[float, float, float] = GYRO_BIAS_DPS):
        self.field = np.array([field.north_ut, field.east_ut, field.down_ut])
        self.bias = np.array(gyro_bias_dps)
        self.rng = np.random.default_rng(seed)
        self._step_phase = 0.0
        self._last_t: float | None = None

    def sample(self, s: WalkSample) -> ImuSample:
        dt = s.t_s - self._last_t if self._last_t is not None else 0.0
        self._last_t = s.t_s
        self._step_phase += 2 * math.pi * s.speed_mps / STEP_LENGTH_M * dt
        h = math.radians(s.heading_deg)
        # the glasses' axes in north-east-down: forward, left, up
        axes = np.array([[math.cos(h), math.sin(h), 0.0], [math.sin(h), -math.cos(h), 0.0], [0.0, 0.0, -1.0]])
        accel = np.array([0.0, 0.0, 1.0])
        if s.walking:
            accel += [SURGE_G * math.sin(self._step_phase + math.pi / 2), 0.0, BOB_G * math.sin(self._step_phase)]
        gyro = np.array([0.0, 0.0, -s.yaw_rate_dps]) + self.bias  # clockwise from above is negative about up
        mag = axes @ self.field
        accel += self.rng.normal(0.0, ACCEL_NOISE_G, 3)
        gyro += self.rng.normal(0.0, GYRO_NOISE_DPS, 3)
        mag += self.rng.normal(0.0, MAG_NOISE_UT, 3)
        return ImuSample(_vec(accel), _vec(gyro), _vec(mag))


def _vec(v: np.ndarray) -> tuple[float, float, float]:
    return float(v[0]), float(v[1]), float(v[2])
