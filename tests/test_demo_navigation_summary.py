"""How `sottovoce demo` judges a navigation run from its recordings: where the wearer truly was when
each cue and answer was heard, how far before each turn its cue finished, cues over the wearer,
left/right against the turn really taken, every question answered. The run's files are written
through the same schema the programs write them with; the walk is the simulator's own walk model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sottovoce.firmware_sim.scenario import load_scenario
from sottovoce.firmware_sim.walk import walk_samples
from sottovoce.proto import events as ev
from sottovoce.tools import demo

RATE = 16000
SCENARIO = load_scenario("navigation_short", synthesize_audio=False)
ASKED = [("Take me to the cathedral.", 2.0, 3.4), ("How far is it?", 120.0, 121.0)]
TURN_M = (88.9, 255.3)  # the scenario's two right turns, metres along its walk


def _trace() -> list[dict]:
    """The simulator's walk.json: the wearer's truth once a second."""
    assert SCENARIO.walk is not None
    return [{"t_s": s.t_s, "lat": s.latitude_deg, "lon": s.longitude_deg, "distance_m": s.distance_m,
             "heading_deg": s.heading_deg, "walking": s.walking, "fix": None}
            for s in walk_samples(SCENARIO.walk, 1.0, seed=1)]  # fmt: skip


TRACE = _trace()


def _when(walked_m: float) -> float:
    """The first second at which the wearer has walked ``walked_m``."""
    return next(p["t_s"] for p in TRACE if p["distance_m"] >= walked_m)


def _played(stream: int, start: float, seconds: float) -> ev.SimPlayback:
    return ev.SimPlayback(stream, start, start + seconds, "finished", None, round(seconds * RATE))


def _run(out: Path, cues: list[tuple[float, str]], answers: list[float], asked=ASKED) -> dict:
    """``cues``: (start, text) of each cue (2.0 s long); ``answers``: the start of each answer."""
    utterances = [ev.SimUtterance(i, text, start, end, False, "at", True) for i, (text, start, end) in enumerate(asked)]
    playback = [_played(10 + i, start, 2.0) for i, (start, _) in enumerate(cues)]
    playback += [_played(20 + i, start, 3.0) for i, start in enumerate(answers)]
    ev.write_sim_events(out / "sim_events.json", ev.SimEvents(RATE, 260.0, utterances, playback, [], [], [], [], {}))
    log = ev.EventLog(out / "edge_events.jsonl", clock=lambda: 0.0)
    for i, (_, text) in enumerate(cues):
        log.write(ev.ResponseStarted(100 + i, 0, 10 + i, text))  # turn 0: the host spoke unasked
    for i, _ in enumerate(answers):
        log.write(ev.ResponseStarted(200 + i, i + 1, 20 + i, f"answer {i + 1}"))
    log.close()
    (out / "walk.json").write_text(json.dumps(TRACE))
    return demo.analyse_navigation(out, SCENARIO)


def _cue_ending(before_turn_m: float, turn_m: float, text: str) -> tuple[float, str]:
    """A cue that finishes when the wearer is ``before_turn_m`` short of the turn at ``turn_m``."""
    return _when(turn_m - before_turn_m) - 2.0, text


GOOD_CUES = [_cue_ending(25, TURN_M[0], "In 30 metres, turn right onto Rautatientori."),
             _cue_ending(20, TURN_M[1], "In 25 metres, turn right onto the crossing.")]  # fmt: skip
GOOD_ANSWERS = [4.0, 121.8]


def test_a_good_run_passes_with_its_walk_transcript(tmp_path, capsys):
    summary = _run(tmp_path, GOOD_CUES, GOOD_ANSWERS)
    assert summary["ok"], summary["failures"]
    assert summary["turns"] == 2 and summary["cue_lead_ok_rate"] == 1.0
    assert summary["cue_leads_m"] == [pytest.approx(25, abs=1.5), pytest.approx(20, abs=1.5)]
    assert summary["cues_over_wearer"] == 0 and summary["left_right_errors"] == 0
    assert summary["answer_latency_p50_s"] == pytest.approx(0.7, abs=1e-6)
    kinds = [e["kind"] for e in summary["transcript"]]
    assert kinds.count("said") == 2 and kinds.count("cue") == 2 and kinds.count("answer") == 2
    assert kinds.count("turn") == 2
    times = [e["t_s"] for e in summary["transcript"]]
    assert times == sorted(times)
    first_cue = next(e for e in summary["transcript"] if e["kind"] == "cue")
    assert first_cue["walked_m"] == pytest.approx(TURN_M[0] - 25 - 2 * 1.4, abs=1.5)  # where it began
    demo.print_summary(summary)
    printed = capsys.readouterr().out
    assert "heard cue: In 30 metres, turn right onto Rautatientori." in printed
    assert "wearer said: How far is it?" in printed and "0.80 s after the question" in printed
    assert printed.rstrip().endswith("OK")


def test_what_fails_is_said(tmp_path):
    cases = {
        "cue(s) played over the wearer": ([GOOD_CUES[0], (120.5, "In 20 metres, turn right onto the crossing.")],
                                          GOOD_ANSWERS),
        "no cue heard before the turn(s): turn right": ([GOOD_CUES[0]], GOOD_ANSWERS),
        "no answer to: How far is it?": (GOOD_CUES, GOOD_ANSWERS[:1]),
    }  # fmt: skip
    for n, (expected, (cues, answers)) in enumerate(cases.items()):
        out = tmp_path / str(n)
        out.mkdir()
        summary = _run(out, cues, answers)
        assert not summary["ok"] and any(expected in f for f in summary["failures"]), (expected, summary["failures"])


def test_a_cue_naming_the_wrong_side_is_counted(tmp_path):
    cues = [GOOD_CUES[0], _cue_ending(20, TURN_M[1], "In 25 metres, turn left onto the crossing.")]
    summary = _run(tmp_path, cues, GOOD_ANSWERS)
    assert summary["left_right_errors"] == 1
    assert [e["wrong_side"] for e in summary["transcript"] if e["kind"] == "cue"] == [False, True]


def test_a_run_without_the_walk_trace_is_a_clear_error(tmp_path):
    _run(tmp_path, GOOD_CUES, GOOD_ANSWERS)
    (tmp_path / "walk.json").unlink()
    with pytest.raises(demo.DemoError, match="navigation run unreadable"):
        demo.analyse_navigation(tmp_path, SCENARIO)
