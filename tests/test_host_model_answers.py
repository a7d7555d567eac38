"""Language-model answers through the host's real gRPC session, with the offline model: the answer
prepared at a tentative end is the one released, the edge learns its whole text when it is done,
and a cancel or a wearer who goes on stops the model."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from grpc_edge import Edge, host_config, response_of

from sottovoce.host.answer import HostModels
from sottovoce.host.llm import LlamaChatModel, LlmConfig
from sottovoce.host.server import load_models, start_server
from sottovoce.host.tts import PiperTts
from sottovoce.proto.codec import OpusEncoder, frames_of
from sottovoce.proto.v1 import duplex_pb2 as pb

# Caps far above the default, so that the model is still writing when the answer is stopped.
LONG = LlmConfig(max_tokens=400, max_sentences=40, max_words=400)
WAIT_S = 20.0


def _config(llm: LlmConfig):
    return dataclasses.replace(host_config(), language_model=llm)


@pytest.fixture(scope="module")
def long_models() -> HostModels:
    return load_models(_config(LONG))


@pytest.fixture(scope="module")
def speech() -> dict[str, list[bytes]]:
    tts, enc = PiperTts(deterministic=True), OpusEncoder()
    phrases = {"rome": "Tell me about the history of Rome.", "story": "Tell me a very long story about a dragon."}
    return {k: [enc.encode(f) for f in frames_of(tts.synthesize(v))] for k, v in phrases.items()}


def _model(models: HostModels) -> LlamaChatModel:
    model = models.responder_factory().model
    assert isinstance(model, LlamaChatModel)
    return model


async def _stopped(model: LlamaChatModel) -> bool:
    """Whether the model stops writing within a few seconds (it would write for many more)."""
    for _ in range(300):
        if not model.generating:
            return True
        await asyncio.sleep(0.01)
    return False


@pytest.fixture
async def long_server(long_models):
    host = await start_server(_config(LONG), load=lambda: long_models)
    await host.ready()
    yield host
    await host.stop(None)


async def test_the_answer_prepared_at_a_tentative_end_is_released_whole(speech):
    models = load_models(_config(LlmConfig()))
    host = await start_server(_config(LlmConfig()), load=lambda: models)
    await host.ready()
    edge = Edge(host.port)
    try:
        edge.start()
        await edge.accepted()
        edge.utterance(1, speech["rome"], confirm=False)
        hint = await edge.recv_until(lambda m: m.WhichOneof("body") == "hint")
        assert hint[-1].hint.turn_id == 1
        await asyncio.sleep(0.3)  # the edge deliberates; the answer is being prepared meanwhile
        edge.turn(pb.TurnEvent.CONFIRMED_END, 1, edge.seq - 1)
        msgs = await edge.recv_until(response_of(pb.ResponseEvent.DONE))
        started = [m.response for m in msgs if response_of(pb.ResponseEvent.STARTED)(m)]
        done = msgs[-1].response
        audio = [m.audio for m in msgs if m.WhichOneof("body") == "audio"]
        assert len(started) == 1 and started[0].response_id == done.response_id
        # STARTED knows the opening the audio begins with; DONE carries all that was said
        assert started[0].text and done.text.startswith(started[0].text), (started[0].text, done.text)
        assert len(done.text) > len(started[0].text)
        assert [a.seq for a in audio] == list(range(len(audio))) and audio
    finally:
        await edge.close()
        await host.stop(None)


async def test_a_cancel_stops_the_model_mid_answer(long_server, long_models, speech):
    model = _model(long_models)
    edge = Edge(long_server.port)
    edge.start()
    await edge.accepted()
    edge.utterance(1, speech["story"])
    msgs = await edge.recv_until(lambda m: m.WhichOneof("body") == "audio")
    assert model.generating  # the first clause plays while the model writes on
    edge.send(cancel=pb.CancelResponse(response_id=msgs[-1].audio.response_id, reason="barge_in"))
    await asyncio.wait_for(edge.recv_until(response_of(pb.ResponseEvent.CANCELLED)), WAIT_S)
    # the host says CANCELLED once the answer's task is gone: by then the model has stopped
    assert not model.generating
    await asyncio.sleep(0.5)
    assert not model.generating
    await edge.close()


async def test_going_on_after_a_tentative_end_stops_the_model(long_server, long_models, speech):
    model = _model(long_models)
    edge = Edge(long_server.port)
    edge.start()
    await edge.accepted()
    edge.utterance(1, speech["story"], confirm=False)
    await edge.recv_until(lambda m: m.WhichOneof("body") == "hint")
    for _ in range(200):  # the answer's first clause is rendered and held; the model writes on
        if model.generating:
            break
        await asyncio.sleep(0.01)
    assert model.generating
    await asyncio.sleep(0.5)
    edge.turn(pb.TurnEvent.RESUMED, 1, edge.seq)
    assert await _stopped(model), "the model went on writing an answer that was thrown away"
    await edge.close()
