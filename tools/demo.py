"""`sottovoce demo`: the whole stack as separate processes, holding a scripted spoken conversation.

bumble's controller hub (two virtual BLE controllers on one link), the host (gRPC), the simulated
glasses (a bumble peripheral playing the scenario) and the edge (a bumble central) all run as
their own processes. Latencies are measured where the wearer hears them: from the simulator's
recording, on one timeline for mic and speaker.

- response latency: end of the wearer's utterance -> first sample of the answer at the speaker
- cut-off: an answer that started playing before the wearer had finished (at a mid-sentence pause)
- cut short: an answer that stopped before its end with no barge-in, button or gesture to stop it
  (a truncated answer is not an answered turn)
- barge-in stop latency: onset of the interrupting utterance -> last sample of the answer played
  (an answer held at the wearer's onset and then flushed was last heard at the hold)
- duck latency: that onset -> the answer >= 20 dB down at the ear (ducked or held by the device's
  speaker, or stopped); the drop is checked on ear.wav
- backchannel: an utterance not marked as a barge-in that starts while an answer plays: the
  answer must duck, come back and play on to its end whole, and the backchannel get no reply; the
  hold gap is how long the answer stood silent, held where it was

A translation scenario (``mode = "translation"``) runs the edge in that mode, in the scenario's
language, and is judged as a translation: every utterance of the other person whispered to the
wearer (ear-voice span: their first word -> the first sample of its translation at the ear), every
utterance of the wearer said aloud by the outward speaker, the other person's speech never
stopping a whisper, and each turn attributed to the right voice. Its summary is the transcript:
what was said, what the wearer heard and what was said aloud, when.

A navigation scenario (``mode = "navigation"``, with a ``[walk]``) is judged as a walk: its summary
is the transcript of what the wearer said and heard, each with where they truly were and faced
(the simulator's walk.json), when they reached each turn of the path walked, and how far before it
the turn's cue finished (10-40 m is right); it fails if a cue began over the wearer's speech, a
turn had no cue before it, or a question got no answer.

OUT holds the recordings (mic.wav, ear.wav, outward.wav, sim_events.json), the edge's event log
(edge_events.jsonl), its turn arbiter's inputs and decisions (edge_arbiter.jsonl) and the host's
turn ledger's (host_turns.jsonl), both replayable, each process's output (logs/) and the summary
(summary.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import signal
import socket
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sottovoce.edge.arbiter import BARGE_IN_MS
from sottovoce.edge.end_rules import TURN_POLICIES
from sottovoce.firmware_sim.scenario import Scenario, ScenarioError, Utterance, load_scenario, read_wav
from sottovoce.host.tts import TTS_ENGINES
from sottovoce.proto import events
from sottovoce.proto.codec import FRAME_MS, FRAME_SAMPLES
from sottovoce.proto.gatt.speaker import gain_of, samples_to_reach
from sottovoce.tools.options import add_logging_option, add_options, config_from, fail, option, setup_logging

log = logging.getLogger("sottovoce.demo")


class DemoError(RuntimeError):
    pass


@dataclass
class DemoConfig:
    out: Path = option(Path("out/demo"), "where recordings and logs go", metavar="DIR")
    scenario: str = option("demo", "scenario name or TOML path")
    turn: str = option(TURN_POLICIES[0], "edge end-of-turn policy: the learned model with the host's reading of the "
                       "words, or the 500 ms silence rule", choices=TURN_POLICIES)  # fmt: skip
    tts: str | None = option(None, "host TTS engine (default: the host's)", choices=TTS_ENGINES, type=str)
    barge_in_ms: int = option(BARGE_IN_MS, "edge: speech over an answer needed to interrupt it")
    timeout: float = option(240.0, "give up after this many seconds")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_options(parser, DemoConfig)
    add_logging_option(parser)


def run(args: argparse.Namespace) -> int:
    setup_logging("demo", args.log_level)
    try:
        summary = asyncio.run(run_demo(config_from(DemoConfig, args)))
    except DemoError as exc:
        return fail("demo", str(exc))
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

    def check_running(self, *procs: Proc) -> None:
        """DemoError, with its log's tail, if one of ``procs`` has exited."""
        for proc in procs:
            if proc.process.returncode is not None:
                raise DemoError(f"{proc.name} exited with {proc.process.returncode}:\n{proc.tail()}")

    async def wait_serving(self, host: Proc, target: str, timeout: float, *others: Proc) -> None:
        """Until the host's gRPC health service reports SERVING, which it does once its models
        are loaded (while any of ``others`` exiting, or the host, is an error)."""
        from grpc import aio
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        from sottovoce.proto.v1 import duplex_pb2 as pb

        request = health_pb2.HealthCheckRequest(service=pb.DESCRIPTOR.services_by_name["Duplex"].full_name)
        deadline = time.monotonic() + timeout
        async with aio.insecure_channel(target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                self.check_running(host, *others)
                try:
                    reply = await stub.Check(request, timeout=1.0)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except aio.AioRpcError:
                    pass  # not listening yet
                await asyncio.sleep(0.1)
        raise DemoError(f"the host was not SERVING within {timeout:.0f} s:\n{host.tail()}")

    async def wait_event(self, proc: Proc, log_path: Path, kind: type[events.EdgeEvent], timeout: float,
                         *others: Proc) -> events.EdgeEvent:  # fmt: skip
        """Until the edge's event log at ``log_path`` holds an event of type ``kind``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_running(proc, *others)
            try:
                found = events.of_type(events.read_events(log_path), kind) if log_path.exists() else []
            except events.EventLogError:
                found = []  # a line being written: look again
            if found:
                return found[0]
            await asyncio.sleep(0.1)
        raise DemoError(f"{proc.name} logged no {kind.EVENT} within {timeout:.0f} s:\n{proc.tail()}")

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


async def run_demo(config: DemoConfig) -> dict[str, Any]:
    try:
        scenario = load_scenario(config.scenario, synthesize_audio=False)  # its mode and timing; the sim voices it
    except ScenarioError as exc:
        raise DemoError(str(exc)) from None
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    grpc_port, gpsd_port = free_ports(2)
    cli = ["-m", "sottovoce.tools.cli"]
    # a walking wearer's glasses serve their position as gpsd does, and the edge reads it from there
    sim_gps = ["--gpsd", f"127.0.0.1:{gpsd_port}"] if scenario.walk is not None else []
    edge_gps = ["--gps", f"gpsd://127.0.0.1:{gpsd_port}"] if scenario.walk is not None else []
    stack = Stack(out)
    started = time.monotonic()
    edge_log = out / "edge_events.jsonl"
    edge_log.unlink(missing_ok=True)

    def remaining() -> float:
        return max(10.0, config.timeout - (time.monotonic() - started))

    try:
        (out / "host_turns.jsonl").unlink(missing_ok=True)  # the host appends
        host_args = [
            *cli,
            "host",
            "--listen",
            f"127.0.0.1:{grpc_port}",
            "--record-turns",
            str(out / "host_turns.jsonl"),
        ]
        if config.tts:
            host_args += ["--tts", config.tts]
        host = await stack.start("host", *host_args)  # loads its models while the rest starts
        ble_sim, ble_edge = await stack.start_ble_hub()
        hub = stack.procs[-1]
        sim = await stack.start(
            "sim", *cli, "sim", "--transport", f"tcp-client:127.0.0.1:{ble_sim}",
            "--scenario", config.scenario, "--out", str(out), *sim_gps,
        )  # fmt: skip
        # The edge starts once the host can answer (else the wearer's first words would get the
        # "can't hear you" cue); it looks for the glasses for as long as the run may take, so the
        # simulator, still rendering its scenario, is found whenever it starts advertising.
        await stack.wait_serving(host, f"127.0.0.1:{grpc_port}", 180, sim, hub)
        log.info("host serving after %.1f s; starting the edge", time.monotonic() - started)
        edge = await stack.start(
            "edge", *cli, "edge", "--device", f"tcp-client:127.0.0.1:{ble_edge}",
            "--host", f"127.0.0.1:{grpc_port}", "--turn", config.turn, "--events", str(edge_log),
            "--record", str(out / "edge_arbiter.jsonl"), "--scan-timeout", f"{remaining():.0f}",
            "--barge-in-ms", str(config.barge_in_ms), "--mode", scenario.mode,
            *(["--language", scenario.language] if scenario.language else []), *edge_gps,
        )  # fmt: skip
        await stack.wait_event(edge, edge_log, events.DeviceConnected, remaining(), sim, hub, host)
        log.info("edge connected to the glasses after %.1f s", time.monotonic() - started)
        exits = {asyncio.ensure_future(p.process.wait()): p for p in (sim, hub, host, edge)}
        done, _ = await asyncio.wait(exits, timeout=remaining(), return_when=asyncio.FIRST_COMPLETED)
        for future in exits:
            future.cancel()
        if not done:
            raise DemoError(f"the scenario did not finish within {config.timeout:.0f} s:\n{sim.tail()}")
        first = exits[next(iter(done))]
        if first is not sim:
            raise DemoError(f"{first.name} died during the conversation:\n{first.tail()}")
        if sim.process.returncode != 0:
            raise DemoError(f"simulator exited with {sim.process.returncode}:\n{sim.tail()}")
    finally:
        await stack.stop_all()
    if scenario.mode == "translation":
        summary = analyse_translation(out, scenario)
    elif scenario.mode == "navigation":
        summary = analyse_navigation(out, scenario)
    else:
        summary = analyse(out, config.turn)
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
    lost: bool = False  # spoken while the glasses were off the link: owed the cue, not an answer
    cue_s: float | None = None  # when the "not heard" cue began, after the wearer's words
    truncated: bool = False  # the answer stopped before its end, and nothing stopped it on purpose
    expects_reply: bool = True  # False: words that only stop the assistant ("Stop."): silence is the answer
    heard_s: float | None = None  # how much of the answer was played
    answer_s: float | None = None  # how long the whole answer was (as the host sent it)


DUCKED_DB = 20  # an answer this far below its level counts as ducked (ARCHITECTURE.md's definition)


@dataclass
class BargeInResult:
    utterance: int
    stop_latency_s: float | None
    stopped: bool
    heard_s: float | None = None
    duck_latency_s: float | None = None  # the wearer's onset -> the answer DUCKED_DB down (or stopped)
    # what a duck in the downlink would have taken at best: the frames already in the device's
    # buffer play at full level first
    downlink_duck_latency_s: float | None = None
    ear_drop_db: float | None = None  # the answer's level at the ear while ducked against just before the onset


@dataclass
class BackchannelResult:
    utterance: int
    went_on: bool  # the answer played on to its end, whole
    replied: bool  # an answer to the backchannel itself
    duck_latency_s: float | None = None
    restore_s: float | None = None  # the end of the wearer's sound -> the answer back at full level
    ear_drop_db: float | None = None  # as for a barge-in
    downlink_duck_latency_s: float | None = None  # as for a barge-in
    hold_s: float | None = None  # how long the answer stood silent, held where it was (None: never held)


def level_changes(p: events.SimPlayback) -> list[events.SimDuck]:
    """The stream's level changes at the ear in order, a hold's ramp to silence among them (as a
    ramp to infinitely far down: gain 0)."""
    # math.inf dB: the ramp's target is a gain of exactly 0, which no finite depth is
    holds = [events.SimDuck(h.at_s, h.from_db, math.inf, h.ramp_s, 0) for h in p.holds]  # type: ignore[arg-type]
    return sorted([*p.ducks, *holds], key=lambda d: d.at_s)


def hold_gap(p: events.SimPlayback, since_s: float, until_s: float) -> float | None:
    """How long ``p`` stood held between ``since_s`` and ``until_s`` (None: it was not held)."""
    gaps = [(h.resumed_s if h.resumed_s is not None else p.end_s) - h.held_s
            for h in p.holds if h.held_s is not None and since_s <= h.at_s <= until_s]  # fmt: skip
    return round(sum(gaps), 3) if gaps else None


def restore_after(ducks: list[events.SimDuck], since_s: float) -> events.SimDuck | None:
    """The first level change at or after ``since_s`` that brings the stream back to full level."""
    return next((d for d in ducks if d.at_s >= since_s and d.depth_db == 0), None)


def ducked_at(ducks: list[events.SimDuck], since_s: float, rate: int) -> float | None:
    """The first time at or after ``since_s`` the stream is ``DUCKED_DB`` down, following its level
    changes (each a ramp until the next one); None if it never is."""
    gain = gain_of(DUCKED_DB)
    for i, d in enumerate(ducks):
        until = ducks[i + 1].at_s if i + 1 < len(ducks) else float("inf")
        start, target, ramp = gain_of(d.from_db), gain_of(d.depth_db), round(d.ramp_s * rate)
        n = samples_to_reach(start, target, ramp, gain)
        if n is None:  # never gets down there
            continue
        if target > gain:  # a restore from down there: down only until its ramp rises past the mark
            until = min(until, d.at_s + ramp * (gain - start) / (target - start) / rate)
        at = d.at_s + max(n - 1, 0) / rate  # the time of the n-th sample of the ramp
        if at < until and since_s < until:
            return max(at, since_s)
    return None


def _rms_db(pcm: np.ndarray) -> float:
    return 10 * float(np.log10(np.mean(pcm.astype(np.float64) ** 2) + 1e-9))


def ducking(u: events.SimUtterance, p: events.SimPlayback, rate: int, ear: np.ndarray | None) -> dict[str, Any]:
    """How the answer ``p`` ducked under the utterance ``u``: the duck latency, the best a duck in
    the downlink could have done, and the drop measured at the ear (the answer while ducked,
    against the half second before the onset: speech varies, so it reads to within several dB). The
    ducked span ends when the answer comes back or stops."""
    levels = level_changes(p)
    at = ducked_at(levels, u.start_s, rate)
    # an answer that stops before it is ducked is silent from then on: down by any measure
    out: dict[str, Any] = {"duck_latency_s": round(min(at if at is not None else p.end_s, p.end_s) - u.start_s, 3)}
    back = restore_after(p.ducks, u.start_s)
    until = min(back.at_s if back is not None else p.end_s, p.end_s)  # the end of the ducked span
    first = next((d for d in levels if d.at_s >= u.start_s and d.depth_db >= DUCKED_DB), None)
    if first is not None:
        reach = (at - first.at_s) if at is not None else 0.0
        downlink = first.at_s + first.queued_frames * FRAME_SAMPLES / rate + reach
        out["downlink_duck_latency_s"] = round(min(downlink, p.end_s) - u.start_s, 3)
    if ear is not None and at is not None and until - at >= 0.02:
        before = ear[max(0, round((u.start_s - 0.5) * rate)) : round(u.start_s * rate)]
        during = ear[round(at * rate) : round(until * rate)]
        if len(before) and len(during):
            out["ear_drop_db"] = round(_rms_db(before) - _rms_db(during), 1)
    return out


@dataclass
class EdgeLog:
    """What the demo needs from the edge's event log."""

    by_stream: dict[int, events.ResponseStarted] = field(default_factory=dict)  # the newest per stream id
    transcripts: dict[int, str] = field(default_factory=dict)
    end_reasons: dict[int, str] = field(default_factory=dict)  # turn id -> what confirmed its end
    lengths: dict[int, int] = field(default_factory=dict)  # response id -> samples the host sent
    texts: dict[int, str] = field(default_factory=dict)  # response id -> the whole answer, once sent
    counters: dict[str, int] = field(default_factory=dict)
    turns: list[events.Turn] = field(default_factory=list)  # every turn event, in order

    @classmethod
    def read(cls, path: Path) -> EdgeLog:
        result = cls()
        if not path.exists():
            return result
        for event in events.read_events(path):
            if isinstance(event, events.ResponseStarted):
                result.by_stream[event.stream] = event
            elif isinstance(event, events.Transcript):
                result.transcripts[event.turn_id] = event.text
            elif isinstance(event, events.Turn):
                result.turns.append(event)
                if event.kind == "confirmed_end":
                    result.end_reasons[event.turn_id] = event.reason
            elif isinstance(event, events.ResponseDone):
                result.lengths[event.response_id] = event.samples
                result.texts[event.response_id] = event.text
            elif isinstance(event, events.EdgeStopped):
                result.counters = event.counters
        return result

    def is_answer(self, playback: events.SimPlayback) -> bool:
        """A host answer to a wearer's turn (not a proactive timer or an edge cue)."""
        started = self.by_stream.get(playback.stream)
        return started is not None and started.turn_id != 0

    def is_cue(self, playback: events.SimPlayback) -> bool:
        """A sound of the edge's own (never announced by the host)."""
        return playback.stream not in self.by_stream


def cut_by_drop(u: events.SimUtterance, sim: events.SimEvents) -> bool:
    """The glasses went off the link while (or before, and stayed off until after) ``u`` was said."""
    for d in sim.disconnects:
        if d.skipped:
            continue
        back = d.reconnected_s if d.reconnected_s is not None else float("inf")
        if d.at_s < u.end_s and back > u.start_s:
            return True
    return False


def stopped_on_purpose(p: events.SimPlayback, sim: events.SimEvents) -> bool:
    """The wearer spoke (a barge-in, or going on after a cut-off), pressed a button or made a
    gesture while ``p`` played: a reason for it to stop before its end."""
    during = [u.start_s for u in sim.utterances] + [a.at_s for a in (*sim.buttons, *sim.gestures)]
    return any(p.start_s <= at <= p.end_s for at in during)


def read_run(out: Path) -> tuple[events.SimEvents, EdgeLog]:
    """The simulator's and the edge's records of a run written to ``out``."""
    try:
        return events.read_sim_events(out / "sim_events.json"), EdgeLog.read(out / "edge_events.jsonl")
    except events.EventLogError as exc:
        raise DemoError(str(exc)) from None


def analyse(out: Path, turn_policy: str) -> dict[str, Any]:
    from sottovoce.host.asr import word_error_rate  # numbers as digits: "twelve" == "12"

    sim, edge = read_run(out)
    utterances = sorted(sim.utterances, key=lambda u: u.start_s)
    playback = sorted(sim.playback, key=lambda p: p.start_s)
    ear = read_wav(out / "ear.wav") if (out / "ear.wav").exists() else None
    turns: list[TurnResult] = []
    barge_ins: list[BargeInResult] = []
    backchannels: list[BackchannelResult] = []
    for i, u in enumerate(utterances):
        next_start = utterances[i + 1].start_s if i + 1 < len(utterances) else float("inf")
        answers = [p for p in playback if u.start_s < p.start_s < next_start and edge.is_answer(p)]
        answer = next((p for p in answers if p.start_s >= u.end_s), None)
        result = TurnResult(i + 1, u.text, None, None, None, u.barge_in, expects_reply=u.expects_reply)
        result.cut_off = any(p.start_s < u.end_s for p in answers)
        if cut_by_drop(u, sim):
            result.lost = True
            cue = next((p for p in playback if u.start_s < p.start_s < next_start and edge.is_cue(p)), None)
            result.cue_s = None if cue is None else round(cue.start_s - u.end_s, 3)
        if answer is not None:
            started = edge.by_stream[answer.stream]
            result.reply_text = edge.texts.get(started.response_id) or started.text
            result.asr_text = edge.transcripts.get(started.turn_id)
            result.end_by = edge.end_reasons.get(started.turn_id)
            result.response_latency_s = round(answer.start_s - u.end_s, 3)
            if result.asr_text is not None:
                result.wer = round(word_error_rate(u.text, result.asr_text), 3)
            length = edge.lengths.get(started.response_id)
            result.heard_s = round(answer.samples / sim.sample_rate, 3)
            result.answer_s = None if length is None else round(length / sim.sample_rate, 3)
            # Played to its end means the device reached the stream's announced end, and heard all
            # the host sent (to within the last frame's padding).
            whole = answer.ended == "finished" and (length is None or answer.samples + FRAME_SAMPLES > length)
            result.truncated = not whole and not stopped_on_purpose(answer, sim)
        playing = next((p for p in playback if p.start_s <= u.start_s < p.end_s and edge.is_answer(p)), None)
        if not u.barge_in and playing is not None:
            backchannels.append(backchannel(i + 1, u, playing, bool(answers), edge, sim, ear))
            continue
        turns.append(result)
        if u.barge_in:
            playing = next((p for p in playback if p.start_s <= u.start_s < p.end_s), None)
            if playing is None:
                barge_ins.append(BargeInResult(i + 1, None, False))
            else:
                barge_ins.append(
                    BargeInResult(
                        i + 1,
                        round(playing.end_s - u.start_s, 3),
                        playing.ended == "flushed",
                        round(playing.samples / sim.sample_rate, 3),
                        **ducking(u, playing, sim.sample_rate, ear),
                    )
                )
    latencies = [t.response_latency_s for t in turns if t.response_latency_s is not None]
    unanswered = [t.index for t in turns if t.response_latency_s is None and not t.lost and t.expects_reply]
    truncated = [t.index for t in turns if t.truncated]
    failures = failures_of(unanswered, truncated, barge_ins, backchannels)
    for t in turns:
        if not t.expects_reply and t.response_latency_s is not None:
            failures.append(f"turn {t.index} only stopped the assistant, yet got a reply: {t.reply_text!r}")
        if t.lost and t.cue_s is None:
            failures.append(f"turn {t.index}, cut short by a link drop, got no cue")
        if t.lost and t.response_latency_s is not None:
            failures.append(f"turn {t.index}, cut short by a link drop, was answered as if heard whole")
    return {
        "ok": not failures,
        "failures": failures,
        "turn_policy": turn_policy,
        "turns": [asdict(t) for t in turns],
        "barge_ins": [asdict(b) for b in barge_ins],
        "backchannels": [asdict(b) for b in backchannels],
        "unanswered": unanswered,
        "truncated": truncated,
        "cut_offs": [t.index for t in turns if t.cut_off],
        "lost": [t.index for t in turns if t.lost],
        "median_response_latency_s": rounded_stat(statistics.median, latencies),
        # the mean shows what the median hides: a turn left to the fallback
        "mean_response_latency_s": rounded_stat(statistics.fmean, latencies),
        "sim_counters": sim.counters,
        "edge_counters": edge.counters,
    }


# --- translation mode ----------------------------------------------------------------------------


@dataclass
class Heard:
    """One stream as played: on which output, when, and what it said."""

    output: str  # ear | outward
    start_s: float
    end_s: float
    text: str
    ended: str | None


@dataclass
class SaidLine:
    """One utterance of the scenario and what came of it."""

    index: int
    speaker: str  # wearer | other
    language: str | None
    text: str
    start_s: float
    end_s: float
    attributed: list[str] = field(default_factory=list)  # the speaker of each edge turn within it
    heard: list[Heard] = field(default_factory=list)  # what played from its start to the next utterance's
    ear_voice_span_s: float | None = None  # the other person's first word -> the first sample of a whisper


def _stream_text(edge: EdgeLog, stream: int) -> str:
    started = edge.by_stream.get(stream)
    if started is None:
        return "(edge cue)"
    return edge.texts.get(started.response_id) or started.text


# A recording's first word: its first 20 ms frame within this much of its loudest (a breath or a
# click in the silence before it stays far below).
FIRST_WORD_DB = 30.0


def first_word_s(utterance: Utterance) -> float:
    """Seconds of silence a recording opens with before its first word (a synthesised utterance
    is trimmed to its speech already)."""
    if utterance.wav is None:
        return 0.0
    pcm = read_wav(utterance.wav).astype(np.float64)
    frames = pcm[: len(pcm) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
    if not len(frames):
        return 0.0
    db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-9)
    return int(np.argmax(db >= db.max() - FIRST_WORD_DB)) * FRAME_MS / 1000


def analyse_translation(out: Path, scenario: Scenario) -> dict[str, Any]:
    """A translation run: the transcript, the ear-voice spans and whose voice each turn was given."""
    sim, edge = read_run(out)
    utterances = sorted(sim.utterances, key=lambda u: u.start_s)
    streams = sorted([Heard("ear", p.start_s, p.end_s, _stream_text(edge, p.stream), p.ended) for p in sim.playback]
                     + [Heard("outward", p.start_s, p.end_s, _stream_text(edge, p.stream), p.ended)
                        for p in sim.outward], key=lambda h: h.start_s)  # fmt: skip
    lines = [SaidLine(u.index + 1, u.speaker, u.language, u.text, u.start_s, u.end_s) for u in utterances]
    # the uplink's first frame (seq 0) is the first of the lead-in, before t = 0
    starts = [t for t in edge.turns if t.kind == "speech_start"]
    for i, line in enumerate(lines):
        until = lines[i + 1].start_s if i + 1 < len(lines) else float("inf")
        line.heard = [h for h in streams if line.start_s <= h.start_s < until]
        for t in starts:
            onset = t.seq * FRAME_MS / 1000 - scenario.lead_in
            if line.start_s - 0.3 <= onset <= line.end_s:
                line.attributed.append(t.speaker)
        whisper = next((h for h in line.heard if h.output == "ear"), None)
        if line.speaker == "other" and whisper is not None:
            first_word = line.start_s + first_word_s(scenario.utterances[line.index - 1])
            line.ear_voice_span_s = round(whisper.start_s - first_word, 3)
    attributed = [(line.speaker, said) for line in lines for said in line.attributed]
    correct = sum(truth == said for truth, said in attributed)
    failures = []
    for line in lines:
        if line.speaker == "other" and not any(h.output == "ear" for h in line.heard):
            failures.append(f"utterance {line.index} (the other person's) was not whispered to the wearer")
        if line.speaker == "wearer" and not any(h.output == "outward" for h in line.heard):
            failures.append(f"utterance {line.index} (the wearer's) was not said aloud")
        if not line.attributed:
            failures.append(f"utterance {line.index} opened no turn on the edge")
    for line in lines:
        if line.speaker != "other":
            continue
        stopped = [h for h in streams if h.output == "ear" and h.ended == "flushed"
                   and line.start_s <= h.end_s <= line.end_s + 0.5]  # fmt: skip
        if stopped:
            failures.append(f"the other person's utterance {line.index} stopped the whisper playing")
    if attributed and correct < len(attributed):
        failures.append(f"{len(attributed) - correct} of {len(attributed)} turns attributed to the wrong voice")
    spans = [line.ear_voice_span_s for line in lines if line.ear_voice_span_s is not None]
    return {
        "ok": not failures,
        "failures": failures,
        "mode": "translation",
        "language": scenario.language,
        "transcript": [asdict(line) for line in lines],
        "attribution": {"turns": len(attributed), "correct": correct},
        "median_ear_voice_span_s": rounded_stat(statistics.median, spans),
        "sim_counters": sim.counters,
        "edge_counters": edge.counters,
    }


def print_translation(summary: dict[str, Any]) -> None:
    print()
    for line in summary["transcript"]:
        who = "wearer" if line["speaker"] == "wearer" else f"other ({line['language'] or '?'})"
        turns = ", ".join(line["attributed"]) or "no turn"
        print(f"{line['start_s']:7.2f}-{line['end_s']:.2f} s  {who} said: {line['text']}  [edge heard: {turns}]")
        for h in line["heard"]:
            where = "whispered in the ear" if h["output"] == "ear" else "said aloud outward"
            print(f"{'':10}{h['start_s']:7.2f}-{h['end_s']:.2f} s  {where}: {h['text']}  ({h['ended']})")
        if line["ear_voice_span_s"] is not None:
            print(f"{'':10}ear-voice span {line['ear_voice_span_s']:.2f} s")
    a = summary["attribution"]
    print(f"whose voice: {a['correct']} of {a['turns']} turns attributed right; "
          f"median ear-voice span {summary['median_ear_voice_span_s']} s")  # fmt: skip
    print("OK" if summary["ok"] else "FAILED: " + "; ".join(summary["failures"]))


CUE_LEAD_OK_M = (10.0, 40.0)  # a turn's cue should finish this far before it: heard in time, not too early


@dataclass
class WalkEvent:
    """One moment of a navigation run: what was said or heard, or a turn reached, and where the
    wearer truly was (the simulator's walk trace), facing which way."""

    t_s: float
    kind: str  # said (the wearer) | cue (the host, unasked) | answer | turn (the wearer reaches a turn)
    text: str
    lat: float
    lon: float
    walked_m: float
    heading_deg: float
    end_s: float | None = None
    latency_s: float | None = None  # an answer: the end of the wearer's words -> its first sample
    lead_m: float | None = None  # a turn cue: how far before the turn it finished
    over_wearer: bool = False  # a cue that began while the wearer spoke and played on over them
    wrong_side: bool = False  # a turn cue saying left for a right turn or the other way


def _walk_at(trace: list[dict[str, Any]], t: float) -> dict[str, Any]:
    """The wearer at ``t`` from the once-a-second trace: the distance walked interpolated, the
    rest from the nearest second."""
    times = [p["t_s"] for p in trace]
    i = min(max(int(np.searchsorted(times, t)), 1), len(trace) - 1)
    a, b = trace[i - 1], trace[i]
    share = min(max((t - a["t_s"]) / max(b["t_s"] - a["t_s"], 1e-9), 0.0), 1.0)
    near = a if share < 0.5 else b
    return near | {"distance_m": a["distance_m"] + share * (b["distance_m"] - a["distance_m"])}


def _turn_side(text: str) -> str | None:
    """The side a cue tells the wearer to turn to first ("turn left, then right": left)."""
    words = text.lower().replace(",", " ").split()
    for i, word in enumerate(words[:-1]):
        if word == "turn":
            rest = words[i + 1 :]
            return next((w for w in rest[:3] if w in ("left", "right")), None)
    return None


def analyse_navigation(out: Path, scenario: Scenario) -> dict[str, Any]:
    """A navigation run: what the wearer heard where, each turn's cue lead, cues over the wearer,
    left/right against the turn the wearer really takes, and the answers' latency."""
    from sottovoce.host.navigation.instructions import steps_of
    from sottovoce.host.navigation.router import route_along
    from sottovoce.tools.bench_navigation import OVER_WEARER_S

    sim, edge = read_run(out)
    try:
        trace = json.loads((out / "walk.json").read_text())
    except (OSError, ValueError) as exc:
        raise DemoError(f"navigation run unreadable: {exc}") from None
    if scenario.walk is None or not trace:
        raise DemoError("a navigation run needs the scenario's [walk] and the simulator's walk.json")

    def at(t: float) -> tuple[float, float, float, float]:
        p = _walk_at(trace, t)
        return p["lat"], p["lon"], p["distance_m"], p["heading_deg"]

    # the turns the wearer really takes: the walked path's, read as the host reads a route's
    turns = steps_of(route_along(scenario.walk.path))
    utterances = sorted(sim.utterances, key=lambda u: u.start_s)
    log: list[WalkEvent] = [WalkEvent(u.start_s, "said", u.text, *at(u.start_s), end_s=u.end_s) for u in utterances]
    answers_of: dict[int, WalkEvent] = {}
    for p in sorted(sim.playback, key=lambda p: p.start_s):
        started = edge.by_stream.get(p.stream)
        if started is None or started.output != "ear":
            continue
        kind = "cue" if started.turn_id == 0 else "answer"
        heard = WalkEvent(p.start_s, kind, _stream_text(edge, p.stream), *at(p.start_s), end_s=p.end_s)
        if kind == "cue":
            # one withdrawn as the wearer's onset reached the host (it gave way) did not play on
            heard.over_wearer = any(
                u.start_s <= p.start_s < u.end_s and min(p.end_s, u.end_s) - p.start_s > OVER_WEARER_S
                for u in utterances
            )
        else:
            asked = [u for u in utterances if u.end_s <= p.start_s]
            if asked and asked[-1].index not in answers_of:
                answers_of[asked[-1].index] = heard
                heard.latency_s = round(p.start_s - asked[-1].end_s, 3)
        log.append(heard)
    cues = [e for e in log if e.kind == "cue" and _turn_side(e.text) is not None]
    leads: list[float | None] = []
    passed_m = 0.0
    for step in turns:
        reached = next((p["t_s"] for p in trace if p["distance_m"] >= step.at_m), None)
        said = [c for c in cues if c.end_s is not None and passed_m <= at(c.end_s)[2] <= step.at_m]
        cue = said[-1] if said else None
        if cue is not None:
            cue.lead_m = round(step.at_m - at(cue.end_s or cue.t_s)[2], 1)
            cue.wrong_side = _turn_side(cue.text) != ("right" if step.angle > 0 else "left")
        leads.append(None if cue is None or reached is None else cue.lead_m)
        if reached is not None:
            log.append(WalkEvent(reached, "turn", f"reaches the turn: {step.instruction()}", *at(reached)))
        passed_m = step.at_m
    log.sort(key=lambda e: (e.t_s, e.kind != "turn"))
    failures = []
    over = [e for e in log if e.kind == "cue" and e.over_wearer]
    if over:
        failures.append(f"{len(over)} cue(s) played over the wearer: " + "; ".join(e.text for e in over))
    missed = [step.instruction() for step, lead in zip(turns, leads, strict=True) if lead is None]
    if missed:
        failures.append("no cue heard before the turn(s): " + "; ".join(missed))
    unanswered = [u.text for u in utterances if u.index not in answers_of]
    if unanswered:
        failures.append("no answer to: " + "; ".join(unanswered))
    done = [d for d in leads if d is not None]
    latencies = [e.latency_s for e in answers_of.values() if e.latency_s is not None]
    return {
        "ok": not failures,
        "failures": failures,
        "mode": "navigation",
        "transcript": [asdict(e) for e in log],
        "turns": len(turns),
        "cue_leads_m": leads,
        "cue_lead_ok_rate": round(sum(CUE_LEAD_OK_M[0] <= d <= CUE_LEAD_OK_M[1] for d in done) / max(1, len(turns)), 3),
        "cues_over_wearer": len(over),
        "left_right_errors": sum(e.wrong_side for e in cues),
        "off_route_detect_p50_s": None,  # the walk's turns are the route's: there is no wrong turn to detect here
        "answer_latency_p50_s": rounded_stat(statistics.median, latencies),
        "sim_counters": sim.counters,
        "edge_counters": edge.counters,
    }


def print_navigation(summary: dict[str, Any]) -> None:
    print()
    print(f"{'time s':>7}  {'where (true)':19}  {'walked':>7} {'facing':>6}  what")
    for e in summary["transcript"]:
        who = {"said": "wearer said", "cue": "heard cue", "answer": "heard answer", "turn": "wearer"}[e["kind"]]
        notes = []
        if e["latency_s"] is not None:
            notes.append(f"{e['latency_s']:.2f} s after the question")
        if e["lead_m"] is not None:
            notes.append(f"finished {e['lead_m']:.0f} m before the turn")
        if e["over_wearer"]:
            notes.append("OVER THE WEARER")
        if e["wrong_side"]:
            notes.append("WRONG SIDE")
        if e["end_s"] is not None and e["kind"] != "said":
            notes.insert(0, f"until {e['end_s']:.1f} s")
        where = f"{e['lat']:.5f},{e['lon']:.5f}  {e['walked_m']:5.0f} m {e['heading_deg']:5.0f}°"
        print(f"{e['t_s']:7.1f}  {where}  {who}: {e['text']}" + (f"  [{', '.join(notes)}]" if notes else ""))
    print(f"turns {summary['turns']}: cues finished {summary['cue_leads_m']} m before them "
          f"(10-40 m: {summary['cue_lead_ok_rate']:.0%}); cues over the wearer {summary['cues_over_wearer']}; "
          f"left/right errors {summary['left_right_errors']}; "
          f"median answer latency {summary['answer_latency_p50_s']} s")  # fmt: skip
    print("OK" if summary["ok"] else "FAILED: " + "; ".join(summary["failures"]))


def backchannel(index: int, u: events.SimUtterance, p: events.SimPlayback, replied: bool, edge: EdgeLog,
                sim: events.SimEvents, ear: np.ndarray | None) -> BackchannelResult:  # fmt: skip
    """The utterance ``u`` made over the answer ``p``."""
    length = edge.lengths.get(edge.by_stream[p.stream].response_id)
    went_on = p.ended == "finished" and (length is None or p.samples + FRAME_SAMPLES > length)
    back = restore_after(p.ducks, u.start_s)
    restore_s = None if back is None else round(back.at_s + back.ramp_s - u.end_s, 3)
    held = hold_gap(p, u.start_s, back.at_s if back is not None else p.end_s)
    return BackchannelResult(index, went_on, replied, restore_s=restore_s, hold_s=held,
                             **ducking(u, p, sim.sample_rate, ear))  # fmt: skip


def failures_of(unanswered: list[int], truncated: list[int], barge_ins: list[BargeInResult],
                backchannels: Sequence[BackchannelResult] = ()) -> list[str]:  # fmt: skip
    """What failed, each in words (empty: the run is OK)."""
    failures = []
    if unanswered:
        failures.append(f"unanswered turns {unanswered}")
    if truncated:
        failures.append(f"answers cut short (stopped before their end with no barge-in or button) at turns {truncated}")
    for b in barge_ins:
        if b.stop_latency_s is None:
            failures.append(f"barge-in at turn {b.utterance}: no answer was playing to interrupt")
        elif not b.stopped:
            failures.append(f"barge-in at turn {b.utterance} did not stop the answer")
    for c in backchannels:
        if not c.went_on:
            failures.append(f"the backchannel at turn {c.utterance} stopped the answer")
        if c.replied:
            failures.append(f"the backchannel at turn {c.utterance} got a reply")
    return failures


def rounded_stat(stat: Callable[[list[float]], float], seconds: list[float]) -> float | None:
    """``stat`` of some latencies to the millisecond; None when there are none."""
    return round(stat(seconds), 3) if seconds else None


def print_summary(summary: dict[str, Any]) -> None:
    if summary.get("mode") == "translation":
        print_translation(summary)
        return
    if summary.get("mode") == "navigation":
        print_navigation(summary)
        return
    print()
    print(f"{'#':>2}  {'wearer said':34}  {'ASR heard':34}  {'assistant answered':44}  {'end by':10}  latency")
    for t in summary["turns"]:
        if t["response_latency_s"] is not None:
            latency = f"{t['response_latency_s']:.3f} s"
        elif t.get("lost"):
            latency = "link lost: " + (f"cue {t['cue_s']:.2f} s later" if t.get("cue_s") is not None else "NO CUE")
        else:
            latency = "UNANSWERED"
        mark = (" (barge-in)" if t["barge_in"] else "") + (" CUT OFF mid-sentence" if t.get("cut_off") else "")
        if t.get("truncated"):
            whole = f" of {t['answer_s']:.2f} s" if t.get("answer_s") is not None else ""
            mark += f" CUT SHORT: {t['heard_s']:.2f} s{whole} heard"
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
                f"barge-in at turn {b['utterance']}: answer 20 dB down {b['duck_latency_s']:.3f} s and {state} "
                f"{b['stop_latency_s']:.3f} s after the wearer's onset ({b['heard_s']:.2f} s of it heard)"
                + _duck_detail(b)
            )
    for c in summary.get("backchannels", []):
        duck = f"20 dB down {c['duck_latency_s']:.3f} s after the wearer's onset"
        back = ", NEVER BACK" if c["restore_s"] is None else f", back {c['restore_s']:.3f} s after they stopped"
        went_on = "played on to its end, whole" if c["went_on"] else "was STOPPED"
        if c.get("hold_s") is not None:
            went_on = f"held silent {c['hold_s']:.3f} s, then {went_on}"
        print(f"backchannel at turn {c['utterance']}: answer {duck}{back}, {went_on}"
              + (", and it got a REPLY" if c["replied"] else ", no reply"))  # fmt: skip
    if reading := _overlap_reading(summary.get("edge_counters") or {}):
        print(reading)
    if summary["cut_offs"]:
        print(f"cut off mid-sentence (an answer began before the wearer finished): turns {summary['cut_offs']}")
    print(
        f"median response latency: {summary['median_response_latency_s']} s, mean "
        f"{summary['mean_response_latency_s']} s  (turn policy: {summary['turn_policy']})"
    )
    print("OK" if summary["ok"] else "FAILED: " + "; ".join(summary["failures"]))


def _overlap_reading(counters: dict[str, Any]) -> str:
    """How the speech over answers was decided: by the host's reading of its words, or by length."""
    asked = counters.get("turn.overlaps_asked", 0)
    if not asked:
        return ""
    by = {k: counters.get(f"turn.overlaps_{k}", 0) for k in ("backchannel", "interruption", "by_length")}
    return (
        f"speech over answers: {asked} readings asked; decided by the words as a backchannel "
        f"{by['backchannel']}x, as an interruption {by['interruption']}x; by length {by['by_length']}x"
    )


def _duck_detail(b: dict[str, Any]) -> str:
    parts = []
    if b.get("ear_drop_db") is not None:
        parts.append(f"{b['ear_drop_db']:.0f} dB down at the ear")
    if b.get("downlink_duck_latency_s") is not None:
        parts.append(f"a duck in the downlink would have taken {b['downlink_duck_latency_s']:.3f} s")
    return "; " + ", ".join(parts) if parts else ""


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
