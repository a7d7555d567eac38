"""Turn steps of a route: which way, onto which street, where; and bearing maths."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nav_routes import local_route

from sottovoce.host.navigation.instructions import relative_side, say_distance, steps_of
from sottovoce.host.navigation.osm_map import DEFAULT_MAP, load_map
from sottovoce.host.navigation.router import route
from sottovoce.proto.geo import bearing_between, distance_m, turn_deg


def test_bearings_and_turns():
    assert bearing_between(60.0, 25.0, 60.01, 25.0) == pytest.approx(0.0, abs=1e-6)
    assert bearing_between(60.0, 25.0, 60.0, 25.01) == pytest.approx(90.0, abs=0.01)
    assert turn_deg(350, 10) == pytest.approx(20) and turn_deg(10, 350) == pytest.approx(-20)
    assert distance_m(60.0, 25.0, 60.001, 25.0) == pytest.approx(111.2, abs=0.2)
    assert relative_side(90, 0) == "on your right" and relative_side(270, 0) == "on your left"
    assert relative_side(5, 355) == "ahead of you" and relative_side(180, 10) == "behind you"


def test_north_then_east_is_a_right_turn_onto_the_new_street():
    steps = steps_of(local_route([(0, 0), (0, 100), (100, 100)], ["Northgate", "Eastway"]))
    assert len(steps) == 1 and steps[0].at_m == pytest.approx(100, abs=0.1)
    assert steps[0].instruction() == "turn right onto Eastway"
    steps = steps_of(local_route([(0, 0), (0, 100), (-100, 130)], ["Northgate", "Westway"]))
    assert steps[0].instruction() == "turn left onto Westway"


def test_small_bends_are_no_step_and_a_jog_across_a_crossing_is_none_either():
    assert steps_of(local_route([(0, 0), (0, 100), (10, 200)])) == []  # 6 degrees
    # a crossing: 5 m right, then on north again - the walker never "turns"
    assert steps_of(local_route([(0, 0), (0, 100), (5, 100), (5, 200)])) == []


def test_a_turn_close_after_another_is_said_with_it():
    steps = steps_of(local_route([(0, 0), (0, 100), (20, 100), (20, 200)], ["A", "B", "C"]))
    assert len(steps) == 1 and steps[0].instruction() == "turn right, then left onto C"


@given(
    legs=st.lists(st.tuples(st.floats(45, 170), st.sampled_from([-1, 1]), st.floats(45, 150)), min_size=1, max_size=5),
    start=st.floats(0, 360),
)
def test_every_clear_turn_is_found_on_its_side_and_a_mirrored_route_turns_the_other_way(legs, start):
    pts, heading = [(0.0, 0.0), (100 * math.sin(math.radians(start)), 100 * math.cos(math.radians(start)))], start
    for angle, side, length in legs:
        heading = (heading + side * angle) % 360
        x, y = pts[-1]
        pts.append((x + length * math.sin(math.radians(heading)), y + length * math.cos(math.radians(heading))))
    steps = steps_of(local_route(pts))
    mirrored = steps_of(local_route([(-x, y) for x, y in pts]))
    turns = [side for _, side, _ in legs]
    assert _sides(steps) == turns
    assert _sides(mirrored) == [-side for side in turns]


def _sides(steps) -> list[int]:
    """+1 right, -1 left, for each turn said (a turn said with the one before it included)."""
    turns = [t for s in steps for t in ([s] if s.then is None else [s, s.then])]
    return [1 if t.angle > 0 else -1 for t in turns]


def test_known_corners_in_helsinki():
    """From the Central Railway Station to the Cathedral the route comes south over the crossing of
    Kaivokatu and turns east (left) into Ateneuminkuja; at the end it goes north up Unioninkatu and
    turns east (right) up the cathedral's steps."""
    m = load_map(DEFAULT_MAP)
    s, c = m.find_place("station"), m.find_place("cathedral")
    steps = steps_of(route(m, m.nearest_node(s.lat, s.lon)[0], m.nearest_node(c.lat, c.lon)[0]))
    ateneuminkuja = next(st for st in steps if st.street == "Ateneuminkuja")
    assert ateneuminkuja.direction == "left"
    assert steps[-1].street == "the steps" and steps[-1].direction == "right"


def test_distances_are_said_rounded_as_a_walker_hears_them():
    assert say_distance(23) == "25 metres" and say_distance(2) == "5 metres" and say_distance(147) == "150 metres"
    assert say_distance(730) == "750 metres" and say_distance(1400) == "1.4 kilometres"
    assert say_distance(2000) == "2 kilometres" and say_distance(1020) == "1 kilometre"


def test_a_side_is_named_only_clear_of_dead_ahead_and_behind_with_slightly_between():
    assert relative_side(330, 0) == "ahead of you, slightly left"  # 30 degrees left
    assert relative_side(60, 0) == "on your right" and relative_side(150, 0) == "behind you, slightly right"
    assert relative_side(15, 0) == "ahead of you" and relative_side(195, 0) == "behind you"


@given(rel=st.floats(-180.0, 180.0), noise=st.floats(-5.0, 5.0), heading=st.floats(0.0, 360.0))
def test_a_few_degrees_of_heading_noise_never_move_a_place_to_the_other_side(rel, noise, heading):
    """Words for a heading a few degrees off: never the other side, never a side for a place within
    a few degrees of dead ahead or behind (what bench navigation counts as a wrong side)."""
    said = relative_side((heading + rel) % 360, (heading + noise) % 360)
    if "right" in said:
        assert 10 <= rel <= 170, (rel, noise, said)
    if "left" in said:
        assert -170 <= rel <= -10, (rel, noise, said)
