"""The edge daemon: wearable <-> (VAD, turn-taking, barge-in, playback) <-> host.

It wires the parts together and does nothing they can do alone. Per 20 ms uplink frame: forward
the device's Opus packet to the host untouched, score the frame (``FrameScorer``: VAD and
end-of-turn model) and feed the numbers to the turn arbiter (``TurnArbiter``), which decides
who holds the floor; the daemon carries its decisions out: turn events to the host, the answer
ducked, held and restored on the device, a flush of the device's playback and a cancel to the host
on a barge-in, the event log. The host's messages go to playback (answer audio) and, for the readings
of the words (of a turn, or of speech over an answer), to the arbiter.

In translation mode each turn says whose voice it is (``speaker_id``: the wearer's, or the person's
in front of them), the other person's speech over the whispered translation does not stop it
(``TranslationFloor``), and the responses the host marks ``OUTPUT_OUTWARD`` (the wearer's words in
the other language) play on the glasses' outward speaker, never in the ear.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import asdict, dataclass, replace

import numpy as np

from sottovoce.proto import control, events
from sottovoce.proto.codec import DOWNLINK_CONFIG, FRAME_MS, SAMPLE_RATE, OpusEncoder, frames_of, to_int16
from sottovoce.proto.gatt.buttons import ButtonEvent, FramingError, decode_button
from sottovoce.proto.intake import Intake
from sottovoce.proto.v1 import duplex_pb2 as pb
from sottovoce.tools.options import fail

from . import arbiter as arb
from .backoff import Backoff
from .config import MODES, EdgeConfig
from .echo import EchoCanceller
from .end_rules import ModelPolicy, SilencePolicy
from .host_link import HostLink, HostRefused
from .links import DeviceLink, DeviceNotFound, open_link
from .playback import DUCK_DB, DUCK_RAMP_MS, HOLD_DB, HOLD_RAMP_MS, RESTORE_RAMP_MS, Playback, Stream
from .pose import PoseTracker
from .position import open_position_source
from .replay import ArbiterRecorder
from .scorer import FrameScorer
from .speaker_id import OTHER, WEARER, TranslationFloor, frame_dbfs
from .turn import EndOfTurnPolicy
from .turn_model import TurnModel
from .uplink import Uplink, UplinkFrame
from .vad import make_vad

log = logging.getLogger(__name__)

LOCAL_RESPONSE_BASE = 0xFFFF_0000  # ids for sounds the edge plays itself (cues), never the host's
TurnDecision = arb.SpeechStart | arb.TentativeEnd | arb.Resumed | arb.ConfirmedEnd | arb.Abandoned
TURN_KINDS = {
    arb.SpeechStart: pb.TurnEvent.SPEECH_START,
    arb.TentativeEnd: pb.TurnEvent.TENTATIVE_END,
    arb.Resumed: pb.TurnEvent.RESUMED,
    arb.ConfirmedEnd: pb.TurnEvent.CONFIRMED_END,
    arb.Abandoned: pb.TurnEvent.ABANDONED,
}
OVERLAP_VERDICTS = {
    pb.OverlapVerdict.BACKCHANNEL: "backchannel",
    pb.OverlapVerdict.INTERRUPTION: "interruption",
    pb.OverlapVerdict.UNSURE: "unsure",
}
SPEAKER_NAMES = {WEARER: "wearer", OTHER: "other"}
PLAYBACK_KINDS = {
    "started": pb.PlaybackEvent.STARTED,
    "finished": pb.PlaybackEvent.FINISHED,
    "interrupted": pb.PlaybackEvent.INTERRUPTED,
}
# A device away this long may have missed a whole request: the wearer hears the cue when it is
# back, as they do when their words were cut off mid-turn.
MISSED_SPEECH_S = 1.0


@dataclass
class EdgeCounters:
    malformed_control: int = 0
    malformed_buttons: int = 0
    audio_for_dropped_responses: int = 0
    host_errors: int = 0
    unknown_overlap_verdicts: int = 0
    device_connects: int = 0
    audio_before_connect: int = 0


def make_cue() -> list[bytes]:
    """Two soft descending tones: 'the assistant can't hear you right now'."""
    t = np.arange(int(0.12 * SAMPLE_RATE)) / SAMPLE_RATE
    envelope = np.sin(np.pi * t / t[-1]) ** 2
    gap = np.zeros(int(0.06 * SAMPLE_RATE))
    tone = np.concatenate([np.sin(2 * np.pi * 660 * t) * envelope, gap, np.sin(2 * np.pi * 440 * t) * envelope])
    encoder = OpusEncoder(DOWNLINK_CONFIG)
    return [encoder.encode(f) for f in frames_of(to_int16(0.08 * tone))]


class Edge:
    def __init__(self, config: EdgeConfig, auth_token: str = "", policy: EndOfTurnPolicy | None = None) -> None:
        """``policy``: the end-of-turn policy, if not the one ``config.turn`` names (with its
        defaults)."""
        self.config = config
        self.events = events.EventLog(config.events)
        self.counters = EdgeCounters()
        model = TurnModel() if config.turn == ModelPolicy.NAME else None  # needs the LiteRT runtime
        self.echo = EchoCanceller() if config.aec else None
        raw_vad = make_vad(config.vad) if self.echo is not None else None
        translation = config.mode == "translation"
        self.scorer = FrameScorer(make_vad(config.vad), model, self.echo, raw_vad, fresh_after_silence=translation)
        if policy is None:
            policy = (ModelPolicy.from_meta(model.meta) if model is not None
                      else SilencePolicy(config.confirm_ms, config.tentative_ms))  # fmt: skip
        self.arbiter = arb.TurnArbiter(policy, config.barge_in_ms, arb.OverlapRules())
        self.recorder = ArbiterRecorder(config.record, self.arbiter) if config.record else None
        self.playback = Playback(self._on_playback)
        # assistant mode: every turn is the wearer's; the floor counts frames voiced as the detector does
        self.floor = TranslationFloor(onset=policy.vad.onset) if translation else None
        start = pb.SessionStart(
            protocol_version=1,
            auth_token=auth_token,
            codec=pb.CODEC_OPUS,
            sample_rate_hz=SAMPLE_RATE,
            frame_ms=FRAME_MS,
            mode=MODES[config.mode],
            device_id=config.device_id,
            language=config.wearer_language,
            target_language=config.language if translation else "",
        )
        self.host = HostLink(config.host, start, self.on_host_message, self.on_host_state)
        # Navigation: where the wearer is and faces, sent to the host; other modes have no pose traffic.
        self.pose = (PoseTracker(open_position_source(config.gps), self.host.send)
                     if config.mode == "navigation" else None)  # fmt: skip
        if self.pose is None and config.gps != "none":
            log.warning("--gps %s is unused: position is for navigation mode only", config.gps)
        self.link: DeviceLink | None = None
        self.uplink = Uplink(self.on_uplink_frame)  # one per conversation: its timeline outlives connections
        self._uplink_connected = False  # this connection's first audio has set the uplink up
        self.battery = 255
        self.announced: deque[int] = deque(maxlen=64)  # responses whose STARTED we accepted
        self.dropped_responses: deque[int] = deque(maxlen=64)
        self._decode_button = Intake("button notification", decode_button, FramingError, self.counters,
                                     "malformed_buttons", log)  # fmt: skip
        self._decode_control = Intake("control message", control.decode, control.ControlError, self.counters,
                                      "malformed_control", log)  # fmt: skip
        self._playing = False  # what the arbiter was last told
        self._speech_during_playback_at = 0.0  # when the arbiter last held speech back (for detect_s)
        self._cue = make_cue()
        self._cue_count = 0
        self._speech_lost = False  # the wearer was speaking when the device went away
        self._host_was_up: bool | None = None
        self._disconnected = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()

    # --- lifecycle -----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> int:
        """Run until ``stop`` is set. Returns an exit code; fatal problems raise with one line."""
        self.events.write(events.EdgeStarted({k: str(v) for k, v in asdict(self.config).items()}))
        workers = [
            asyncio.create_task(self.host.run(), name="host"),
            asyncio.create_task(self.playback.run(), name="playback"),
            asyncio.create_task(self._device_loop(), name="device"),
            asyncio.create_task(self._telemetry_loop(), name="telemetry"),
        ]
        if self.pose is not None:
            workers.append(asyncio.create_task(self.pose.run(), name="pose"))
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
            self.events.write(events.EdgeStopped(self.all_counters()))
            self.close()

    def close(self) -> None:
        """Close the event log and the recording."""
        self.events.close()
        if self.recorder is not None:
            self.recorder.close()

    def all_counters(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for prefix, obj in (
            ("edge", self.counters),
            ("turn", self.arbiter.counters),
            ("playback", self.playback.counters),
            ("host", self.host.counters),
            ("uplink", self.uplink.counters),
            ("reassembly", self.uplink.reassembler.stats),
            ("echo", self.echo.counters if self.echo is not None else None),
            ("onset", self.scorer.onset.counters if self.scorer.onset is not None else None),
            ("speakers", self.floor.attributor.counters if self.floor is not None else None),
            ("floor", self.floor.counters if self.floor is not None else None),
            ("pose", self.pose.counters if self.pose is not None else None),
            ("heading", self.pose.fusion.counters if self.pose is not None else None),
            ("position", self.pose.source.counters if self.pose is not None and self.pose.source else None),
        ):
            if obj is not None:
                out.update({f"{prefix}.{k}": v for k, v in asdict(obj).items()})
        out["scorer.vad_resets"] = self.scorer.vad_resets
        return out

    async def _device_loop(self) -> None:
        """Connect, and reconnect whenever the link drops (Omi-class firmware won't do it for us)."""
        link = open_link(self.config.device, self.config.scan_timeout)
        link.wants_imu = self.pose is not None
        self.link = link
        backoff = Backoff(first=0.5, ceiling=5.0)
        first = True
        lost_at: float | None = None
        while True:
            self._uplink_connected = False
            self._disconnected.clear()
            try:
                await link.open(self)
            except DeviceNotFound as exc:
                if first:
                    raise
                log.warning("device not back yet: %s", exc)
                await asyncio.sleep(backoff.next_delay())
                continue
            first = False
            backoff.reset()
            self.counters.device_connects += 1
            self.playback.attach(link)
            self.events.write(events.DeviceConnected(link.description, link.att_mtu))
            log.info("device connected: %s (ATT MTU %d)", link.description, link.att_mtu)
            if self._speech_lost or (lost_at is not None and time.monotonic() - lost_at >= MISSED_SPEECH_S):
                self._play_cue("device_lost")
            elif self._host_was_up is False:  # the host went away before the glasses came
                self._play_cue("host_unreachable")
            self._speech_lost = False
            await self._disconnected.wait()
            lost_at = time.monotonic()
            self.events.write(events.DeviceDisconnected())
            self.playback.attach(None)
            self._arbitrate(arb.DeviceLost())
            self.scorer.reset()
            # Give the device a moment to advertise again before the first attempt.
            await asyncio.sleep(backoff.first)

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
        if not self._uplink_connected:
            if self.link is None:
                self.counters.audio_before_connect += 1
                return
            # Audio is subscribed last, after the MTU exchange: the reassembler gets the real MTU.
            self.uplink.connected(self.link.att_mtu)
            self._uplink_connected = True
        self.uplink.feed(data)

    def on_battery(self, percent: int) -> None:
        self.battery = percent
        self.events.write(events.Battery(percent))
        self.host.send(pb.EdgeMessage(telemetry=pb.Telemetry(battery_percent=percent)))

    def on_button(self, data: bytes) -> None:
        event = self._decode_button(data)
        if event is None:
            return
        self.events.write(events.Button(event.name.lower()))
        active = self.playback.active
        if event in (ButtonEvent.TAP, ButtonEvent.DOUBLE_TAP) and active is not None:
            self._stop_response(active.response_id, "button")

    def on_control(self, data: bytes) -> None:
        msg = self._decode_control(data)
        if isinstance(msg, (control.PlaybackReport, control.BufferReport)):
            self.playback.on_report(msg)
            if self.echo is not None:
                self.echo.on_report(msg)
        elif isinstance(msg, control.Gesture):
            self.events.write(events.Gesture(msg.kind))
            if msg.kind == "shake" and (active := self.playback.active) is not None:
                self._stop_response(active.response_id, "gesture")

    def on_imu(self, data: bytes) -> None:
        if self.pose is not None:
            self.pose.on_imu(data)

    def on_disconnect(self, reason: str) -> None:
        log.warning("device disconnected: %s", reason)
        self._disconnected.set()

    # --- per frame -----------------------------------------------------------------------------
    def on_uplink_frame(self, frame: UplinkFrame) -> None:
        """One frame from the uplink, in order (concealed ones included)."""
        if frame.opus is not None:
            audio = pb.AudioFrame(seq=frame.seq, capture_time_us=time.monotonic_ns() // 1000, opus=frame.opus)
            self.host.send(pb.EdgeMessage(audio=audio))
        playing = self.playback.active is not None
        scored = self.scorer.score(frame.seq, frame.pcm)
        if self.floor is not None:
            # the level with the whisper's echo taken out, as the VAD heard it
            level = self.echo.last_dbfs[1] if self.echo is not None else frame_dbfs(frame.pcm)
            outward = self.playback.active_on(outward=True) is not None
            view = self.floor.frame(scored.speech, scored.onset, level, playing, outward)
            playing = view.answer_playing
            scored = replace(scored, speech=view.speech, onset=view.onset)
        if playing != self._playing:
            self._playing = playing
            self._arbitrate(arb.PlaybackState(playing))
        self._arbitrate(scored)

    # --- the arbiter's decisions ---------------------------------------------------------------
    def _arbitrate(self, event: arb.Input) -> list[arb.Decision]:
        decisions = self.arbiter.feed(event)
        if self.recorder is not None:
            self.recorder.record(event, decisions)
        for decision in decisions:
            self._carry_out(decision)
        return decisions

    def _carry_out(self, d: arb.Decision) -> None:
        if isinstance(d, tuple(TURN_KINDS)):
            self._send_turn(d)
        elif isinstance(d, arb.SpeechLost):
            self._speech_lost = True
        elif isinstance(d, arb.SpeechDuringPlayback):
            self._speech_during_playback_at = time.monotonic()
            self.events.write(events.SpeechDuringPlayback(d.seq))
            self._set_level(d.seq, HOLD_DB, HOLD_RAMP_MS, hold=True)
        elif isinstance(d, arb.BargeIn):
            active = self.playback.active
            self.events.write(events.BargeIn(
                active.response_id if active else None, active.stream_id if active else None,
                round(time.monotonic() - self._speech_during_playback_at, 3),
            ))  # fmt: skip
            if active is not None:
                self._stop_response(active.response_id, "barge_in")
        elif isinstance(d, arb.Duck):
            self._set_level(d.seq, DUCK_DB, DUCK_RAMP_MS)
        elif isinstance(d, arb.Restore):
            self._set_level(d.seq, 0, RESTORE_RAMP_MS)
        elif isinstance(d, arb.BackchannelIgnored):
            self.events.write(events.BackchannelIgnored(d.seq))
        elif isinstance(d, arb.AskOverlap):
            self.events.write(events.OverlapAsked(d.query_id, d.first_seq, d.last_seq))
            query = pb.OverlapQuery(query_id=d.query_id, first_seq=d.first_seq, last_seq=d.last_seq)
            self.host.send(pb.EdgeMessage(overlap=query))
        elif isinstance(d, arb.OverlapFiled):
            self.events.write(events.OverlapDecided(d.query_id, d.verdict))
        elif isinstance(d, arb.AnswerStale):
            self.dropped_responses.append(d.response_id)
            self.host.send(pb.EdgeMessage(cancel=pb.CancelResponse(response_id=d.response_id, reason="stale")))
            self.events.write(events.ResponseDropped(d.response_id, d.turn_id))
        if isinstance(d, arb.SPEECH_ENDS):
            self.scorer.turn_ended()
        if self.floor is not None and isinstance(d, (arb.BackchannelIgnored, arb.SpeechLost)):
            self.floor.turn_ended()  # speech that opened no turn is over too

    def _send_turn(
        self, d: arb.SpeechStart | arb.TentativeEnd | arb.Resumed | arb.ConfirmedEnd | arb.Abandoned
    ) -> None:
        kind = TURN_KINDS[type(d)]
        barge_in = isinstance(d, arb.SpeechStart) and d.barge_in
        confidence = d.confidence if isinstance(d, (arb.TentativeEnd, arb.Resumed, arb.ConfirmedEnd)) else 1.0
        reason = d.reason if isinstance(d, arb.ConfirmedEnd) else ""
        speaker = self._speaker_of(d)
        self.events.write(events.Turn(pb.TurnEvent.Kind.Name(kind).lower(), d.turn_id, d.seq, barge_in, reason,
                                      SPEAKER_NAMES[speaker]))  # fmt: skip
        event = pb.TurnEvent(
            kind=kind,
            turn_id=d.turn_id,
            audio_seq=d.seq,
            time_us=time.monotonic_ns() // 1000,
            confidence=confidence,
            barge_in=barge_in,
            speaker=speaker,
        )
        self.host.send(pb.EdgeMessage(turn=event))

    def _speaker_of(self, d: TurnDecision) -> int:
        """Whose voice the turn is: at its start from what was heard so far, then from all of it."""
        if self.floor is None:
            return WEARER
        if isinstance(d, arb.SpeechStart):
            return self.floor.turn_started()
        if isinstance(d, (arb.ConfirmedEnd, arb.Abandoned)):
            return self.floor.turn_ended()
        return self.floor.speaker

    def _set_level(self, seq: int, depth_db: int, ramp_ms: int, hold: bool = False) -> None:
        """Duck the answer playing (``depth_db`` > 0), hold it where it is, or bring it back (0)."""
        active = self.playback.active
        rid = active.response_id if active is not None else None
        if hold:
            self.events.write(events.AnswerHeld(seq, rid))
        else:
            self.events.write(events.AnswerDucked(seq, rid) if depth_db else events.AnswerRestored(seq, rid))
        if active is not None:
            self._spawn(self._duck(active.response_id, depth_db, ramp_ms, hold))

    async def _duck(self, response_id: int, depth_db: int, ramp_ms: int, hold: bool) -> None:
        try:
            await self.playback.duck(response_id, depth_db, ramp_ms, hold)
        except Exception as exc:  # the link dropped: the reconnect ends the stream anyway
            log.warning("duck failed: %s", exc)

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

    # --- host ----------------------------------------------------------------------------------
    def on_host_state(self, up: bool, detail: str) -> None:
        """The host link's session came up or went down."""
        self.events.write(events.HostState(up, detail))
        self._arbitrate(arb.HostState(up))
        if up:
            log.info("host connected: %s", detail)
        elif self._host_was_up is not False:  # once per outage, not per retry
            self._play_cue("host_unreachable")
        self._host_was_up = up

    def _play_cue(self, reason: str) -> None:
        """The wearer was not heard: the host is unreachable, or the device lost their words. With
        no device connected there is no one to play it to: a device that connects is owed it."""
        if self.playback.link is None:
            return
        self._cue_count += 1
        rid = LOCAL_RESPONSE_BASE + self._cue_count
        self._start_stream(rid)
        for f in self._cue:
            self._add_frame(rid, f)
        self.playback.finish(rid)
        self.events.write(events.Cue(reason))

    def on_host_message(self, msg: pb.HostMessage) -> None:
        """One message from the host, in order."""
        body = msg.WhichOneof("body")
        if body == "audio":
            rid = msg.audio.response_id
            if rid in self.announced and rid not in self.dropped_responses:
                self._add_frame(rid, msg.audio.opus)
            else:  # cancelled, stale, or never announced
                self.counters.audio_for_dropped_responses += 1
        elif body == "response":
            self._on_response_event(msg.response)
        elif body == "transcript":
            t = msg.transcript
            if t.final:
                self.events.write(events.Transcript(t.turn_id, t.text))
        elif body == "hint":
            h = msg.hint
            self.events.write(events.TurnHint(h.turn_id, h.audio_seq, h.complete, h.sure, h.question))
            self._arbitrate(arb.Hint(h.turn_id, h.audio_seq, h.complete, h.sure, h.question))
        elif body == "overlap":
            o = msg.overlap
            verdict = OVERLAP_VERDICTS.get(o.kind)
            if verdict is None:  # a kind this edge does not know says nothing: length decides
                self.counters.unknown_overlap_verdicts += 1
                log.warning("host sent overlap verdict kind %d for query %d: ignored", o.kind, o.query_id)
                return
            self.events.write(events.OverlapRead(o.query_id, verdict, o.text, o.command))
            self._arbitrate(arb.OverlapRead(o.query_id, verdict, o.command, words=bool(o.text.strip())))
        elif body == "volume":
            level = min(100, msg.volume.level_percent)
            log.info("speaker volume %d %% (the wearer asked)", level)
            self._spawn(self.playback.set_volume(level))
        elif body == "error":
            self.counters.host_errors += 1
            code = pb.Error.Code.Name(msg.error.code)
            log.warning("host error %s: %s", code, msg.error.message)
            self.events.write(events.HostError(code, msg.error.message))

    def _on_response_event(self, r: pb.ResponseEvent) -> None:
        if r.kind == pb.ResponseEvent.STARTED:
            # A translation is of words still being said: the turn it is for is open, and no later
            # turn makes it stale.
            if self.floor is None and self._arbitrate(arb.AnswerStarted(r.response_id, r.turn_id)):
                return  # an answer to an old question: dropped
            self.announced.append(r.response_id)
            outward = r.output == pb.OUTPUT_OUTWARD
            stream = self._start_stream(r.response_id, outward)
            self.events.write(events.ResponseStarted(r.response_id, r.turn_id, stream.stream_id, r.text,
                                                     "outward" if outward else "ear"))  # fmt: skip
        elif r.kind == pb.ResponseEvent.DONE:
            self.playback.finish(r.response_id)
            self.events.write(events.ResponseDone(r.response_id, r.total_samples, r.text))
        elif r.kind == pb.ResponseEvent.CANCELLED:
            self.events.write(events.ResponseCancelled(r.response_id, r.text))
            playing = (self.playback.active_on(outward) for outward in (False, True))
            if any(s is not None and s.response_id == r.response_id for s in playing):
                self._spawn(self._flush(r.response_id))

    def _start_stream(self, response_id: int, outward: bool = False) -> Stream:
        """A new answer or cue for the device's ear speaker (the echo canceller keeps its audio as
        reference), or a response for its outward speaker (the mic is not listened to while it
        plays: ``TranslationFloor``)."""
        # translation pieces follow one another: each is the next clause of what is being said
        stream = self.playback.start(response_id, outward, queued=self.floor is not None)
        if self.echo is not None and not outward:
            self.echo.start(response_id, stream.stream_id)
        return stream

    def _add_frame(self, response_id: int, opus: bytes) -> None:
        # Only a frame that will play is reference: one too many would shift the rest of it.
        if self.playback.add_frame(response_id, opus) and self.echo is not None:
            self.echo.add_reference(response_id, opus)

    def _on_playback(self, kind: str, response_id: int, heard_samples: int) -> None:
        self.events.write(events.Playback(kind, response_id, heard_samples))
        pb_kind = PLAYBACK_KINDS.get(kind)  # a level change is the edge's business, not the host's
        if response_id >= LOCAL_RESPONSE_BASE or pb_kind is None:
            return
        event = pb.PlaybackEvent(
            kind=pb_kind, response_id=response_id, heard_samples=heard_samples, time_us=time.monotonic_ns() // 1000
        )
        self.host.send(pb.EdgeMessage(playback=event))


async def run_edge(config: EdgeConfig, auth_token: str = "") -> int:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        edge = Edge(config, auth_token)
    except (ValueError, RuntimeError, OSError) as exc:  # a bad model file, an unknown option or --gps
        return fail("edge", f"cannot start: {exc}")
    try:
        return await edge.run(stop)
    except (DeviceNotFound, HostRefused) as exc:
        return fail("edge", str(exc))


__all__ = ["Edge", "EdgeConfig", "run_edge"]
