import json

from sottovoce.tools import bench_turn


def test_bench_turn_writes_the_documented_json(tmp_path, capsys):
    out = tmp_path / "turn.json"
    assert bench_turn.main(["--turns", "6", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    model = result["model"]
    for key in ("false_cutoff_at_300ms", "median_latency_at_5pct_s", "us_per_frame", "size_bytes"):
        assert key in model
    assert model["size_bytes"] > 1000 and model["us_per_frame"] > 0
    for rule in ("silence_200ms", "silence_500ms", "silence_800ms"):
        assert {"false_cutoff_at_300ms", "median_latency_at_5pct_s"} <= set(result[rule])
        assert 0.0 <= result[rule]["false_cutoff_at_300ms"] <= 1.0
    # a 200 ms rule answers sooner than an 800 ms rule on the very same turns
    assert result["silence_200ms"]["median_latency_s"] < result["silence_800ms"]["median_latency_s"]
    assert result["held_out"]["turns"] == 6
    table = capsys.readouterr().out
    assert "silence 500 ms" in table and "model" in table


def test_bench_turn_rejects_bad_arguments(capsys):
    import pytest

    with pytest.raises(SystemExit):
        bench_turn.main(["--turns", "0"])
