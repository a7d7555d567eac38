"""How `sottovoce demo` judges a translation run from its recordings: whispers of the other person,
the wearer said aloud, the other person's speech never stopping a whisper, whose voice each turn was.
The run's files are written through the same schema the programs write them with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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


def test_a_recordings_span_is_measured_from_its_first_word_not_its_silence(tmp_path):
    from sottovoce.firmware_sim.recorder import write_wav
    from sottovoce.firmware_sim.scenario import parse_scenario
    from sottovoce.proto.codec import SAMPLE_RATE

    rng = np.random.default_rng(1)
    silence = rng.standard_normal(SAMPLE_RATE) * 30  # a second of room noise
    silence[8000:8040] += 300  # a faint click in it
    word = np.sin(np.arange(SAMPLE_RATE // 2) * 2 * np.pi * 180 / SAMPLE_RATE) * 12000
    write_wav(tmp_path / "late.wav", np.round(np.concatenate([silence, word])).astype(np.int16))
    s = parse_scenario('[[utterance]]\nwav = "late.wav"\nat = 0\n[[utterance]]\nsay = "Hi."\nat = 2\n', "t.toml",
                       base_dir=tmp_path)  # fmt: skip
    assert demo.first_word_s(s.utterances[0]) == pytest.approx(1.0, abs=0.02)
    assert demo.first_word_s(s.utterances[1]) == 0.0  # synthesised speech is trimmed to its words
    real = load_scenario("translation_real", synthesize_audio=False).utterances
    assert 2.0 < demo.first_word_s(real[0]) < 2.6  # the FLEURS clip opens on 2.4 s of room
