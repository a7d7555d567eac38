"""Where the wearer is along a route from noisy fixes, and leaving it decided from several fixes
and the direction of travel, never from one noisy fix."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from nav_routes import at, local_route

from sottovoce.host.navigation.progress import Fix, Tracker

# north 200 m, then east 200 m
ROUTE = local_route([(0, 0), (0, 200), (200, 200)])


def _walk(points: list[tuple[float, float]], speed: float = 1.4) -> list[tuple[float, float, float, float]]:
    """(t, x, y, heading) once a second along the polyline, facing the way."""
    out, t = [], 0.0
    for (ax, ay), (bx, by) in itertools.pairwise(points):
        length = math.hypot(bx - ax, by - ay)
        heading = math.degrees(math.atan2(bx - ax, by - ay)) % 360
        n = int(length / speed)
        for i in range(n):
            f = i / n
            out.append((t, ax + f * (bx - ax), ay + f * (by - ay), heading))
            t += 1.0
    return out


def _glance(heading: float, t: float) -> float:
    """The head's heading: the way walked, but a 70-degree look aside for 2 s every 15 s."""
    return (heading + (70 if t % 15 < 2 else 0)) % 360


def _accuracy(sigma: float) -> float:
    """What a receiver states as its horizontal accuracy for that noise (the mean 2-D error)."""
    return max(3.0, 1.25 * sigma)


def _noise(seed: int, n: int, sigma: float) -> np.ndarray:
    """Drifting GPS error (smoothed twice over ~15 s) plus 1 m jitter, metres east/north."""
    rng = np.random.default_rng(seed)
    a = math.exp(-1 / 15)
    smooth, drift, out = rng.normal(0, 1, 2), rng.normal(0, 0.7, 2), []
    for _ in range(n):
        smooth = a * smooth + math.sqrt(1 - a * a) * rng.normal(0, 1, 2)
        drift = a * drift + (1 - a) * smooth
        out.append(drift * sigma / 0.71 + rng.normal(0, 1, 2))
    return np.array(out)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sigma=st.floats(0.0, 5.0))
def test_walking_the_route_with_gps_noise_never_counts_as_leaving_it(seed, sigma):
    """Up to 5 m of drifting error per axis (6 m on average): at 6 m, a drift of three standard
    deviations across a corner just as the wearer reaches it does read as walking straight on."""
    walk = _walk([(0, 0), (0, 200), (200, 200)])
    tracker = Tracker(ROUTE)
    noise = _noise(seed, len(walk), sigma)
    alongs = []
    for (t, x, y, heading), (nx, ny) in zip(walk, noise, strict=True):
        p = tracker.update(Fix(t, *at(x + nx, y + ny), _accuracy(sigma), heading=_glance(heading, t)))
        assert not p.off_route, (t, x, y, p)
        alongs.append(p.along_m)
    assert alongs[-1] > 380  # followed to the end, not stuck at the corner
    assert abs(alongs[len(alongs) // 2] - 200) < 30


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sigma=st.floats(0.0, 6.0), side=st.sampled_from([-1, 1]))
def test_a_wrong_turn_is_detected_within_seconds(seed, sigma, side):
    """At the corner the wearer goes straight on, or turns the other way: off the route within 25 s
    (bench navigation measures the typical time on real streets)."""
    wrong_end = (0, 300) if side > 0 else (-100, 200)
    walk = _walk([(0, 0), (0, 200), wrong_end])
    tracker = Tracker(ROUTE)
    noise = _noise(seed, len(walk), sigma)
    corner_t = next(t for t, x, y, _ in walk if y >= 200 or x < 0)
    detected = None
    for (t, x, y, heading), (nx, ny) in zip(walk, noise, strict=True):
        if tracker.update(Fix(t, *at(x + nx, y + ny), _accuracy(sigma), heading=_glance(heading, t))).off_route:
            detected = t
            break
    # A few seconds early at most: within a few metres of the corner, fixes drifting 5 m cannot tell
    # the last steps before the wrong turn from the first after it.
    assert detected is not None and corner_t - 5 <= detected <= corner_t + 25, (detected, corner_t)


def test_one_fix_far_away_is_not_leaving_the_route():
    tracker = Tracker(ROUTE)
    for t in range(20):
        tracker.update(Fix(float(t), *at(0, 1.4 * t)))
    assert not tracker.update(Fix(20.0, *at(60, 28))).off_route  # one wild fix
    assert not tracker.update(Fix(21.0, *at(0, 29.4))).off_route
    for t in range(22, 26):  # but fixes far off, again and again, are
        p = tracker.update(Fix(float(t), *at(60, 30)))
    assert p.off_route


def test_an_error_growing_along_the_street_up_to_a_corner_is_not_leaving_the_route():
    """Fixes running 14.5 m ahead of a wearer walking up to a corner look, for the last seconds
    before it, like walking straight on past it, head and all; then the wearer turns there (the
    head half round at the corner's fix): on the route all along."""
    walk = _walk([(0, 0), (0, 200), (200, 200)])
    corner_t = next(t for t, _, y, _ in walk if y >= 200)
    tracker = Tracker(ROUTE)
    for t, x, y, heading in walk:
        lead = 14.5 * min(1.0, max(0.0, (t - (corner_t - 30)) / 15))  # grows over 15 s, then stays
        turning = 45.0 if t == corner_t else heading
        p = tracker.update(Fix(t, *at(x, y + lead), 5.0, heading=turning))
        assert not p.off_route, (t, x, y, p)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sigma=st.floats(0.0, 3.0))
def test_turning_back_at_a_shallow_angle_against_the_route_is_leaving_it(seed, sigma):
    """At the corner the wearer turns back 20 degrees off the street they came along: the distance
    off grows at only a third of walking pace (25 m, far off on distance alone, takes 52 s), but
    they walk and face against the route's way."""
    back = (-60 * math.sin(math.radians(20)), 200 - 60 * math.cos(math.radians(20)))
    walk = _walk([(0, 0), (0, 200), back])
    tracker = Tracker(ROUTE)
    noise = _noise(seed, len(walk), sigma)
    corner_t = next(t for t, _, y, _ in walk if y >= 199)
    detected = None
    for (t, x, y, heading), (nx, ny) in zip(walk, noise, strict=True):
        if tracker.update(Fix(t, *at(x + nx, y + ny), _accuracy(sigma), heading=heading)).off_route:
            detected = t
            break
    assert detected is not None and corner_t <= detected <= corner_t + 40, (detected, corner_t)
