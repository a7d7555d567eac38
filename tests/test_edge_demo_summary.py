"""How `sottovoce demo` judges a run from its recordings: answers cut short, barge-ins, and saying
what failed. The run's files are written through the same schema the programs write them with."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sottovoce.proto import events as ev
from sottovoce.tools import bench_demo, demo

RATE = 16000
ASKED = ["What time is it?", "Set a timer for five minutes.", "Stop. What is twelve times seven?", "Thanks."]


def _run(out: Path, playback: list[ev.SimPlayback], buttons: list[ev.SimAction] = (), lengths=None,
         last_expects_reply: bool = True) -> Path:  # fmt: skip
    """A run of four turns (the third a barge-in into the second answer), answered by streams 1-4."""
    utterances = [
        ev.SimUtterance(0, ASKED[0], 0.5, 1.5, False, "at"),
        ev.SimUtterance(1, ASKED[1], 5.0, 6.5, False, "answer_end"),
        ev.SimUtterance(2, ASKED[2], 8.0, 10.0, True, "answer_start"),
        ev.SimUtterance(3, ASKED[3], 18.0, 19.0, False, "answer_end", last_expects_reply),
    ]
    ev.write_sim_events(out / "sim_events.json", ev.SimEvents(RATE, 25.0, utterances, playback, [], list(buttons), [],
                                                               [], {}))  # fmt: skip
    log = ev.EventLog(out / "edge_events.jsonl", clock=lambda: 0.0)
    for i, text in enumerate(ASKED, 1):
        log.write(ev.Transcript(i, text))
        log.write(ev.Turn("confirmed_end", i, 100 * i, reason="words"))
        log.write(ev.ResponseStarted(i, i, i, f"answer {i}"))
        log.write(ev.ResponseDone(i, (lengths or {}).get(i, 2 * RATE)))
    log.write(ev.EdgeStopped({"edge.malformed_control": 0}))
    log.close()
    return out


def _played(stream: int, start: float, seconds: float, ended: str) -> ev.SimPlayback:
    flushed = start + seconds if ended == "flushed" else None
    return ev.SimPlayback(stream, start, start + seconds, ended, flushed, round(seconds * RATE))


WHOLE = [
    _played(1, 2.0, 2.0, "finished"),
    _played(2, 7.0, 1.26, "flushed"),  # the barge-in at 8.0 s stopped it
    _played(3, 10.6, 2.0, "finished"),
    _played(4, 19.6, 0.7, "flushed"),  # a tap on the button at 20.0 s stopped it
]
TAP = [ev.SimAction("tap", 20.0, "at")]


def test_a_run_with_every_answer_whole_or_stopped_on_purpose_is_ok(tmp_path, capsys):
    summary = demo.analyse(_run(tmp_path, WHOLE, TAP), "model")
    assert summary["ok"] and summary["failures"] == [] and summary["truncated"] == []
    assert [t["response_latency_s"] for t in summary["turns"]] == [0.5, 0.5, 0.6, 0.6]
    assert [t["end_by"] for t in summary["turns"]] == ["words"] * 4
    assert summary["barge_ins"] == [{"utterance": 3, "stop_latency_s": 0.26, "stopped": True, "heard_s": 1.26,
                                     "duck_latency_s": 0.26, "downlink_duck_latency_s": None,
                                     "ear_drop_db": None}]  # fmt: skip
    demo.print_summary(summary)
    assert capsys.readouterr().out.rstrip().endswith("OK")


def test_an_answer_cut_short_is_not_an_answer(tmp_path, capsys):
    # At ATT MTU 23 the device got no playback reports through: every answer stopped after 0.4 s
    # and the next one superseded it. Nothing the wearer did stopped them.
    cut = [_played(1, 2.0, 0.4, "superseded"), *WHOLE[1:3], _played(4, 19.6, 0.4, "cut")]
    summary = demo.analyse(_run(tmp_path, cut), "model")
    assert summary["truncated"] == [1, 4] and not summary["ok"]
    first = summary["turns"][0]
    assert first["truncated"] and (first["heard_s"], first["answer_s"]) == (0.4, 2.0)
    assert summary["failures"] == [
        "answers cut short (stopped before their end with no barge-in or button) at turns [1, 4]"
    ]
    demo.print_summary(summary)
    out = capsys.readouterr().out
    assert "CUT SHORT: 0.40 s of 2.00 s heard" in out
    assert out.rstrip().endswith("FAILED: " + summary["failures"][0]) and "unanswered" not in out
    # the bench does not count them as answered either
    figures = bench_demo.compare({"model": [summary]})["model"]
    assert (figures["turns"], figures["answered"], figures["truncated"]) == (4, 2, 2)


def test_an_answer_that_played_to_its_end_but_lost_frames_was_cut_short(tmp_path):
    # the device reached the end the edge announced, but the edge sent less than the host made
    summary = demo.analyse(_run(tmp_path, WHOLE, TAP, lengths={3: 3 * RATE}), "model")
    assert summary["truncated"] == [3]


@pytest.mark.parametrize(
    ("second", "failure"),
    [
        (_played(2, 7.0, 2.0, "finished"), "barge-in at turn 3 did not stop the answer"),
        (_played(2, 7.0, 0.9, "finished"), "barge-in at turn 3: no answer was playing to interrupt"),
    ],
)
def test_a_failed_barge_in_says_so(tmp_path, capsys, second, failure):
    lengths = {2: second.samples}  # a short second answer, over before the barge-in
    summary = demo.analyse(_run(tmp_path, [WHOLE[0], second, *WHOLE[2:]], TAP, lengths), "model")
    assert summary["failures"] == [failure] and summary["unanswered"] == []
    demo.print_summary(summary)
    assert capsys.readouterr().out.rstrip().endswith(f"FAILED: {failure}")


def test_an_unanswered_turn_is_named(tmp_path):
    summary = demo.analyse(_run(tmp_path, [w for w in WHOLE if w.stream != 4], TAP), "model")
    assert summary["failures"] == ["unanswered turns [4]"]


def test_words_that_only_stop_the_assistant_want_silence_not_a_reply(tmp_path):
    silent = demo.analyse(_run(tmp_path, [w for w in WHOLE if w.stream != 4], TAP, last_expects_reply=False), "model")
    assert silent["ok"] and silent["unanswered"] == []
    replied = demo.analyse(_run(tmp_path, WHOLE, TAP, last_expects_reply=False), "model")
    assert replied["failures"] == ["turn 4 only stopped the assistant, yet got a reply: 'answer 4'"]


def test_a_run_whose_files_are_off_the_schema_is_a_demo_error(tmp_path):
    _run(tmp_path, WHOLE, TAP)
    with (tmp_path / "edge_events.jsonl").open("a") as f:
        f.write('{"t": 1.0, "event": "turn", "kind": "resumed"}\n')
    with pytest.raises(demo.DemoError, match=r"edge_events\.jsonl:18: Turn: missing field"):
        demo.analyse(tmp_path, "model")


def test_the_demos_options_come_from_its_config():
    config = demo.DemoConfig()
    assert dataclasses.replace(config, turn="silence").turn == "silence"
    assert bench_demo.BenchDemoConfig().timeout == config.timeout and bench_demo.POLICIES[0] == config.turn


def test_the_summary_shows_the_whole_text_of_an_answer_once_it_was_sent(tmp_path):
    # A model's answer starts with only its first clause known; DONE brings the whole of it.
    run = _run(tmp_path, WHOLE, TAP)
    written = ev.read_events(run / "edge_events.jsonl")
    log = ev.EventLog(run / "edge_events.jsonl", clock=lambda: 0.0)
    for event in written:
        if isinstance(event, ev.ResponseDone) and event.response_id == 2:
            event = dataclasses.replace(event, text="answer 2, and the rest of it.")
        log.write(event)
    log.close()
    replies = [t["reply_text"] for t in demo.analyse(run, "model")["turns"]]
    assert replies == ["answer 1", "answer 2, and the rest of it.", "answer 3", "answer 4"]
