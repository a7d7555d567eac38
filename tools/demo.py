"""`sottovoce demo`: the whole stack as separate processes, holding a scripted spoken conversation.

bumble's controller hub (two virtual BLE controllers on one link), the host (gRPC), the simulated
glasses (a bumble peripheral playing the scenario) and the edge (a bumble central) all run as
their own processes. Latencies are measured where the wearer hears them: from the simulator's
recording, on one timeline for mic and speaker.

- response latency: end of the wearer's utterance -> first sample of the answer at the speaker
- cut-off: an answer that started playing before the wearer had finished (at a mid-sentence pause)
- barge-in stop latency: onset of the interrupting utterance -> last sample of the answer played
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import socket
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sottovoce.host.tts import TTS_ENGINES

log = logging.getLogger("sottovoce.demo")


class DemoError(RuntimeError):
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="where recordings and logs go")
    parser.add_argument("--scenario", default="demo", help="scenario name or TOML path (default: %(default)s)")
    parser.add_argument(
        "--turn", choices=["model", "silence"], default="model",
        help="edge end-of-turn policy: the learned model with the host's reading of the words, or the 500 ms rule",
    )  # fmt: skip
    parser.add_argument("--tts", choices=TTS_ENGINES, default=None, help="host TTS engine")
    parser.add_argument("--timeout", type=float, default=240.0, help="give up after this many seconds")
    parser.add_argument("--log-level", default="INFO")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s demo %(levelname)s: %(message)s")
    try:
        summary = asyncio.run(run_demo(args))
    except DemoError as exc:
        print(f"sottovoce demo: {exc}", file=sys.stderr)
        return 2
    print_summary(summary)
    return 0 if summary["ok"] else 1


# --- processes -----------------------------------------------------------------------------------


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Proc:
    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


class Stack:
    """Starts and stops the stack's processes; every output goes to OUT/logs/NAME.log."""

    def __init__(self, out: Path) -> None:
        self.logs = out / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs: list[Proc] = []

    async def start(self, name: str, *args: str) -> Proc:
        log_path = self.logs / f"{name}.log"
        handle = log_path.open("wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        process = await asyncio.create_subprocess_exec(
            sys.executable, *args, stdout=handle, stderr=asyncio.subprocess.STDOUT, env=env
        )
        handle.close()
        proc = Proc(name, process, log_path)
        self.procs.append(proc)
        return proc

    async def start_ble_hub(self) -> tuple[int, int]:
        """bumble's two virtual controllers on one link; returns their TCP ports once both listen."""
        ports = free_ports(2)
        await self.start("controllers", "-m", "bumble.apps.controllers", *(f"tcp-server:127.0.0.1:{p}" for p in ports))
        for port in ports:
            await wait_port(port, 20)
        return ports[0], ports[1]

    async def wait_for_line(self, proc: Proc, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            match = regex.search(proc.log_text())
            if match:
                return match
            if proc.process.returncode is not None:
                raise DemoError(f"{proc.name} exited with {proc.process.returncode}:\n{proc.tail()}")
            await asyncio.sleep(0.1)
        raise DemoError(f"{proc.name} did not print /{pattern}/ within {timeout:.0f} s:\n{proc.tail()}")

    async def stop_all(self) -> None:
        """Newest first, each given time to finish: the edge says goodbye to a host still up."""
        for proc in reversed(self.procs):
            if proc.process.returncode is None:
                proc.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.process.wait(), 10)
            except TimeoutError:
                proc.process.kill()
                await proc.process.wait()


async def wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise DemoError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f} s")


async def run_demo(args: argparse.Namespace) -> dict[str, Any]:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (grpc_port,) = free_ports(1)
    cli = ["-m", "sottovoce.tools.cli"]
    stack = Stack(out)
    started = time.monotonic()
    try:
        host_args = [*cli, "host", "--listen", f"127.0.0.1:{grpc_port}"]
        if args.tts:
            host_args += ["--tts", args.tts]
        host = await stack.start("host", *host_args)  # loads its models while the rest starts
        ble_sim, ble_edge = await stack.start_ble_hub()
        hub = stack.procs[-1]
        sim = await stack.start(
            "sim", *cli, "sim", "--transport", f"tcp-client:127.0.0.1:{ble_sim}",
            "--scenario", args.scenario, "--out", str(out),
        )  # fmt: skip
        await stack.wait_for_line(host, r"host listening on", 180)
        await stack.wait_for_line(sim, r"sim advertising", 180)
        log.info("host and simulator ready after %.1f s; starting the edge", time.monotonic() - started)
        edge = await stack.start(
            "edge", *cli, "edge", "--device", f"tcp-client:127.0.0.1:{ble_edge}",
            "--host", f"127.0.0.1:{grpc_port}", "--turn", args.turn, "--events", str(out / "edge_events.jsonl"),
        )  # fmt: skip
        remaining = max(10.0, args.timeout - (time.monotonic() - started))
        exits = {asyncio.ensure_future(p.process.wait()): p for p in (sim, hub, host, edge)}
        done, _ = await asyncio.wait(exits, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        for future in exits:
            future.cancel()
        if not done:
            raise DemoError(f"the scenario did not finish within {args.timeout:.0f} s:\n{sim.tail()}")
        first = exits[next(iter(done))]
        if first is not sim:
            raise DemoError(f"{first.name} died during the conversation:\n{first.tail()}")
        if sim.process.returncode != 0:
            raise DemoError(f"simulator exited with {sim.process.returncode}:\n{sim.tail()}")
    finally:
        await stack.stop_all()
    summary = analyse(out, args.turn)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


# --- analysis ------------------------------------------------------------------------------------


@dataclass
class TurnResult:
    index: int
    user_text: str
    asr_text: str | None
    reply_text: str | None
    response_latency_s: float | None
    barge_in: bool
    wer: float | None = None
    end_by: str | None = None  # what confirmed the end of the wearer's turn on the edge
    cut_off: bool = False  # an answer started playing while the wearer was still speaking


@dataclass
class BargeInResult:
    utterance: int
    stop_latency_s: float | None
    stopped: bool
    heard_s: float | None = None


@dataclass
class EdgeLog:
    by_stream: dict[int, dict] = field(default_factory=dict)  # newest response_started per stream id
    transcripts: dict[int, str] = field(default_factory=dict)
    end_reasons: dict[int, str] = field(default_factory=dict)  # turn id -> what confirmed its end
    counters: dict[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> EdgeLog:
        result = cls()
        if not path.exists():
            return result
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if event["event"] == "response_started":
                result.by_stream[event["stream"]] = event
            elif event["event"] == "transcript":
                result.transcripts[event["turn_id"]] = event["text"]
            elif event["event"] == "turn" and event["kind"] == "confirmed_end":
                result.end_reasons[event["turn_id"]] = event.get("reason", "")
            elif event["event"] == "edge_stopped":
                result.counters = event.get("counters", {})
        return result


def analyse(out: Path, turn_policy: str) -> dict[str, Any]:
    from sottovoce.host.asr import word_error_rate  # numbers as digits: "twelve" == "12"

    sim = json.loads((out / "sim_events.json").read_text())
    edge = EdgeLog.read(out / "edge_events.jsonl")
    utterances = sorted(sim["utterances"], key=lambda u: u["start_s"])
    playback = sorted(sim["playback"], key=lambda p: p["start_s"])
    turns: list[TurnResult] = []
    barge_ins: list[BargeInResult] = []
    for i, u in enumerate(utterances):
        next_start = utterances[i + 1]["start_s"] if i + 1 < len(utterances) else float("inf")
        answers = [p for p in playback if u["start_s"] < p["start_s"] < next_start and _is_answer(p, edge)]
        answer = next((p for p in answers if p["start_s"] >= u["end_s"]), None)
        result = TurnResult(i + 1, u["text"], None, None, None, bool(u.get("barge_in")))
        result.cut_off = any(p["start_s"] < u["end_s"] for p in answers)
        if answer is not None:
            started = edge.by_stream.get(answer["stream"], {})
            result.reply_text = started.get("text")
            result.asr_text = edge.transcripts.get(started.get("turn_id"))
            result.end_by = edge.end_reasons.get(started.get("turn_id"))
            result.response_latency_s = round(answer["start_s"] - u["end_s"], 3)
            if result.asr_text is not None:
                result.wer = round(word_error_rate(u["text"], result.asr_text), 3)
        turns.append(result)
        if u.get("barge_in"):
            playing = next((p for p in playback if p["start_s"] <= u["start_s"] < p["end_s"]), None)
            if playing is None:
                barge_ins.append(BargeInResult(i + 1, None, False))
            else:
                barge_ins.append(
                    BargeInResult(
                        i + 1,
                        round(playing["end_s"] - u["start_s"], 3),
                        playing["ended"] == "flushed",
                        round(playing["samples"] / sim["sample_rate"], 3),
                    )
                )
    latencies = [t.response_latency_s for t in turns if t.response_latency_s is not None]
    unanswered = [t.index for t in turns if t.response_latency_s is None]
    return {
        "ok": not unanswered
        and bool(barge_ins) == any(u.get("barge_in") for u in utterances)
        and all(b.stopped for b in barge_ins),
        "turn_policy": turn_policy,
        "turns": [asdict(t) for t in turns],
        "barge_ins": [asdict(b) for b in barge_ins],
        "unanswered": unanswered,
        "cut_offs": [t.index for t in turns if t.cut_off],
        "median_response_latency_s": rounded_stat(statistics.median, latencies),
        # the mean shows what the median hides: a turn left to the fallback
        "mean_response_latency_s": rounded_stat(statistics.fmean, latencies),
        "sim_counters": sim.get("counters", {}),
        "edge_counters": edge.counters,
    }


def rounded_stat(stat: Callable[[list[float]], float], seconds: list[float]) -> float | None:
    """``stat`` of some latencies to the millisecond; None when there are none."""
    return round(stat(seconds), 3) if seconds else None


def _is_answer(playback: dict, edge: EdgeLog) -> bool:
    """A host answer to a wearer's turn (not a proactive timer or an edge cue)."""
    started = edge.by_stream.get(playback["stream"])
    return started is not None and started.get("turn_id", 0) != 0


def print_summary(summary: dict[str, Any]) -> None:
    print()
    print(f"{'#':>2}  {'wearer said':34}  {'ASR heard':34}  {'assistant answered':44}  {'end by':10}  latency")
    for t in summary["turns"]:
        latency = f"{t['response_latency_s']:.3f} s" if t["response_latency_s"] is not None else "UNANSWERED"
        mark = (" (barge-in)" if t["barge_in"] else "") + (" CUT OFF mid-sentence" if t.get("cut_off") else "")
        print(
            f"{t['index']:>2}  {_clip(t['user_text'], 34):34}  {_clip(t['asr_text'] or '-', 34):34}  "
            f"{_clip(t['reply_text'] or '-', 44):44}  {t.get('end_by') or '-':10}  {latency}{mark}"
        )
    for b in summary["barge_ins"]:
        if b["stop_latency_s"] is None:
            print(f"barge-in at turn {b['utterance']}: no answer was playing")
        else:
            state = "stopped" if b["stopped"] else "NOT STOPPED"
            print(
                f"barge-in at turn {b['utterance']}: answer {state} {b['stop_latency_s']:.3f} s after the wearer's "
                f"onset ({b['heard_s']:.2f} s of it heard)"
            )
    if summary["cut_offs"]:
        print(f"cut off mid-sentence (an answer began before the wearer finished): turns {summary['cut_offs']}")
    print(
        f"median response latency: {summary['median_response_latency_s']} s, mean "
        f"{summary['mean_response_latency_s']} s  (turn policy: {summary['turn_policy']})"
    )
    print("OK" if summary["ok"] else "FAILED: " + ("unanswered turns " + str(summary["unanswered"])))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
