"""The edge daemon: wearable <-> (VAD, turn-taking, barge-in, playback) <-> host.

Per 20 ms uplink frame: forward the device's Opus packet to the host untouched, decode it, run
the VAD and the turn policy, and turn their signals into TurnEvents. Speech that starts while an
answer is playing is held back until it has lasted ``barge_in_ms``: a cough or an "mm-hm" ends
before that and never reaches the host, while a real interruption flushes the device's playback
at once and cancels the host's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sottovoce.proto import control
from sottovoce.proto.codec import DOWNLINK_CONFIG, FRAME_MS, SAMPLE_RATE, OpusEncoder, frames_of, to_int16
from sottovoce.proto.gatt.buttons import ButtonEvent, FramingError, decode_button
from sottovoce.proto.v1 import duplex_pb2 as pb

from .host_link import HostLink, HostRefused
from .links import DeviceLink, DeviceNotFound, open_link
from .playback import Playback
from .turn import SilenceTurnPolicy, TurnKind, TurnPolicy, TurnSignal, WordsReading
from .uplink import Uplink, UplinkFrame
from .vad import make_vad

log = logging.getLogger(__name__)

MODES = {
    "assistant": pb.MODE_ASSISTANT,
    "translation": pb.MODE_TRANSLATION,
    "navigation": pb.MODE_NAVIGATION,
}
LOCAL_RESPONSE_BASE = 0xFFFF_0000  # ids for sounds the edge plays itself (cues), never the host's


@dataclass
class EdgeConfig:
    device: str
    host: str
    auth_token: str = ""
    mode: str = "assistant"
    language: str = "en"
    device_id: str = "sottovoce-sim"
    vad: str = "silero"
    turn: str = "model"
    confirm_ms: int = 500
    tentative_ms: int = 200
    barge_in_ms: int = 200
    scan_timeout: float = 10.0
    events_path: Path | None = None


@dataclass
class EdgeCounters:
    malformed_control: int = 0
    malformed_buttons: int = 0
    backchannels_ignored: int = 0
    barge_ins: int = 0
    stale_responses: int = 0
    audio_for_dropped_responses: int = 0
    host_errors: int = 0
    device_connects: int = 0
    audio_before_connect: int = 0
    hints_complete: int = 0  # the host read a turn's words as complete (and the turn was live)
    hints_incomplete: int = 0  # ... as unfinished
    hints_unsure: int = 0  # ... could not tell
    hints_stale: int = 0  # for a turn or pause already over


class EventLog:
    """JSON lines of what happened, on the edge's monotonic clock (read by the demo and tests)."""

    def __init__(self, path: Path | None) -> None:
        self._file = path.open("w", buffering=1) if path else None

    def write(self, event: str, **fields: Any) -> None:
        if self._file:
            self._file.write(json.dumps({"t": round(time.monotonic(), 4), "event": event, **fields}) + "\n")

    def close(self) -> None:
        if self._file:
            self._file.close()


@dataclass
class PendingSpeech:
    """Speech heard while an answer plays: not yet known to be an interruption."""

    onset_seq: int
    onset_time: float


def make_policy(config: EdgeConfig) -> TurnPolicy:
    if config.turn == "silence":
        return SilenceTurnPolicy(confirm_ms=config.confirm_ms, tentative_ms=config.tentative_ms)
    if config.turn == "model":
        from .turn_model import ModelTurnPolicy  # needs the LiteRT runtime

        return ModelTurnPolicy()
    raise ValueError(f"unknown turn policy {config.turn!r}; choose silence or model")


def make_cue() -> list[bytes]:
    """Two soft descending tones: 'the assistant can't hear you right now'."""
    t = np.arange(int(0.12 * SAMPLE_RATE)) / SAMPLE_RATE
    envelope = np.sin(np.pi * t / t[-1]) ** 2
    gap = np.zeros(int(0.06 * SAMPLE_RATE))
    tone = np.concatenate([np.sin(2 * np.pi * 660 * t) * envelope, gap, np.sin(2 * np.pi * 440 * t) * envelope])
    encoder = OpusEncoder(DOWNLINK_CONFIG)
    return [encoder.encode(f) for f in frames_of(to_int16(0.08 * tone))]


class Edge:
    def __init__(self, config: EdgeConfig) -> None:
        self.config = config
        self.events = EventLog(config.events_path)
        self.counters = EdgeCounters()
        self.vad = make_vad(config.vad)
        self.policy = make_policy(config)
        self.playback = Playback(self._on_playback)
        start = pb.SessionStart(
            protocol_version=1,
            auth_token=config.auth_token,
            codec=pb.CODEC_OPUS,
            sample_rate_hz=SAMPLE_RATE,
            frame_ms=FRAME_MS,
            mode=MODES[config.mode],
            device_id=config.device_id,
            language=config.language,
        )
        self.host = HostLink(config.host, start, self._on_host_message, self._on_host_state)
        self.link: DeviceLink | None = None
        self.uplink: Uplink | None = None
        self.battery = 255
        self.turn_id = 0
        self.in_host_turn = False  # the host has been told SPEECH_START for turn_id
        self.last_seq = 0  # uplink seq of the frame the policy saw last (policy frame policy.frame)
        self.pending: PendingSpeech | None = None
        self.announced: deque[int] = deque(maxlen=64)  # responses whose STARTED we accepted
        self.dropped_responses: deque[int] = deque(maxlen=64)
        self._cue = make_cue()
        self._cue_count = 0
        self._host_was_up: bool | None = None
        self._disconnected = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()

    # --- lifecycle -----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> int:
        """Run until ``stop`` is set. Returns an exit code; fatal problems raise with one line."""
        self.events.write("edge_started", config={k: str(v) for k, v in asdict(self.config).items()})
        workers = [
            asyncio.create_task(self.host.run(), name="host"),
            asyncio.create_task(self.playback.run(), name="playback"),
            asyncio.create_task(self._device_loop(), name="device"),
            asyncio.create_task(self._telemetry_loop(), name="telemetry"),
        ]
        stopper = asyncio.create_task(stop.wait(), name="stop")
        try:
            done, _ = await asyncio.wait([stopper, *workers], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and task.exception() is not None:
                    raise task.exception()  # DeviceNotFound / HostRefused: the CLI prints it
            return 0
        finally:
            await self.host.close()
            for task in [stopper, *workers, *self._tasks]:
                task.cancel()
            await asyncio.gather(stopper, *workers, *self._tasks, return_exceptions=True)
            if self.link is not None:
                await self.link.close()
            self.events.write("edge_stopped", counters=self.all_counters())
            self.events.close()

    def all_counters(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for prefix, obj in (
            ("edge", self.counters),
            ("playback", self.playback.counters),
            ("host", self.host.counters),
            ("uplink", self.uplink.counters if self.uplink else None),
            ("reassembly", self.uplink.reassembler.stats if self.uplink else None),
        ):
            if obj is not None:
                out.update({f"{prefix}.{k}": v for k, v in asdict(obj).items()})
        return out

    async def _device_loop(self) -> None:
        """Connect, and reconnect whenever the link drops (Omi-class firmware won't do it for us)."""
        link = open_link(self.config.device, self.config.scan_timeout)
        self.link = link
        first, delay = True, 0.5
        while True:
            self.uplink = None
            self._disconnected.clear()
            try:
                await link.open(self)
            except DeviceNotFound as exc:
                if first:
                    raise
                log.warning("device not back yet: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            first, delay = False, 0.5
            self.counters.device_connects += 1
            self.playback.attach(link)
            self.events.write("device_connected", description=link.description, att_mtu=link.att_mtu)
            log.info("device connected: %s (ATT MTU %d)", link.description, link.att_mtu)
            await self._disconnected.wait()
            self.events.write("device_disconnected")
            self.playback.attach(None)
            self._end_local_turn()
            await asyncio.sleep(delay)

    async def _telemetry_loop(self) -> None:
        while True:
            await asyncio.sleep(5.0)
            counters = {k: float(v) for k, v in self.all_counters().items()}
            self.host.send(pb.EdgeMessage(telemetry=pb.Telemetry(battery_percent=self.battery, counters=counters)))

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- device events (LinkEvents) ------------------------------------------------------------
    def on_audio(self, data: bytes) -> None:
        if self.uplink is None:
            if self.link is None:
                self.counters.audio_before_connect += 1
                return
            # Audio is subscribed last, after the MTU exchange: the reassembler gets the real MTU.
            self.uplink = Uplink(self._on_frame, self.link.att_mtu)
        self.uplink.feed(data)

    def on_battery(self, percent: int) -> None:
        self.battery = percent
        self.events.write("battery", percent=percent)
        self.host.send(pb.EdgeMessage(telemetry=pb.Telemetry(battery_percent=percent)))

    def on_button(self, data: bytes) -> None:
        try:
            event = decode_button(data)
        except FramingError as exc:
            self.counters.malformed_buttons += 1
            log.warning("dropped button notification: %s", exc)
            return
        self.events.write("button", kind=event.name.lower())
        active = self.playback.active
        if event in (ButtonEvent.TAP, ButtonEvent.DOUBLE_TAP) and active is not None:
            self._stop_response(active.response_id, "button")

    def on_control(self, data: bytes) -> None:
        try:
            msg = control.decode(data)
        except control.ControlError as exc:
            self.counters.malformed_control += 1
            log.warning("dropped control message: %s", exc)
            return
        if isinstance(msg, (control.PlaybackReport, control.BufferReport)):
            self.playback.on_report(msg)
        elif isinstance(msg, control.Gesture):
            self.events.write("gesture", kind=msg.kind)
            if msg.kind == "shake" and (active := self.playback.active) is not None:
                self._stop_response(active.response_id, "gesture")

    def on_disconnect(self, reason: str) -> None:
        log.warning("device disconnected: %s", reason)
        self._disconnected.set()

    # --- per frame -----------------------------------------------------------------------------
    def _on_frame(self, frame: UplinkFrame) -> None:
        if frame.opus is not None:
            audio = pb.AudioFrame(seq=frame.seq, capture_time_us=time.monotonic_ns() // 1000, opus=frame.opus)
            self.host.send(pb.EdgeMessage(audio=audio))
        prob = self.vad.process(frame.pcm)
        self.last_seq = frame.seq
        for signal in self.policy.push(frame.pcm, prob):
            self._on_turn_signal(signal, frame)
        if (
            self.pending is not None
            and self.policy.speaking
            and self.policy.speech_frames * FRAME_MS >= self.config.barge_in_ms
        ):
            self._barge_in(frame)

    def _on_turn_signal(self, signal: TurnSignal, frame: UplinkFrame) -> None:
        onset_seq = frame.seq - (self.policy.frame - signal.frame)
        if signal.kind is TurnKind.SPEECH_START:
            if self.playback.active is not None:
                self.pending = PendingSpeech(onset_seq, time.monotonic())
                self.events.write("speech_during_playback", seq=onset_seq)
            else:
                self._start_host_turn(onset_seq, barge_in=False)
            return
        if self.pending is not None:
            if signal.kind is TurnKind.CONFIRMED_END:  # too short to be an interruption
                self.counters.backchannels_ignored += 1
                self.events.write("backchannel_ignored", seq=onset_seq)
                self.pending = None
            return
        if not self.in_host_turn:
            return
        kind = {
            TurnKind.TENTATIVE_END: pb.TurnEvent.TENTATIVE_END,
            TurnKind.CONFIRMED_END: pb.TurnEvent.CONFIRMED_END,
            TurnKind.RESUMED: pb.TurnEvent.RESUMED,
        }[signal.kind]
        self._send_turn(kind, frame.seq, signal.confidence, reason=signal.reason)
        if signal.kind is TurnKind.CONFIRMED_END:
            self.in_host_turn = False

    def _start_host_turn(self, onset_seq: int, barge_in: bool) -> None:
        self.turn_id += 1
        self.in_host_turn = True
        self._send_turn(pb.TurnEvent.SPEECH_START, onset_seq, 1.0, barge_in)

    def _send_turn(self, kind: int, seq: int, confidence: float, barge_in: bool = False, reason: str = "") -> None:
        name = pb.TurnEvent.Kind.Name(kind).lower()
        extra = {"reason": reason} if reason else {}
        self.events.write("turn", kind=name, turn_id=self.turn_id, seq=seq, barge_in=barge_in, **extra)
        event = pb.TurnEvent(
            kind=kind,
            turn_id=self.turn_id,
            audio_seq=seq,
            time_us=time.monotonic_ns() // 1000,
            confidence=confidence,
            barge_in=barge_in,
        )
        self.host.send(pb.EdgeMessage(turn=event))

    def _barge_in(self, frame: UplinkFrame) -> None:
        pending, self.pending = self.pending, None
        assert pending is not None
        active = self.playback.active
        self.counters.barge_ins += 1
        self.events.write(
            "barge_in",
            response_id=active.response_id if active else None,
            stream=active.stream_id if active else None,
            detect_s=round(time.monotonic() - pending.onset_time, 3),
        )
        if active is not None:
            self._stop_response(active.response_id, "barge_in")
        self._start_host_turn(pending.onset_seq, barge_in=True)

    def _stop_response(self, response_id: int, reason: str) -> None:
        """Flush the device first (what the wearer hears), then tell the host."""
        self._spawn(self._flush(response_id))
        if response_id < LOCAL_RESPONSE_BASE:
            self.dropped_responses.append(response_id)
            self.host.send(pb.EdgeMessage(cancel=pb.CancelResponse(response_id=response_id, reason=reason)))

    async def _flush(self, response_id: int) -> None:
        try:
            await self.playback.flush(response_id)
        except Exception as exc:  # the link dropped: reconnecting re-attaches playback anyway
            log.warning("flush failed: %s", exc)

    def _end_local_turn(self) -> None:
        """The device went away mid-turn: close the host's turn so it does not wait forever."""
        self.pending = None
        if self.in_host_turn:
            self._send_turn(pb.TurnEvent.CONFIRMED_END, 0, 0.0, reason="device_lost")
            self.in_host_turn = False
        self.policy.reset()
        self.vad.reset()

    # --- host ----------------------------------------------------------------------------------
    def _on_host_state(self, up: bool, detail: str) -> None:
        self.events.write("host_state", up=up, detail=detail)
        self.policy.host_reads_words = up
        if up:
            log.info("host connected: %s", detail)
        elif self._host_was_up is not False:  # once per outage, not per retry
            self._play_cue()
        self._host_was_up = up

    def _play_cue(self) -> None:
        if self.link is None:
            return
        self._cue_count += 1
        rid = LOCAL_RESPONSE_BASE + self._cue_count
        self.playback.start(rid)
        for f in self._cue:
            self.playback.add_frame(rid, f)
        self.playback.finish(rid)
        self.events.write("cue", reason="host_unreachable")

    def _on_host_message(self, msg: pb.HostMessage) -> None:
        body = msg.WhichOneof("body")
        if body == "audio":
            rid = msg.audio.response_id
            if rid in self.announced and rid not in self.dropped_responses:
                self.playback.add_frame(rid, msg.audio.opus)
            else:  # cancelled, stale, or never announced
                self.counters.audio_for_dropped_responses += 1
        elif body == "response":
            self._on_response_event(msg.response)
        elif body == "transcript":
            t = msg.transcript
            if t.final:
                self.events.write("transcript", turn_id=t.turn_id, text=t.text)
        elif body == "hint":
            self._on_hint(msg.hint)
        elif body == "error":
            self.counters.host_errors += 1
            log.warning("host error %s: %s", pb.Error.Code.Name(msg.error.code), msg.error.message)
            self.events.write("host_error", code=pb.Error.Code.Name(msg.error.code), message=msg.error.message)

    def _on_hint(self, hint: pb.TurnHint) -> None:
        """The host's reading of the words up to a tentative end: the policy may confirm on it."""
        self.events.write(
            "turn_hint", turn_id=hint.turn_id, seq=hint.audio_seq, complete=hint.complete, sure=hint.sure,
            question=hint.question,
        )  # fmt: skip
        # Only the live turn, and only frames the policy has seen (seqs wrap at 2^32).
        frames_ago = (self.last_seq - hint.audio_seq) & 0xFFFF_FFFF
        if hint.turn_id != self.turn_id or not self.in_host_turn or frames_ago > self.policy.frame:
            self.counters.hints_stale += 1
            return
        if not (hint.complete or hint.sure):  # the host could not make out the words: no veto
            self.counters.hints_unsure += 1
            return
        if hint.complete:
            self.counters.hints_complete += 1
        else:
            self.counters.hints_incomplete += 1
        self.policy.words_read(WordsReading(self.policy.frame - frames_ago, hint.complete, hint.question))

    def _on_response_event(self, r: pb.ResponseEvent) -> None:
        if r.kind == pb.ResponseEvent.STARTED:
            if r.turn_id and (r.turn_id < self.turn_id or self.in_host_turn):
                # The wearer has spoken again since: this answer is to an old question.
                self.counters.stale_responses += 1
                self.dropped_responses.append(r.response_id)
                self.host.send(pb.EdgeMessage(cancel=pb.CancelResponse(response_id=r.response_id, reason="stale")))
                self.events.write("response_dropped", response_id=r.response_id, turn_id=r.turn_id)
                return
            self.announced.append(r.response_id)
            stream = self.playback.start(r.response_id)
            self.events.write(
                "response_started", response_id=r.response_id, turn_id=r.turn_id, stream=stream.stream_id,
                text=r.text,
            )  # fmt: skip
        elif r.kind == pb.ResponseEvent.DONE:
            self.playback.finish(r.response_id)
            self.events.write("response_done", response_id=r.response_id, samples=r.total_samples)
        elif r.kind == pb.ResponseEvent.CANCELLED:
            self.events.write("response_cancelled", response_id=r.response_id, text=r.text)
            active = self.playback.active
            if active is not None and active.response_id == r.response_id:
                self._spawn(self._flush(r.response_id))

    def _on_playback(self, kind: str, response_id: int, heard_samples: int) -> None:
        self.events.write("playback", kind=kind, response_id=response_id, heard_samples=heard_samples)
        if response_id >= LOCAL_RESPONSE_BASE:
            return
        pb_kind = {
            "started": pb.PlaybackEvent.STARTED,
            "finished": pb.PlaybackEvent.FINISHED,
            "interrupted": pb.PlaybackEvent.INTERRUPTED,
        }[kind]
        event = pb.PlaybackEvent(
            kind=pb_kind, response_id=response_id, heard_samples=heard_samples, time_us=time.monotonic_ns() // 1000
        )
        self.host.send(pb.EdgeMessage(playback=event))


async def run_edge(config: EdgeConfig) -> int:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        edge = Edge(config)
    except (ValueError, RuntimeError, OSError) as exc:  # a bad model file, an unknown option
        print(f"sottovoce edge: cannot start: {exc}", flush=True)
        return 2
    try:
        return await edge.run(stop)
    except (DeviceNotFound, HostRefused) as exc:
        print(f"sottovoce edge: {exc}", flush=True)
        return 2


__all__ = ["Edge", "EdgeConfig", "run_edge"]
