"""The answer pipeline on its own, as a benchmark or a text console would use it: no gRPC, no
session, plain audio or text in, whispered Opus pieces out."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from dataclasses import replace

import numpy as np
import pytest

from sottovoce.host.answer import AnswerPipeline, HostModels
from sottovoce.host.clock import Clock
from sottovoce.host.history import History
from sottovoce.host.responder import REFUSAL, Context, SkillResponder, split_sentences, split_speech_units
from sottovoce.host.server import HostConfig, load_models
from sottovoce.host.timers import Timers
from sottovoce.host.tts import PiperTts
from sottovoce.host.whisper import active_rms_dbfs
from sottovoce.proto.codec import FRAME_SAMPLES, OpusDecoder


@pytest.fixture(scope="module")
def models() -> HostModels:
    return load_models(HostConfig(tts="piper"))


@pytest.fixture
def pipeline(models) -> AnswerPipeline:
    clock = Clock()
    return AnswerPipeline(models.asr, models.voice, SkillResponder(), Context(History(), clock, Timers(clock)))


async def test_text_in_whispered_opus_out(pipeline):
    draft = await pipeline.answer_text("What is twelve times seven?")
    assert draft is not None and draft.reply.text == "Twelve times seven is eighty-four."
    pieces = [p async for p in pipeline.pieces(draft)]
    assert [p.text for p in pieces] == draft.reply.speech_units
    decoder = OpusDecoder()
    pcm = np.concatenate([decoder.decode(packet) for p in pieces for packet in p.packets])
    assert 0 < pieces[0].speech_samples <= len(pieces[0].packets) * FRAME_SAMPLES
    assert len(pcm) > 16000 * 0.8 and -45 < active_rms_dbfs(pcm) < -20  # a sentence, whispered
    assert pipeline.counters.replies == 1 and pipeline.counters.pieces == len(pieces)


async def test_audio_in_words_and_answer_out(pipeline):
    speech = PiperTts(deterministic=True).synthesize("What time is it?")
    heard, draft = await pipeline.answer_audio(speech)
    assert "time" in heard.text.lower()
    assert draft is not None and draft.reply.text.startswith("It's") and draft.first is not None
    assert (await pipeline.read(heard)).complete
    assert (pipeline.counters.finals, pipeline.counters.hints_complete) == (1, 1)


async def test_no_words_no_answer(pipeline):
    heard, draft = await pipeline.answer_audio(np.zeros(16000, dtype=np.int16))
    assert heard.text == "" and draft is None
    assert (pipeline.counters.no_words, pipeline.counters.replies) == (1, 0)


async def test_the_refusal_is_under_two_seconds_of_audio(pipeline):
    draft = await pipeline.answer_text("Tell me a joke about penguins.")
    assert draft is not None and draft.reply.text == REFUSAL
    pieces = [p async for p in pipeline.pieces(draft)]
    assert 0 < sum(p.speech_samples for p in pieces) <= 2 * 16000


def _chain_pipeline(models: HostModels, **caps: int) -> AnswerPipeline:
    """The host's own chain (skills, then its offline model), with other caps if given."""
    chain = models.responder_factory()
    chain.config = replace(chain.config, **caps)
    clock = Clock()
    return AnswerPipeline(models.asr, models.voice, chain, Context(History(), clock, Timers(clock)))


async def test_a_model_answer_streams_into_whispered_pieces(models):
    pipeline = _chain_pipeline(models)
    draft = await pipeline.answer_text("What's the capital of France?")
    assert draft is not None and draft.reply.by == "model" and draft.first is not None
    first_text = draft.reply.text  # only what the model had written when its first piece was rendered
    pieces = [p async for p in pipeline.pieces(draft)]
    text = draft.reply.text  # whole once the pieces end
    assert text.startswith(first_text) and text != REFUSAL and 1 <= len(split_sentences(text)) <= 2
    assert [p.text for p in pieces] == split_speech_units(text)
    assert all(p.speech_samples > 0 for p in pieces) and draft.reply.tokens > 0


async def test_a_barge_in_cancels_the_answer_and_its_model(models):
    pipeline = _chain_pipeline(models, max_sentences=50, max_tokens=400)
    draft = await pipeline.answer_text("Tell me a very long story about a dragon.")
    assert draft is not None and draft.first is not None
    second = asyncio.Event()

    async def speak() -> None:  # as the session speaks an answer: its pieces closed however it ends
        async with aclosing(pipeline.pieces(draft)) as pieces:
            async for i, _ in aenumerate(pieces):
                if i == 1:
                    second.set()

    speaking = asyncio.ensure_future(speak())
    await asyncio.wait_for(second.wait(), 60)  # the model is writing the rest while this plays
    speaking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await speaking
    assert not pipeline.responder.model.generating and draft.reply.tokens < 400


async def aenumerate(items):
    i = 0
    async for item in items:
        yield i, item
        i += 1
