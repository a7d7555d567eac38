"""`sottovoce bench navigation`: its simulated walk (the noise, stops, head turns and the wrong turn
it promises), its scenario output and its tally (the run itself is a benchmark, not a test)."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest

from sottovoce.firmware_sim.walk import LOOK_RAMP_S, Look, Stop, Walk, walk_samples
from sottovoce.host.navigation.osm_map import DEFAULT_MAP, load_map
from sottovoce.proto.geo import LocalFrame, distance_m
from sottovoce.tools.bench_navigation import (
    ROUTES,
    TICK_S,
    WRONG_WAY_M,
    BenchNavigationConfig,
    RouteResult,
    planned_walk,
    scenario_walk_toml,
    summary,
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
