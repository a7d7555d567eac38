"""`sottovoce bench voice`: the whispers lose their voicing and keep their words."""

from __future__ import annotations

import json

from sottovoce.tools import bench_voice


def test_the_whispers_are_unvoiced_and_the_lpc_whisper_keeps_the_words(tmp_path, capsys):
    out = tmp_path / "voice.json"
    assert bench_voice.main(["--json", str(out)]) == 0
    figures = {r["name"]: r for r in json.loads(out.read_text())}
    assert set(figures) == {"piper (plain)", "piper + lpc", "espeak +whisper"}
    plain, lpc = figures["piper (plain)"], figures["piper + lpc"]
    assert plain["voicing"] > 0.1
    assert lpc["voicing"] < 0.05 and figures["espeak +whisper"]["voicing"] < 0.05
    assert lpc["wer"] <= plain["wer"] + 0.1
    assert lpc["level_dbfs"] < plain["level_dbfs"] - 10  # whispered quietly
    assert "piper + lpc" in capsys.readouterr().out
