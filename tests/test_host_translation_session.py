"""Translation mode over a real gRPC stream: the other person's Spanish is whispered in English
before their turn ends; the wearer's English is spoken aloud in Spanish; a pair that does not
exist is refused in one line naming the pairs that do."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from grpc_edge import Edge, decoded, response_of, serving, spoken

from sottovoce.host.answer import HostModels
from sottovoce.host.asr import WhisperAsr
from sottovoce.host.responder import SkillResponder
from sottovoce.host.translation.pairs import offline_pairs
from sottovoce.host.tts import EspeakTts, PiperTts
from sottovoce.host.whisper import WhisperVoice, active_rms_dbfs, voicing
from sottovoce.proto.codec import OpusEncoder, frames_of
from sottovoce.proto.v1 import duplex_pb2 as pb

pytestmark = pytest.mark.skipif(("es", "en") not in offline_pairs(), reason="apertium-eng-spa not installed")

SPANISH = "Buenos días, señor. El museo está muy cerca de aquí, pero el hotel está lejos, en el centro de la ciudad."


@pytest.fixture(scope="module")
def models() -> HostModels:
    return HostModels(WhisperAsr(), WhisperVoice(PiperTts(deterministic=True)), SkillResponder)


@pytest.fixture
async def server(models):
    async with serving(models) as host:
        yield host


def said_in_spanish(text: str) -> list[bytes]:
    enc = OpusEncoder()
    return [enc.encode(f) for f in frames_of(EspeakTts().synthesize(text, voice="es"))]


async def collect_until_quiet(edge: Edge, quiet_s: float) -> list[pb.HostMessage]:
    got = []
    while True:
        try:
            msg = await asyncio.wait_for(edge.call.read(), quiet_s)
        except TimeoutError:
            return got
        got.append(msg)


def responses(msgs, kind):
    return [m.response for m in msgs if m.WhichOneof("body") == "response" and m.response.kind == kind]


async def test_other_person_is_whispered_in_english_while_still_speaking(server):
    edge = Edge(server.port)
    edge.start(mode=pb.MODE_TRANSLATION, language="en", target="es")
    await edge.accepted()
    packets = said_in_spanish(SPANISH)
    edge.silence_frames(25)
    first = edge.audio(packets[:5])
    edge.turn(pb.TurnEvent.SPEECH_START, 1, first + 4, speaker=pb.SPEAKER_OTHER)
    reader = asyncio.get_running_loop().create_task(edge.recv_until(response_of(pb.ResponseEvent.STARTED)))
    for i in range(5, len(packets), 10):  # in real time, as the edge forwards it
        if reader.done():
            break
        edge.audio(packets[i : i + 10])
        await asyncio.sleep(0.2)
    early = await reader
    sent_all = edge.seq - first >= len(packets)
    assert not sent_all, "the first translation must come while the other person still speaks"
    started = early[-1].response
    assert started.output == pb.OUTPUT_EAR and started.turn_id == 1 and started.text
    edge.audio(packets[edge.seq - first :])
    edge.silence_frames(15)
    edge.turn(pb.TurnEvent.TENTATIVE_END, 1, edge.seq - 1)
    edge.turn(pb.TurnEvent.CONFIRMED_END, 1, edge.seq - 1)
    msgs = early + await collect_until_quiet(edge, 6.0)
    finals = [m.transcript.text for m in msgs if m.WhichOneof("body") == "transcript" and m.transcript.final]
    assert len(finals) == 1 and "museo" in finals[0].lower()
    events = [(m.response.kind, m.response.response_id) for m in msgs if m.WhichOneof("body") == "response"]
    ids = sorted({i for _, i in events})
    assert len(ids) >= 2  # segments said as they were committed, not one answer at the end
    # one after another: each translation is done before the next starts
    assert events == [(k, i) for i in ids for k in (pb.ResponseEvent.STARTED, pb.ResponseEvent.DONE)]
    said = " ".join(r.text for r in responses(msgs, pb.ResponseEvent.DONE)).lower()
    assert all(r.output == pb.OUTPUT_EAR for r in responses(msgs, pb.ResponseEvent.DONE))
    for word in ("museum", "city"):  # words eSpeak's Spanish and Whisper base agree on every time
        assert word in said, said
    # said once each: a segment already whispered is not repeated by the final pass
    assert said.count("museum") == 1 and said.count("city") == 1, said
    audio = decoded([m.audio.opus for m in msgs if m.WhichOneof("body") == "audio"])
    assert voicing(audio) < 0.1 and active_rms_dbfs(audio) < -20  # whispered, quiet
    await edge.close()


async def test_wearer_is_spoken_aloud_in_spanish(server):
    edge = Edge(server.port)
    edge.start(mode=pb.MODE_TRANSLATION, language="en", target="es")
    await edge.accepted()
    edge.utterance(1, spoken({"q": "Where is the museum?"})["q"])  # speaker unspecified: the wearer
    msgs = await edge.recv_until(response_of(pb.ResponseEvent.DONE))
    done = msgs[-1].response
    assert done.output == pb.OUTPUT_OUTWARD and "museo" in done.text.lower()
    audio = decoded([m.audio.opus for m in msgs if m.WhichOneof("body") == "audio"])
    assert voicing(audio) > 0.2 and active_rms_dbfs(audio) > -26  # a normal voice, aloud
    await edge.close()


@pytest.mark.parametrize("target", ["fr", "xx"])
async def test_a_pair_that_does_not_exist_is_refused_naming_those_that_do(server, target):
    edge = Edge(server.port)
    edge.start(mode=pb.MODE_TRANSLATION, language="en", target=target)
    msg = await edge.recv()
    assert msg.error.code == pb.Error.UNSUPPORTED and msg.error.fatal
    text = msg.error.message
    assert "\n" not in text and f"{target}->en" in text and "es->en" in text and "en->es" in text
    assert await edge.recv() is None
    await edge.close()


async def test_auto_identifies_the_other_persons_language(server):
    edge = Edge(server.port)
    edge.start(mode=pb.MODE_TRANSLATION, language="en", target="auto")
    await edge.accepted()
    edge.silence_frames(5)
    onset = edge.audio(said_in_spanish("Buenos días, el museo está muy cerca de aquí."))
    edge.turn(pb.TurnEvent.SPEECH_START, 1, onset, speaker=pb.SPEAKER_OTHER)
    edge.silence_frames(10)
    edge.turn(pb.TurnEvent.CONFIRMED_END, 1, edge.seq - 1)
    msgs = await collect_until_quiet(edge, 6.0)
    done = responses(msgs, pb.ResponseEvent.DONE)
    assert done and all(r.output == pb.OUTPUT_EAR for r in done)
    assert "museum" in " ".join(r.text for r in done).lower()
    await edge.close()


def test_voicing_helper_tells_a_whisper_from_a_voice():
    # the measure the tests above rely on, on the two voices they compare
    tts = EspeakTts()
    assert voicing(tts.synthesize("la estación de tren", voice="es")) > 0.2
    assert voicing(tts.synthesize("la estación de tren", voice="es+whisper")) < 0.1
    assert np.any(tts.synthesize("hola", voice=EspeakTts.voice_for("es")))
