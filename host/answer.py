"""From the wearer's words to the whispered Opus answer: final ASR, the reading of the words, the
responder, then TTS -> whisper -> Opus piece by piece.

No gRPC and no session state here: a benchmark or a text console builds an ``AnswerPipeline``
from the host's models and calls ``answer_audio`` or ``answer_text`` then ``pieces``. The session
uses the same steps separately, since it tells the edge what the words say between hearing them
and answering them, and holds the first piece until the turn is confirmed.

An answer is rendered one speech unit at a time (``Reply.units``): its first sentence, or
that sentence's opening clause, is what the wearer waits for, and the rest renders while it plays
- and, for a language model's answer, while the model is still writing it. Each piece is padded
to whole frames plus a short pause, so every piece starts on a frame boundary and sample offsets
into the answer stay exact. Closing an answer's pieces (a barge-in cancels the task reading them)
stops its model.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

from sottovoce.host import completeness
from sottovoce.host.asr import AsrResult, StreamingTranscriber, WhisperAsr
from sottovoce.host.completeness import Completeness
from sottovoce.host.end_of_utterance import EndOfUtterance
from sottovoce.host.responder import Context, Reply, Responder, SkillResponder
from sottovoce.host.whisper import WhisperVoice
from sottovoce.proto.codec import DOWNLINK_CONFIG, SAMPLE_RATE, OpusEncoder, frames_of


@dataclass
class HostModels:
    """Everything loaded once per host and shared by its sessions."""

    asr: WhisperAsr
    voice: WhisperVoice
    responder_factory: Callable[[], Responder] = SkillResponder
    end_of_utterance: EndOfUtterance | None = None  # None: the words are judged by rules alone


@dataclass(frozen=True)
class AnswerConfig:
    sentence_gap_ms: int = 150
    clause_gap_ms: int = 60  # after a first clause rendered on its own (split_speech_units)


@dataclass
class AnswerCounters:
    finals: int = 0  # final ASR passes
    no_words: int = 0  # finals that heard no speech
    replies: int = 0
    silent: int = 0  # words the responder chose not to answer
    hints_complete: int = 0
    hints_incomplete: int = 0
    hints_unsure: int = 0
    pieces: int = 0  # speech units rendered


@dataclass(frozen=True)
class Piece:
    """One speech unit, rendered."""

    text: str
    packets: list[bytes]  # Opus frames, the pause after it included
    speech_samples: int  # samples of speech before that pause


@dataclass
class Draft:
    """An answer ready to speak: the reply, its encoder, the speech units still to render, and its
    first piece if rendered ahead. Its pieces can be read once."""

    reply: Reply
    encoder: OpusEncoder  # one per answer: Opus carries state from frame to frame
    first: Piece | None = None
    units: AsyncIterator[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.units = self.reply.units()

    async def aclose(self) -> None:
        """Drop the answer unspoken: a model still writing it stops."""
        await self.units.aclose()


class AnswerPipeline:
    def __init__(
        self,
        asr: WhisperAsr,
        voice: WhisperVoice,
        responder: Responder,
        ctx: Context,
        config: AnswerConfig | None = None,
        ambient_dbfs: Callable[[], float | None] = lambda: None,
        end_of_utterance: EndOfUtterance | None = None,
    ) -> None:
        self.asr = asr
        self.end_of_utterance = end_of_utterance
        self.voice = voice
        self.responder = responder
        self.ctx = ctx
        self.config = config or AnswerConfig()
        self.ambient_dbfs = ambient_dbfs  # the wearer's surroundings set the whisper's level
        self.counters = AnswerCounters()

    # ------------------------------------------------------------------ the steps

    def listen(
        self, audio: Callable[[], np.ndarray], on_partial: Callable[[str], Awaitable[None]]
    ) -> StreamingTranscriber:
        """Partial transcripts of a turn while its audio grows."""
        return StreamingTranscriber(self.asr, audio, on_partial)

    async def hear(self, pcm: np.ndarray, transcriber: StreamingTranscriber | None = None) -> AsrResult:
        """The final transcript of a turn (ending its partials, if it had a transcriber)."""
        result = await (transcriber.final(pcm) if transcriber else self.asr.transcribe_async(pcm))
        self.counters.finals += 1
        self.counters.no_words += not result.text
        return result

    async def read(self, result: AsrResult) -> Completeness:
        """Whether the words form a complete request (the text half of end-of-turn detection),
        with the language model's end-of-utterance probability when the host has that model."""
        eou = self.end_of_utterance
        p = None if eou is None or not result.text else await asyncio.to_thread(eou.probability, result.text)
        verdict = completeness.judge_result(result, p)
        if verdict.complete:
            self.counters.hints_complete += 1
        elif verdict.sure:
            self.counters.hints_incomplete += 1
        else:
            self.counters.hints_unsure += 1
        return verdict

    async def respond(self, text: str) -> Reply | None:
        """The responder's reply to the words; None to stay silent (no words, or nothing to say)."""
        reply = await self.responder.respond(text, self.ctx) if text else None
        if reply is None:
            self.counters.silent += bool(text)
            return None
        self.counters.replies += 1
        return reply

    async def draft(self, reply: Reply, render_first: bool = True) -> Draft:
        """Get ``reply`` ready to speak; with ``render_first``, its first piece is rendered now
        (for a model's reply, as soon as the model has written its first clause)."""
        draft = Draft(reply, OpusEncoder(DOWNLINK_CONFIG))
        if render_first:
            try:
                unit = await anext(draft.units, None)
                if unit is not None:
                    draft.first = await self._render(draft, unit)
            except BaseException:
                await draft.aclose()
                raise
        return draft

    # ------------------------------------------------------------------ whole answers

    async def answer_audio(self, pcm: np.ndarray) -> tuple[AsrResult, Draft | None]:
        """The words heard in ``pcm`` and the answer to them (None: nothing to say)."""
        result = await self.hear(pcm)
        return result, await self.answer_text(result.text)

    async def answer_text(self, text: str) -> Draft | None:
        reply = await self.respond(text)
        return None if reply is None else await self.draft(reply)

    async def pieces(self, draft: Draft) -> AsyncIterator[Piece]:
        """The answer's pieces in order, each rendered in a worker thread as its words are final."""
        try:
            if draft.first is not None:
                yield draft.first
            async for unit in draft.units:
                yield await self._render(draft, unit)
        finally:
            await draft.aclose()

    # ------------------------------------------------------------------ rendering

    async def _render(self, draft: Draft, text: str) -> Piece:
        piece = await asyncio.to_thread(self._render_blocking, draft.encoder, text)
        self.counters.pieces += 1
        return piece

    def _render_blocking(self, encoder: OpusEncoder, text: str) -> Piece:
        """TTS, whisper, Opus: padded to whole frames plus a short pause."""
        pcm = self.voice.speak(text, self.ambient_dbfs())
        gap_ms = self.config.clause_gap_ms if text.endswith(",") else self.config.sentence_gap_ms
        gap = np.zeros(gap_ms * SAMPLE_RATE // 1000, dtype=np.int16)
        packets = [encoder.encode(f) for f in frames_of(np.concatenate([pcm, gap]))]
        return Piece(text, packets, len(pcm))
