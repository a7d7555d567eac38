"""One conversation on the host: the state machine behind one ``Duplex.Converse`` stream.

The edge drives it: SessionStart, then audio frames all the time, turn events, playback events,
cancels. On a *tentative* end of turn the session already finishes ASR, asks the responder,
synthesises, whispers and encodes the answer's first piece (its first sentence, or that
sentence's opening clause: ``Reply.speech_units``), but holds it; a *confirmed* end releases
it, RESUMED throws it away. As soon as the words are known the session tells the edge whether
they form a complete sentence (a TurnHint), which may let the edge confirm the end sooner. An end
confirmed too soon is repaired here: speech that starts right after it (``_continued_turn``)
withdraws the answer and is heard together with the turn it continues.
Answers stream piece by piece. Every task belongs to the session and is cancelled with it,
so a dying edge leaves nothing running.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sottovoce.host import completeness
from sottovoce.host.asr import AsrResult, StreamingTranscriber, WhisperAsr
from sottovoce.host.clock import Clock
from sottovoce.host.history import Exchange, History, SpokenText
from sottovoce.host.responder import Context, Reply, Responder, SkillResponder
from sottovoce.host.timers import Timer, Timers, TooManyTimers
from sottovoce.host.uplink_audio import SEQ_MOD, UplinkAudio
from sottovoce.host.whisper import WhisperVoice
from sottovoce.proto.codec import (
    DOWNLINK_CONFIG,
    FRAME_MS,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    CodecError,
    OpusEncoder,
    frames_of,
)
from sottovoce.proto.v1 import duplex_pb2 as pb

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
_CLOSE = object()  # sentinel on the outbound queue: end the stream


@dataclass
class HostModels:
    """Everything loaded once per host and shared by its sessions."""

    asr: WhisperAsr
    voice: WhisperVoice
    responder_factory: Callable[[], Responder] = SkillResponder


@dataclass(frozen=True)
class SessionConfig:
    auth_token: str | None = None
    host_id: str = "sottovoce-host"
    preroll_ms: int = 300  # audio kept before the edge's speech onset (VAD onsets are late)
    sentence_gap_ms: int = 150
    clause_gap_ms: int = 60  # after a first clause rendered on its own (Reply.speech_units)
    outbound_queue: int = 256  # HostMessages waiting for gRPC; producers wait when it is full
    max_queued_notifications: int = 8
    playback_grace_s: float = 1.0  # if the edge never reports FINISHED, assume it after this
    # A wearer who speaks again right after the end of their turn was confirmed had not finished:
    # the new words continue that turn, which is heard again whole and answered once (its answer,
    # exchange and timers are taken back). "Right after": within the longest mid-turn pause, and
    # before they can have heard enough of the answer to be replying to it.
    continuation_gap_ms: int = 1500
    continuation_react_ms: int = 600


@dataclass
class RenderedSentence:
    text: str
    packets: list[bytes]
    speech_samples: int  # samples of speech before the inter-sentence pause


@dataclass
class Prepared:
    transcript: AsrResult
    reply: Reply | None
    encoder: OpusEncoder
    first: RenderedSentence | None
    asr_done: float  # perf_counter


@dataclass
class Turn:
    turn_id: int
    start_seq: int
    transcriber: StreamingTranscriber
    prepared: asyncio.Task[Prepared] | None = None
    tentative_at: float | None = None  # perf_counter of the (last) TENTATIVE_END
    confirmed_at: float | None = None
    end_seq: int | None = None  # audio seq of the CONFIRMED_END
    release: asyncio.Task[None] | None = None
    armed: list[Timer] = field(default_factory=list)  # timers its answer set


@dataclass
class Response:
    response_id: int
    turn_id: int
    user_text: str
    reply: Reply
    spoken: SpokenText = field(default_factory=SpokenText)
    task: asyncio.Task[None] | None = None
    sent_samples: int = 0
    done: bool = False  # all audio sent
    cancelled: bool = False
    playback_over: bool = False
    play_until: float = 0.0  # loop time after which playback is assumed finished
    started_seq: int | None = None  # newest uplink seq when its first audio went out
    heard_samples: int = 0  # as the edge reported when playback ended

    @property
    def active(self) -> bool:
        """Producing, or (as far as the host knows) still playing at the wearer's ear."""
        if self.cancelled or self.playback_over:
            return False
        return not self.done or asyncio.get_running_loop().time() < self.play_until


def _ms_between(first_seq: int, later_seq: int) -> int:
    """Audio time from one uplink frame to a later one (the counter wraps)."""
    return (later_seq - first_seq) % SEQ_MOD * FRAME_MS


class Session:
    def __init__(self, models: HostModels, config: SessionConfig | None = None, clock: Clock | None = None):
        self.models = models
        self.config = config or SessionConfig()
        self.clock = clock or Clock()
        self.session_id = ""
        self.started = False
        self.uplink = UplinkAudio()
        self.history = History()
        self.timers = Timers(self.clock)
        self.ctx = Context(self.history, self.clock, self.timers)
        self.responder = models.responder_factory()
        self.counters: dict[str, int] = {}
        self._errors_sent: set[str] = set()
        self._out: asyncio.Queue[Any] = asyncio.Queue(maxsize=self.config.outbound_queue)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._turn: Turn | None = None
        self._last_turn: Turn | None = None  # the latest confirmed turn (a continuation may reopen it)
        self._response: Response | None = None
        self._responses: OrderedDict[int, Response] = OrderedDict()  # recent, for late events
        self._response_ids = itertools.count(1)
        self._notifications: deque[Timer] = deque()
        self._closing = False

    # ------------------------------------------------------------------ stream plumbing

    async def converse(self, requests: AsyncIterator[pb.EdgeMessage]) -> AsyncIterator[pb.HostMessage]:
        """Consume the edge's messages, yield the host's. Cancelling the consumer cancels all."""
        reader = self._spawn(self._read(requests), "reader")
        try:
            while True:
                msg = await self._out.get()
                if msg is _CLOSE:
                    return
                yield msg
        finally:
            reader.cancel()
            await self.shutdown()

    async def shutdown(self) -> None:
        self._closing = True
        self.timers.cancel_all()
        if self._turn:
            self._drop_turn(self._turn)
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.session_id or 'session'}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("session task %s failed", task.get_name(), exc_info=task.exception())

    async def _send(self, **body: Any) -> None:
        await self._out.put(pb.HostMessage(**body))

    async def _close(self) -> None:
        self._closing = True
        await self._out.put(_CLOSE)

    async def _fatal(self, code: int, message: str) -> None:
        log.warning("session %s: fatal %s: %s", self.session_id or "-", pb.Error.Code.Name(code), message)
        await self._send(error=pb.Error(code=code, message=message, fatal=True))
        await self._close()

    async def _bad_request(self, kind: str, message: str) -> None:
        """Count every malformed message; tell the edge once per kind (not once per frame)."""
        self.counters[kind] = self.counters.get(kind, 0) + 1
        if kind in self._errors_sent:
            return
        self._errors_sent.add(kind)
        log.warning("session %s: bad request (%s): %s", self.session_id or "-", kind, message)
        await self._send(error=pb.Error(code=pb.Error.BAD_REQUEST, message=message, fatal=False))

    async def _read(self, requests: AsyncIterator[pb.EdgeMessage]) -> None:
        try:
            async for msg in requests:
                try:
                    await self._handle(msg)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # one bad message must not end the conversation
                    log.exception("session %s: handling %s failed", self.session_id, msg.WhichOneof("body"))
                    await self._bad_request("internal", f"could not handle message: {exc}")
                if self._closing:
                    return
        finally:
            if not self._closing:
                await self._close()

    # ------------------------------------------------------------------ dispatch

    async def _handle(self, msg: pb.EdgeMessage) -> None:
        kind = msg.WhichOneof("body")
        if kind == "start":
            await self._on_start(msg.start)
        elif kind is None:
            await self._bad_request("empty", "EdgeMessage without a body")
        elif not self.started:
            await self._bad_request("before_start", f"{kind} before SessionStart")
        elif kind == "audio":
            await self._on_audio(msg.audio)
        elif kind == "turn":
            await self._on_turn(msg.turn)
        elif kind == "playback":
            await self._on_playback(msg.playback)
        elif kind == "cancel":
            await self._cancel(msg.cancel.response_id, msg.cancel.reason or "cancel")
        elif kind == "telemetry":
            b = msg.telemetry.battery_percent
            if b == 255:
                self.ctx.battery_percent = None
            elif b <= 100:
                self.ctx.battery_percent = b
            else:
                await self._bad_request("telemetry", f"battery_percent {b} is not 0..100 or 255")
        elif kind == "end":
            log.info("session %s: ended by edge (%s)", self.session_id, msg.end.reason or "no reason")
            await self._close()

    async def _on_start(self, start: pb.SessionStart) -> None:
        if self.started:
            await self._bad_request("duplicate_start", "SessionStart sent twice")
            return
        self.session_id = start.session_id or f"s{id(self) & 0xFFFF:04x}"
        token = self.config.auth_token
        if token and not hmac.compare_digest(start.auth_token.encode(), token.encode()):
            await self._fatal(pb.Error.UNAUTHENTICATED, "bad auth token")
            return
        if start.protocol_version != PROTOCOL_VERSION:
            await self._fatal(pb.Error.UNSUPPORTED, f"protocol version {start.protocol_version}; this host speaks 1")
            return
        if start.codec != pb.CODEC_OPUS or start.sample_rate_hz != SAMPLE_RATE or start.frame_ms != FRAME_MS:
            await self._fatal(
                pb.Error.UNSUPPORTED,
                f"audio {pb.Codec.Name(start.codec)} {start.sample_rate_hz} Hz {start.frame_ms} ms; "
                f"this host takes CODEC_OPUS {SAMPLE_RATE} Hz {FRAME_MS} ms",
            )
            return
        if start.mode not in (pb.MODE_UNSPECIFIED, pb.MODE_ASSISTANT):
            await self._fatal(pb.Error.UNSUPPORTED, f"mode {pb.Mode.Name(start.mode)} not available yet")
            return
        self.started = True
        log.info("session %s: accepted (device %r)", self.session_id, start.device_id)
        await self._send(accepted=pb.SessionAccepted(session_id=self.session_id, host_id=self.config.host_id))
        self._spawn(self._timer_loop(), "timers")

    async def _on_audio(self, frame: pb.AudioFrame) -> None:
        try:
            self.uplink.push(frame.seq, frame.opus)
        except CodecError as exc:
            await self._bad_request("opus", str(exc))
        turn = self._turn
        if turn and turn.prepared is None:
            turn.transcriber.audio_grew(self.uplink.samples_since(turn.start_seq))

    # ------------------------------------------------------------------ turns

    async def _on_turn(self, ev: pb.TurnEvent) -> None:
        if ev.kind == pb.TurnEvent.SPEECH_START:
            await self._speech_start(ev)
            return
        turn = self._turn
        if turn is None or turn.turn_id != ev.turn_id:
            await self._bad_request("turn", f"{pb.TurnEvent.Kind.Name(ev.kind)} for unknown turn {ev.turn_id}")
            return
        if ev.kind == pb.TurnEvent.TENTATIVE_END:
            self._discard_prepared(turn)
            turn.tentative_at = time.perf_counter()
            turn.prepared = self._spawn(self._prepare(turn, ev.audio_seq), f"prepare-{turn.turn_id}")
        elif ev.kind == pb.TurnEvent.RESUMED:
            self._discard_prepared(turn)
        elif ev.kind == pb.TurnEvent.CONFIRMED_END:
            turn.confirmed_at, turn.end_seq = time.perf_counter(), ev.audio_seq
            if turn.prepared is None:  # no tentative end first: do everything now
                turn.tentative_at = turn.confirmed_at
                turn.prepared = self._spawn(self._prepare(turn, ev.audio_seq), f"prepare-{turn.turn_id}")
            self._turn = None
            self.uplink.in_turn = False
            self._last_turn = turn
            turn.release = self._spawn(self._release(turn), f"release-{turn.turn_id}")
        else:
            await self._bad_request("turn", f"turn event kind {ev.kind} unknown")

    async def _speech_start(self, ev: pb.TurnEvent) -> None:
        continued = self._continued_turn(ev)
        if continued is not None:
            await self._take_back(continued, ev)
        if ev.barge_in and self._response and not self._response.done and not self._response.cancelled:
            await self._cancel(self._response.response_id, "barge_in")
        if self._turn:
            self._drop_turn(self._turn)
        start_seq = continued.start_seq if continued else (ev.audio_seq - self.config.preroll_ms // FRAME_MS) % SEQ_MOD
        transcriber = StreamingTranscriber(
            self.models.asr,
            lambda: self.uplink.slice(start_seq),
            lambda text: self._send(transcript=pb.Transcript(turn_id=ev.turn_id, text=text, final=False)),
        )
        self._turn = Turn(ev.turn_id, start_seq, transcriber)
        self.uplink.in_turn = True
        # The edge announces speech a few frames after its onset: that audio is already here.
        transcriber.audio_grew(self.uplink.samples_since(start_seq))

    def _continued_turn(self, ev: pb.TurnEvent) -> Turn | None:
        """The confirmed turn this speech goes on from, if it starts right after it (see
        ``SessionConfig.continuation_gap_ms``); measured in uplink frames, so on the audio's clock."""
        last, cfg = self._last_turn, self.config
        if last is None or last.end_seq is None or self._turn is not None:
            return None
        if _ms_between(last.end_seq, ev.audio_seq) > cfg.continuation_gap_ms:
            return None
        r = self._answer_to(last)
        if r is not None and (r.playback_over and not r.cancelled):
            return None  # the whole answer was heard
        if r is not None and r.started_seq is not None:
            # The uplink runs in real time while the answer plays; the edge may also have said
            # how much was heard already (a playback that ended before this speech began).
            heard_ms = max(_ms_between(r.started_seq, ev.audio_seq), r.heard_samples * 1000 // SAMPLE_RATE)
            if heard_ms > cfg.continuation_react_ms:
                return None
        return last

    async def _take_back(self, turn: Turn, ev: pb.TurnEvent) -> None:
        """The wearer went on: withdraw the answer to the turn they had not finished, its exchange
        and the timers it set; the new turn hears the whole of it again."""
        self._last_turn = None
        if turn.release is not None and not turn.release.done():  # still preparing or speaking
            turn.release.cancel()
            await asyncio.gather(turn.release, return_exceptions=True)
        r = self._answer_to(turn)
        if r is not None:
            await self._cancel(r.response_id, "continued")
            self.history.remove(r.response_id)
        for timer in turn.armed:
            self.timers.cancel(timer.id)
        self.counters["continued_turns"] = self.counters.get("continued_turns", 0) + 1
        log.info(
            "turn %d continues turn %d (%d ms after its end); its answer is withdrawn",
            ev.turn_id, turn.turn_id, _ms_between(turn.end_seq or 0, ev.audio_seq),
        )  # fmt: skip

    def _answer_to(self, turn: Turn) -> Response | None:
        return next((r for r in reversed(self._responses.values()) if r.turn_id == turn.turn_id), None)

    def _discard_prepared(self, turn: Turn) -> None:
        if turn.prepared is not None:
            turn.prepared.cancel()
            turn.prepared = None

    def _drop_turn(self, turn: Turn) -> None:
        self._discard_prepared(turn)
        turn.transcriber.close()
        self._turn = None
        self.uplink.in_turn = False

    async def _prepare(self, turn: Turn, end_seq: int) -> Prepared:
        pcm = self.uplink.slice(turn.start_seq, end_seq)
        result = await turn.transcriber.final(pcm)
        asr_done = time.perf_counter()
        if turn.confirmed_at is None:  # the edge is still deciding: tell it what the words say
            await self._hint(turn, end_seq, result)
        reply = await self.responder.respond(result.text, self.ctx) if result.text else None
        encoder = OpusEncoder(DOWNLINK_CONFIG)
        units = reply.speech_units if reply else []
        first = await asyncio.to_thread(self._render, encoder, units[0]) if units else None
        return Prepared(result, reply, encoder, first, asr_done)

    async def _hint(self, turn: Turn, end_seq: int, result: AsrResult) -> None:
        verdict = completeness.judge_result(result)
        key = "hints_complete" if verdict.complete else "hints_incomplete" if verdict.sure else "hints_unsure"
        self.counters[key] = self.counters.get(key, 0) + 1
        log.debug("turn %d: %r reads as %s", turn.turn_id, result.text, verdict.reason)
        hint = pb.TurnHint(
            turn_id=turn.turn_id,
            audio_seq=end_seq,
            complete=verdict.complete,
            asr_confidence=result.confidence,
            sure=verdict.sure,
            question=verdict.question,
        )
        await self._send(hint=hint)

    def _render(self, encoder: OpusEncoder, text: str) -> RenderedSentence:
        """Blocking (worker thread): TTS, whisper, Opus. Pads to whole frames plus a short pause
        so each sentence starts on a frame boundary and sample offsets stay exact."""
        pcm = self.models.voice.speak(text, self.uplink.noise.dbfs)
        gap_ms = self.config.clause_gap_ms if text.endswith(",") else self.config.sentence_gap_ms
        gap = np.zeros(gap_ms * SAMPLE_RATE // 1000, dtype=np.int16)
        packets = [encoder.encode(f) for f in frames_of(np.concatenate([pcm, gap]))]
        return RenderedSentence(text, packets, len(pcm))

    async def _release(self, turn: Turn) -> None:
        assert turn.prepared is not None
        try:
            prepared = await turn.prepared
        except asyncio.CancelledError:
            if turn.prepared.cancelled() and not self._closing:
                return  # superseded by a newer turn
            raise
        except Exception as exc:
            log.exception("session %s: turn %d failed", self.session_id, turn.turn_id)
            await self._send(error=pb.Error(code=pb.Error.INTERNAL, message=f"turn failed: {exc}", fatal=False))
            await self._send(transcript=pb.Transcript(turn_id=turn.turn_id, text="", final=True))
            return
        text = prepared.transcript.text
        await self._send(transcript=pb.Transcript(turn_id=turn.turn_id, text=text, final=True))
        asr_ms = 1000 * (prepared.asr_done - (turn.tentative_at or prepared.asr_done))
        if prepared.reply is None:
            log.info("turn %d: heard %r -> no answer | asr %.0f ms after tentative", turn.turn_id, text, asr_ms)
            self._kick_notifications()  # a timer that fired during the turn may speak now
            return
        turn.armed = self._apply_effects(prepared.reply)
        response = await self._new_response(turn.turn_id, text, prepared.reply)
        first_sent = await self._speak(response, prepared.encoder, prepared.first)
        log.info(
            "turn %d: heard %r -> %r | final asr %.0f ms after tentative (%.2f s audio), first audio %.0f ms "
            "after tentative, %.0f ms after confirmed",
            turn.turn_id, text, prepared.reply.text, asr_ms, prepared.transcript.audio_s,
            1000 * (first_sent - (turn.tentative_at or first_sent)),
            1000 * (first_sent - (turn.confirmed_at or first_sent)),
        )  # fmt: skip

    def _apply_effects(self, reply: Reply) -> list[Timer]:
        """Carry out what the reply does besides speaking; the timers it armed."""
        if reply.cancel_timers:
            self.timers.cancel_all()
        armed = []
        for req in reply.arm_timers:
            try:
                armed.append(self.timers.arm(req))
            except TooManyTimers as exc:
                log.warning("session %s: %s", self.session_id, exc)
        return armed

    # ------------------------------------------------------------------ responses

    async def _new_response(self, turn_id: int, user_text: str, reply: Reply) -> Response:
        old = self._response
        if old and not old.done and not old.cancelled:  # superseded: the edge hears CANCELLED
            await self._cancel(old.response_id, "superseded")
        response = Response(next(self._response_ids), turn_id, user_text, reply)
        response.task = asyncio.current_task()
        self._response = response
        self._responses[response.response_id] = response
        while len(self._responses) > 16:
            self._responses.popitem(last=False)
        self.history.add(Exchange(user_text, reply.text, response.response_id))
        return response

    async def _speak(self, r: Response, encoder: OpusEncoder, first: RenderedSentence | None) -> float:
        """Stream one response; returns the perf_counter time its first audio frame was queued."""
        await self._send(
            response=pb.ResponseEvent(
                kind=pb.ResponseEvent.STARTED, response_id=r.response_id, turn_id=r.turn_id, text=r.reply.text
            )
        )
        first_sent = 0.0
        seq = 0
        for i, sentence in enumerate(r.reply.speech_units):
            if i == 0 and first is not None:
                rendered = first
            else:
                rendered = await asyncio.to_thread(self._render, encoder, sentence)
            start = seq * FRAME_SAMPLES
            r.spoken.add(sentence, start, start + rendered.speech_samples)
            for packet in rendered.packets:
                await self._send(audio=pb.ResponseAudio(response_id=r.response_id, seq=seq, opus=packet))
                if seq == 0:
                    first_sent, r.started_seq = time.perf_counter(), self.uplink.last_seq
                seq += 1
                r.sent_samples = seq * FRAME_SAMPLES
        r.done = True
        loop = asyncio.get_running_loop()
        r.play_until = loop.time() + r.sent_samples / SAMPLE_RATE + self.config.playback_grace_s
        await self._send(
            response=pb.ResponseEvent(
                kind=pb.ResponseEvent.DONE, response_id=r.response_id, turn_id=r.turn_id,
                total_samples=r.sent_samples,
            )
        )  # fmt: skip
        loop.call_at(r.play_until + 0.01, self._kick_notifications)
        return first_sent

    async def _cancel(self, response_id: int, reason: str) -> None:
        r = self._responses.get(response_id)
        if r is None:
            await self._bad_request("cancel", f"cancel for unknown response {response_id}")
            return
        if r.cancelled:
            return
        r.cancelled = True
        task = r.task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)  # no audio may follow CANCELLED
        heard = r.spoken.text_until(r.sent_samples)
        ex = self.history.find(response_id)
        if ex is not None and not ex.interrupted:
            ex.assistant = heard
        log.info("response %d cancelled (%s) after %d samples: kept %r", response_id, reason, r.sent_samples, heard)
        await self._send(
            response=pb.ResponseEvent(
                kind=pb.ResponseEvent.CANCELLED, response_id=response_id, turn_id=r.turn_id, text=heard,
                total_samples=r.sent_samples,
            )
        )  # fmt: skip
        self._kick_notifications()

    async def _on_playback(self, ev: pb.PlaybackEvent) -> None:
        r = self._responses.get(ev.response_id)
        if r is None:
            await self._bad_request("playback", f"playback event for unknown response {ev.response_id}")
            return
        if ev.kind == pb.PlaybackEvent.STARTED:
            return
        r.playback_over = True
        r.heard_samples = ev.heard_samples
        if ev.kind == pb.PlaybackEvent.INTERRUPTED:
            heard = r.spoken.text_until(ev.heard_samples)
            self.history.truncate(ev.response_id, heard)
            log.info(
                "response %d interrupted after %d samples; wearer heard %r", r.response_id, ev.heard_samples, heard
            )
        elif ev.kind == pb.PlaybackEvent.FINISHED:
            ex = self.history.find(ev.response_id)
            if ex is not None and not r.cancelled:
                ex.assistant, ex.interrupted = r.reply.text, False
        self._kick_notifications()

    # ------------------------------------------------------------------ proactive notifications

    async def _timer_loop(self) -> None:
        while True:
            timer = await self.timers.next_fired()
            if len(self._notifications) >= self.config.max_queued_notifications:
                self.counters["notifications_dropped"] = self.counters.get("notifications_dropped", 0) + 1
                log.warning("session %s: notification dropped (queue full): %r", self.session_id, timer.request)
                continue
            self._notifications.append(timer)
            self._kick_notifications()

    def _kick_notifications(self) -> None:
        """Speak a fired timer now unless the wearer is talking or an answer is playing."""
        if self._closing or not self._notifications or self._turn is not None:
            return
        if self._response is not None and self._response.active:
            return
        timer = self._notifications.popleft()
        self._spawn(self._notify(timer), f"notify-{timer.id}")

    async def _notify(self, timer: Timer) -> None:
        reply = Reply(timer.request.announcement)
        response = await self._new_response(0, "", reply)
        await self._speak(response, OpusEncoder(DOWNLINK_CONFIG), None)
        log.info("timer %d: said %r", timer.id, reply.text)
