"""`sottovoce bench duplex`: full-duplex behaviour over a suite of short conversations, each run
through the whole stack (simulator, edge, host: `sottovoce demo`), one fresh stack per scenario,
one at a time (latencies are measured, so no two stacks share the CPU).

    sottovoce bench duplex [--json FILE] [--only CATEGORY ...] [--fast] [--out DIR]

The scenarios are data (``tools/duplex_suite.py``). Measured where the wearer hears it, on the
simulator's recording (the demo's analysis: ``tools/demo.py``), per category:

- smooth: a complete request (synthetic voices and real recordings). Takeover (TOR): the system
  takes the floor after the wearer ends: an answer of at least ``TAKEOVER_S`` at the ear or more
  than ``TAKEOVER_WORDS`` words. Latency: the wearer's end -> the answer's first sample at the ear.
  ``smooth: {tor, latency_p50_s, latency_p90_s}``.
- pause: a request with a pause mid-sentence (0.6-1.5 s synthetic; the short ones of real
  recordings). TOR here is the share where the system took the floor inside the pause (an answer
  began before the wearer had finished): lower is better. ``pause: {tor}``.
- interruption: the wearer speaks over the (long) answer, with content ("Wait, what about
  tomorrow?"; "What about tomorrow?" and a real read question, with no command in them) or a short
  command ("Stop.", "Wait.", "No.", real "stop" and "no"). Taken over: the
  answer stopped and, for content, the new request was answered. Duck latency: the wearer's onset
  -> the answer 20 dB down at the ear; stop latency: onset -> the answer's last sample.
  ``interruption: {tor, duck_latency_p50_s, duck_latency_p90_s, stop_latency_p50_s, stop_latency_p90_s}``.
- correction: a request, a correction over its answer, then a question that shows the result
  ("Set a timer for five minutes." -> "No, ten minutes." -> "What timers do I have?"). Pivoted:
  the correction's reply names the new value, and the timers then listed are exactly one, naming
  the new value and not the old. ``correction: {pivoted_rate}``.
- backchannel: "Mm-hm.", "Yeah.", drawn-out and doubled ones ("Okay, okay."), real "yes",
  "right" (and any nonverbal recordings) over the long answer, not meant to stop it. False stop:
  the answer did not play on to its end. Reply:
  the backchannel got an answer of its own. ``backchannel: {false_stop_rate, replies}``.
- echo: the long answer with the speaker's echo at the mic -12..+12 dB relative to the wearer
  (linear, and bone-conducted at 0 and +12), and one double talk (an interruption at +6 dB).
  Self-interruption: an answer ducked or stopped with no wearer speech starting over it, or a turn
  the edge opened beyond the wearer's utterances (the larger of the two per scenario). ERLE: the
  edge's ``echo.erle_db`` counter (median over the category, and per scenario).
  ``echo: {self_interruptions, erle_db}``.
- noise: smooth requests under street, babble and wind beds (``firmware_sim/noise_beds.py``),
  measured as smooth, plus false turns (turns the edge opened beyond the wearer's utterances).

Rates are over the scenarios that ran; a scenario whose stack failed is listed under ``errors``
and counts in none of them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sottovoce.proto import events
from sottovoce.tools import demo
from sottovoce.tools.duplex_suite import CATEGORIES, Case, Correction, select
from sottovoce.tools.options import add_logging_option, add_options, config_from, option, setup_logging

log = logging.getLogger("sottovoce.bench.duplex")

TAKEOVER_S = 1.0  # Full-Duplex-Bench's takeover: at least this much speech ...
TAKEOVER_WORDS = 3  # ... or more words than this
ECHO_COUNTER = "echo.erle_db"


@dataclass
class BenchDuplexConfig:
    out: Path = option(Path("out/bench_duplex"), "each scenario's recordings and logs", metavar="DIR")
    json: Path | None = option(None, "also write the figures here", type=Path, metavar="FILE")
    fast: bool = option(False, "only a subset of four scenarios: smooth, interruption, backchannel, echo")
    timeout: float = option(120.0, "give up on a scenario after this many seconds")
    only: tuple[str, ...] = ()  # categories to run (default: all); --only


# --- metrics ------------------------------------------------------------------------------------


def takes_floor(turn: dict[str, Any]) -> bool:
    """The system took the floor after this turn: an answer of ``TAKEOVER_S`` or more at the ear,
    or of more than ``TAKEOVER_WORDS`` words (a turn of the demo's summary)."""
    if turn.get("response_latency_s") is None:
        return False
    heard = turn.get("heard_s") or 0.0
    return heard >= TAKEOVER_S or len((turn.get("reply_text") or "").split()) > TAKEOVER_WORDS


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100, linear between ranks) to the millisecond; None for no values."""
    return round(float(np.percentile(values, q)), 3) if values else None


def rate(flags: list[bool]) -> float | None:
    """The share of true ``flags``; None for none."""
    return round(sum(flags) / len(flags), 3) if flags else None


def listed_items(listing: str) -> list[str]:
    """The items of the assistant's "You have A; B; and C." (none for "There are no timers")."""
    m = re.match(r"\s*you have (.*?)\.?\s*$", listing, re.IGNORECASE)
    if m is None:
        return []
    return [item.strip() for item in re.split(r";\s*(?:and\s+)?", m.group(1)) if item.strip()]


def _names(text: str, value: str) -> bool:
    return re.search(rf"\b{re.escape(value)}s?\b", text, re.IGNORECASE) is not None


def pivoted(correction_reply: str | None, listing: str | None, expected: Correction) -> bool:
    """The correction's reply names the new value, and the listing after it holds exactly one
    item, naming the new value and not the old."""
    if not correction_reply or not listing or not _names(correction_reply, expected.new):
        return False
    items = listed_items(listing)
    return len(items) == 1 and _names(items[0], expected.new) and not _names(items[0], expected.old)


def extra_turns(out: Path) -> int:
    """Turns the edge opened beyond the wearer's utterances (its event log against the simulator's)."""
    sim = events.read_sim_events(out / "sim_events.json")
    started = {e.turn_id for e in events.of_type(events.read_events(out / "edge_events.jsonl"), events.Turn)
               if e.kind == "speech_start"}  # fmt: skip
    return max(0, len(started) - len(sim.utterances))


def self_interruptions(out: Path) -> int:
    """Answers ducked or stopped with no wearer speech starting over them, or turns the edge opened
    beyond the wearer's utterances, whichever is more (one echo can do both)."""
    sim = events.read_sim_events(out / "sim_events.json")
    edge = demo.EdgeLog.read(out / "edge_events.jsonl")
    hit = 0
    for p in sim.playback:
        if not edge.is_answer(p) or any(p.start_s <= u.start_s <= p.end_s for u in sim.utterances):
            continue
        if any(d.depth_db > 0 for d in p.ducks) or p.ended != "finished":
            hit += 1
    return max(hit, extra_turns(out))


# --- one scenario -------------------------------------------------------------------------------


@dataclass
class Row:
    """One scenario's outcome; the fields its category does not measure stay None."""

    category: str
    name: str
    outcome: str
    wall_s: float
    tags: list[str] = field(default_factory=list)
    kind: str = ""  # interruption: content | command; echo: double_talk
    demo_ok: bool | None = None  # the demo's own verdict
    took_floor: bool | None = None  # smooth, noise: answered; pause: cut in inside the pause; others: taken over
    latency_s: float | None = None
    duck_latency_s: float | None = None
    stop_latency_s: float | None = None
    stopped: bool | None = None
    went_on: bool | None = None
    replied: bool | None = None
    pivoted: bool | None = None
    self_interruptions: int | None = None
    false_turns: int | None = None
    erle_db: int | None = None
    replies: list[str] = field(default_factory=list)  # what the assistant said, per wearer turn
    error: str | None = None


def measure(case: Case, summary: dict[str, Any], out: Path, wall_s: float) -> Row:
    """``case``'s row from its demo summary and run folder ``out``."""
    row = Row(case.category, case.name, "", round(wall_s, 1), list(case.tags), case.kind, summary["ok"])
    turns = summary["turns"]
    row.replies = [t.get("reply_text") or "-" for t in turns]
    erle = (summary.get("edge_counters") or {}).get(ECHO_COUNTER)
    first = turns[0] if turns else {}
    if case.category in ("smooth", "noise"):
        row.took_floor = takes_floor(first)
        row.latency_s = first.get("response_latency_s")
        row.outcome = "answered" if row.took_floor else "NOT answered"
        if first.get("cut_off"):
            row.outcome += ", cut off"
        if case.category == "noise":
            row.false_turns = extra_turns(out)
    elif case.category == "pause":
        row.took_floor = bool(first.get("cut_off"))
        row.latency_s = first.get("response_latency_s")
        row.outcome = "CUT IN at the pause" if row.took_floor else "waited"
    elif case.category in ("interruption", "correction") or case.kind == "double_talk":
        barge = summary["barge_ins"][0] if summary["barge_ins"] else {}
        row.stopped = bool(barge.get("stopped"))
        row.duck_latency_s = barge.get("duck_latency_s")
        row.stop_latency_s = barge.get("stop_latency_s") if row.stopped else None
        new_turn = turns[1] if len(turns) > 1 else {}
        answered = new_turn.get("response_latency_s") is not None
        row.took_floor = row.stopped and (case.kind == "command" or answered)
        if barge.get("stop_latency_s") is None:
            row.outcome = "no answer playing"
        else:
            row.outcome = ("stopped" if row.stopped else "NOT stopped") + (
                "" if case.kind == "command" else (", answered" if answered else ", NOT answered")
            )
        if case.correction is not None:
            fix, listing = (turns[1].get("reply_text") if len(turns) > 1 else None,
                            turns[2].get("reply_text") if len(turns) > 2 else None)  # fmt: skip
            row.pivoted = pivoted(fix, listing, case.correction)
            row.outcome = ("pivoted" if row.pivoted else "NOT pivoted") + f" ({row.outcome})"
    elif case.category == "backchannel":
        if summary["backchannels"]:
            bc = summary["backchannels"][0]
            row.went_on, row.replied, row.duck_latency_s = bc["went_on"], bc["replied"], bc.get("duck_latency_s")
            row.outcome = ("went on" if row.went_on else "STOPPED") + (", REPLIED" if row.replied else "")
        else:
            row.outcome = "no answer playing"
    if case.category == "echo":
        row.self_interruptions = self_interruptions(out)
        row.erle_db = erle
        state = f"{row.self_interruptions} self-interruptions, ERLE {erle} dB"
        row.outcome = state if case.kind != "double_talk" else f"{row.outcome}; {state}"
    return row


def run_case(case: Case, out: Path, timeout: float) -> Row:
    folder = out / case.name
    path = case.write(folder)
    started = time.monotonic()
    try:
        summary = asyncio.run(demo.run_demo(demo.DemoConfig(out=folder, scenario=str(path), timeout=timeout)))
    except demo.DemoError as exc:
        wall = time.monotonic() - started
        error = str(exc).splitlines()[0]
        return Row(case.category, case.name, "ERROR", round(wall, 1), list(case.tags), case.kind, error=error)
    return measure(case, summary, folder, time.monotonic() - started)


# --- the figures --------------------------------------------------------------------------------


def _values(rows: list[Row], key: str) -> list[Any]:
    return [getattr(r, key) for r in rows if getattr(r, key) is not None]


def _floor(rows: list[Row]) -> dict[str, Any]:
    latencies = [r.latency_s for r in rows if r.took_floor and r.latency_s is not None]
    by_voice = {tag: rate([bool(r.took_floor) for r in rows if tag in r.tags]) for tag in ("synthetic", "real")}
    return {
        "tor": rate([bool(r.took_floor) for r in rows]),
        "latency_p50_s": percentile(latencies, 50),
        "latency_p90_s": percentile(latencies, 90),
        "latency_mean_s": demo.rounded_stat(statistics.fmean, latencies),
        "tor_synthetic": by_voice["synthetic"],
        "tor_real": by_voice["real"],
    }


def figures(rows: list[Row]) -> dict[str, Any]:
    """Per category, the issue's measures, from the scenario rows (those that ran)."""
    ran = [r for r in rows if r.error is None]
    of = {c: [r for r in ran if r.category == c] for c in CATEGORIES}
    result: dict[str, Any] = {}
    if rows_ := of["smooth"]:
        result["smooth"] = {"scenarios": len(rows_), **_floor(rows_)}
    if rows_ := of["pause"]:
        latencies = _values(rows_, "latency_s")
        result["pause"] = {"scenarios": len(rows_), "tor": rate([bool(r.took_floor) for r in rows_]),
                           "latency_p50_s": percentile(latencies, 50)}  # fmt: skip
    if rows_ := of["interruption"]:
        ducks, stops = _values(rows_, "duck_latency_s"), _values(rows_, "stop_latency_s")
        result["interruption"] = {
            "scenarios": len(rows_),
            "tor": rate([bool(r.took_floor) for r in rows_]),
            "tor_content": rate([bool(r.took_floor) for r in rows_ if r.kind == "content"]),
            "tor_commands": rate([bool(r.took_floor) for r in rows_ if r.kind == "command"]),
            "duck_latency_p50_s": percentile(ducks, 50),
            "duck_latency_p90_s": percentile(ducks, 90),
            "stop_latency_p50_s": percentile(stops, 50),
            "stop_latency_p90_s": percentile(stops, 90),
        }
    if rows_ := of["correction"]:
        result["correction"] = {"scenarios": len(rows_), "pivoted_rate": rate([bool(r.pivoted) for r in rows_]),
                                "stopped_rate": rate([bool(r.stopped) for r in rows_])}  # fmt: skip
    if rows_ := of["backchannel"]:
        measured = [r for r in rows_ if r.went_on is not None]
        result["backchannel"] = {
            "scenarios": len(rows_),
            "measured": len(measured),  # the others found no answer playing at their onset
            "false_stop_rate": rate([not r.went_on for r in measured]),
            "false_stops": sum(not r.went_on for r in measured),
            "replies": sum(bool(r.replied) for r in measured),
            "duck_latency_p50_s": percentile(_values(measured, "duck_latency_s"), 50),
        }
    if rows_ := of["echo"]:
        erle = _values(rows_, "erle_db")
        double = [r for r in rows_ if r.kind == "double_talk"]
        result["echo"] = {
            "scenarios": len(rows_),
            "self_interruptions": sum(_values(rows_, "self_interruptions")),
            "erle_db": round(statistics.median(erle), 1) if erle else None,
            "erle_db_min": min(erle) if erle else None,
            "by_scenario": {r.name: {"self_interruptions": r.self_interruptions, "erle_db": r.erle_db} for r in rows_},
            "double_talk_heard": rate([bool(r.took_floor) for r in double]),
        }
    if rows_ := of["noise"]:
        beds = sorted({r.name.split("_")[1] for r in rows_})
        result["noise"] = {
            "scenarios": len(rows_),
            **_floor(rows_),
            "false_turns": sum(_values(rows_, "false_turns")),
            "tor_by_bed": {b: rate([bool(r.took_floor) for r in rows_ if r.name.split("_")[1] == b]) for b in beds},
        }
    return result


def report(rows: list[Row], wall_s: float) -> dict[str, Any]:
    """The JSON: per category figures, every scenario's row and the totals."""
    errors = [r.name for r in rows if r.error is not None]
    return {
        **figures(rows),
        "scenarios": [asdict(r) for r in rows],
        "totals": {
            "scenarios": len(rows),
            "ran": len(rows) - len(errors),
            "errors": errors,
            "demo_failures": sum(r.demo_ok is False for r in rows),
            "wall_s": round(wall_s, 1),
        },
    }


# The targets: (category, key, comparison, bound); the smooth and pause figures are reported only.
TARGETS = [
    ("echo", "self_interruptions", "<=", 0),
    ("backchannel", "false_stop_rate", "<=", 0.10),
    ("backchannel", "replies", "<=", 0),
    ("interruption", "tor", ">=", 0.98),
    ("interruption", "duck_latency_p50_s", "<=", 0.100),
    ("interruption", "duck_latency_p90_s", "<=", 0.150),
    ("interruption", "stop_latency_p50_s", "<=", 0.250),
    ("correction", "pivoted_rate", ">=", 0.90),
]


def targets(result: dict[str, Any]) -> list[tuple[str, Any, bool]]:
    """Each target the result measures: (its statement, the figure, met)."""
    out = []
    for category, key, op, bound in TARGETS:
        value = result.get(category, {}).get(key)
        if value is None:
            continue
        out.append((f"{category}.{key} {op} {bound}", value, value <= bound if op == "<=" else value >= bound))
    return out


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def table(result: dict[str, Any]) -> str:
    lines = [f"{'scenario':44} {'wall':>6}  outcome (latency / duck / stop, s)", "-" * 100]
    for r in result["scenarios"]:
        times = " / ".join(_fmt(r[k]) for k in ("latency_s", "duck_latency_s", "stop_latency_s"))
        detail = r["error"] if r["error"] else r["outcome"]
        lines.append(f"{r['category'][:5]} {r['name'][:38]:38} {r['wall_s']:5.0f}s  {detail}  [{times}]")
    lines.append("")
    for category in CATEGORIES:
        if category in result:
            figures_ = ", ".join(f"{k} {_fmt(v)}" for k, v in result[category].items() if not isinstance(v, dict))
            lines.append(f"{category:12} {figures_}")
            for k, v in result[category].items():
                if not isinstance(v, dict):
                    continue
                if all(isinstance(vv, dict) for vv in v.values()):  # per scenario: a line each
                    for name, vv in v.items():
                        lines.append(f"{'':12}   {name}: " + ", ".join(f"{kk} {_fmt(x)}" for kk, x in vv.items()))
                else:
                    lines.append(f"{'':12}   {k}: " + ", ".join(f"{kk} {_fmt(vv)}" for kk, vv in v.items()))
    lines.append("")
    for statement, value, met in targets(result):
        lines.append(f"target {statement:42} {_fmt(value):>8}  {'met' if met else 'NOT MET'}")
    t = result["totals"]
    lines.append(f"{t['ran']}/{t['scenarios']} scenarios ran in {t['wall_s'] / 60:.1f} min"
                 + (f"; errors: {', '.join(t['errors'])}" if t["errors"] else ""))  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sottovoce bench duplex", description=__doc__.split("\n\n")[0])
    add_options(ap, BenchDuplexConfig)
    ap.add_argument("--only", nargs="+", choices=CATEGORIES, default=(), metavar="CATEGORY",
                    help=f"run only these categories ({', '.join(CATEGORIES)})")  # fmt: skip
    add_logging_option(ap, default="WARNING")
    args = ap.parse_args(argv)
    config = config_from(BenchDuplexConfig, args, only=tuple(args.only))
    setup_logging("bench", args.log_level)
    cases = select(list(config.only), config.fast)
    started = time.monotonic()
    rows = []
    for i, case in enumerate(cases):
        row = run_case(case, config.out, config.timeout)
        rows.append(row)
        print(f"[{i + 1}/{len(cases)}] {case.name}: {row.error or row.outcome} ({row.wall_s:.1f} s)", flush=True)
    result = report(rows, time.monotonic() - started)
    print(table(result))
    if config.json:
        config.json.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if result["totals"]["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
