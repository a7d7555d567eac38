"""proto/geo.py, the one geometry of the simulator, the edge and the host: its angle convention, and
its flat frame agreeing with the sphere at walking scale."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sottovoce.proto.geo import (
    LocalFrame,
    angle_between,
    bearing_between,
    bearing_of_step,
    destination,
    distance_m,
    turn_deg,
)

headings = st.floats(-720, 720, allow_nan=False)
latitudes = st.floats(-70, 70, allow_nan=False)
longitudes = st.floats(-179, 179, allow_nan=False)
steps_m = st.floats(-2000, 2000, allow_nan=False)


def test_a_turn_is_signed_clockwise_and_a_half_turn_is_to_the_right():
    assert turn_deg(350, 10) == pytest.approx(20) and turn_deg(10, 350) == pytest.approx(-20)
    assert turn_deg(0, 180) == 180 and turn_deg(180, 0) == 180 and turn_deg(90, 270) == 180
    assert angle_between(10, 350) == pytest.approx(20) and angle_between(0, 180) == 180


@given(headings, headings)
def test_a_turn_lies_in_its_range_and_brings_one_heading_onto_the_other(a, b):
    t = turn_deg(a, b)
    assert -180 < t <= 180
    assert turn_deg(0, (a + t - b) % 360) == pytest.approx(0, abs=1e-6)
    assert angle_between(a, b) == pytest.approx(angle_between(b, a), abs=1e-9)


@given(latitudes, longitudes, steps_m, steps_m)
def test_the_local_frame_goes_there_and_back(lat0, lon0, x, y):
    frame = LocalFrame(lat0, lon0)
    back = frame.to_xy(*frame.to_latlon(x, y))
    assert back == pytest.approx((x, y), abs=1e-6)


@given(latitudes, longitudes, st.floats(0, 360, allow_nan=False, exclude_max=True), st.floats(5, 2000))
def test_a_destination_lies_at_its_distance_and_bearing_on_the_sphere(lat, lon, bearing, metres):
    there = destination(lat, lon, bearing, metres)
    assert distance_m(lat, lon, *there) == pytest.approx(metres, rel=0.01)
    assert angle_between(bearing_between(lat, lon, *there), bearing) < 1.0
    x, y = LocalFrame(lat, lon).to_xy(*there)
    assert angle_between(bearing_of_step(x, y), bearing) < 1e-6
