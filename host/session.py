"""One conversation on the host, once its stream has started (``host.stream``): the wearer's audio,
the turn ledger's decisions carried out, answers said, timers spoken when they fire.

On a *tentative* end of turn the session already hears the words, tells the edge whether they form
a complete sentence (a TurnHint, which may let the edge confirm the end sooner), asks the
responder and renders the answer's first piece, but holds it; a *confirmed* end releases it. A
language model asked at the tentative end writes on meanwhile, so the confirmation finds its
answer under way; if the wearer goes on instead, the prepared answer is closed and the model stops.
Which turn is which, and when an end was confirmed too soon, is the turn ledger's to say
(``host.turn_ledger``); the answer itself comes from the answer pipeline (``host.answer``) and is
said through ``host.responses``. Speech the wearer made over an answer is read when the edge asks
(an OverlapQuery): backchannel or interruption (``host.overlap``), from its words and its sound,
the sound's loudness against the wearer's own speaking level, which the session tracks from the
turns it hears (``host.overlap_sound.WearerLevel``); no turn is opened for it.
What the session says unasked - a timer firing, a navigation cue - waits in one queue
(``host.proactive``) until it can be said without talking over the wearer; one the wearer began
talking with (their onset, as the edge reports it, before its first sample or just after) is
withdrawn and queued again, and their speech is their turn, not a barge-in; one they stopped later
(a barge-in) is said again after their turn and its answer, unless they only asked for quiet. In
navigation mode a
``Navigator`` follows the wearer's pose and its skill answers first (``host.navigation``).
Every task belongs to the session and is cancelled with it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sottovoce.host.answer import AnswerConfig, AnswerPipeline, Draft, HostModels
from sottovoce.host.asr import AsrResult, StreamingTranscriber
from sottovoce.host.clock import Clock
from sottovoce.host.history import History
from sottovoce.host.navigation.navigator import CueAnnouncement, Navigator
from sottovoce.host.navigation.progress import Fix
from sottovoce.host.navigation.skill import NavigationResponder, NavigationSkill
from sottovoce.host.overlap import ONSET_LEAD_FRAMES, OverlapHistory, OverlapKind, OverlapReading, read_overlap
from sottovoce.host.overlap_sound import WearerLevel
from sottovoce.host.proactive import Announcement, ProactiveQueue, began_with, may_speak
from sottovoce.host.responder import Context, Reply, wants_silence
from sottovoce.host.responses import Responses
from sottovoce.host.speech_handle import SpeechHandle
from sottovoce.host.stream import BadRequest, Outbox
from sottovoce.host.tasks import TaskSet
from sottovoce.host.timers import Timer, Timers, TooManyTimers
from sottovoce.host.turn_ledger import (
    Abandoned,
    ConfirmedEnd,
    Decision,
    Discard,
    Drop,
    Interrupt,
    LedgerConfig,
    Open,
    Prepare,
    Reject,
    Release,
    Resumed,
    SpeechStart,
    TakeBack,
    TentativeEnd,
    TurnInput,
    TurnLedger,
)
from sottovoce.host.uplink_audio import UplinkAudio
from sottovoce.proto.timeline import AUDIO_SEQ
from sottovoce.proto.v1 import duplex_pb2 as pb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionConfig:
    ledger: LedgerConfig = field(default_factory=LedgerConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)
    max_queued_notifications: int = 8
    playback_grace_s: float = 1.0  # if the edge never reports FINISHED, assume it after this
    # Proactive speech that gave way to speech over it (an OverlapQuery) waits this long for the turn
    # the edge makes of it: the edge decides within its longest overlap plus a reading's wait.
    gave_way_hold_s: float = 1.5


@dataclass
class SessionCounters:
    failed_turns: int = 0
    overlaps_read: int = 0  # OverlapQuery answered with a verdict
    poses_unused: int = 0  # poses in a session that is not navigating


@dataclass
class Prepared:
    transcript: AsrResult
    draft: Draft | None  # None: nothing to say
    asr_done: float  # perf_counter


@dataclass
class TurnWork:
    """What the session runs for one of the ledger's turns."""

    turn_id: int
    start_seq: int
    transcriber: StreamingTranscriber
    prepared: asyncio.Task[Prepared] | None = None
    tentative_at: float | None = None  # perf_counter of the (last) preparation
    end_seq: int | None = None  # last frame of the (last) preparation
    confirmed_at: float | None = None
    release: asyncio.Task[None] | None = None
    armed: list[Timer] = field(default_factory=list)  # timers its answer set
    talked_over: str = ""  # the words of the request whose answer this turn barged in on


@dataclass
class Unasked:
    """Proactive speech on its way to the ear, and whether it gave way to the wearer or they stopped it."""

    item: Announcement
    handle: SpeechHandle
    gave_way: bool = False
    stopped: bool = False


LedgerObserver = Callable[[TurnInput, list[Decision]], None]

_TURN_INPUTS = {
    pb.TurnEvent.SPEECH_START: SpeechStart,
    pb.TurnEvent.TENTATIVE_END: TentativeEnd,
    pb.TurnEvent.RESUMED: Resumed,
    pb.TurnEvent.CONFIRMED_END: ConfirmedEnd,
    pb.TurnEvent.ABANDONED: Abandoned,
}

_OVERLAP_KINDS = {
    OverlapKind.BACKCHANNEL: pb.OverlapVerdict.BACKCHANNEL,
    OverlapKind.INTERRUPTION: pb.OverlapVerdict.INTERRUPTION,
    OverlapKind.UNSURE: pb.OverlapVerdict.UNSURE,
}


async def _close_draft(prepared: asyncio.Task[Prepared]) -> None:
    if not prepared.cancelled() and prepared.exception() is None:
        draft = prepared.result().draft
        if draft is not None:
            await draft.aclose()


class Session:
    def __init__(
        self,
        session_id: str,
        out: Outbox,
        models: HostModels,
        config: SessionConfig | None = None,
        clock: Clock | None = None,
        observe_ledger: LedgerObserver | None = None,
        navigator: Navigator | None = None,
    ) -> None:
        self.session_id = session_id
        self.out = out
        self.config = config or SessionConfig()
        self.clock = clock or Clock()
        self.uplink = UplinkAudio()
        self.wearer_level = WearerLevel()
        self.overlap_history = OverlapHistory()
        self.history = History()
        self.timers = Timers(self.clock)
        self.ctx = Context(self.history, self.clock, self.timers)
        self.navigator = navigator
        responder = models.responder_factory()
        if navigator is not None:
            responder = NavigationResponder(NavigationSkill(navigator), responder)
        self.pipeline = AnswerPipeline(
            models.asr, models.voice, responder, self.ctx, self.config.answer,
            ambient_dbfs=lambda: self.uplink.noise.dbfs, end_of_utterance=models.end_of_utterance,
        )  # fmt: skip
        self.ledger = TurnLedger(self.config.ledger)
        self.responses = Responses(
            out, self.pipeline, self.history, lambda: self.uplink.last_seq, self.config.playback_grace_s,
            on_quiet=self._kick_proactive,
        )  # fmt: skip
        self.session_counters = SessionCounters()
        self._observe_ledger = observe_ledger
        self._tasks = TaskSet(lambda: self.session_id)
        self._open: TurnWork | None = None  # the ledger's open turn
        self._last: TurnWork | None = None  # the ledger's last confirmed turn
        self._barged_in_on: tuple[int, str] | None = None  # (turn id, TurnWork.talked_over) of a barge-in
        self.proactive = ProactiveQueue(self.config.max_queued_notifications)
        self._unasked: asyncio.Task[None] | None = None  # proactive speech being rendered or said
        self._saying: Unasked | None = None  # the latest proactive speech sent
        self._held: asyncio.TimerHandle | None = None  # gave way to speech the edge has not made a turn of yet
        self._closing = False
        self._tasks.spawn(self._timer_loop(), "timers")

    def counters(self) -> dict[str, dict[str, int]]:
        return {
            "uplink": dataclasses.asdict(self.uplink.counters),
            "turns": dataclasses.asdict(self.ledger.counters),
            "answers": dataclasses.asdict(self.pipeline.counters),
            "responses": dataclasses.asdict(self.responses.counters),
            "session": dataclasses.asdict(self.session_counters),
            "proactive": dataclasses.asdict(self.proactive.counters),
        } | ({"navigation": dataclasses.asdict(self.navigator.counters)} if self.navigator else {})

    async def shutdown(self) -> None:
        self._closing = True
        self.timers.cancel_all()
        closing = self._drop(self._open) if self._open else None
        if closing is not None:  # before the session's tasks are cancelled, closing among them
            await asyncio.wait([closing])
        await self._tasks.cancel_all()

    # ------------------------------------------------------------------ from the edge

    async def on_audio(self, frame: pb.AudioFrame) -> None:
        await self.out.take_audio(self.uplink, frame)
        work = self._open
        if work and work.prepared is None:
            work.transcriber.audio_grew(self.uplink.samples_since(work.start_seq))

    async def on_turn(self, ev: pb.TurnEvent) -> None:
        kind = _TURN_INPUTS.get(ev.kind)
        if kind is None:
            await self.out.bad_request(BadRequest.TURN, f"turn event kind {ev.kind} unknown")
            return
        if kind is SpeechStart:
            # Speech begun with proactive speech is the wearer's own turn: what it stopped was no answer.
            gave_way = await self._give_way(ev.audio_seq)
            barge_in = ev.barge_in and not gave_way
            if barge_in:
                self._stopped_by_wearer()
            last = self.ledger.last_confirmed
            answer = self.responses.answer_to(last) if last is not None else None
            self._barged_in_on = (ev.turn_id, _words_of(self._last)) if barge_in else None
            event: TurnInput = SpeechStart(
                ev.turn_id, ev.audio_seq, barge_in, answer.progress() if answer is not None else None
            )
        else:
            event = kind(ev.turn_id, ev.audio_seq)
        decisions = self.ledger.feed(event)
        if self._observe_ledger is not None:
            self._observe_ledger(event, decisions)
        for decision in decisions:
            await self._carry_out(decision)
        if kind is SpeechStart:
            self._release_hold()  # the open turn holds the floor from here

    async def on_overlap(self, query: pb.OverlapQuery) -> None:
        """Read the words of speech over an answer; the verdict goes back when the ASR is done
        (the stream goes on meanwhile: the edge is still sending audio). Proactive speech it began
        with gives way at once: the edge holds what it is playing, and would only bring it back."""
        await self._give_way(query.first_seq)
        self._tasks.spawn(self._read_overlap(query), f"overlap-{query.query_id}")

    async def _read_overlap(self, query: pb.OverlapQuery) -> None:
        try:
            reading = await read_overlap(
                self.pipeline.asr,
                self.uplink.slice(AUDIO_SEQ.add(query.first_seq, -ONSET_LEAD_FRAMES), query.last_seq),
                self.uplink.noise.dbfs,
                self.wearer_level.dbfs,
                answer_text=self.responses.current.reply.text if self.responses.current is not None else "",
                history=self.overlap_history,
                first_seq=query.first_seq,
            )
        except Exception as exc:  # the edge decides without the words; it must not wait for nothing
            log.exception("session %s: overlap %d could not be read", self.session_id, query.query_id)
            reading = OverlapReading(OverlapKind.UNSURE, "", f"not read: {exc}")
        log.info("overlap %d (frames %d..%d): %r reads as %s (%s)", query.query_id, query.first_seq,
                 query.last_seq, reading.text, reading.kind.value, reading.reason)  # fmt: skip
        self.session_counters.overlaps_read += 1
        verdict = pb.OverlapVerdict(
            query_id=query.query_id, kind=_OVERLAP_KINDS[reading.kind], text=reading.text, command=reading.command
        )
        await self.out.send(overlap=verdict)

    async def on_playback(self, ev: pb.PlaybackEvent) -> None:
        await self.responses.playback(ev)

    async def on_cancel(self, response_id: int, reason: str) -> None:
        await self.responses.cancel(response_id, reason)

    async def on_telemetry(self, telemetry: pb.Telemetry) -> None:
        b = telemetry.battery_percent
        if b == 255:
            self.ctx.battery_percent = None
        elif b <= 100:
            self.ctx.battery_percent = b
        else:
            await self.out.bad_request(BadRequest.TELEMETRY, f"battery_percent {b} is not 0..100 or 255")

    # ------------------------------------------------------------------ the ledger's decisions

    async def _carry_out(self, decision: Decision) -> None:
        match decision:
            case TakeBack():
                await self._take_back(decision)
            case Interrupt():
                await self.responses.barge_in()
            case Drop():
                assert self._open is not None and self._open.turn_id == decision.turn_id
                self._drop(self._open)
            case Open(turn_id=turn_id, start_seq=start_seq):
                self._listen(turn_id, start_seq)
            case Prepare(turn_id=turn_id, end_seq=end_seq):
                work = self._open
                assert work is not None and work.turn_id == turn_id
                work.tentative_at, work.end_seq = time.perf_counter(), end_seq
                work.prepared = self._tasks.spawn(self._prepare(work, end_seq), f"prepare-{turn_id}")
            case Discard():
                assert self._open is not None and self._open.turn_id == decision.turn_id
                self._discard(self._open)
            case Release(turn_id=turn_id):
                work = self._open
                assert work is not None and work.turn_id == turn_id
                work.confirmed_at = time.perf_counter()
                self._open, self._last = None, work
                # once per turn, when it is the wearer's for sure: how loudly they speak
                self.wearer_level.add_turn(self.uplink.slice(work.start_seq, work.end_seq), self.uplink.noise.dbfs)
                self.uplink.in_turn = False
                work.release = self._tasks.spawn(self._release(work), f"release-{turn_id}")
            case Reject(reason=reason):
                await self.out.bad_request(BadRequest.TURN, reason)

    def _listen(self, turn_id: int, start_seq: int) -> None:
        transcriber = self.pipeline.listen(
            lambda: self.uplink.slice(start_seq),
            lambda text: self.out.send(transcript=pb.Transcript(turn_id=turn_id, text=text, final=False)),
        )
        self._open = TurnWork(turn_id, start_seq, transcriber)
        if self._barged_in_on is not None and self._barged_in_on[0] == turn_id:
            self._open.talked_over = self._barged_in_on[1]
        self.uplink.in_turn = True
        # The edge announces speech a few frames after its onset: that audio is already here.
        transcriber.audio_grew(self.uplink.samples_since(start_seq))

    async def _take_back(self, decision: TakeBack) -> None:
        """The wearer went on: withdraw the answer to the turn they had not finished, its exchange
        and the timers it set; the new turn hears the whole of it again."""
        work = self._last
        assert work is not None and work.turn_id == decision.turn_id
        self._last = None
        # The new turn holds the request it talked over: as Whisper's prompt those words would be
        # taken as said already and left out ("Call Anna." for the whole reminder).
        self._barged_in_on = None
        if work.release is not None and not work.release.done():  # still preparing or speaking
            work.release.cancel()
            await asyncio.gather(work.release, return_exceptions=True)
        await self.responses.withdraw(work.turn_id)
        for timer in work.armed:
            self.timers.cancel(timer.id)
        log.info("turn %d continues turn %d (%d ms after its end); its answer is withdrawn",
                 decision.by_turn, work.turn_id, decision.gap_ms)  # fmt: skip

    def _discard(self, work: TurnWork) -> asyncio.Task[None] | None:
        """Throw away the answer prepared at a tentative end: a model still writing it stops. The
        task closing a draft already made, if there is one."""
        task, work.prepared = work.prepared, None
        if task is None:
            return None
        if not task.done():
            task.cancel()  # a draft being made is closed by ``draft`` itself
            return None
        # a draft made, waiting for a confirmation that will not come
        return self._tasks.spawn(_close_draft(task), f"discard-{work.turn_id}")

    def _drop(self, work: TurnWork) -> asyncio.Task[None] | None:
        closing = self._discard(work)
        work.transcriber.close()
        self._open = None
        self.uplink.in_turn = False
        self._after_turn(wanted_silence=False)  # no turn after all: what it stopped is said
        return closing

    # ------------------------------------------------------------------ answering a turn

    async def _prepare(self, work: TurnWork, end_seq: int) -> Prepared:
        # A correction refers to the request it corrects ("call Anna" - "No, Anne."): with that
        # request as its prompt Whisper reads the name (measured on the bench's audio: "No, and..."
        # without it, "No, Anne." with it; the answer heard so far, cut before the name, did not
        # help). Readings of speech over an answer get no prompt: with the answer as one, Whisper
        # made a synthetic "Mm-hm." content ("And then may Chen.").
        work.transcriber.prompt = work.talked_over
        result = await self.pipeline.hear(self.uplink.slice(work.start_seq, end_seq), work.transcriber)
        asr_done = time.perf_counter()
        if work.confirmed_at is None:  # the edge is still deciding: tell it what the words say
            await self._hint(work.turn_id, end_seq, result)
        reply = await self.pipeline.respond(result.text)
        draft = await self.pipeline.draft(reply) if reply is not None else None
        return Prepared(result, draft, asr_done)

    async def _hint(self, turn_id: int, end_seq: int, result: AsrResult) -> None:
        verdict = await self.pipeline.read(result)
        log.debug("turn %d: %r reads as %s", turn_id, result.text, verdict.reason)
        hint = pb.TurnHint(
            turn_id=turn_id,
            audio_seq=end_seq,
            complete=verdict.complete,
            asr_confidence=result.confidence,
            sure=verdict.sure,
            question=verdict.question,
        )
        await self.out.send(hint=hint)

    async def _release(self, work: TurnWork) -> None:
        task = work.prepared
        assert task is not None
        try:
            prepared = await task
        except asyncio.CancelledError:
            if task.cancelled() and not self._closing:
                return  # superseded by a newer turn
            raise
        except Exception as exc:
            self.session_counters.failed_turns += 1
            log.exception("session %s: turn %d failed", self.session_id, work.turn_id)
            await self.out.send(error=pb.Error(code=pb.Error.INTERNAL, message=f"turn failed: {exc}", fatal=False))
            await self.out.send(transcript=pb.Transcript(turn_id=work.turn_id, text="", final=True))
            self._after_turn(wanted_silence=False)
            return
        text = prepared.transcript.text
        await self.out.send(transcript=pb.Transcript(turn_id=work.turn_id, text=text, final=True))
        asr_ms = 1000 * (prepared.asr_done - (work.tentative_at or prepared.asr_done))
        if prepared.draft is None:
            log.info("turn %d: heard %r -> no answer | asr %.0f ms after tentative", work.turn_id, text, asr_ms)
            self._after_turn(wants_silence(text))  # a timer that fired or a cue due during the turn may speak now
            return
        reply = prepared.draft.reply
        work.armed = self._apply_effects(reply)
        if reply.volume is not None:  # before the reply, so its confirmation is heard at the new level
            self.ctx.volume_percent = reply.volume
            await self.out.send(volume=pb.SetVolume(level_percent=reply.volume))
        handle = await self.responses.open(work.turn_id, text, reply)
        self._after_turn(wanted_silence=False)  # the answer holds the floor: what it waits for follows it
        # A later correction of this request reads what it asked for and which timers it armed.
        self.history.record_effects(handle.response_id, reply.request, tuple(t.id for t in work.armed))
        first_sent = await self.responses.speak(handle, prepared.draft)
        log.info(
            "turn %d: heard %r -> %r | final asr %.0f ms after tentative (%.2f s audio), first audio %.0f ms "
            "after tentative, %.0f ms after confirmed",
            work.turn_id, text, reply.text, asr_ms, prepared.transcript.audio_s,
            1000 * (first_sent - (work.tentative_at or first_sent)),
            1000 * (first_sent - (work.confirmed_at or first_sent)),
        )  # fmt: skip

    def _apply_effects(self, reply: Reply) -> list[Timer]:
        """Carry out what the reply does besides speaking; the timers it armed."""
        if reply.cancel_timers:
            self.timers.cancel_all()
        for timer_id in reply.replace_timers:  # a corrected request: its new timer takes the old one's place
            self.timers.cancel(timer_id)
        armed = []
        for req in reply.arm_timers:
            try:
                armed.append(self.timers.arm(req))
            except TooManyTimers as exc:
                log.warning("session %s: %s", self.session_id, exc)
        return armed

    # ------------------------------------------------------------------ proactive speech

    async def _timer_loop(self) -> None:
        while True:
            self._offer(await self.timers.next_fired())

    def _offer(self, item: Announcement) -> None:
        self.proactive.offer(item)
        self._kick_proactive()

    def _floor(self) -> tuple[bool, bool, bool]:
        """(wearer talking, wearer paused, answer playing), as ``host.proactive.may_speak`` takes them."""
        work = self._open
        if work is None and self._held is not None:  # speech given way to, not yet a turn
            return True, False, self.responses.playing
        # a tentative end with its answer being prepared: the wearer has paused
        return work is not None, work is not None and work.prepared is not None, self.responses.playing

    async def _give_way(self, onset_seq: int) -> bool:
        """Whether the wearer's speech from ``onset_seq`` began with the proactive speech sent
        last (``host.proactive.gives_way``); if so, that is withdrawn - cancelled, so the edge
        flushes it, and out of the history - and queued again, once."""
        said = self._saying
        if said is None:
            return False
        handle = said.handle
        if handle.started_seq is None:
            if handle.cancelled:  # superseded before a frame went out: nothing to give way
                return False
            began = True  # the wearer began before its first frame
        else:
            began = began_with(handle.started_seq, onset_seq)
        if not began or _heard_whole(handle):
            return False
        if said.gave_way:
            return True
        said.gave_way = True
        self._hold(self.config.gave_way_hold_s)  # the cancel frees the floor: not for this item
        await self.responses.cancel(handle.response_id, "gave_way")
        self.history.remove(handle.response_id)
        self.proactive.give_way(said.item)
        log.info("%s gave way to the wearer (onset at frame %d, its first frame went out at %s)",
                 said.item.key, onset_seq, handle.started_seq)  # fmt: skip
        return True

    def _stopped_by_wearer(self) -> None:
        """The wearer's speech stops what is playing (a barge-in): if that is proactive speech
        they have not heard whole, it is said again after their turn (``ProactiveQueue.stopped``)."""
        said = self._saying
        if said is None or said.gave_way or said.stopped or self.responses.current is not said.handle:
            return
        if _heard_whole(said.handle):
            return
        said.stopped = True
        self.proactive.stopped(said.item)
        log.info("%s stopped by the wearer: said again after their turn", said.item.key)

    def _after_turn(self, wanted_silence: bool) -> None:
        self.proactive.after_turn(wanted_silence)
        self._kick_proactive()

    def _hold(self, seconds: float) -> None:
        """No proactive speech for ``seconds`` (or until the wearer's turn opens)."""
        if self._held is not None:
            self._held.cancel()
        self._held = asyncio.get_running_loop().call_later(seconds, self._release_hold)

    def _release_hold(self) -> None:
        if self._held is not None:
            self._held.cancel()
            self._held = None
            self._kick_proactive()

    def _kick_proactive(self) -> None:
        """Say what is waiting, if it may be said now, one thing at a time."""
        if self._closing or self.out.closing or not len(self.proactive):
            return
        if self._unasked is not None and not self._unasked.done():
            return
        taken = self.proactive.take(*self._floor())
        if taken is not None:
            item, text = taken
            self._unasked = self._tasks.spawn(self._say_unasked(item, text), f"proactive-{item.key}")

    async def _say_unasked(self, item: Announcement, text: str) -> None:
        reply = Reply(text)
        draft = await self.pipeline.draft(reply)
        # Rendering took a moment: the wearer may have started talking meanwhile. Then it waits again.
        if not may_speak(item.urgent, *self._floor()):
            await draft.aclose()
            self.proactive.put_back(item)
            return
        handle = await self.responses.open(0, "", reply)
        self._saying = Unasked(item, handle)
        await self.responses.speak(handle, draft)
        log.info("%s: said %r", item.key, text)

    # ------------------------------------------------------------------ navigation

    async def on_pose(self, pose: pb.Pose) -> None:
        if self.navigator is None:
            self.session_counters.poses_unused += 1
            return
        problem = _pose_problem(pose)
        if problem is not None:
            await self.out.bad_request(BadRequest.POSE, problem)
            return
        t_s = pose.time_us / 1e6 if pose.time_us else time.monotonic()
        accuracy = pose.horizontal_accuracy_m if pose.horizontal_accuracy_m > 0 else 5.0
        fix = Fix(t_s, pose.latitude_deg, pose.longitude_deg, accuracy) if pose.has_fix else None
        for cue in self.navigator.on_pose(fix, pose.heading_deg if pose.has_heading else None):
            self._offer(CueAnnouncement(self.navigator, cue))

    def start_navigation(self, destination: str) -> None:
        """Set off for ``destination`` as if the wearer had asked (the host's --destination)."""
        if self.navigator is not None and destination:
            said = self.navigator.go_to(destination)
            log.info("session %s: navigation to %r: %s", self.session_id, destination, said)


def _pose_problem(pose: pb.Pose) -> str | None:
    """Why a Pose cannot be used, if it cannot."""
    if pose.has_fix and not (-90 <= pose.latitude_deg <= 90 and -180 <= pose.longitude_deg <= 180):
        return f"pose position ({pose.latitude_deg}, {pose.longitude_deg}) is not a latitude and longitude"
    if pose.has_heading and not 0 <= pose.heading_deg < 360:
        return f"pose heading {pose.heading_deg} is not in [0, 360)"
    return None


def _heard_whole(handle: SpeechHandle) -> bool:
    """Played to its end at the ear (the edge's report of a playback it cut short may come before
    the host's cancel, so a cancel alone does not say it was not)."""
    return handle.done and handle.playback_over and handle.heard_samples >= handle.sent_samples


def _words_of(work: TurnWork | None) -> str:
    """What the wearer said in ``work``'s turn, once heard ("" before, or if it failed)."""
    task = None if work is None else work.prepared
    if task is None or not task.done() or task.cancelled() or task.exception() is not None:
        return ""
    return task.result().transcript.text
