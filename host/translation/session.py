"""One conversation in translation mode: the person in front of the wearer speaks another
language, and the wearer hears them translated in a whisper, clause by clause while they are still
talking; what the wearer says back is translated whole at the end of their turn and spoken aloud
for the other person (a response with ``OUTPUT_OUTWARD``).

The edge says whose voice each turn is (``TurnEvent.speaker``; unspecified counts as the wearer).
The other person's turn is heard by a simultaneous listener (``simultaneous``: partial decodes word
by word, the commit policy of ``segmenter``); each segment it commits is translated and whispered at
once, and at the turn's confirmed end the final transcript's words not yet said are the last
segment. Everything to be said waits in one bounded queue (``in_order``): translated and its first
words rendered as soon as it is queued, said in order one at a time, each once the one before has
been heard (the edge plays one response at a time and a new one would cut the one playing); a full
queue drops (and counts) the newest. There is no answer to hold back and nothing to take back here,
so the assistant's turn ledger is not used: a tentative end or a resumption changes nothing, a
confirmed end finishes the turn, an abandoned turn stops being heard (what was said stays said).

With ``target_language`` "auto" the other person's language is the one Whisper identifies in
their turn's final pass, among the languages with pairs to and from the wearer's (a short
utterance is otherwise now and then taken for a language nobody here speaks); segments said
before it is known use the language of their last turn (at first, the first such language).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sottovoce.host.answer import AnswerPipeline, Draft
from sottovoce.host.asr import StreamingTranscriber, WhisperAsr
from sottovoce.host.clock import Clock
from sottovoce.host.history import History
from sottovoce.host.responder import Context, Reply, SkillResponder
from sottovoce.host.responses import Responses
from sottovoce.host.stream import BadRequest, Outbox
from sottovoce.host.tasks import TaskSet
from sottovoce.host.timers import Timers
from sottovoce.host.translation.in_order import InOrder
from sottovoce.host.translation.models import LazyModels, TranslationModels
from sottovoce.host.translation.pairs import ISO3
from sottovoce.host.translation.segmenter import Segmenter, SegmenterConfig
from sottovoce.host.translation.simultaneous import SimultaneousListener
from sottovoce.host.translation.translator import TranslationError
from sottovoce.host.translation.voices import OutwardVoice
from sottovoce.host.uplink_audio import UplinkAudio
from sottovoce.host.whisper import WhisperVoice
from sottovoce.proto.v1 import duplex_pb2 as pb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TranslationConfig:
    segmenter: SegmenterConfig = field(default_factory=SegmenterConfig)
    max_queued: int = 32  # segments and replies waiting to be said
    playback_grace_s: float = 1.0  # if the edge never reports FINISHED, assume it after this


@dataclass
class TranslationCounters:
    other_turns: int = 0
    wearer_turns: int = 0
    segments: int = 0  # of the other person's speech, committed while they spoke or at the end
    said: int = 0  # translations sent
    failed: int = 0  # translations that could not be made or said
    dropped: int = 0  # not said: the queue was full
    unsupported: int = 0  # heard in a language without a pair to the wearer's
    no_words: int = 0


@dataclass
class _Turn:
    turn_id: int
    start_seq: int
    other: bool  # the other person's turn (else the wearer's)
    transcriber: StreamingTranscriber | SimultaneousListener  # the latter for the other person's
    ending: asyncio.Task[None] | None = None


@dataclass(frozen=True)
class Saying:
    """Something to translate and say."""

    turn_id: int
    text: str
    source: str
    target: str
    output: int  # pb.OUTPUT_EAR or pb.OUTPUT_OUTWARD


class TranslationSession:
    def __init__(
        self,
        session_id: str,
        out: Outbox,
        models: LazyModels,
        wearer_language: str = "en",
        other_language: str = "auto",
        config: TranslationConfig | None = None,
    ) -> None:
        self.session_id = session_id
        self.out = out
        self.config = config or TranslationConfig()
        self.wearer = wearer_language or "en"
        self.fixed_other = other_language if other_language not in ("", "auto") else None
        self.other = self.fixed_other
        self.uplink = UplinkAudio()
        self.translation_counters = TranslationCounters()
        self._tasks = TaskSet(lambda: self.session_id)
        self._sayings: InOrder[Saying, Draft] = InOrder(self._prepare, self._say_translated, self.config.max_queued)
        self._open: _Turn | None = None
        self._models: TranslationModels | None = None
        self._ear: AnswerPipeline | None = None
        self._outward: dict[str, AnswerPipeline] = {}
        self._candidates: tuple[str, ...] = ()  # languages the other person may speak (with pairs both ways)
        self.responses: Responses | None = None
        self._quiet = asyncio.Event()  # a response's playback ended (or is assumed to have)
        self._ready = self._tasks.spawn(self._load(models), "load")
        self._tasks.spawn(self._say_loop(), "say")

    async def _load(self, lazy: LazyModels) -> None:
        try:
            models = await lazy.get()
        except Exception as exc:  # nothing can be translated: say so once and end the stream
            log.exception("session %s: translation models did not load", self.session_id)
            await self.out.fatal(pb.Error.INTERNAL, f"translation models did not load: {exc}")
            raise
        assert models.ear is not None, "a session whispers: its models have the host's voice"
        self._models = models
        self._candidates = tuple(
            o for o in ISO3 if o != self.wearer and models.catalogue.refusal(self.wearer, o) is None
        )
        if self.other is None:
            self.other = self._candidates[0]
        if self.other in self._candidates:  # the offline pair both ways, ready for the first words
            await models.offline.warm(self.other, self.wearer)
            await models.offline.warm(self.wearer, self.other)
        self._ear = self.pipeline(models.asr, models.ear, lambda: self.uplink.noise.dbfs)
        self.responses = Responses(
            self.out, self._ear, History(), lambda: self.uplink.last_seq, self.config.playback_grace_s,
            on_quiet=self._quiet.set,
        )  # fmt: skip

    @staticmethod
    def pipeline(
        asr: WhisperAsr, voice: WhisperVoice | OutwardVoice, ambient: Callable[[], float | None] = lambda: None
    ) -> AnswerPipeline:
        """The answer pipeline saying translations in ``voice`` (its responder is never asked)."""
        clock = Clock()
        return AnswerPipeline(
            asr, voice, SkillResponder(), Context(History(), clock, Timers(clock)), ambient_dbfs=ambient
        )

    def counters(self) -> dict[str, dict[str, int]]:
        own = {
            "uplink": dataclasses.asdict(self.uplink.counters),
            "translation": dataclasses.asdict(self.translation_counters),
        }
        return own | ({"responses": dataclasses.asdict(self.responses.counters)} if self.responses else {})

    async def shutdown(self) -> None:
        if self._open is not None:
            self._open.transcriber.close()
        self._sayings.close()
        await self._tasks.cancel_all()

    # ------------------------------------------------------------------ from the edge

    async def on_audio(self, frame: pb.AudioFrame) -> None:
        await self.out.take_audio(self.uplink, frame)
        turn = self._open
        if turn is not None:
            turn.transcriber.audio_grew(self.uplink.samples_since(turn.start_seq))

    async def on_turn(self, ev: pb.TurnEvent) -> None:
        await self._ready
        turn = self._open
        if ev.kind == pb.TurnEvent.SPEECH_START:
            if turn is not None:  # a new voice before the last turn's end: that turn ends here
                self._end(turn, self.uplink.last_seq)
            self._listen(ev.turn_id, ev.audio_seq, ev.speaker == pb.SPEAKER_OTHER)
        elif ev.kind in (pb.TurnEvent.TENTATIVE_END, pb.TurnEvent.RESUMED):
            return
        elif ev.kind not in (pb.TurnEvent.CONFIRMED_END, pb.TurnEvent.ABANDONED):
            await self.out.bad_request(BadRequest.TURN, f"turn event kind {ev.kind} unknown")
        elif turn is None or turn.turn_id != ev.turn_id:
            await self.out.bad_request(BadRequest.TURN, f"turn {ev.turn_id} is not the open turn")
        elif ev.kind == pb.TurnEvent.ABANDONED:
            turn.transcriber.close()
            self._open = None
            self.uplink.in_turn = False
        else:
            self._end(turn, ev.audio_seq)

    async def on_playback(self, event: pb.PlaybackEvent) -> None:
        await self._ready
        assert self.responses is not None
        await self.responses.playback(event)

    async def on_cancel(self, response_id: int, reason: str) -> None:
        await self._ready
        assert self.responses is not None
        await self.responses.cancel(response_id, reason)

    async def on_overlap(self, query: pb.OverlapQuery) -> None:
        # Speech over a translation is a turn of its own here; there is no answer to keep or stop.
        await self.out.send(overlap=pb.OverlapVerdict(query_id=query.query_id, kind=pb.OverlapVerdict.UNSURE))

    async def on_telemetry(self, telemetry: pb.Telemetry) -> None:
        return None

    # ------------------------------------------------------------------ turns

    def _listen(self, turn_id: int, start_seq: int, other: bool) -> None:
        assert self._ear is not None and self._models is not None

        async def on_partial(text: str) -> None:
            await self.out.send(transcript=pb.Transcript(turn_id=turn_id, text=text, final=False))

        def audio() -> np.ndarray:
            return self.uplink.slice(start_seq)

        transcriber: StreamingTranscriber | SimultaneousListener
        if other:
            transcriber = SimultaneousListener(
                self._models.asr, audio, Segmenter(self.config.segmenter),
                lambda segment: self._say_segment(turn_id, segment), on_partial,
                language=self.fixed_other or self._candidates, ear_idle=lambda: self._sayings.idle,
            )  # fmt: skip
            self.translation_counters.other_turns += 1
        else:
            transcriber = self._ear.listen(audio, on_partial)
            transcriber.language = self.wearer
            self.translation_counters.wearer_turns += 1
        self._open = _Turn(turn_id, start_seq, other, transcriber)
        self.uplink.in_turn = True
        transcriber.audio_grew(self.uplink.samples_since(start_seq))

    def _end(self, turn: _Turn, end_seq: int | None) -> None:
        self._open = None
        self.uplink.in_turn = False
        pcm = self.uplink.slice(turn.start_seq, end_seq)
        turn.ending = self._tasks.spawn(self._finish(turn, pcm), f"finish-{turn.turn_id}")

    async def _finish(self, turn: _Turn, pcm: np.ndarray) -> None:
        assert self._ear is not None
        rest = ""
        if isinstance(turn.transcriber, SimultaneousListener):
            result, rest = await turn.transcriber.final(pcm)
        else:
            result = await self._ear.hear(pcm, turn.transcriber)
        await self.out.send(transcript=pb.Transcript(turn_id=turn.turn_id, text=result.text, final=True))
        if not result.text:
            self.translation_counters.no_words += 1
            return
        if not turn.other:
            log.info("turn %d (wearer, %s): %r", turn.turn_id, self.wearer, result.text)
            self._enqueue(Saying(turn.turn_id, result.text, self.wearer, self.other or "", pb.OUTPUT_OUTWARD))
            return
        if self.fixed_other is None and result.language and result.language != self.wearer:
            self.other = result.language
        log.info("turn %d (other, %s): %r", turn.turn_id, self.other, result.text)
        if rest:
            self._say_segment(turn.turn_id, rest)

    def _say_segment(self, turn_id: int, text: str) -> None:
        self.translation_counters.segments += 1
        self._enqueue(Saying(turn_id, text, self.other or "", self.wearer, pb.OUTPUT_EAR))

    def _enqueue(self, saying: Saying) -> None:
        if not self._sayings.put(saying):
            self.translation_counters.dropped += 1
            log.warning("session %s: translation queue full; not said: %r", self.session_id, saying.text)

    # ------------------------------------------------------------------ saying

    async def _say_loop(self) -> None:
        await self._ready
        await self._sayings.run()

    async def _translate(self, saying: Saying) -> str | None:
        models = self._models
        assert models is not None
        if not models.catalogue.supports(saying.source, saying.target):
            self.translation_counters.unsupported += 1
            log.warning("turn %d: no translation %s->%s for %r", saying.turn_id, saying.source, saying.target,
                        saying.text)  # fmt: skip
            return None
        t0 = time.perf_counter()
        try:
            text, by = await models.translate(saying.text, saying.source, saying.target)
        except TranslationError as exc:
            self.translation_counters.failed += 1
            log.warning("turn %d: %s", saying.turn_id, exc)
            return None
        except Exception:  # one segment that cannot be translated must not silence the rest
            self.translation_counters.failed += 1
            log.exception("turn %d: translating %r failed", saying.turn_id, saying.text)
            return None
        log.info("turn %d %s->%s (%s, %.0f ms): %r -> %r", saying.turn_id, saying.source, saying.target, by,
                 1000 * (time.perf_counter() - t0), saying.text, text)  # fmt: skip
        return text

    async def _prepare(self, saying: Saying) -> Draft | None:
        """The translation, its first words rendered (while the one before is still being said)."""
        text = await self._translate(saying)
        if not text:
            return None
        try:
            return await self._pipeline_for(saying).draft(Reply(text))
        except Exception:  # one segment that cannot be voiced must not silence the rest
            self.translation_counters.failed += 1
            log.exception("turn %d: rendering %r failed", saying.turn_id, text)
            return None

    async def _say_translated(self, saying: Saying, draft: Draft) -> None:
        # its own task: cancelling the response (the edge may) cancels the task saying it, not the queue
        task = self._tasks.spawn(self._say(saying, draft), f"say-{saying.turn_id}")
        await asyncio.wait([task])

    async def _say(self, saying: Saying, draft: Draft) -> None:
        responses = self.responses
        assert responses is not None
        handle = await responses.open(saying.turn_id, saying.text, draft.reply)
        await responses.speak(handle, draft, output=saying.output, pipeline=self._pipeline_for(saying))
        self.translation_counters.said += 1
        # The edge plays one response at a time and a new one supersedes what is playing: the next
        # translation waits until this one has been heard (the edge reports it, or its length has passed).
        loop = asyncio.get_running_loop()
        while not (handle.playback_over or handle.cancelled) and loop.time() < handle.play_until:
            self._quiet.clear()
            await self._quiet.wait()  # set by every playback report and once play_until has passed

    def _pipeline_for(self, saying: Saying) -> AnswerPipeline:
        models = self._models
        assert models is not None and self._ear is not None
        return self._ear if saying.output == pb.OUTPUT_EAR else self._outward_pipeline(models, saying.target)

    def _outward_pipeline(self, models: TranslationModels, language: str) -> AnswerPipeline:
        if language not in self._outward:
            self._outward[language] = self.pipeline(models.asr, OutwardVoice(models.outward, language))
        return self._outward[language]
