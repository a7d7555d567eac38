"""Routes drawn by hand in a flat local frame (metres east/north of a point in Helsinki), for the
navigation tests: their turns and distances are known exactly."""

from __future__ import annotations

import itertools
import math

from sottovoce.host.navigation.router import Route
from sottovoce.proto.geo import LocalFrame

FRAME = LocalFrame(60.17, 24.94)


def local_route(points_xy: list[tuple[float, float]], names: list[str] | None = None) -> Route:
    points = tuple(FRAME.to_latlon(x, y) for x, y in points_xy)
    along = [0.0]
    for (ax, ay), (bx, by) in itertools.pairwise(points_xy):
        along.append(along[-1] + math.hypot(bx - ax, by - ay))
    names = names or [f"Street {i}" for i in range(len(points) - 1)]
    return Route(tuple(range(len(points))), points, tuple(names), tuple(along))


def at(x: float, y: float) -> tuple[float, float]:
    return FRAME.to_latlon(x, y)
