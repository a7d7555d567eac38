"""The wearer walking: along a path at walking pace, stopping at crossings, turning their head, seen by GPS.

A scenario's ``[walk]`` table (``Walk``) is the polyline the wearer actually walks, wrong turns
included. ``walk_samples`` plays it on a simulated clock and yields, at a fixed rate, where the
wearer truly is, where their head truly points, and (once a second) the fix a GPS receiver would
report. It is pure (no Bluetooth, no asyncio): the simulator drives it from its audio clock and a
benchmark can drive it as fast as it likes.

GPS error is not white noise: a receiver's error wanders slowly (multipath, atmosphere, the
satellites in view), so consecutive fixes are off in nearly the same direction. Each axis is a
first-order Gauss-Markov process with a correlation time of tens of seconds whose stationary
spread makes the horizontal RMS error ``gps_noise_m``.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from sottovoce.proto.geo import LocalFrame, bearing_of_step, turn_deg

DEFAULT_SPEED_MPS = 1.4  # an adult's usual walking pace
DEFAULT_GPS_NOISE_M = 5.0  # a phone-class receiver in a city street
GPS_RATE_HZ = 1.0
GPS_CORRELATION_S = 30.0  # how long a GPS error lasts: a fix is off like the ones before it
TURN_RATE_DPS = 90.0  # how fast a walker's body comes round at a corner
LOOK_RAMP_S = 0.4  # a head turn takes this long to go out, and again to come back
START_ALIGN_DEG = 30.0  # a wearer facing away from the path turns this close to it before stepping off


@dataclass(frozen=True)
class Stop:
    at_m: float  # distance along the path
    seconds: float


@dataclass(frozen=True)
class Look:
    at_s: float  # on the scenario clock
    degrees: float  # relative to the walking direction, clockwise (positive: to the right)
    seconds: float  # from the start of the turn to the head being back


@dataclass(frozen=True)
class GpsOutage:
    at_s: float  # on the scenario clock
    seconds: float  # the receiver reports no fix meanwhile (an underpass, a street canyon)


@dataclass(frozen=True)
class Walk:
    path: tuple[tuple[float, float], ...]  # (latitude, longitude) degrees, WGS-84
    speed_mps: float = DEFAULT_SPEED_MPS
    gps_noise_m: float = DEFAULT_GPS_NOISE_M
    start_heading: float | None = None  # degrees from true north; None: facing along the path
    stops: tuple[Stop, ...] = ()
    looks: tuple[Look, ...] = ()
    gps_outages: tuple[GpsOutage, ...] = ()


@dataclass(frozen=True)
class GpsFix:
    latitude_deg: float
    longitude_deg: float
    accuracy_m: float  # the receiver's own estimate of its horizontal error
    speed_mps: float
    course_deg: float | None  # direction of travel; None when standing


@dataclass(frozen=True)
class WalkSample:
    t_s: float  # scenario clock
    latitude_deg: float  # where the wearer truly is
    longitude_deg: float
    distance_m: float  # walked along the path so far
    speed_mps: float
    heading_deg: float  # where the head truly points, degrees clockwise from true north, [0, 360)
    body_heading_deg: float  # the walking direction
    yaw_rate_dps: float  # of the head, clockwise positive
    walking: bool
    arrived: bool  # at the end of the path
    fix: GpsFix | None  # the GPS fix reported at this instant, if a report is due and the receiver has one
    gps_report: bool = False  # a receiver report is due now (once a second): with ``fix`` None, a report of no fix


class PathGeometry:
    """The path as segments in metres: position and direction at a distance along it."""

    def __init__(self, path: tuple[tuple[float, float], ...]) -> None:
        if len(path) < 2:
            raise ValueError("a walk's path needs at least two points")
        self.projection = LocalFrame(*path[0])
        points = [self.projection.to_xy(lat, lon) for lat, lon in path]
        self._segments = []  # (start distance, length, x0, y0, dx, dy, bearing)
        total = 0.0
        self.point_m = [0.0]  # distance along the path of each of its points
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            length = math.hypot(x1 - x0, y1 - y0)
            self.point_m.append(total + length)
            if length == 0:
                continue  # a repeated point adds nothing
            self._segments.append((total, length, x0, y0, (x1 - x0) / length, (y1 - y0) / length,
                                   bearing_of_step(x1 - x0, y1 - y0)))  # fmt: skip
            total += length
        if not self._segments:
            raise ValueError("a walk's path has no length: all its points are the same")
        self.length_m = total
        self._starts = [seg[0] for seg in self._segments]

    def _segment(self, d: float) -> tuple[float, float, float, float, float, float, float]:
        return self._segments[max(0, bisect.bisect_right(self._starts, d) - 1)]

    def at(self, d: float) -> tuple[float, float, float]:
        """(latitude, longitude, bearing of the path) at ``d`` metres along it."""
        start, _length, x0, y0, ux, uy, bearing = self._segment(min(max(d, 0.0), self.length_m))
        along = min(max(d, 0.0), self.length_m) - start
        lat, lon = self.projection.to_latlon(x0 + ux * along, y0 + uy * along)
        return lat, lon, bearing


def turned_onto(walk: Walk, at_m: float, path: Sequence[tuple[float, float]]) -> Walk:
    """The walk as far as ``at_m`` along its path, then along ``path`` from there: a wearer told a
    new way (a re-route) turns onto it where they are. Its samples up to ``at_m`` are the walk's
    own, seed for seed."""
    geometry = PathGeometry(walk.path)
    here = geometry.at(at_m)[:2]
    kept = [p for p, d in zip(walk.path, geometry.point_m, strict=True) if d < at_m]
    return replace(walk, path=(*kept, here, *path))


def walk_duration_s(walk: Walk) -> float:
    """Time from the start to arriving, turning at the start not counted (the walk's nominal length)."""
    return PathGeometry(walk.path).length_m / walk.speed_mps + sum(s.seconds for s in walk.stops)


def _look_offset(looks: tuple[Look, ...], t: float) -> float:
    """The head's angle off the walking direction at ``t``: smooth out, hold, smooth back."""
    for look in looks:
        into = t - look.at_s
        if 0 <= into <= look.seconds:
            ramp = min(LOOK_RAMP_S, look.seconds / 2)
            share = min(into / ramp, (look.seconds - into) / ramp, 1.0)
            return look.degrees * (1 - math.cos(math.pi * share)) / 2
    return 0.0


class _GpsError:
    """Per-axis first-order Gauss-Markov error, metres east and north."""

    def __init__(self, noise_m: float, rate_hz: float, rng: np.random.Generator) -> None:
        self.sigma = noise_m / math.sqrt(2)  # per axis, so the horizontal RMS is noise_m
        self.a = math.exp(-1.0 / (rate_hz * GPS_CORRELATION_S))
        self.rng = rng
        self.e = rng.normal(0.0, self.sigma, 2)  # already wandering when the walk starts

    def next(self) -> tuple[float, float]:
        self.e = self.a * self.e + math.sqrt(1 - self.a * self.a) * self.sigma * self.rng.normal(0.0, 1.0, 2)
        return float(self.e[0]), float(self.e[1])


def walk_samples(walk: Walk, rate_hz: float, seed: int = 0, until_s: float | None = None) -> Iterator[WalkSample]:
    """The walk at ``rate_hz`` from t = 0: samples until the wearer arrives (the last one has
    ``arrived``), or, with ``until_s``, on until then, standing at the end once arrived."""
    geometry = PathGeometry(walk.path)
    rng = np.random.default_rng(seed)
    gps = _GpsError(walk.gps_noise_m, GPS_RATE_HZ, rng)
    dt = 1.0 / rate_hz
    stops = sorted(walk.stops, key=lambda s: s.at_m)
    _, _, first_bearing = geometry.at(0.0)
    body = walk.start_heading % 360.0 if walk.start_heading is not None else first_bearing
    stepped_off = abs(turn_deg(body, first_bearing)) <= START_ALIGN_DEG
    d = 0.0
    standing_until: float | None = None
    previous_head: float | None = None
    next_fix_k = 0
    k = 0
    while True:
        t = k * dt
        arrived = d >= geometry.length_m
        standing = arrived or not stepped_off or (standing_until is not None and t < standing_until)
        speed = 0.0 if standing else walk.speed_mps
        lat, lon, bearing = geometry.at(d)
        head = (body + _look_offset(walk.looks, t)) % 360.0
        rate = turn_deg(previous_head, head) / dt if previous_head is not None else 0.0
        fix = None
        report = t * GPS_RATE_HZ >= next_fix_k - 1e-9
        if report:
            next_fix_k += 1
            ex, ey = gps.next()  # the error wanders on through an outage, as the sky does
            x, y = geometry.projection.to_xy(lat, lon)
            flat, flon = geometry.projection.to_latlon(x + ex, y + ey)
            measured = max(0.0, speed + float(rng.normal(0.0, 0.1))) if speed else 0.0
            if not any(o.at_s <= t < o.at_s + o.seconds for o in walk.gps_outages):
                fix = GpsFix(flat, flon, walk.gps_noise_m, measured, body if speed else None)
        yield WalkSample(t, lat, lon, d, speed, head, body, rate, speed > 0, arrived, fix, report)
        if (arrived and until_s is None) or (until_s is not None and t + dt > until_s + 1e-9):
            return
        previous_head = head
        # the next instant: turn the body toward the path, then step along it
        turn = turn_deg(body, bearing)
        body = (body + max(-TURN_RATE_DPS * dt, min(TURN_RATE_DPS * dt, turn))) % 360.0
        if not stepped_off and abs(turn_deg(body, bearing)) <= START_ALIGN_DEG:
            stepped_off = True
        if standing_until is not None and t + dt >= standing_until:
            standing_until = None
        if speed:
            ahead = min(geometry.length_m, d + speed * dt)
            if stops and stops[0].at_m <= ahead:
                ahead = max(d, stops[0].at_m)
                standing_until = t + dt + stops.pop(0).seconds
            d = ahead
        k += 1
