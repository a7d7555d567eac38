"""A session's answers on the wire: each streamed as STARTED, its audio, then DONE or CANCELLED,
tracked by one ``SpeechHandle``, and what the edge reports of its playback folded back into the
history, so the assistant remembers saying only what the wearer heard."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass

from sottovoce.host.answer import AnswerPipeline, Draft
from sottovoce.host.history import Exchange, History
from sottovoce.host.responder import Reply
from sottovoce.host.speech_handle import SpeechHandle
from sottovoce.host.stream import BadRequest, Outbox
from sottovoce.proto.codec import SAMPLE_RATE
from sottovoce.proto.v1 import duplex_pb2 as pb

log = logging.getLogger(__name__)

RECENT = 16  # answers kept for late cancels and playback reports


@dataclass
class ResponseCounters:
    started: int = 0
    done: int = 0  # all audio sent
    cancelled: int = 0
    superseded: int = 0  # cancelled because a newer answer began
    finished: int = 0  # played to the end, as the edge reported
    interrupted: int = 0  # cut short at the ear, as the edge reported


class Responses:
    def __init__(
        self,
        out: Outbox,
        pipeline: AnswerPipeline,
        history: History,
        uplink_seq: Callable[[], int | None],
        playback_grace_s: float,
        on_quiet: Callable[[], None],
    ) -> None:
        self.out = out
        self.pipeline = pipeline
        self.history = history
        self.uplink_seq = uplink_seq  # the newest frame from the wearer
        self.playback_grace_s = playback_grace_s  # if the edge never reports FINISHED, assume it after this
        self.on_quiet = on_quiet  # called whenever an answer may have stopped playing
        self.counters = ResponseCounters()
        self.current: SpeechHandle | None = None
        self._recent: OrderedDict[int, SpeechHandle] = OrderedDict()
        self._ids = itertools.count(1)

    @property
    def playing(self) -> bool:
        return self.current is not None and self.current.active

    def answer_to(self, turn_id: int) -> SpeechHandle | None:
        return next((h for h in reversed(self._recent.values()) if h.turn_id == turn_id), None)

    async def open(self, turn_id: int, user_text: str, reply: Reply) -> SpeechHandle:
        """A handle for a new answer, produced by the calling task; an answer still being sent is
        superseded (the edge hears CANCELLED)."""
        old = self.current
        if old and not old.done and not old.cancelled:
            self.counters.superseded += 1
            await self.cancel(old.response_id, "superseded")
        handle = SpeechHandle(next(self._ids), turn_id, user_text, reply, asyncio.current_task())
        self.current = handle
        self._recent[handle.response_id] = handle
        while len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        self.history.add(Exchange(user_text, reply.text, handle.response_id))
        return handle

    async def speak(
        self, handle: SpeechHandle, draft: Draft, output: int = pb.OUTPUT_EAR, pipeline: AnswerPipeline | None = None
    ) -> float:
        """Stream one answer, played at ``output``, rendered by ``pipeline`` (the session's own
        unless given); returns the perf_counter time its first audio frame was queued."""
        self.counters.started += 1
        await self.out.send(
            response=pb.ResponseEvent(
                kind=pb.ResponseEvent.STARTED, response_id=handle.response_id, turn_id=handle.turn_id,
                text=handle.reply.text, output=output,
            )
        )  # fmt: skip
        first_sent = 0.0
        # Closed however this ends: a cancel that lands while a piece is being sent must stop the
        # model there and then, not whenever the abandoned generator is collected.
        async with aclosing((pipeline or self.pipeline).pieces(draft)) as pieces:
            async for piece in pieces:
                handle.sentence(piece.text, piece.speech_samples)
                for packet in piece.packets:
                    seq = handle.next_frame
                    await self.out.send(audio=pb.ResponseAudio(response_id=handle.response_id, seq=seq, opus=packet))
                    if seq == 0:
                        first_sent = time.perf_counter()
                    handle.frame_sent(self.uplink_seq())
        loop = asyncio.get_running_loop()
        handle.all_sent(loop.time() + handle.sent_samples / SAMPLE_RATE + self.playback_grace_s)
        self.counters.done += 1
        await self.out.send(
            response=pb.ResponseEvent(
                kind=pb.ResponseEvent.DONE, response_id=handle.response_id, turn_id=handle.turn_id,
                text=handle.reply.text, total_samples=handle.sent_samples, output=output,
            )
        )  # fmt: skip
        loop.call_at(handle.play_until + 0.01, self.on_quiet)
        return first_sent

    async def barge_in(self) -> None:
        """The wearer speaks over the answer still being sent: stop it."""
        current = self.current
        if current and not current.done and not current.cancelled:
            await self.cancel(current.response_id, "barge_in")

    async def cancel(self, response_id: int, reason: str) -> None:
        handle = self._recent.get(response_id)
        if handle is None:
            await self.out.bad_request(BadRequest.CANCEL, f"cancel for unknown response {response_id}")
            return
        asked = time.perf_counter()
        if not await handle.cancel():
            return
        # the answer's task is gone: its model no longer writes, no further piece is rendered
        stopped_ms = 1000 * (time.perf_counter() - asked)
        self.counters.cancelled += 1
        heard = handle.heard_text(handle.sent_samples)
        ex = self.history.find(response_id)
        if ex is not None and not ex.interrupted:
            ex.assistant = heard
        log.info(
            "response %d cancelled (%s) after %d samples, stopped in %.0f ms: kept %r",
            response_id, reason, handle.sent_samples, stopped_ms, heard,
        )  # fmt: skip
        await self.out.send(
            response=pb.ResponseEvent(
                kind=pb.ResponseEvent.CANCELLED, response_id=response_id, turn_id=handle.turn_id, text=heard,
                total_samples=handle.sent_samples,
            )
        )  # fmt: skip
        self.on_quiet()

    async def withdraw(self, turn_id: int) -> None:
        """Take back the answer to a turn the wearer had not finished, and its exchange."""
        handle = self.answer_to(turn_id)
        if handle is not None:
            await self.cancel(handle.response_id, "continued")
            self.history.remove(handle.response_id)

    async def playback(self, ev: pb.PlaybackEvent) -> None:
        handle = self._recent.get(ev.response_id)
        if handle is None:
            await self.out.bad_request(BadRequest.PLAYBACK, f"playback event for unknown response {ev.response_id}")
            return
        if ev.kind == pb.PlaybackEvent.STARTED:
            return
        handle.playback_ended(ev.heard_samples)
        if ev.kind == pb.PlaybackEvent.INTERRUPTED:
            self.counters.interrupted += 1
            heard = handle.heard_text(ev.heard_samples)
            self.history.truncate(ev.response_id, heard)
            log.info(
                "response %d interrupted after %d samples; wearer heard %r", ev.response_id, ev.heard_samples, heard
            )
        elif ev.kind == pb.PlaybackEvent.FINISHED:
            self.counters.finished += 1
            ex = self.history.find(ev.response_id)
            if ex is not None and not handle.cancelled:
                ex.assistant, ex.interrupted = handle.reply.text, False
        self.on_quiet()
