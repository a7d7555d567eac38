"""Angles and distances on the earth's surface at walking scale, shared by the simulator, the edge and
the host's navigation.

Headings and bearings are degrees clockwise from true north, in [0, 360). Distances use a
spherical earth: over a city walk its error (under 0.5 %) is far below a GPS fix's. A walk's few
kilometres are flat enough to do geometry in metres east/north of a point (``LocalFrame``).
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  # mean radius
_M_PER_DEG_LAT = EARTH_RADIUS_M * math.pi / 180


def turn_deg(from_deg: float, to_deg: float) -> float:
    """The signed smallest turn from heading ``from_deg`` to heading ``to_deg``: degrees in (-180, 180],
    clockwise (to the right) positive."""
    d = (to_deg - from_deg) % 360.0
    return d - 360.0 if d > 180.0 else d


def angle_between(a: float, b: float) -> float:
    """How far apart two headings are: degrees in [0, 180]."""
    return abs(turn_deg(a, b))


def bearing_of_step(dx_east_m: float, dy_north_m: float) -> float:
    """The compass bearing of a step east and north."""
    return math.degrees(math.atan2(dx_east_m, dy_north_m)) % 360.0


def bearing_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial great-circle bearing from point 1 to point 2."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(x, y)) % 360.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


class LocalFrame:
    """Metres east (x) and north (y) of an origin, and back: flat over a walk's few kilometres."""

    def __init__(self, lat0: float, lon0: float) -> None:
        self.lat0, self.lon0 = lat0, lon0
        self._m_per_deg_lon = _M_PER_DEG_LAT * math.cos(math.radians(lat0))

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        return (lon - self.lon0) * self._m_per_deg_lon, (lat - self.lat0) * _M_PER_DEG_LAT

    def to_latlon(self, x: float, y: float) -> tuple[float, float]:
        return self.lat0 + y / _M_PER_DEG_LAT, self.lon0 + x / self._m_per_deg_lon


def destination(lat: float, lon: float, bearing: float, distance: float) -> tuple[float, float]:
    """The point ``distance`` metres from (lat, lon) along ``bearing`` (flat: walks are short)."""
    b = math.radians(bearing)
    return LocalFrame(lat, lon).to_latlon(distance * math.sin(b), distance * math.cos(b))
