"""How the demo measures ducking: the wearer's onset to the answer >= 20 dB down at the ear, from the
device's recorded level changes, checked on ear.wav; and what the bench makes of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sottovoce.firmware_sim.recorder import write_wav
from sottovoce.proto import events as ev
from sottovoce.proto.gatt.speaker import gain_of, ramp_gains
from sottovoce.tools import bench_demo, demo

RATE = 16000
DOWN = ev.SimDuck(at_s=8.08, from_db=0.0, depth_db=24, ramp_s=0.01, queued_frames=16)


def test_ducked_when_the_ramp_passes_20_db():
    # a linear ramp from 1 to -24 dB over 160 samples passes 0.1 at sample 154
    assert demo.ducked_at([DOWN], 8.0, RATE) == pytest.approx(8.08 + 153 / RATE)
    assert demo.ducked_at([DOWN], 9.0, RATE) == 9.0  # already down at a later onset
    shallow = ev.SimDuck(8.08, 0.0, 12, 0.01, 0)
    assert demo.ducked_at([shallow], 8.0, RATE) is None  # 12 dB is not ducked
    # restored before the ramp got there: not ducked by it; the next duck counts
    restore = ev.SimDuck(8.085, 10.0, 0, 0.04, 0)
    again = ev.SimDuck(8.3, 0.0, 24, 0.0, 0)
    assert demo.ducked_at([DOWN, restore, again], 8.0, RATE) == pytest.approx(8.3)
    assert demo.ducked_at([DOWN, ev.SimDuck(8.2, 24.0, 0, 0.04, 0)], 8.5, RATE) is None  # restored by then


def _run(out: Path, ducks: list[ev.SimDuck], ear: np.ndarray | None) -> Path:
    """One question, its answer (stream 1, 7.0-8.3 s) interrupted at 8.0 s and flushed at 8.3 s."""
    utterances = [ev.SimUtterance(0, "Tell me about Rome.", 5.0, 6.5, False, "at"),
                  ev.SimUtterance(1, "Stop.", 8.0, 8.5, True, "answer_start")]  # fmt: skip
    playback = [ev.SimPlayback(1, 7.0, 8.3, "flushed", 8.3, round(1.3 * RATE), ducks)]
    ev.write_sim_events(out / "sim_events.json", ev.SimEvents(RATE, 10.0, utterances, playback, [], [], [], [], {}))
    log = ev.EventLog(out / "edge_events.jsonl", clock=lambda: 0.0)
    log.write(ev.ResponseStarted(1, 1, 1, "Rome was..."))
    log.write(ev.ResponseDone(1, 3 * RATE))
    log.close()
    if ear is not None:
        write_wav(out / "ear.wav", ear)
    return out


def _ear(ducks: list[ev.SimDuck]) -> np.ndarray:
    """A steady tone from 7.0 s to 8.3 s, at the level the ducks set (as the device's speaker would)."""
    ear = np.zeros(10 * RATE)
    t = np.arange(round(7.0 * RATE), round(8.3 * RATE))
    tone = 8000 * np.sin(2 * np.pi * 300 * t / RATE)
    gain = np.ones(len(t))
    for d in ducks:
        at = round(d.at_s * RATE) - t[0]
        gain[at:] = ramp_gains(gain_of(d.from_db), gain_of(d.depth_db), round(d.ramp_s * RATE), 0, len(t) - at)
    ear[t] = tone * gain
    return ear.astype(np.int16)


def test_a_barge_in_is_measured_ducked_then_stopped(tmp_path, capsys):
    summary = demo.analyse(_run(tmp_path, [DOWN], _ear([DOWN])), "model")
    (barge_in,) = summary["barge_ins"]
    assert barge_in["duck_latency_s"] == pytest.approx(0.08 + 153 / RATE, abs=1e-3)
    assert barge_in["stop_latency_s"] == 0.3 and barge_in["stopped"]
    assert barge_in["ear_drop_db"] == pytest.approx(24, abs=0.5)  # the tone is steady: the drop reads exactly
    # 16 frames in the device's buffer would have played at full level: past the flush
    assert barge_in["downlink_duck_latency_s"] == 0.3
    demo.print_summary(summary)
    assert "answer 20 dB down 0.090 s and stopped 0.300 s after the wearer's onset" in capsys.readouterr().out


def test_an_answer_never_ducked_is_down_when_it_stops(tmp_path, capsys):
    summary = demo.analyse(_run(tmp_path, [], None), "model")
    (barge_in,) = summary["barge_ins"]
    assert barge_in["duck_latency_s"] == barge_in["stop_latency_s"] == 0.3
    assert barge_in["ear_drop_db"] is None and barge_in["downlink_duck_latency_s"] is None
    demo.print_summary(summary)
    assert "answer 20 dB down 0.300 s and stopped 0.300 s" in capsys.readouterr().out


def test_the_bench_reports_duck_latency_median_and_p90(tmp_path):
    def summary(duck: float | None) -> dict:
        return {"turns": [], "median_response_latency_s": None, "ok": True,
                "barge_ins": [{"stop_latency_s": 0.26, "duck_latency_s": duck}]}  # fmt: skip

    result = bench_demo.compare({"model": [summary(x) for x in (0.08, 0.09, 0.1, 0.2, None)]})
    figures = result["model"]
    assert (figures["barge_in_duck_median_s"], figures["barge_in_duck_p90_s"]) == (0.095, 0.2)
    assert figures["barge_in_stop_median_s"] == 0.26
    assert "barge-in ducked the answer 0.095 s (p90 0.200 s) and stopped it 0.260 s" in bench_demo.table(result)


def _backchannel_run(out: Path, answer: ev.SimPlayback, reply: bool) -> Path:
    """A question, its answer (stream 1, 2.0-6.0 s), an "mm-hm" at 3.0-3.2 s; stream 2 answers the
    "mm-hm" when ``reply``."""
    utterances = [ev.SimUtterance(0, "Tell me about Rome.", 0.5, 1.5, False, "at"),
                  ev.SimUtterance(1, "Mm-hm.", 3.0, 3.2, False, "answer_start")]  # fmt: skip
    playback = [answer] + ([ev.SimPlayback(2, 4.0, 5.0, "finished", None, RATE)] if reply else [])
    ev.write_sim_events(out / "sim_events.json", ev.SimEvents(RATE, 8.0, utterances, playback, [], [], [], [], {}))
    log = ev.EventLog(out / "edge_events.jsonl", clock=lambda: 0.0)
    for rid in (1, 2):
        log.write(ev.ResponseStarted(rid, rid, rid, f"answer {rid}"))
        log.write(ev.ResponseDone(rid, (4 if rid == 1 else 1) * RATE))
    log.close()
    return out


DUCKED = [ev.SimDuck(3.1, 0.0, 24, 0.01, 20), ev.SimDuck(3.5, 24.0, 0, 0.04, 18)]


def test_a_backchannel_that_ducked_and_let_the_answer_go_on_is_no_turn_and_ok(tmp_path, capsys):
    whole = ev.SimPlayback(1, 2.0, 6.0, "finished", None, 4 * RATE, DUCKED)
    summary = demo.analyse(_backchannel_run(tmp_path, whole, reply=False), "model")
    assert summary["ok"] and [t["user_text"] for t in summary["turns"]] == ["Tell me about Rome."]
    (c,) = summary["backchannels"]
    assert (c["utterance"], c["went_on"], c["replied"]) == (2, True, False)
    assert c["duck_latency_s"] == pytest.approx(0.1 + 153 / RATE, abs=1e-3)
    assert c["restore_s"] == pytest.approx(3.54 - 3.2)
    assert c["downlink_duck_latency_s"] == pytest.approx(0.1 + 20 * 0.02 + 153 / RATE, abs=1e-3)
    demo.print_summary(summary)
    out = capsys.readouterr().out
    assert "backchannel at turn 2: answer 20 dB down 0.110 s after the wearer's onset, back 0.340 s after" in out


@pytest.mark.parametrize(
    ("answer", "reply", "failure"),
    [
        (ev.SimPlayback(1, 2.0, 3.3, "flushed", 3.3, round(1.3 * RATE), DUCKED[:1]), False,
         "the backchannel at turn 2 stopped the answer"),
        (ev.SimPlayback(1, 2.0, 6.0, "finished", None, 4 * RATE, DUCKED), True,
         "the backchannel at turn 2 got a reply"),
    ],
)  # fmt: skip
def test_a_backchannel_that_stopped_the_answer_or_got_a_reply_fails_the_run(tmp_path, answer, reply, failure):
    summary = demo.analyse(_backchannel_run(tmp_path, answer, reply), "model")
    assert summary["failures"] == [failure]


def test_the_summary_says_how_speech_over_answers_was_decided(tmp_path, capsys):
    summary = demo.analyse(_run(tmp_path, [DOWN], _ear([DOWN])), "model")
    summary["edge_counters"] = {"turn.overlaps_asked": 5, "turn.overlaps_backchannel": 1,
                                "turn.overlaps_interruption": 1, "turn.overlaps_by_length": 1}  # fmt: skip
    demo.print_summary(summary)
    out = capsys.readouterr().out
    assert (
        "speech over answers: 5 readings asked; decided by the words as a backchannel 1x, as an interruption 1x" in out
    )
    summary["edge_counters"] = {"turn.overlaps_asked": 0}
    demo.print_summary(summary)
    assert "speech over answers" not in capsys.readouterr().out


def _held_run(out: Path, ducks: list[ev.SimDuck], holds: list[ev.SimHold], end_s: float) -> Path:
    """As ``_run``, the answer held at the wearer's onset and flushed later: last heard at ``end_s``."""
    utterances = [ev.SimUtterance(0, "Tell me about Rome.", 5.0, 6.5, False, "at"),
                  ev.SimUtterance(1, "Stop.", 8.0, 8.5, True, "answer_start")]  # fmt: skip
    playback = [ev.SimPlayback(1, 7.0, end_s, "flushed", 8.6, round((end_s - 7.0) * RATE), ducks, holds)]
    ev.write_sim_events(out / "sim_events.json", ev.SimEvents(RATE, 10.0, utterances, playback, [], [], [], [], {}))
    log = ev.EventLog(out / "edge_events.jsonl", clock=lambda: 0.0)
    log.write(ev.ResponseStarted(1, 1, 1, "Rome was..."))
    log.write(ev.ResponseDone(1, 3 * RATE))
    log.close()
    return out


def test_an_answer_held_then_flushed_stopped_at_the_hold(tmp_path):
    # ducked at 8.08 s, held from 8.14 s (its frame fading out by 8.16 s), flushed at 8.6 s: the
    # wearer last heard it at 8.16 s, whatever the flush's time
    hold = ev.SimHold(8.14, 24.0, 0.02, 8.16, None)
    summary = demo.analyse(_held_run(tmp_path, [DOWN], [hold], 8.16), "model")
    (barge_in,) = summary["barge_ins"]
    assert barge_in["stopped"] and barge_in["stop_latency_s"] == 0.16
    assert barge_in["duck_latency_s"] == pytest.approx(0.08 + 153 / RATE, abs=1e-3)


def test_a_hold_with_no_duck_before_it_is_down_when_its_ramp_passes_20_db(tmp_path):
    hold = ev.SimHold(8.1, 0.0, 0.02, 8.12, None)  # 320 samples from full level to silence: 0.1 at sample 288
    summary = demo.analyse(_held_run(tmp_path, [], [hold], 8.12), "model")
    (barge_in,) = summary["barge_ins"]
    assert barge_in["duck_latency_s"] == pytest.approx(0.1 + 287 / RATE, abs=1e-3)
    assert barge_in["stop_latency_s"] == 0.12


def test_a_backchannel_that_held_the_answer_reports_how_long_it_stood_silent(tmp_path, capsys):
    # ducked at 3.1 s, held 3.16-3.18 s .. 3.5 s, restored from there: played on whole
    hold = ev.SimHold(3.16, 24.0, 0.02, 3.18, 3.5)
    restore = ev.SimDuck(3.5, 120.0, 0, 0.04, 18)
    whole = ev.SimPlayback(1, 2.0, 6.32, "finished", None, 4 * RATE, [DUCKED[0], restore], [hold])
    summary = demo.analyse(_backchannel_run(tmp_path, whole, reply=False), "model")
    assert summary["ok"], summary["failures"]
    (c,) = summary["backchannels"]
    assert c["went_on"] and not c["replied"] and c["hold_s"] == pytest.approx(0.32)
    assert c["restore_s"] == pytest.approx(3.54 - 3.2)
    demo.print_summary(summary)
    assert "held silent 0.320 s, then played on to its end, whole, no reply" in capsys.readouterr().out


def test_the_bench_reports_stop_p90_and_how_backchannels_went(tmp_path):
    def summary(stop: float, hold: float | None) -> dict:
        return {"turns": [], "median_response_latency_s": None, "ok": True,
                "barge_ins": [{"stop_latency_s": stop, "duck_latency_s": 0.08}],
                "backchannels": [{"went_on": True, "replied": False, "hold_s": hold}]}  # fmt: skip

    result = bench_demo.compare({"model": [summary(0.2, 0.3), summary(0.24, None), summary(0.5, 0.5)]})
    figures = result["model"]
    assert (figures["barge_in_stop_median_s"], figures["barge_in_stop_p90_s"]) == (0.24, 0.5)
    assert (figures["backchannels"], figures["backchannels_whole"], figures["backchannel_hold_median_s"]) == (3, 3, 0.4)
    text = bench_demo.table(result)
    assert "stopped it 0.240 s (p90 0.500 s) after the wearer's onset" in text
    assert "3 of 3 answers played on whole, unanswered; held silent 0.400 s (median)" in text
