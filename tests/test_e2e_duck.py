"""End to end: the answer ducks under the wearer's voice, then stops for an interruption or comes
back and goes on for a short sound; separate processes over bumble's BLE stack and gRPC."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from demo_run import run_demo

from sottovoce.proto import events as ev

pytestmark = pytest.mark.e2e
SCENARIO = Path(__file__).parent / "scenarios" / "backchannel.toml"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, dict, subprocess.CompletedProcess]:
    # The mechanism under test is the duck and the restore, not where the barge-in threshold lies:
    # the "uh" (0.11 s) reads as 100-200 ms of speech through the VAD's hangover, at the default
    # 200 ms threshold's edge, so the threshold is set clear of it.
    return run_demo(tmp_path_factory.mktemp("backchannel"), "--scenario", str(SCENARIO), "--barge-in-ms", "300")


def test_a_short_sound_ducks_the_answer_which_comes_back_and_plays_on_unanswered(run):
    out, summary, proc = run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (uh,) = summary["backchannels"]
    assert uh["utterance"] == 2 and uh["went_on"] and not uh["replied"], uh
    assert uh["duck_latency_s"] is not None and uh["restore_s"] is not None, uh
    assert uh["ear_drop_db"] >= 10, uh  # clearly down at the ear (the device's ramp is sample-exact: 24 dB)
    sim = ev.read_sim_events(out / "sim_events.json")
    first = min(sim.playback, key=lambda p: p.start_s)
    assert [d.depth_db for d in first.ducks] == [24, 0] and first.ended == "finished", first
    # it never reached the host: no turn for it, nothing said back
    edge_log = ev.read_events(out / "edge_events.jsonl")
    starts = [e for e in ev.of_type(edge_log, ev.Turn) if e.kind == "speech_start"]
    assert len(starts) == 3, starts  # the question, "say that again", the interruption
    counters = summary["edge_counters"]
    assert counters["turn.backchannels_ignored"] == 1 and counters["turn.ducks"] == 2, counters
    assert counters["turn.restores"] == 1 and counters["playback.ducks_unsent"] == 0, counters


def test_the_history_holds_the_whole_answer_heard_under_the_sound(run):
    _, summary, _ = run
    asked, again = summary["turns"][0], summary["turns"][1]
    assert again["user_text"] == "Say that again."
    assert again["reply_text"] == asked["reply_text"] and asked["heard_s"] == pytest.approx(asked["answer_s"], abs=0.03)


def test_an_interruption_ducks_the_answer_first_then_stops_it(run):
    _, summary, _ = run
    (barge_in,) = summary["barge_ins"]
    assert barge_in["stopped"], barge_in
    assert 0 < barge_in["duck_latency_s"] < barge_in["stop_latency_s"], barge_in
    # the frames already in the device's buffer would have delayed a duck in the downlink
    assert barge_in["downlink_duck_latency_s"] > barge_in["duck_latency_s"], barge_in


def _answer_heard(out: Path, p: ev.SimPlayback) -> list[ev.Playback]:
    """The edge's record of how playback of ``p`` ended, as it told the host."""
    edge_log = ev.read_events(out / "edge_events.jsonl")
    (started,) = [e for e in ev.of_type(edge_log, ev.ResponseStarted) if e.stream == p.stream]
    return [e for e in ev.of_type(edge_log, ev.Playback) if e.response_id == started.response_id
            and e.kind in ("finished", "interrupted")]  # fmt: skip


def test_the_answer_held_under_the_sound_went_on_from_where_it_was_and_the_host_heard_it_whole(run):
    out, summary, _ = run
    (uh,) = summary["backchannels"]
    assert uh["hold_s"] is not None and uh["hold_s"] > 0, uh  # held silent while the sound was decided
    sim = ev.read_sim_events(out / "sim_events.json")
    first = min(sim.playback, key=lambda p: p.start_s)
    assert all(h.held_s is not None and h.resumed_s is not None for h in first.holds), first.holds
    # every sample the host sent was played once: the host was told it was heard whole
    (ended,) = _answer_heard(out, first)
    assert ended.kind == "finished" and ended.heard_samples == first.samples, (ended, first.samples)


def test_the_interrupted_answer_was_last_heard_at_its_hold_and_the_host_knows_to_the_sample(run):
    out, summary, _ = run
    sim = ev.read_sim_events(out / "sim_events.json")
    (barge_in,) = summary["barge_ins"]
    stop = sim.utterances[3]
    assert stop.barge_in
    (stopped,) = [p for p in sim.playback if p.start_s <= stop.start_s < p.end_s]
    assert stopped.ended == "flushed" and stopped.holds, stopped
    hold = stopped.holds[0]
    assert hold.held_s is not None and hold.resumed_s is None
    # nothing more played after the hold, however long the flush took to come
    assert stopped.end_s == pytest.approx(hold.held_s, abs=1e-4) and stopped.flush_received_s >= hold.held_s
    (ended,) = _answer_heard(out, stopped)
    assert ended.kind == "interrupted" and ended.heard_samples == stopped.samples
    host_log = (out / "logs" / "host.log").read_text()
    assert f"interrupted after {stopped.samples} samples; wearer heard" in host_log
    assert barge_in["stop_latency_s"] == pytest.approx(stopped.end_s - stop.start_s, abs=2e-3)
