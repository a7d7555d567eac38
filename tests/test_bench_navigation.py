"""`sottovoce bench navigation`: its simulated walk (the noise, stops, head turns and the wrong turn
it promises), its scenario output and its tally (the run itself is a benchmark, not a test)."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest

from sottovoce.firmware_sim.walk import LOOK_RAMP_S, Look, Stop, Walk, turned_onto, walk_samples
from sottovoce.host.navigation.osm_map import DEFAULT_MAP, load_map
from sottovoce.proto.geo import LocalFrame, distance_m
from sottovoce.tools.bench_navigation import (
    GAVE_WAY,
    INTERRUPTED,
    ONSET_DELAY_S,
    OVER_WEARER_S,
    ROUTES,
    TICK_S,
    WRONG_WAY_M,
    BenchNavigationConfig,
    RouteResult,
    Speech,
    Voice,
    joined,
    planned_walk,
    played_out,
    run_route,
    scenario_walk_toml,
    summary,
    wrong_side,
)

FRAME = LocalFrame(60.17, 24.94)
NORTH_1KM = (FRAME.to_latlon(0, 0), FRAME.to_latlon(0, 1000))


def test_the_walk_goes_at_its_speed_with_gps_error_of_its_size_and_stops_where_told():
    walk = Walk(NORTH_1KM, speed_mps=1.4, gps_noise_m=5.0, stops=(Stop(500.0, 8.0),), looks=(Look(100.0, -70.0, 2.5),))
    samples = list(walk_samples(walk, 1 / TICK_S, seed=3))
    assert samples[-1].t_s == pytest.approx(1000 / 1.4 + 8.0, abs=0.5)
    errors = np.array([LocalFrame(s.latitude_deg, s.longitude_deg).to_xy(s.fix.latitude_deg, s.fix.longitude_deg)
                       for s in samples if s.fix])  # fmt: skip
    # gps_noise_m is the horizontal RMS error (the simulator's walk, firmware_sim.walk, which the bench walks)
    assert 3.0 < np.sqrt(np.mean(np.sum(errors**2, axis=1))) < 8.0
    stopped = [s for s in samples if abs(s.distance_m - 500.0) < 0.2]
    assert stopped[-1].t_s - stopped[0].t_s == pytest.approx(8.0, abs=0.3)
    # the head goes out over LOOK_RAMP_S, holds, and comes back over LOOK_RAMP_S
    looking = [s.heading_deg for s in samples if 100.0 + LOOK_RAMP_S <= s.t_s < 102.5 - LOOK_RAMP_S]
    assert looking and all(h == pytest.approx(290.0, abs=0.5) for h in looking)
    assert all(min(s.heading_deg, 360 - s.heading_deg) < 0.5 for s in samples if 110 <= s.t_s < 130)  # ahead again


def test_each_route_takes_one_wrong_turn_and_comes_back():
    walk_map = load_map(DEFAULT_MAP)
    cfg = BenchNavigationConfig()
    for index, (origin, goal) in enumerate(ROUTES):
        planned, steps, walk, leave_m = planned_walk(walk_map, index, origin, goal, cfg)
        walked = sum(distance_m(*a, *b) for a, b in zip(walk.path, walk.path[1:], strict=False))
        assert planned.length_m + 2 * WRONG_WAY_M - 1 < walked < planned.length_m + 2 * (WRONG_WAY_M + 40)
        off = max(min(distance_m(*p, *q) for q in planned.points) for p in walk.path)
        assert off > 20  # really off the route, not a wobble
        assert any(abs(s.at_m - leave_m) < 0.01 for s in steps)  # at one of its turns
        assert walk.path[-1] == planned.points[-1]


def test_the_walk_is_written_as_the_simulators_walk_table():
    walk = Walk((*NORTH_1KM, FRAME.to_latlon(300, 1000)), stops=(Stop(250.0, 8.0),), looks=(Look(20.0, 80.0, 2.5),))
    table = tomllib.loads(scenario_walk_toml(walk))["walk"]
    assert len(table["path"]) == 3 and table["speed_mps"] == 1.4 and table["gps_noise_m"] == 5.0
    assert table["stop"] == [{"at_m": 250, "seconds": 8}]
    assert table["look"] == [{"at_s": 20, "degrees": 80, "seconds": 2.5}]


def _result(leads, ok, over=0, lr=0, detect=8.0, latency=0.3) -> RouteResult:
    return RouteResult("a -> b", 700, len(leads), leads, ok, over, lr, detect, 2, 0, latency, 0, [])


def test_the_summary_counts_turns_whose_cue_finished_in_time_over_all_turns():
    got = summary([_result([25.0, 35.0, None], 2), _result([5.0, 20.0], 1, over=1, lr=1, detect=None, latency=0.5)])
    assert got["turns"] == 5 and got["cue_lead_ok_rate"] == 0.6 and got["cue_lead_p50_m"] == 22.5
    assert got["cues_over_wearer"] == 1 and got["left_right_errors"] == 1
    assert got["off_route_detected"] == "1/2" and got["off_route_detect_p50_s"] == 8.0
    assert math.isclose(got["answer_latency_p50_s"], 0.4)
    assert got["cues_gave_way"] == 0 and got["cues_interrupted"] == 0 and got["cues_said_again"] == 0


@pytest.mark.parametrize(
    ("onset_s", "outcome", "over"),
    [
        (-0.15, GAVE_WAY, True),  # begun before, unheard yet: plays at full level until the host hears
        (0.0, GAVE_WAY, True),
        (0.25, GAVE_WAY, False),  # begun with its first words: the edge ducks it at once
        (0.6, INTERRUPTED, False),  # begun later: ducked, and stopped as a barge-in stops an answer
        (5.0, "whole", False),  # after it
    ],
)
def test_a_cue_plays_out_against_the_wearer_as_the_live_stack_plays_it(onset_s, outcome, over):
    t0, length = 100.0, 2.5
    stops_at, over_s, got = played_out([Speech(t0 + onset_s, t0 + onset_s + 3.0)], t0, length)
    assert got == outcome
    assert (over_s > 0) == over and over_s <= ONSET_DELAY_S + 1e-9 < OVER_WEARER_S  # never over the wearer
    if outcome == GAVE_WAY:
        assert stops_at == pytest.approx(t0 + onset_s + ONSET_DELAY_S)  # when the host hears the onset
    elif outcome == INTERRUPTED:
        assert stops_at == t0 + onset_s
    else:
        assert stops_at == t0 + length


def test_a_walker_told_a_new_way_turns_onto_it_where_they_are():
    walk = Walk(NORTH_1KM, gps_noise_m=5.0, looks=(Look(30.0, 80.0, 2.5),))
    back = (FRAME.to_latlon(0, 100), FRAME.to_latlon(300, 100))  # back to 100 m, then east
    before = list(walk_samples(walk, 1 / TICK_S, seed=5))
    there = next(s for s in before if s.distance_m >= 400.0)  # where the bench turns a walker: a sample
    turned = turned_onto(walk, there.distance_m, back)
    after = list(walk_samples(turned, 1 / TICK_S, seed=5))
    i = before.index(there)
    assert after[:i] == before[:i]  # the same walk, seed for seed, up to there
    assert distance_m(after[i].latitude_deg, after[i].longitude_deg, there.latitude_deg, there.longitude_deg) < 1e-3
    assert after[i + 30].latitude_deg < there.latitude_deg  # then back south, turned round
    end = after[-1]
    assert end.arrived and distance_m(end.latitude_deg, end.longitude_deg, *back[-1]) < 0.5
    assert end.distance_m == pytest.approx(there.distance_m + 300 + 300, abs=1.0)


@pytest.mark.parametrize("name", ["navigation", "navigation_short"])
def test_the_navigation_scenarios_walk_real_helsinki_streets(name):
    """Their [walk] (the simulator's contract) lies on the shipped map's ways, starts at the station,
    and has the stop and head turns; the long one also its wrong turn; both ask the way by voice."""
    from sottovoce.firmware_sim.scenario import resolve_path

    with resolve_path(name).open("rb") as f:
        doc = tomllib.load(f)
    walk, said = doc["walk"], [u["say"] for u in doc["utterance"]]
    walk_map = load_map(DEFAULT_MAP)
    assert said[0] == "Take me to the cathedral." and "How far is it?" in said
    assert all(walk_map.nearest_node(lat, lon)[1] < 2.0 for lat, lon in walk["path"][:-1])
    station = walk_map.find_place("station")
    assert distance_m(*walk["path"][0], station.lat, station.lon) < 30
    assert walk["stop"] and walk["look"] and walk["speed_mps"] == 1.4 and walk["gps_noise_m"] == 5.0
    planned, _, _, _ = planned_walk(walk_map, 0, *ROUTES[0], BenchNavigationConfig())
    off = max(min(distance_m(*p, *q) for q in planned.points) for p in walk["path"])
    assert (off > 20) == (name == "navigation")


def test_a_cue_the_wearer_stopped_is_said_again_whole_after_their_turn():
    """On the bench's walks (the voice's pace, not rendered), as the session does it: every cue the
    wearer's speech stopped is queued again when their turn is over, and the next cue heard is
    said whole, after the speech that stopped it."""
    walk_map = load_map(DEFAULT_MAP)
    voice, stopped_seen = Voice(render=False), 0
    for index, (origin, goal) in enumerate(ROUTES):
        result = run_route(walk_map, index, origin, goal, voice, BenchNavigationConfig())
        assert result.cues_said_again == result.cues_interrupted
        heard = [line for line in result.transcript if "heard:" in line]
        for k, line in enumerate(heard):
            if f"[{INTERRUPTED}" in line:
                stopped_seen += 1
                after = heard[k + 1]
                assert "..." not in after and float(after.split("s", 1)[0]) > float(line.split("s", 1)[0])
    assert stopped_seen > 0


def test_a_wearer_told_a_new_route_joins_it_where_it_passes_nearest_before_its_first_turn():
    from sottovoce.firmware_sim.walk import WalkSample
    from sottovoce.host.navigation.instructions import steps_of
    from sottovoce.host.navigation.router import route_along

    new = route_along((FRAME.to_latlon(0, 0), FRAME.to_latlon(0, 60), FRAME.to_latlon(-60, 60)))  # north, then left
    here = WalkSample(0.0, *FRAME.to_latlon(6, 20), 0.0, 0.0, 0.0, 0.0, 0.0, True, False, None)
    path = joined(new, steps_of(new), here)
    assert distance_m(*path[0], *FRAME.to_latlon(0, 20)) < 1.0 and path[1:] == new.points[1:]
    # beside the route past its first turn: not that far on, the turn is not skipped
    beyond = WalkSample(0.0, *FRAME.to_latlon(-30, 65), 0.0, 0.0, 0.0, 0.0, 0.0, True, False, None)
    assert distance_m(*joined(new, steps_of(new), beyond)[0], *FRAME.to_latlon(0, 59)) < 1.0


def test_a_side_is_wrong_when_the_place_is_on_the_other_side_or_dead_ahead_or_behind():
    """Relative bearings, positive right: "left" for a place 30 degrees left is right even if another
    run says "ahead"; "left" for one to the right, or within a few degrees of dead ahead, is wrong."""
    assert not wrong_side("left", -30.0) and not wrong_side("left", -150.0) and not wrong_side("right", 90.0)
    assert wrong_side("left", 30.0) and wrong_side("right", -90.0)
    assert wrong_side("left", -4.0) and wrong_side("right", 176.0)
