"""`sottovoce bench demo`: the demo conversation with the learned end-of-turn policy against the
500 ms silence rule, in the same run.

Each run plays the scenario through the whole stack (`sottovoce demo`) once per policy, in
alternating order so that a machine growing busier or quieter does not favour either. Measured
where the wearer hears it (the simulator's recording): the response latency of every turn, the
turns cut off mid-sentence (an answer began before the wearer had finished), how fast a
barge-in ducks the answer (>= 20 dB down) and stops it (its last audible sample), and for speech
over an answer that did not interrupt it, whether the answer played on whole and how long it
stood held. A single run says
little: the model's latency is bimodal (quick when it is sure, the fallback when it is not) and the
host's timing varies by tens of milliseconds, so the figures pool every turn of every run.

    sottovoce bench demo [--runs 3] [--scenario demo] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sottovoce.edge.end_rules import TURN_POLICIES
from sottovoce.tools import demo
from sottovoce.tools.options import add_logging_option, add_options, config_from, fail, option, setup_logging

POLICIES = TURN_POLICIES


@dataclass
class BenchDemoConfig:
    runs: int = option(3, "runs per policy")
    scenario: str = option(demo.DemoConfig.scenario, "scenario name or TOML path")
    out: Path = option(Path("out/bench_demo"), "each run's recordings and logs", metavar="DIR")
    timeout: float = option(demo.DemoConfig.timeout, "give up on a run after this many seconds")
    json: Path | None = option(None, "also write the figures here", type=Path, metavar="FILE")


def _latencies(turns: list[dict]) -> list[float]:
    return [t["response_latency_s"] for t in turns if t["response_latency_s"] is not None]


def _ends_by(turns: list[dict]) -> dict[str, int]:
    return dict(Counter(t.get("end_by") or "unanswered" for t in turns))


def _p90(seconds: list[float]) -> float:
    # the 90th percentile shows the turns left to the fallback, which the median hides
    return sorted(seconds)[min(len(seconds) - 1, int(0.9 * len(seconds)))]


def _policy_figures(summaries: list[dict]) -> dict[str, Any]:
    turns = [t for s in summaries for t in s["turns"]]
    latencies = _latencies(turns)
    stops = [b["stop_latency_s"] for s in summaries for b in s["barge_ins"] if b["stop_latency_s"] is not None]
    ducks = [b["duck_latency_s"] for s in summaries for b in s["barge_ins"] if b.get("duck_latency_s") is not None]
    truncated = sum(bool(t.get("truncated")) for t in turns)
    backchannels = [c for s in summaries for c in s.get("backchannels", [])]
    holds = [c["hold_s"] for c in backchannels if c.get("hold_s") is not None]
    return {
        "runs": len(summaries),
        "turns": len(turns),
        "answered": len(latencies) - truncated,  # an answer cut short does not answer the turn
        "truncated": truncated,
        "cut_off": sum(bool(t.get("cut_off")) for t in turns),
        "median_response_latency_s": demo.rounded_stat(statistics.median, latencies),
        "mean_response_latency_s": demo.rounded_stat(statistics.fmean, latencies),
        "p90_response_latency_s": demo.rounded_stat(_p90, latencies),
        "run_medians_s": [s["median_response_latency_s"] for s in summaries],
        "ends_by": _ends_by(turns),
        "barge_in_stop_median_s": demo.rounded_stat(statistics.median, stops),
        "barge_in_stop_p90_s": demo.rounded_stat(_p90, stops),
        "backchannels": len(backchannels),
        "backchannels_whole": sum(bool(c["went_on"]) and not c["replied"] for c in backchannels),
        "backchannel_hold_median_s": demo.rounded_stat(statistics.median, holds),
        "barge_in_duck_median_s": demo.rounded_stat(statistics.median, ducks),
        "barge_in_duck_p90_s": demo.rounded_stat(_p90, ducks),
    }


def compare(summaries: dict[str, list[dict]]) -> dict[str, Any]:
    """The bench's figures from the demo summaries of each policy (``demo.analyse`` output)."""
    result: dict[str, Any] = {policy: _policy_figures(runs) for policy, runs in summaries.items()}
    per_turn = []
    first = next(iter(summaries.values()))[0]
    for i, turn in enumerate(first["turns"]):
        row: dict[str, Any] = {"index": turn["index"], "text": turn["user_text"]}
        for policy, runs in summaries.items():
            same = [s["turns"][i] for s in runs]  # this turn in every run
            row[policy] = {
                "median_response_latency_s": demo.rounded_stat(statistics.median, _latencies(same)),
                "cut_off": sum(bool(t.get("cut_off")) for t in same),
                "ends_by": _ends_by(same),
            }
        per_turn.append(row)
    result["per_turn"] = per_turn
    return result


def _s(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f} s"


def table(result: dict[str, Any]) -> str:
    policies = [p for p in POLICIES if p in result]
    lines = [
        f"{'policy':8} {'runs':>4} {'answered':>9} {'cut off':>8} {'median':>9} {'mean':>9} {'p90':>9}  run medians",
        "-" * 86,
    ]
    for p in policies:
        r = result[p]
        medians = " ".join(_s(m) for m in r["run_medians_s"])
        lines.append(
            f"{p:8} {r['runs']:>4} {r['answered']:>4}/{r['turns']:<4} {r['cut_off']:>8} "
            f"{_s(r['median_response_latency_s']):>9} {_s(r['mean_response_latency_s']):>9} "
            f"{_s(r['p90_response_latency_s']):>9}  {medians}"
        )
    lines.append(f"per turn, median response latency ({' / '.join(policies)}):")
    for row in result["per_turn"]:
        text = row["text"] if len(row["text"]) <= 40 else row["text"][:39] + "…"
        cells = " / ".join(_s(row[p]["median_response_latency_s"]) for p in policies)
        cuts = ", ".join(f"{p} {row[p]['cut_off']}/{result[p]['runs']}" for p in policies if row[p]["cut_off"])
        lines.append(f"{row['index']:>3} {text:40} {cells}" + (f"  cut off: {cuts}" if cuts else ""))
    for p in policies:
        ends = ", ".join(f"{k} {v}" for k, v in sorted(result[p]["ends_by"].items(), key=lambda kv: -kv[1]))
        lines.append(f"{p}: turn ends by {ends}; barge-in ducked the answer {_s(result[p]['barge_in_duck_median_s'])}"
                     f" (p90 {_s(result[p]['barge_in_duck_p90_s'])}) and stopped it "
                     f"{_s(result[p]['barge_in_stop_median_s'])} (p90 {_s(result[p].get('barge_in_stop_p90_s'))})"
                     " after the wearer's onset (median)")  # fmt: skip
        if result[p].get("backchannels"):
            lines.append(f"{p}: speech over answers that did not interrupt: {result[p]['backchannels_whole']} of "
                         f"{result[p]['backchannels']} answers played on whole, unanswered; held silent "
                         f"{_s(result[p]['backchannel_hold_median_s'])} (median)")  # fmt: skip
    lines.append("response latency: end of the wearer's utterance to the answer's first sound at the ear")
    return "\n".join(lines)


def run(runs: int, scenario: str, out: Path, timeout: float) -> dict[str, list[dict]]:
    """Every run of the scenario with each policy (alternating which goes first)."""
    summaries: dict[str, list[dict]] = {p: [] for p in POLICIES}
    for i in range(runs):
        for policy in POLICIES if i % 2 == 0 else POLICIES[::-1]:
            config = demo.DemoConfig(out=out / f"{policy}-{i + 1}", scenario=scenario, turn=policy, timeout=timeout)
            summary = asyncio.run(demo.run_demo(config))
            summaries[policy].append(summary)
            print(f"run {i + 1}, {policy}: median {_s(summary['median_response_latency_s'])}, mean "
                  f"{_s(summary['mean_response_latency_s'])}, cut off {summary['cut_offs'] or 'none'}"
                  + ("" if summary["ok"] else f" (FAILED: {'; '.join(summary['failures'])})"), flush=True)  # fmt: skip
    return summaries


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sottovoce bench demo", description=__doc__.split("\n\n")[0])
    add_options(ap, BenchDemoConfig)
    add_logging_option(ap)
    args = ap.parse_args(argv)
    config = config_from(BenchDemoConfig, args)
    if config.runs < 1:
        ap.error("--runs must be at least 1")
    setup_logging("bench", args.log_level)
    try:
        summaries = run(config.runs, config.scenario, config.out, config.timeout)
    except demo.DemoError as exc:
        return fail("bench demo", str(exc))
    result = compare(summaries)
    print(table(result))
    if config.json:
        config.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(s["ok"] for runs in summaries.values() for s in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
