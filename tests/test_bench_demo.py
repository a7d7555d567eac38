"""`sottovoce bench demo`: how the demo summaries of both policies become the bench's figures."""

from __future__ import annotations

import pytest

from sottovoce.tools import bench_demo, cli


def _summary(latencies: list[float | None], cut: tuple[int, ...] = (), ends: str = "words") -> dict:
    turns = [
        {
            "index": i + 1,
            "user_text": f"request {i + 1}",
            "response_latency_s": x,
            "cut_off": i + 1 in cut,
            "end_by": ends if x is not None else None,
        }
        for i, x in enumerate(latencies)
    ]
    done = sorted(x for x in latencies if x is not None)
    return {
        "ok": None not in latencies,
        "turns": turns,
        "barge_ins": [{"stop_latency_s": 0.26}],
        "cut_offs": list(cut),
        "median_response_latency_s": done[len(done) // 2],
    }


def test_figures_pool_every_turn_of_every_run_and_count_cut_offs():
    result = bench_demo.compare(
        {
            "model": [_summary([0.3, 0.5, 1.7]), _summary([0.4, 0.5, 0.6])],
            "silence": [
                _summary([0.7, 0.6, 0.7], cut=(3,), ends="silence"),
                _summary([0.7, 0.7, None], ends="silence"),
            ],
        }
    )
    model, silence = result["model"], result["silence"]
    assert model["answered"] == model["turns"] == 6 and model["cut_off"] == 0
    assert model["median_response_latency_s"] == 0.5
    assert model["mean_response_latency_s"] == pytest.approx(4.0 / 6, abs=1e-3)
    assert model["p90_response_latency_s"] == 1.7  # the fallback turn the median hides
    assert model["run_medians_s"] == [0.5, 0.5] and model["ends_by"] == {"words": 6}
    assert silence["answered"] == 5 and silence["turns"] == 6 and silence["cut_off"] == 1
    assert silence["ends_by"] == {"silence": 5, "unanswered": 1}
    third = result["per_turn"][2]
    assert third["text"] == "request 3"
    assert third["model"]["median_response_latency_s"] == pytest.approx(1.15)
    assert third["silence"] == {
        "median_response_latency_s": 0.7,
        "cut_off": 1,
        "ends_by": {"silence": 1, "unanswered": 1},
    }

    text = bench_demo.table(result)
    row = next(line for line in text.splitlines() if line.startswith("  3 request 3"))
    assert row.endswith("cut off: silence 1/2")  # the third turn's row names who cut it off
    assert "model: turn ends by words 6" in text


def test_the_bench_is_a_sottovoce_bench_command(capsys):
    module, _ = cli.BENCHES["demo"]
    assert module == "sottovoce.tools.bench_demo"
    with pytest.raises(SystemExit):
        bench_demo.main(["--runs", "0"])
    capsys.readouterr()
    with pytest.raises(SystemExit) as help_exit:  # the bench's own options, not the bench list
        cli.main(["bench", "demo", "--help"])
    assert help_exit.value.code == 0 and "--runs" in capsys.readouterr().out
    assert cli.main(["bench", "--help"]) == 0 and "demo" in capsys.readouterr().out
    assert cli.main(["bench"]) == 2 and "turn" in capsys.readouterr().err
