"""Where the wearer is along a route, from noisy position fixes.

Each fix is matched to the nearest point of the route within a window around the last match (so a
route that passes near itself is not jumped along), giving the distance walked and the distance
off the route. Leaving the route is decided from several fixes, never one: a consumer-grade GPS
fix is off by 3-10 m, and its error drifts, so one fix 20 m away says little. The wearer is off
the route when the last ``confirm_fixes`` fixes are all either far off, or moderately off and
getting further at walking pace while their direction of travel (fitted to the last few seconds
of fixes) and their head's heading both leave the route's direction ahead. Each alone misleads:
near a corner the direction of travel and the route's differ for a few seconds while the distance
does not grow; a drifting error moves the fixes away while the walker keeps to the route, and
just past a corner looks like walking straight on; a head turns to look around. Without a
heading, more fixes must agree near a corner. Less distance is needed where the evidence is plain:
walking and facing well off every way of the route near the match (no corner or error explains
it), or against the route's way. A fix where the head turns toward the route's way is no evidence
either way: it is what a wearer does on reaching the corner their fixes' error put them past.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from sottovoce.host.navigation.instructions import bearing_along
from sottovoce.host.navigation.router import Route
from sottovoce.proto.geo import LocalFrame, turn_deg


@dataclass(frozen=True)
class Fix:
    t_s: float  # seconds on the caller's clock
    lat: float
    lon: float
    accuracy_m: float = 5.0
    heading: float | None = None  # where the head faces (true north), when the glasses tell


@dataclass(frozen=True)
class ProgressConfig:
    window_back_m: float = 30.0  # a match may move back this far (noise, a step back)
    window_ahead_m: float = 150.0  # and forward this far between two fixes
    far_m: float = 25.0  # a fix this far off the route is off it (or twice its stated accuracy)
    # this far off (or 1.5 times the stated accuracy), getting further and heading away: off it
    drifting_m: float = 10.0
    leaving_mps: float = 0.7  # "getting further": the distance off grows at least this fast
    # ... or this fast, walking and facing against the route's way (more than 90 degrees off it): a
    # street leaving a hairpin corner straight on runs close to the route's street before it
    against_leaving_mps: float = 0.15
    diverge_deg: float = 25.0
    # Walking and facing more than plainly_deg off every way of the route near the match (not a
    # corner's other street, nor one its error confuses): off it from this near (or 1.2 times the
    # stated accuracy), as soon as the distance grows at walking pace.
    plainly_m: float = 6.0
    plainly_deg: float = 45.0
    course_window_s: float = 6.0  # the direction of travel is fitted over the fixes this recent
    min_course_m: float = 4.0  # less movement than this over the window: no direction
    confirm_fixes: int = 4
    # Near a corner a drifting error looks like walking straight on past it for a few seconds (the
    # offset that lay along the street before the turn lies across it after): without the head's
    # heading to tell, more fixes must agree there.
    corner_fixes: int = 7
    corner_m: float = 20.0  # "near": this far from a bend of at least corner_deg
    corner_deg: float = 30.0


@dataclass(frozen=True)
class Progress:
    along_m: float  # distance walked along the route (the matched point)
    off_m: float  # distance from the route
    remaining_m: float
    off_route: bool  # decided from several fixes
    course_deg: float | None  # direction of travel, when moving
    speed_mps: float | None


class Tracker:
    def __init__(self, route: Route, config: ProgressConfig | None = None) -> None:
        self.route = route
        self.config = config or ProgressConfig()
        self._along: float | None = None
        self._recent: deque[tuple[Fix, float]] = deque(maxlen=64)  # with its distance off the route
        cfg = self.config
        # each fix's verdict: off the route, on it, or None: no evidence (the head turning toward the
        # route's way); a couple of those between off-route fixes neither confirm nor break a run
        self._bad: deque[bool | None] = deque(maxlen=max(cfg.confirm_fixes, cfg.corner_fixes) + 2)
        self._head_off: float | None = None  # the last fix's heading off the route's way ahead, degrees
        self._frame = LocalFrame(*route.points[0])
        self._xy = [self._frame.to_xy(lat, lon) for lat, lon in route.points]
        self._corners = [
            route.along_m[i] for i in range(1, len(route.points) - 1)
            if abs(turn_deg(bearing_along(route, max(0.0, route.along_m[i] - 8), route.along_m[i]),
                            bearing_along(route, route.along_m[i], min(route.length_m, route.along_m[i] + 8))))
            >= cfg.corner_deg
        ]  # fmt: skip

    @property
    def along_m(self) -> float:
        return self._along or 0.0

    def update(self, fix: Fix) -> Progress:
        cfg = self.config
        x, y = self._frame.to_xy(fix.lat, fix.lon)
        if self._along is None:
            lo, hi = 0.0, self.route.length_m
        else:
            lo, hi = self._along - cfg.window_back_m, self._along + cfg.window_ahead_m
        along, off = self._match(x, y, lo, hi)
        self._along = along
        self._recent.append((fix, off))
        while self._recent and fix.t_s - self._recent[0][0].t_s > cfg.course_window_s:
            self._recent.popleft()
        course, speed, leaving = self._motion()
        far = off > max(cfg.far_m, 2 * fix.accuracy_m)
        ahead = bearing_along(self.route, along, min(self.route.length_m, along + 10))
        # A match may lag or lead the wearer by a street's width of error at a corner (an error along
        # one street lies across the next), so the head is judged against the route's way over the
        # next 20 m, and "plainly" elsewhere against its way 20 m either side too.
        coming = self._ways(along, (0.0, 10.0))
        around = self._ways(along, (-20.0, -10.0, 0.0, 10.0))
        against = (
            course is not None
            and _clear_of([ahead], course, 90.0)
            and (fix.heading is None or _clear_of([ahead], fix.heading, 90.0))
        )
        plainly = (
            course is not None
            and fix.heading is not None
            and _clear_of(around, course, cfg.plainly_deg)
            and _clear_of(around, fix.heading, cfg.plainly_deg)
        )
        drifting = max(cfg.plainly_m, 1.2 * fix.accuracy_m) if plainly else max(cfg.drifting_m, 1.5 * fix.accuracy_m)
        away = (
            off > drifting
            and leaving is not None
            and leaving >= (cfg.against_leaving_mps if against else cfg.leaving_mps)
            and course is not None
            and _clear_of([ahead], course, cfg.diverge_deg)
            and along < self.route.length_m - cfg.drifting_m  # past the end is arriving, not leaving
        )
        near_corner = any(abs(along - c) <= cfg.corner_m for c in self._corners)
        turning_in = False
        if fix.heading is not None:
            head_off = min(abs(turn_deg(way, fix.heading)) for way in coming)
            # Turning toward the route's way may be following it (a fix's error that lay along the
            # street put the wearer past a corner they are only now reaching), or a street bending,
            # or a glance: no evidence either way.
            turning_in = self._head_off is not None and self._head_off - head_off >= cfg.diverge_deg
            away = away and head_off > cfg.diverge_deg
            self._head_off = head_off
        self._bad.append(True if far else None if turning_in else away)
        needed = cfg.corner_fixes if near_corner and fix.heading is None else cfg.confirm_fixes
        told = [bad for bad in self._bad if bad is not None]
        off_route = len(told) >= needed and all(told[-needed:]) and self._bad[-1] is not False
        return Progress(along, off, max(0.0, self.route.length_m - along), off_route, course, speed)

    def _ways(self, along: float, starts: tuple[float, ...]) -> list[float]:
        """The route's bearing over the 10 m from each of ``starts`` metres from ``along`` (those on it)."""
        length = self.route.length_m
        ways = [bearing_along(self.route, along + s, along + s + 10) for s in starts if 0 <= along + s <= length - 10]
        return ways or [bearing_along(self.route, max(0.0, min(along, length - 10)), min(length, along + 10))]

    def _match(self, x: float, y: float, lo: float, hi: float) -> tuple[float, float]:
        best = (math.inf, 0.0)
        along = self.route.along_m
        for i in range(len(self._xy) - 1):
            if along[i + 1] < lo or along[i] > hi:
                continue
            (ax, ay), (bx, by) = self._xy[i], self._xy[i + 1]
            dx, dy = bx - ax, by - ay
            span = dx * dx + dy * dy
            t = 0.0 if span == 0 else min(max(((x - ax) * dx + (y - ay) * dy) / span, 0.0), 1.0)
            d = math.hypot(ax + t * dx - x, ay + t * dy - y)
            if d < best[0]:
                best = (d, along[i] + t * (along[i + 1] - along[i]))
        if best[0] == math.inf:  # the window lies beyond the route's ends
            return self.along_m, math.hypot(x - self._xy[-1][0], y - self._xy[-1][1])
        return best[1], best[0]

    def _motion(self) -> tuple[float | None, float | None, float | None]:
        """Direction (degrees) and speed of travel, and how fast the distance off the route grows
        (m/s), fitted to the recent fixes by least squares; None where too few fixes tell."""
        recent = list(self._recent)
        if len(recent) < 3:
            return None, None, None
        ts = [f.t_s for f, _ in recent]
        t_mean = sum(ts) / len(ts)
        var = sum((t - t_mean) ** 2 for t in ts)
        if var <= 0:
            return None, None, None

        def slope(values: list[float]) -> float:
            return sum((t - t_mean) * v for t, v in zip(ts, values, strict=True)) / var

        pts = [self._frame.to_xy(f.lat, f.lon) for f, _ in recent]
        vx, vy = slope([p[0] for p in pts]), slope([p[1] for p in pts])
        # Still growing over the last few fixes too: a match that jumped from one street to the
        # next at a corner makes the distance jump once, then stay.
        last = recent[-self.config.confirm_fixes :]
        span = last[-1][0].t_s - last[0][0].t_s
        rise = (last[-1][1] - last[0][1]) / span if span > 0 else 0.0
        leaving = min(slope([off for _, off in recent]), 2 * rise)  # the short rise is the noisier
        speed = math.hypot(vx, vy)
        if speed * (ts[-1] - ts[0]) < self.config.min_course_m:
            return None, speed, leaving
        return math.degrees(math.atan2(vx, vy)) % 360.0, speed, leaving


def _clear_of(ways: list[float], bearing: float, degrees: float) -> bool:
    """Whether ``bearing`` is more than ``degrees`` off every one of ``ways``."""
    return all(abs(turn_deg(way, bearing)) > degrees for way in ways)
