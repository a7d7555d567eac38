"""Angles and distances on the earth's surface at walking scale, shared by the simulator and the edge.

Headings and bearings are degrees clockwise from true north, in [0, 360). Distances use a
spherical earth: over a city walk its error (under 0.5 %) is far below a GPS fix's.
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  # mean radius


def angle_diff(a: float, b: float) -> float:
    """The signed smallest turn from heading ``b`` to heading ``a``: degrees in [-180, 180), clockwise positive."""
    return (a - b + 180.0) % 360.0 - 180.0


def angle_between(a: float, b: float) -> float:
    """How far apart two headings are: degrees in [0, 180]."""
    return abs(angle_diff(a, b))


def bearing_deg(dx_east_m: float, dy_north_m: float) -> float:
    """The compass bearing of a step east and north."""
    return math.degrees(math.atan2(dx_east_m, dy_north_m)) % 360.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
