"""`sottovoce bench overlap`: its tally of verdicts (the run itself is a benchmark, not a test)."""

from __future__ import annotations

from sottovoce.tools.bench_overlap import Row, summary, table


def _row(name: str, kind: str, expected: str, words: str, combined: str) -> Row:
    return Row(name, "real", kind, expected, "", 0.5, "voiced", words, combined, "")


def test_the_summary_counts_false_interruptions_recall_and_unsure_per_judge():
    rows = [
        _row("cough", "nonverbal", "backchannel", "unsure", "backchannel"),
        _row("yes", "backchannel", "backchannel", "interruption", "interruption"),
        _row("right", "backchannel", "backchannel", "backchannel", "backchannel"),
        _row("wow", "backchannel", "backchannel", "backchannel", "backchannel"),
        _row("stop", "interruption", "interruption", "interruption", "interruption"),
        _row("start", "interruption", "interruption", "unsure", "interruption"),
        _row("no", "interruption", "interruption", "backchannel", "unsure"),
    ]
    got = summary(rows)
    assert got["words"] == {
        "backchannels": 4, "false_interruptions": 1, "false_interruption_rate": 0.25, "backchannels_unsure": 1,
        "interruptions": 3, "caught": 1, "command_recall": 0.333, "interruptions_unsure": 1, "interruptions_missed": 1,
    }  # fmt: skip
    assert got["words+sound"]["backchannels_unsure"] == 0 and got["words+sound"]["command_recall"] == 0.667
    assert got["words+sound"]["interruptions_missed"] == 0 and got["words+sound"]["interruptions_unsure"] == 1
    text = table(rows, got)
    assert "1/4" in text and "2/3" in text and "<- unsure" in text and "<- wrong" in text
