"""`sottovoce bench duplex`: its measures, its suite, and its fast subset through the real stack."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest

from sottovoce.firmware_sim.scenario import parse_scenario
from sottovoce.tools import bench_duplex as bench
from sottovoce.tools import duplex_suite
from sottovoce.tools.duplex_suite import CATEGORIES, Correction

# --- the measures -------------------------------------------------------------------------------


def _turn(latency=0.5, heard=2.0, reply="Okay, a five minute timer, starting now.", cut_off=False):
    return {"response_latency_s": latency, "heard_s": heard, "reply_text": reply, "cut_off": cut_off}


def test_the_system_takes_the_floor_with_a_second_of_speech_or_more_than_three_words():
    assert bench.takes_floor(_turn(heard=1.0, reply="Yes."))
    assert bench.takes_floor(_turn(heard=0.4, reply="It is four ten."))
    assert not bench.takes_floor(_turn(heard=0.9, reply="It is ten."))
    assert not bench.takes_floor(_turn(latency=None, heard=None, reply=None))


def test_percentiles_and_rates():
    assert bench.percentile([0.1, 0.2, 0.3, 0.4, 0.5], 50) == 0.3
    assert bench.percentile([0.1, 0.2, 0.3, 0.4, 0.5], 90) == pytest.approx(0.46)
    assert bench.percentile([0.25], 90) == 0.25
    assert bench.percentile([], 50) is None
    assert bench.rate([True, False, True, True]) == 0.75
    assert bench.rate([]) is None


def test_the_timer_listing_is_read_item_by_item():
    assert bench.listed_items("You have a ten minute timer, ten minutes left.") == [
        "a ten minute timer, ten minutes left"
    ]
    assert bench.listed_items(
        "You have a reminder to call anne, 9 minutes left; and a 5 minute timer, 4 minutes left."
    ) == [
        "a reminder to call anne, 9 minutes left",
        "a 5 minute timer, 4 minutes left",
    ]
    assert bench.listed_items("There are no timers running.") == []


TEN = Correction("ten minute", "five minute")


def test_a_correction_pivots_when_its_reply_names_the_new_value_and_one_timer_of_it_is_left():
    listing = "You have a ten minute timer, ten minutes left."
    assert bench.pivoted("Okay, ten minutes instead.", listing, TEN)
    assert not bench.pivoted("Okay, a five minute timer, starting now.", listing, TEN)  # the reply missed it
    two = "You have a five minute timer, five minutes left; and a ten minute timer, ten minutes left."
    assert not bench.pivoted("Okay, ten minutes instead.", two, TEN)  # a second timer, not a change
    assert not bench.pivoted("Okay, ten minutes instead.", "You have a five minute timer, four minutes left.", TEN)
    assert not bench.pivoted("Okay, ten minutes instead.", None, TEN)
    anne = Correction("anne", "anna")
    assert bench.pivoted("Okay, Anne instead.", "You have a reminder to call anne, ten minutes left.", anne)
    assert not bench.pivoted("Okay, Anne instead.", "You have a reminder to call anna, ten minutes left.", anne)


def _summary(turns, barge_ins=(), backchannels=(), ok=True):
    return {"ok": ok, "turns": list(turns), "barge_ins": list(barge_ins), "backchannels": list(backchannels),
            "edge_counters": {"echo.erle_db": 25}}  # fmt: skip


def _case(name):
    return next(c for c in duplex_suite.suite() if c.name == name)


def test_rows_and_figures_from_demo_summaries(tmp_path):
    stop = {"stopped": True, "duck_latency_s": 0.09, "stop_latency_s": 0.21}
    interrupted = bench.measure(_case("interrupt_stop"), _summary([_turn(), _turn(latency=None)], [stop]), tmp_path, 9)
    assert interrupted.took_floor and interrupted.stop_latency_s == 0.21 and interrupted.outcome == "stopped"
    content = _case("interrupt_wait_what_about_tomorrow")
    unanswered = bench.measure(content, _summary([_turn(), _turn(latency=None)], [stop]), tmp_path, 9)
    assert not unanswered.took_floor and unanswered.outcome == "stopped, NOT answered"
    kept_on = {**stop, "stopped": False, "stop_latency_s": 6.0}
    not_stopped = bench.measure(_case("interrupt_no"), _summary([_turn(), _turn()], [kept_on]), tmp_path, 9)
    assert not not_stopped.took_floor and not_stopped.stop_latency_s is None

    went_on = bench.measure(_case("backchannel_mmhm"), _summary([_turn()], (), [{"went_on": True, "replied": False}]),
                            tmp_path, 9)  # fmt: skip
    stopped = bench.measure(_case("backchannel_yeah"), _summary([_turn()], (), [{"went_on": False, "replied": True}]),
                            tmp_path, 9)  # fmt: skip
    fixed = bench.measure(
        _case("correct_set_a_timer_for_five_minutes"),
        _summary(
            [
                _turn(),
                _turn(reply="Okay, ten minutes instead."),
                _turn(reply="You have a ten minute timer, 9 minutes left."),
            ],
            [stop],
        ),
        tmp_path,
        9,
    )
    assert fixed.pivoted and fixed.outcome.startswith("pivoted")
    answered = bench.measure(_case("smooth_piper_what_time_is_it"), _summary([_turn(latency=0.4)]), tmp_path, 9)
    silent = bench.measure(_case("smooth_real_ls_testing_routine"), _summary([_turn(None, None, None)]), tmp_path, 9)
    cut_in = bench.measure(_case(duplex_suite.suite()[10].name), _summary([_turn(cut_off=True)]), tmp_path, 9)
    assert cut_in.category == "pause" and cut_in.took_floor

    result = bench.report([interrupted, unanswered, not_stopped, went_on, stopped, fixed, answered, silent, cut_in], 99)
    assert result["interruption"]["tor"] == pytest.approx(1 / 3, abs=1e-3)
    assert result["interruption"]["tor_commands"] == 0.5 and result["interruption"]["tor_content"] == 0.0
    assert result["interruption"]["stop_latency_p50_s"] == 0.21  # the one not stopped has no stop latency
    assert result["backchannel"] == {"scenarios": 2, "measured": 2, "false_stop_rate": 0.5, "false_stops": 1,
                                     "replies": 1, "duck_latency_p50_s": None}  # fmt: skip
    assert result["correction"]["pivoted_rate"] == 1.0
    assert result["smooth"]["tor"] == 0.5 and result["smooth"]["latency_p50_s"] == 0.4
    assert result["pause"]["tor"] == 1.0
    assert result["totals"]["scenarios"] == 9 and result["totals"]["errors"] == []
    met = {statement: ok for statement, _, ok in bench.targets(result)}
    assert met["interruption.tor >= 0.98"] is False and met["correction.pivoted_rate >= 0.9"] is True
    assert "interrupt_stop" in bench.table(result)


# --- the suite ----------------------------------------------------------------------------------


def test_the_suite_has_forty_scenarios_over_every_category_each_a_valid_scenario():
    cases = duplex_suite.suite()
    assert len(cases) >= 40
    assert len({c.name for c in cases}) == len(cases)
    assert {c.category for c in cases} == set(CATEGORIES)
    for case in cases:
        doc = tomllib.loads(case.toml())
        assert doc["name"] == case.name
        scenario = parse_scenario(case.toml(), case.name)
        assert len(scenario.utterances) <= 3
    by = {c: [x for x in cases if x.category == c] for c in CATEGORIES}
    assert any("real" in c.tags for c in by["smooth"]) and any("real" in c.tags for c in by["backchannel"])
    levels = sorted(tomllib.loads(c.toml())["echo"]["level_db"] for c in by["echo"] if c.kind != "double_talk")
    assert {-12.0, -6.0, 0.0, 6.0, 12.0} <= set(levels)
    assert {tomllib.loads(c.toml())["noise"]["bed"] for c in by["noise"]} == {"street", "babble", "wind"}


def test_fast_is_one_smooth_one_interruption_one_backchannel_one_echo_and_only_picks_categories():
    assert [c.category for c in duplex_suite.select(fast=True)] == ["smooth", "interruption", "backchannel", "echo"]
    assert {c.category for c in duplex_suite.select(["pause", "echo"])} == {"pause", "echo"}


# --- the real stack -----------------------------------------------------------------------------


def test_fast_subset_through_the_whole_stack(tmp_path):
    """Simulator, edge and host as processes over bumble's virtual BLE and gRPC, four scenarios."""
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "sottovoce.tools.cli", "bench", "duplex", "--fast", "--out", str(tmp_path / "runs"),
         "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    rows = {r["name"]: r for r in result["scenarios"]}
    assert len(rows) == 4 and result["totals"]["errors"] == []
    for key in ("smooth", "interruption", "backchannel", "echo"):
        assert key in result
    assert set(result["interruption"]) >= {"tor", "duck_latency_p50_s", "duck_latency_p90_s", "stop_latency_p50_s",
                                           "stop_latency_p90_s"}  # fmt: skip
    assert set(result["backchannel"]) >= {"false_stop_rate", "replies"}
    assert set(result["echo"]) >= {"self_interruptions", "erle_db"}
    assert rows["smooth_piper_what_time_is_it"]["took_floor"]  # the request was answered
    assert result["smooth"]["latency_p50_s"] is not None
    wait = rows["interrupt_wait_what_about_tomorrow"]
    assert wait["stopped"]  # "Wait, what about tomorrow?" stopped the answer
    assert wait["duck_latency_s"] <= wait["stop_latency_s"]
    assert result["interruption"]["stop_latency_p50_s"] == wait["stop_latency_s"]
    assert rows["backchannel_mmhm"]["went_on"] is not None  # measured over a playing answer
    assert result["echo"]["erle_db"] is not None and result["echo"]["erle_db"] > 0
    assert "scenarios ran in" in proc.stdout
