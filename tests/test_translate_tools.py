"""`sottovoce translate` and a fast subset of `sottovoce bench translate`, run as a user would."""

from __future__ import annotations

import json

import pytest

from sottovoce.firmware_sim.scenario import read_wav
from sottovoce.host.translation.pairs import offline_pairs
from sottovoce.host.whisper import voicing
from sottovoce.tools import bench_translate, translate
from sottovoce.tools.cli import main as cli

pytestmark = pytest.mark.skipif(("es", "en") not in offline_pairs(), reason="apertium-eng-spa not installed")
CLIP = bench_translate.DATA / "clips" / "fleurs_es_006.wav"  # a real speaker: "los luchadores compañeros de luna ..."


def test_translate_prints_the_translation_first_and_writes_its_audio(tmp_path, capsys):
    out = tmp_path / "out.wav"
    assert cli(["translate", "--from", "auto", "--to", "en", str(CLIP), "--audio", str(out)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "homage" in first.lower() or "tribute" in first.lower()
    assert voicing(read_wav(out)) > 0.2  # spoken in a normal voice


def test_translate_refuses_a_pair_that_does_not_exist(capsys):
    assert translate.main(["--from", "es", "--to", "de", str(CLIP)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "es->de" in err and "es->en" in err


def test_bench_reports_each_pair_and_path(tmp_path):
    report = tmp_path / "bench.json"
    assert bench_translate.main(["--limit", "1", "--json", str(report)]) == 0
    results = json.loads(report.read_text())
    assert {(r["pair"], r["path"]) for r in results} == {("es-en", "offline"), ("en-es", "offline")}
    for r in results:
        for key in ("chrf", "bleu", "asr_wer", "ear_voice_span_p50_s", "ear_voice_span_p90_s"):
            assert r[key] is not None, key
        assert 0 < r["chrf"] <= 100 and 0 <= r["asr_wer"] <= 1 and r["ear_voice_span_p50_s"] > 0
        # the span's parts: commit, then the translation prepared, then its wait for the ear
        assert r["commit_lag_p50_s"] is not None and r["prepare_p50_s"] >= 0 and r["ear_wait_p50_s"] >= 0


def test_a_translation_ready_while_the_one_before_plays_waits_for_it():
    run = bench_translate.Run("uno dos tres cuatro")
    run.segments = [
        bench_translate.Segment(0, "uno dos", "one two", committed_s=1.0, ready_s=1.2, audio_s=1.0),
        bench_translate.Segment(2, "tres cuatro", "three four", committed_s=1.5, ready_s=1.6, audio_s=0.8),
    ]
    onsets = [0.5, 0.8, 1.1, 1.4]
    spans = bench_translate.ear_voice_spans(run, onsets)
    # the first is heard as soon as it is ready; the second once the first has been heard (at 2.2 s)
    assert [tuple(round(x, 2) for x in s) for s in spans] == [(0.7, 0.5, 0.7), (1.1, 0.4, 0.5)]


def test_every_sentence_has_its_reference_and_audio():
    items = bench_translate.load_items()
    assert set(items) == {("es", "en"), ("en", "es")}
    for pair_items in items.values():
        kinds = {i.audio_kind for i in pair_items}
        assert kinds == {"synthetic", "real"}
        for i in pair_items:
            assert i.reference.strip() and i.text.strip()
            assert i.clip is None or (bench_translate.DATA / "clips" / i.clip).is_file()
