"""The answer pipeline on its own, as a benchmark or a text console would use it: no gRPC, no
session, plain audio or text in, whispered Opus pieces out."""

from __future__ import annotations

import numpy as np
import pytest

from sottovoce.host.answer import AnswerPipeline, HostModels
from sottovoce.host.clock import Clock
from sottovoce.host.history import History
from sottovoce.host.responder import Context, SkillResponder
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
    assert pipeline.read(heard).complete
    assert (pipeline.counters.finals, pipeline.counters.hints_complete) == (1, 1)


async def test_no_words_no_answer(pipeline):
    heard, draft = await pipeline.answer_audio(np.zeros(16000, dtype=np.int16))
    assert heard.text == "" and draft is None
    assert (pipeline.counters.no_words, pipeline.counters.replies) == (1, 0)
