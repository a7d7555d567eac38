"""How `sottovoce demo` judges a translation run from its recordings: whispers of the other person,
the wearer said aloud, the other person's speech never stopping a whisper, whose voice each turn was.
The run's files are written through the same schema the programs write them with."""

from __future__ import annotations

from pathlib import Path

from sottovoce.firmware_sim.scenario import load_scenario
from sottovoce.proto import events as ev
from sottovoce.tools import demo

RATE = 16000
LEAD_IN = 0.5  # the translation scenario's
SAID = [("other", "es", "¿Dónde está la estación?", 1.0, 4.0), ("wearer", None, "Two streets from here.", 8.0, 9.5),
        ("other", "es", "Gracias.", 15.0, 16.0)]  # fmt: skip


def _seq(t: float) -> int:
    return round((t + LEAD_IN) * 1000 / 20)


def _played(stream: int, start: float, seconds: float, ended: str = "finished") -> ev.SimPlayback:
    flushed = start + seconds if ended == "flushed" else None
    return ev.SimPlayback(stream, start, start + seconds, ended, flushed, round(seconds * RATE))


def _run(out: Path, ear: list[ev.SimPlayback], outward: list[ev.SimPlayback], speakers=("other", "wearer", "other"),
         ) -> dict:  # fmt: skip
    utterances = [ev.SimUtterance(i, text, start, end, False, "at", True, who, lang)
                  for i, (who, lang, text, start, end) in enumerate(SAID)]  # fmt: skip
    ev.write_sim_events(out / "sim_events.json", ev.SimEvents(RATE, 20.0, utterances, ear, [], [], [], [], {},
                                                               outward))  # fmt: skip
    log = ev.EventLog(out / "edge_events.jsonl", clock=lambda: 0.0)
    for turn, ((_, _, _, start, end), who) in enumerate(zip(SAID, speakers, strict=True), 1):
        log.write(ev.Turn("speech_start", turn, _seq(start + 0.1), speaker=who))
        log.write(ev.Turn("confirmed_end", turn, _seq(end + 0.3), reason="model", speaker=who))
    for p in ear:
        log.write(ev.ResponseStarted(p.stream, 1, p.stream, f"whisper {p.stream}"))
    for p in outward:
        log.write(ev.ResponseStarted(100 + p.stream, 2, p.stream, "Dos calles.", "outward"))
    log.close()
    return demo.analyse_translation(out, load_scenario("translation", synthesize_audio=False))


GOOD_EAR = [_played(1, 2.5, 2.0), _played(2, 16.2, 1.0)]  # the first begins while they still speak
GOOD_OUTWARD = [_played(0x81, 10.0, 2.0)]


def test_a_good_run_passes_with_its_transcript(tmp_path, capsys):
    summary = _run(tmp_path, GOOD_EAR, GOOD_OUTWARD)
    assert summary["ok"], summary["failures"]
    lines = summary["transcript"]
    assert [line["ear_voice_span_s"] for line in lines] == [1.5, None, 1.2]
    assert [h["output"] for h in lines[1]["heard"]] == ["outward"] and lines[1]["heard"][0]["text"] == "Dos calles."
    assert summary["attribution"] == {"turns": 3, "correct": 3} and summary["median_ear_voice_span_s"] == 1.35
    demo.print_summary(summary)
    printed = capsys.readouterr().out
    assert "said aloud outward: Dos calles." in printed and "whispered in the ear: whisper 1" in printed
    assert printed.rstrip().endswith("OK")


def test_what_fails_is_said():
    import tempfile

    cases = {
        "was not whispered": ([GOOD_EAR[0]], GOOD_OUTWARD, ("other", "wearer", "other")),
        "was not said aloud": (GOOD_EAR, [], ("other", "wearer", "other")),
        "stopped the whisper": ([_played(1, 2.5, 1.0, "flushed"), GOOD_EAR[1]], GOOD_OUTWARD,
                                ("other", "wearer", "other")),
        "1 of 3 turns attributed to the wrong voice": (GOOD_EAR, GOOD_OUTWARD, ("other", "other", "other")),
    }  # fmt: skip
    for expected, (ear, outward, speakers) in cases.items():
        with tempfile.TemporaryDirectory() as tmp:
            summary = _run(Path(tmp), ear, outward, speakers)
        assert not summary["ok"] and any(expected in f for f in summary["failures"]), (expected, summary["failures"])
