"""The host's gRPC session lifecycle against a real grpc.aio server and a real client stream."""

from __future__ import annotations

import asyncio
import logging
import threading

import grpc
import numpy as np
import pytest
from grpc_edge import TOKEN, WAIT, Edge, decoded, host_config, response_of, serving, spoken
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sottovoce.firmware_sim.recordings import recording
from sottovoce.firmware_sim.scenario import read_wav
from sottovoce.host.answer import HostModels
from sottovoce.host.responder import SkillResponder
from sottovoce.host.server import SERVICE_NAME, HostConfig, load_models, start_server
from sottovoce.host.tts import PiperTts
from sottovoce.host.whisper import active_rms_dbfs
from sottovoce.proto.codec import FRAME_SAMPLES, OpusEncoder, frames_of
from sottovoce.proto.v1 import duplex_pb2 as pb

LONG_FALLBACK = (
    "Sorry, I can't help with that yet. I can tell you the time and the date. I can check your battery. "
    "I can set timers and reminders. I can also do quick sums. Just ask me any time you like."
)


@pytest.fixture(scope="module")
def models() -> HostModels:
    m = load_models(HostConfig(tts="piper"))
    return HostModels(m.asr, m.voice, lambda: SkillResponder(fallback=LONG_FALLBACK), m.end_of_utterance)


@pytest.fixture(scope="module")
def speech() -> dict[str, list[bytes]]:
    return spoken({
        "times": "What is twelve times seven?",
        "joke": "Tell me a joke about penguins.",
        "repeat": "Say that again.",
        "time": "What time is it?",
        "unfinished": "Also set a timer for",
        "minutes": "five minutes.",
        "volume": "Set the volume to forty percent.",
        "louder": "Make it louder.",
    })  # fmt: skip


@pytest.fixture
async def server(models):
    async with serving(models) as host:
        yield host


async def test_health_serving_after_models_loaded(server):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        for name in (SERVICE_NAME, ""):
            resp = await stub.Check(health_pb2.HealthCheckRequest(service=name))
            assert resp.status == health_pb2.HealthCheckResponse.SERVING


async def test_turn_gets_transcript_and_spoken_answer(server, speech):
    edge = Edge(server.port)
    edge.start()
    await edge.accepted()
    edge.silence_frames(25)
    onset = edge.audio(speech["times"])
    edge.turn(pb.TurnEvent.SPEECH_START, 1, onset)
    partial = await edge.recv_until(lambda m: m.WhichOneof("body") == "transcript")
    assert not partial[-1].transcript.final and partial[-1].transcript.text
    edge.silence_frames(10)
    edge.turn(pb.TurnEvent.TENTATIVE_END, 1, edge.seq - 1)
    edge.turn(pb.TurnEvent.CONFIRMED_END, 1, edge.seq - 1)
    msgs = await edge.recv_until(response_of(pb.ResponseEvent.DONE))
    finals = [m.transcript for m in msgs if m.WhichOneof("body") == "transcript" and m.transcript.final]
    assert len(finals) == 1 and "12" in finals[0].text and "7" in finals[0].text
    started = next(m.response for m in msgs if m.WhichOneof("body") == "response")
    assert started.kind == pb.ResponseEvent.STARTED and started.response_id == 1 and started.turn_id == 1
    assert started.text == "Twelve times seven is eighty-four."
    audio = [m.audio for m in msgs if m.WhichOneof("body") == "audio"]
    assert [a.seq for a in audio] == list(range(len(audio)))
    assert msgs[-1].response.total_samples == len(audio) * FRAME_SAMPLES
    pcm = decoded([a.opus for a in audio])
    assert len(pcm) > 16000 * 0.8  # a real sentence, not a click
    assert -45 < active_rms_dbfs(pcm) < -20  # whisper-quiet but audible
    # Leading silence trimmed: speech within the first 60 ms (codec delay + the 10 ms trim margin).
    mag = np.abs(pcm.astype(int))
    assert np.argmax(mag > 0.01 * mag.max()) < 960
    edge.send(end=pb.SessionEnd(reason="done"))
    assert await edge.recv() is None
    await edge.close()


async def test_a_volume_request_sets_the_device_level_before_its_confirmation_plays(server, speech):
    edge = Edge(server.port)
    edge.start()
    await edge.accepted()
    levels = []
    for turn_id, phrase in enumerate(("volume", "louder"), start=1):
        edge.utterance(turn_id, speech[phrase])
        msgs = await edge.recv_until(response_of(pb.ResponseEvent.DONE))
        bodies = [m.WhichOneof("body") for m in msgs]
        assert bodies.count("volume") == 1 and bodies.index("volume") < bodies.index("response"), bodies
        levels.append(next(m.volume.level_percent for m in msgs if m.WhichOneof("body") == "volume"))
        done = msgs[-1].response  # heard whole: the next words are a turn of their own
        edge.send(playback=pb.PlaybackEvent(
            kind=pb.PlaybackEvent.FINISHED, response_id=done.response_id, heard_samples=done.total_samples
        ))  # fmt: skip
    assert levels == [40, 60]  # "louder" steps up from the level the device was set to
    await edge.close()


async def test_cancel_stops_audio_and_history_keeps_what_was_heard(server, speech):
    edge = Edge(server.port)
    edge.start()
    await edge.accepted()
    edge.utterance(1, speech["joke"])
    # cancel once 1.6 s of audio is out: more than the first clause ("Sorry,"), which goes alone
    msgs = await edge.recv_until(lambda m: m.WhichOneof("body") == "audio" and m.audio.seq >= 80)
    rid = msgs[-1].audio.response_id
    edge.send(cancel=pb.CancelResponse(response_id=rid, reason="barge_in"))
    after = await edge.recv_until(response_of(pb.ResponseEvent.CANCELLED))
    cancelled = after[-1].response
    assert not any(response_of(pb.ResponseEvent.DONE)(m) for m in after)
    assert LONG_FALLBACK.startswith(cancelled.text) and cancelled.text != LONG_FALLBACK
    # The wearer heard about the first 1.2 s: history must keep only those words.
    edge.send(playback=pb.PlaybackEvent(kind=pb.PlaybackEvent.INTERRUPTED, response_id=rid, heard_samples=19200))
    edge.utterance(2, speech["repeat"])
    msgs = await edge.recv_until(response_of(pb.ResponseEvent.STARTED))
    assert not any(m.WhichOneof("body") == "audio" for m in msgs), "audio after CANCELLED"
    repeated = msgs[-1].response.text
    # "say that again" repeats what the wearer heard: a non-empty prefix, shorter than what was sent.
    assert repeated and LONG_FALLBACK.startswith(repeated) and len(repeated) < len(cancelled.text)
    await edge.close()


async def test_resumed_discards_preemptive_work(server, speech):
    edge = Edge(server.port)
    edge.start()
    await edge.accepted()
    edge.utterance(1, speech["time"], confirm=False)
    edge.turn(pb.TurnEvent.RESUMED, 1, edge.seq)
    await asyncio.sleep(1.5)  # let discarded work run its course if it were not discarded
    onset_more = edge.audio(speech["times"])
    assert onset_more > 0
    edge.silence_frames(10)
    # Confirmed with no tentative end in between: had the work prepared at the first end been
    # kept, this would release it, an answer to "What time is it?" alone.
    edge.turn(pb.TurnEvent.CONFIRMED_END, 1, edge.seq - 1)
    msgs = await edge.recv_until(response_of(pb.ResponseEvent.DONE))
    started = [m.response for m in msgs if response_of(pb.ResponseEvent.STARTED)(m)]
    finals = [m.transcript.text for m in msgs if m.WhichOneof("body") == "transcript" and m.transcript.final]
    assert len(started) == 1 and started[0].response_id == 1
    assert len(finals) == 1 and "time" in finals[0].lower() and "12" in finals[0]
    await edge.close()


def _final(msgs: list[pb.HostMessage], turn_id: int) -> str:
    texts = [m.transcript.text for m in msgs if m.WhichOneof("body") == "transcript" and m.transcript.final]
    turns = [m.transcript.turn_id for m in msgs if m.WhichOneof("body") == "transcript" and m.transcript.final]
    return next(t for t, i in zip(texts, turns, strict=True) if i == turn_id)


async def _answering_a_cut_off_turn(port: int, speech) -> tuple[Edge, list[pb.HostMessage]]:
    """A session whose first turn was confirmed mid-sentence, its answer on the way."""
    edge = Edge(port)
    edge.start()
    await edge.accepted()
    edge.utterance(1, speech["unfinished"])
    return edge, await edge.recv_until(lambda m: m.WhichOneof("body") == "audio")


async def test_speech_right_after_a_confirmed_end_continues_that_turn(server, speech):
    edge, msgs = await _answering_a_cut_off_turn(server.port, speech)
    cut_off = msgs[-1].audio.response_id
    # The wearer goes on before they can have heard the answer: one turn, heard whole, one answer.
    onset = edge.audio(speech["minutes"])
    edge.turn(pb.TurnEvent.SPEECH_START, 2, onset, barge_in=True)
    edge.silence_frames(10)
    edge.turn(pb.TurnEvent.TENTATIVE_END, 2, edge.seq - 1)
    edge.turn(pb.TurnEvent.CONFIRMED_END, 2, edge.seq - 1)
    msgs += await edge.recv_until(lambda m: response_of(pb.ResponseEvent.STARTED)(m) and m.response.turn_id == 2)
    assert any(response_of(pb.ResponseEvent.CANCELLED)(m) and m.response.response_id == cut_off for m in msgs)
    heard = _final(msgs, 2).lower()
    assert "timer for" in heard and ("5 minutes" in heard or "five minutes" in heard), heard
    assert msgs[-1].response.text.startswith("Okay, a five minute timer")
    await edge.close()


async def test_speech_after_hearing_the_answer_is_a_turn_of_its_own(server, speech):
    edge, _ = await _answering_a_cut_off_turn(server.port, speech)
    edge.silence_frames(40)  # 0.8 s of the answer heard: the wearer is replying to it
    edge.utterance(2, speech["time"])
    msgs = await edge.recv_until(lambda m: response_of(pb.ResponseEvent.STARTED)(m) and m.response.turn_id == 2)
    heard = _final(msgs, 2).lower()
    assert "time" in heard and "timer" not in heard, heard
    await edge.close()


async def test_a_tentative_end_gets_a_reading_of_the_words(server, speech):
    edge = Edge(server.port)
    edge.start()
    await edge.accepted()
    hint = lambda m: m.WhichOneof("body") == "hint"  # noqa: E731
    edge.utterance(1, speech["time"], confirm=False)
    msgs = await edge.recv_until(hint)
    reading = msgs[-1].hint
    assert (reading.turn_id, reading.audio_seq) == (1, edge.seq - 1)
    assert reading.complete and reading.sure and reading.asr_confidence > 0.6
    # The wearer goes on, and stops again on a word no sentence ends with.
    edge.turn(pb.TurnEvent.RESUMED, 1, edge.seq)
    edge.audio(speech["unfinished"])
    edge.silence_frames(10)
    edge.turn(pb.TurnEvent.TENTATIVE_END, 1, edge.seq - 1)
    reading = (await edge.recv_until(hint))[-1].hint
    assert reading.audio_seq == edge.seq - 1 and not reading.complete and reading.sure
    await edge.close()


async def test_speech_over_an_answer_is_read_as_backchannel_or_interruption(server):
    """The edge names the overlap's frames; the host reads the real recorded words it already has."""
    edge = Edge(server.port)
    edge.start()
    await edge.accepted()
    enc = OpusEncoder()
    overlaps = {}
    for query_id, clip in enumerate(["sc_yes_0b40aa8e", "sc_stop_0a196374", "sc_right_0d82fd99"], 1):
        edge.silence_frames(5)
        packets = [enc.encode(f) for f in frames_of(read_wav(recording(clip).path))]
        first = edge.audio(packets)
        overlaps[query_id] = (first, edge.seq - 1)
    for query_id, (first, last) in overlaps.items():
        edge.send(overlap=pb.OverlapQuery(query_id=query_id, first_seq=first, last_seq=last))
    verdicts, others = {}, []
    while len(verdicts) < len(overlaps):
        *before, msg = await edge.recv_until(lambda m: m.WhichOneof("body") == "overlap")
        others += [m.WhichOneof("body") for m in before]
        verdicts[msg.overlap.query_id] = (msg.overlap.kind, msg.overlap.text)
    assert verdicts[1][0] == pb.OverlapVerdict.BACKCHANNEL, verdicts
    assert verdicts[2][0] == pb.OverlapVerdict.INTERRUPTION and "stop" in verdicts[2][1].lower(), verdicts
    assert verdicts[3][0] == pb.OverlapVerdict.BACKCHANNEL, verdicts
    assert others == []  # a reading opens no turn: no transcript, no answer
    await edge.close()


async def test_bad_token_is_fatal(server):
    edge = Edge(server.port)
    edge.start(token="wrong")
    msg = await edge.recv()
    assert msg.error.code == pb.Error.UNAUTHENTICATED and msg.error.fatal
    assert await edge.recv() is None
    await edge.close()


async def test_unsupported_mode_is_fatal(server):
    edge = Edge(server.port)
    edge.start(mode=99)  # a mode this host does not know
    msg = await edge.recv()
    assert msg.error.code == pb.Error.UNSUPPORTED and msg.error.fatal and "mode 99 is not served" in msg.error.message
    assert "MODE_ASSISTANT" in msg.error.message  # names what it does serve
    await edge.close()


async def test_malformed_input_is_reported_once_and_survived(server, speech):
    edge = Edge(server.port)
    edge.send(audio=pb.AudioFrame(seq=0, opus=b"\x01\x02"))
    msg = await edge.recv()
    assert msg.error.code == pb.Error.BAD_REQUEST and not msg.error.fatal and "before SessionStart" in msg.error.message
    edge.start()
    await edge.accepted()
    edge.audio([b"\xff" * 500] * 3)  # oversized: undecodable, three times
    msg = await edge.recv()
    assert msg.error.code == pb.Error.BAD_REQUEST and not msg.error.fatal
    edge.utterance(1, speech["times"])  # the session still works
    msgs = await edge.recv_until(response_of(pb.ResponseEvent.DONE))
    assert not any(m.WhichOneof("body") == "error" for m in msgs), "the Opus error must be sent only once"
    await edge.close()


async def test_edge_dying_leaves_no_session_behind(server, speech):
    edge = Edge(server.port)
    edge.start()
    await edge.accepted()
    edge.utterance(1, speech["joke"])
    await edge.recv_until(lambda m: m.WhichOneof("body") == "audio")
    assert server.service.active_sessions == 1
    edge.call.cancel()
    await edge.channel.close()
    for _ in range(200):  # the server notices the cancellation asynchronously
        if server.service.active_sessions == 0:
            break
        await asyncio.sleep(0.02)
    assert server.service.active_sessions == 0


async def test_a_timer_fires_as_a_spoken_proactive_response(server):
    """Set a 2-second timer by voice; once the confirmation has played, the host speaks the timer
    on its own, as a response to no turn (turn_id 0), through the same audio path."""
    words = PiperTts(deterministic=True).synthesize("Set a timer for two seconds.")
    packets = [OpusEncoder().encode(f) for f in frames_of(words)]
    edge = Edge(server.port)
    edge.start()
    await edge.accepted()
    edge.utterance(1, packets)

    def responses(msgs: list[pb.HostMessage]) -> list[pb.ResponseEvent]:
        return [m.response for m in msgs if m.WhichOneof("body") == "response"]

    first = responses(await edge.recv_until(response_of(pb.ResponseEvent.DONE)))
    assert "second" in first[0].text.lower(), first[0].text
    heard = pb.PlaybackEvent(kind=pb.PlaybackEvent.FINISHED, response_id=first[-1].response_id,
                             heard_samples=first[-1].total_samples)  # fmt: skip
    edge.send(playback=heard)
    got = await edge.recv_until(response_of(pb.ResponseEvent.DONE))
    started = [r for r in responses(got) if r.kind == pb.ResponseEvent.STARTED]
    assert len(started) == 1 and started[0].turn_id == 0, started
    assert "timer" in started[0].text.lower(), started[0].text
    pcm = decoded([m.audio.opus for m in got if m.WhichOneof("body") == "audio"])
    assert active_rms_dbfs(pcm) > -50  # spoken, not silence
    await edge.close()


async def test_a_stream_cancelled_while_the_models_load_leaves_the_host_serving(models):
    """The edge gives up on a stream (its connect timeout) while the host still loads its models:
    the other streams, and the host, carry on once the models are there."""
    gate = threading.Event()

    def slow_load() -> HostModels:
        gate.wait(WAIT)
        return models

    host = await start_server(host_config(), load=slow_load)
    try:
        impatient = Edge(host.port)
        impatient.start()
        await asyncio.sleep(0.5)  # its stream is open on the host, waiting for the models
        impatient.call.cancel()
        await impatient.channel.close()
        await asyncio.sleep(0.2)
        gate.set()
        await asyncio.wait_for(host.ready(), WAIT)
        edge = Edge(host.port)
        edge.start()
        await edge.accepted()
        await edge.close()
    finally:
        gate.set()
        await host.stop(None)


async def test_a_stream_that_never_starts_is_closed(models):
    host = await start_server(host_config(start_timeout_s=0.3), load=lambda: models)
    await host.ready()
    try:
        edge = Edge(host.port)
        edge.silence_frames(3)  # audio, but never a SessionStart
        errors = await edge.recv_until(lambda m: m.WhichOneof("body") == "error" and m.error.fatal)
        assert errors[-1].error.code == pb.Error.BAD_REQUEST and "no SessionStart" in errors[-1].error.message
        assert await edge.recv() is None
        await edge.close()
    finally:
        await host.stop(None)


async def test_client_strings_reach_the_log_bounded_and_the_token_never(server, caplog):
    caplog.set_level(logging.DEBUG)
    huge = "x" * 1_000_000
    edge = Edge(server.port)
    edge.send(start=pb.SessionStart(protocol_version=1, auth_token="wrong", session_id=huge))
    assert (await edge.recv()).error.code == pb.Error.UNAUTHENTICATED
    await edge.close()
    edge = Edge(server.port)
    edge.send(
        start=pb.SessionStart(
            protocol_version=1, auth_token=TOKEN, codec=pb.CODEC_OPUS, sample_rate_hz=16000, frame_ms=20,
            session_id=huge,
        )
    )  # fmt: skip
    msg = await edge.recv()
    assert msg.error.code == pb.Error.BAD_REQUEST and msg.error.fatal and "session_id" in msg.error.message
    await edge.close()
    edge = Edge(server.port)
    edge.send(
        start=pb.SessionStart(
            protocol_version=1, auth_token=TOKEN, codec=pb.CODEC_OPUS, sample_rate_hz=16000, frame_ms=20,
            session_id="long-device", device_id=huge,
        )
    )  # fmt: skip
    await edge.accepted()
    edge.send(end=pb.SessionEnd(reason=huge))
    assert await edge.recv() is None
    await edge.close()
    for _ in range(200):  # the server logs the closed session asynchronously
        if server.service.active_sessions == 0:
            break
        await asyncio.sleep(0.02)
    assert "long-device" in caplog.text
    assert "x" * 1000 not in caplog.text
    assert TOKEN not in caplog.text and "wrong" not in caplog.text


async def test_counters_are_logged_by_component_when_a_session_closes(server, caplog):
    caplog.set_level(logging.INFO)
    edge = Edge(server.port)
    edge.start()
    await edge.accepted()
    edge.audio([b"\xff" * 500] * 3)  # undecodable, three times
    edge.turn(pb.TurnEvent.TENTATIVE_END, 9, edge.seq - 1)  # no such turn
    assert (await edge.recv()).error.code == pb.Error.BAD_REQUEST
    edge.send(end=pb.SessionEnd(reason="done"))
    while await edge.recv() is not None:
        pass
    await edge.close()
    for _ in range(200):
        if "session test closed" in caplog.text:
            break
        await asyncio.sleep(0.02)
    line = next(r.getMessage() for r in caplog.records if "session test closed" in r.getMessage())
    assert "'stream': {" in line and "'opus': 3" in line and "'turn': 1" in line
    assert "'uplink': {" in line and "'undecodable': 3" in line and "'rejected': 1" in line


async def test_a_timer_announcement_the_wearer_talks_over_is_said_again_after_their_turn(server):
    """The timer's announcement is under way when the wearer asks something (a barge-in, past its
    first moments): it stops, their question is answered, and then the timer is said again."""
    words = spoken({"set": "Set a timer for two seconds.", "time": "What time is it?"})
    edge = Edge(server.port)
    edge.start()
    await edge.accepted()
    edge.utterance(1, words["set"])
    first = await edge.recv_until(response_of(pb.ResponseEvent.DONE))
    edge.send(playback=pb.PlaybackEvent(kind=pb.PlaybackEvent.FINISHED, response_id=first[-1].response.response_id,
                                        heard_samples=first[-1].response.total_samples))  # fmt: skip
    got = await edge.recv_until(response_of(pb.ResponseEvent.STARTED))
    timer = got[-1].response
    assert timer.turn_id == 0 and "timer" in timer.text.lower(), timer.text
    await edge.recv_until(lambda m: m.WhichOneof("body") == "audio")
    edge.silence_frames(30)  # 600 ms into it: too late to give way, a barge-in stops it
    onset = edge.audio(words["time"])
    edge.send(playback=pb.PlaybackEvent(kind=pb.PlaybackEvent.INTERRUPTED, response_id=timer.response_id,
                                        heard_samples=9600))  # fmt: skip
    edge.turn(pb.TurnEvent.SPEECH_START, 2, onset, barge_in=True)
    edge.silence_frames(10)
    edge.turn(pb.TurnEvent.TENTATIVE_END, 2, edge.seq - 1)
    edge.turn(pb.TurnEvent.CONFIRMED_END, 2, edge.seq - 1)
    got = await edge.recv_until(lambda m: response_of(pb.ResponseEvent.STARTED)(m) and m.response.turn_id == 2)
    assert not [m for m in got[:-1] if response_of(pb.ResponseEvent.STARTED)(m)]  # nothing over the wearer
    done = await edge.recv_until(response_of(pb.ResponseEvent.DONE))
    answer = done[-1].response
    assert answer.turn_id == 2 and not [m for m in done if response_of(pb.ResponseEvent.STARTED)(m)]
    edge.send(playback=pb.PlaybackEvent(kind=pb.PlaybackEvent.FINISHED, response_id=answer.response_id,
                                        heard_samples=answer.total_samples))  # fmt: skip
    again = (await edge.recv_until(response_of(pb.ResponseEvent.STARTED)))[-1].response
    assert again.turn_id == 0 and again.text == timer.text and again.response_id != timer.response_id
    await edge.close()
