"""End to end: real recorded words over an answer told apart by what they say; separate processes
over bumble's BLE stack and gRPC. A real "yes" lasts longer than the speech that stops an answer by
length alone, yet the answer plays on unanswered; a real "stop" stops the next; the volume asked
for last is set on the glasses."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from demo_run import run_demo

from sottovoce.proto import events as ev

pytestmark = pytest.mark.e2e
SCENARIO = Path(__file__).parent / "scenarios" / "real_words.toml"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, dict, subprocess.CompletedProcess]:
    return run_demo(tmp_path_factory.mktemp("real_words"), "--scenario", str(SCENARIO))


def test_a_real_yes_over_an_answer_is_read_as_a_backchannel_and_the_answer_plays_on(run):
    out, summary, proc = run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (yes,) = summary["backchannels"]
    assert yes["utterance"] == 2 and yes["went_on"] and not yes["replied"], yes
    edge_log = ev.read_events(out / "edge_events.jsonl")
    decided = {e.query_id: e.verdict for e in ev.of_type(edge_log, ev.OverlapDecided)}
    read = {e.query_id: e for e in ev.of_type(edge_log, ev.OverlapRead)}
    backchannels = [q for q, v in decided.items() if v == "backchannel"]
    assert len(backchannels) == 1 and re.sub(r"\W", "", read[backchannels[0]].text).lower() == "yes", (decided, read)
    counters = summary["edge_counters"]
    # the answer came back after each dip (the "yes" has a long hiss: its tail may dip it once more
    # after the verdict, depending on when the verdict arrives)
    assert counters["turn.backchannels_ignored"] == 1 and counters["turn.restores"] >= 1, counters
    assert counters["turn.barge_ins"] == 1, counters  # the "stop", never the "yes"


def test_a_real_stop_over_an_answer_stops_it(run):
    out, summary, _ = run
    (barge_in,) = summary["barge_ins"]
    assert barge_in["stopped"] and barge_in["stop_latency_s"] < 1.0, barge_in
    edge_log = ev.read_events(out / "edge_events.jsonl")
    decided = [e.verdict for e in ev.of_type(edge_log, ev.OverlapDecided)]
    assert decided.count("command") + decided.count("interruption") == 1, decided
    starts = [e for e in ev.of_type(edge_log, ev.Turn) if e.kind == "speech_start"]
    # the request, "say that again", "stop", the volume
    assert [s.barge_in for s in starts] == [False, False, True, False], starts


def test_the_volume_the_wearer_asks_for_is_set_on_the_glasses(run):
    _, summary, _ = run
    assert summary["sim_counters"]["volume"] == 60, summary["sim_counters"]
    assert summary["edge_counters"]["playback.volume_changes"] == 1, summary["edge_counters"]
