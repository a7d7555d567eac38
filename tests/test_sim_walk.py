"""The simulated walk: pace, stops, head turns, GPS noise of a real receiver; the [walk] scenario table."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from sottovoce.firmware_sim.scenario import ScenarioError, load_scenario, parse_scenario
from sottovoce.firmware_sim.walk import (
    GpsOutage,
    Look,
    PathGeometry,
    Stop,
    Walk,
    walk_duration_s,
    walk_samples,
)
from sottovoce.proto.geo import distance_m, turn_deg

SCENARIO = Path(__file__).parent / "scenarios" / "walk_aleksanterinkatu.toml"
# East along Aleksanterinkatu, then north up Fabianinkatu (OpenStreetMap nodes).
PATH = ((60.168912, 24.947433), (60.168961, 24.949210), (60.168956, 24.949331), (60.169066, 24.949320))


def test_the_wearer_walks_the_path_at_its_pace_and_arrives_at_its_end():
    walk = Walk(PATH, speed_mps=1.4)
    samples = list(walk_samples(walk, rate_hz=10))
    length = PathGeometry(PATH).length_m
    assert 100 < length < 125
    assert samples[-1].arrived and not any(s.arrived for s in samples[:-1])
    assert samples[-1].t_s == pytest.approx(walk_duration_s(walk), abs=0.2)
    assert distance_m(samples[-1].latitude_deg, samples[-1].longitude_deg, *PATH[-1]) < 0.5
    # facing along the path: east on Aleksanterinkatu, north on Fabianinkatu
    assert abs(turn_deg(87, samples[100].heading_deg)) < 3
    assert abs(turn_deg(355, samples[-1].heading_deg)) < 3
    steps = [distance_m(a.latitude_deg, a.longitude_deg, b.latitude_deg, b.longitude_deg)
             for a, b in itertools.pairwise(samples)]  # fmt: skip
    assert max(steps) <= 1.4 * 0.1 + 1e-6  # never faster than walking pace


def test_a_stop_holds_the_wearer_still_and_a_look_turns_only_the_head():
    walk = Walk(PATH, stops=(Stop(at_m=50, seconds=4),), looks=(Look(at_s=10, degrees=-70, seconds=3),))
    samples = list(walk_samples(walk, rate_hz=50))
    still = [s for s in samples if s.distance_m == pytest.approx(50) and not s.walking]
    assert len(still) / 50 == pytest.approx(4, abs=0.1)
    assert samples[-1].t_s == pytest.approx(walk_duration_s(walk), abs=0.1)
    during = [s for s in samples if 10.5 <= s.t_s <= 12.5]
    assert all(abs(turn_deg(s.body_heading_deg, s.heading_deg) + 70) < 1 for s in during)
    after = [s for s in samples if 13.1 <= s.t_s <= 20]
    assert all(s.heading_deg == s.body_heading_deg for s in after)
    # the yaw rate is the head's true turning: it integrates to the heading's change
    turned = sum(s.yaw_rate_dps for s in samples if 9.9 <= s.t_s <= 11.0) / 50
    assert turned == pytest.approx(-70, abs=1)


def test_facing_away_at_the_start_the_wearer_turns_before_stepping_off():
    samples = list(walk_samples(Walk(PATH, start_heading=270), rate_hz=50, until_s=5))
    assert samples[0].heading_deg == 270 and not samples[0].walking
    first_step = next(s for s in samples if s.walking)
    assert abs(turn_deg(87, first_step.body_heading_deg)) <= 30
    assert first_step.t_s == pytest.approx((180 - 30) / 90, abs=0.1)  # at the body's turning rate


def test_gps_fixes_come_once_a_second_with_correlated_metres_of_error():
    walk = Walk(PATH, speed_mps=1.4, gps_noise_m=5)
    errors = []
    for seed in range(6):
        samples = list(walk_samples(walk, rate_hz=10, seed=seed, until_s=300))
        fixes = [s for s in samples if s.fix is not None]
        assert [round(s.t_s, 6) for s in fixes[:3]] == [0, 1, 2] and len(fixes) == 301
        errors.append([(s.fix.latitude_deg - s.latitude_deg, s.fix.longitude_deg - s.longitude_deg) for s in fixes])
    metres = np.array(errors) * [111_195, 111_195 * np.cos(np.radians(60.169))]
    horizontal = np.hypot(metres[..., 0], metres[..., 1])
    assert 3 <= np.sqrt(np.mean(horizontal**2)) <= 8  # a receiver's few metres, not centimetres or tens
    north = metres[..., 0]
    lag1 = np.mean([np.corrcoef(n[:-1], n[1:])[0, 1] for n in north])
    assert lag1 > 0.9  # consecutive fixes are off the same way, as a real receiver's are


def test_during_a_gps_outage_the_receiver_reports_no_fix():
    walk = Walk(PATH, gps_outages=(GpsOutage(at_s=10, seconds=3),))
    reports = [s for s in walk_samples(walk, rate_hz=10) if s.gps_report]
    assert [round(s.t_s) for s in reports if s.fix is None] == [10, 11, 12]
    assert all(s.fix is not None for s in reports if not 10 <= s.t_s < 13)


def test_the_same_seed_walks_the_same_walk():
    walk = Walk(PATH)
    assert list(walk_samples(walk, 10, seed=3)) == list(walk_samples(walk, 10, seed=3))
    assert list(walk_samples(walk, 10, seed=3)) != list(walk_samples(walk, 10, seed=4))


def test_the_test_scenario_walks_real_helsinki_streets():
    s = load_scenario(SCENARIO, synthesize_audio=False)
    assert s.walk is not None and s.walk.stops == (Stop(17.0, 2.0),) and s.walk.start_heading == 60
    assert s.walk.gps_outages == (GpsOutage(22.0, 2.0),)
    assert all(60.16 < lat < 60.18 and 24.94 < lon < 24.96 for lat, lon in s.walk.path)


BASE = """
[[utterance]]
say = "Hi."
at = 1
"""


@pytest.mark.parametrize(
    ("walk", "message"),
    [
        ("path = [[60.1, 24.9]]", r"x.toml:6 \[walk\]: 'path' must be a list of at least two"),
        ("path = [[60.1, 24.9], [60.1, 24.9]]", "has no length"),
        ("path = [[60.1, 24.9], [60.2]]", r"path point #2 must be \[latitude, longitude\]"),
        ("path = [[60.1, 24.9], [91, 24.9]]", r"'path\[1\] latitude' must be in \[-85, 85\]"),
        ("path = [[60.1, 24.9], [60.2, 24.9]]\nspeed_mps = 0", r"'speed_mps' must be in"),
        ("path = [[60.1, 24.9], [60.2, 24.9]]\ngps_noise_m = nan", "'gps_noise_m' must be a finite number"),
        ("path = [[60.1, 24.9], [60.2, 24.9]]\nheading = 3", "unknown key 'heading'"),
        ("path = [[60.1, 24.9], [60.1001, 24.9]]\n[[walk.stop]]\nat_m = 20\nseconds = 1",
         r"x.toml:8 \[\[walk.stop\]\] #1: 'at_m' must be in \[0, 11.1"),
        ("path = [[60.1, 24.9], [60.2, 24.9]]\n[[walk.look]]\nat_s = 2\ndegrees = 30",
         r"\[\[walk.look\]\] #1: missing key 'seconds'"),
        ("path = [[60.1, 24.9], [60.2, 24.9]]\n[[walk.gps_outage]]\nat_s = 2\nseconds = -1",
         r"\[\[walk.gps_outage\]\] #1: 'seconds' must be in \[0.1, 86400\]"),
    ],
)  # fmt: skip
def test_walk_validation_names_the_table_line_and_key(walk: str, message: str):
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(BASE + "\n[walk]\n" + walk, "x.toml")


def test_a_scenario_without_a_walk_has_none():
    assert parse_scenario(BASE, "x.toml").walk is None
