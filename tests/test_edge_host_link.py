"""The edge's host link over real gRPC on loopback: session start, reconnect with backoff, refusal."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from sottovoce.edge.backoff import Backoff
from sottovoce.edge.host_link import HostLink, HostRefused
from sottovoce.proto.v1 import duplex_pb2 as pb
from sottovoce.proto.v1 import duplex_pb2_grpc as pb_grpc
from sottovoce.tools.demo import free_ports


class RecordingDuplex(pb_grpc.DuplexServicer):
    """A host that accepts sessions (or refuses bad tokens) and records what it receives."""

    def __init__(self) -> None:
        self.received: list[pb.EdgeMessage] = []

    async def Converse(self, request_iterator, context):
        async for msg in request_iterator:
            self.received.append(msg)
            if msg.WhichOneof("body") == "start":
                if msg.start.auth_token != "secret":
                    yield pb.HostMessage(error=pb.Error(code=pb.Error.UNAUTHENTICATED, message="bad token", fatal=True))
                    return
                yield pb.HostMessage(accepted=pb.SessionAccepted(session_id=msg.start.session_id, host_id="test"))
            elif msg.WhichOneof("body") == "audio":
                yield pb.HostMessage(transcript=pb.Transcript(turn_id=1, text=f"seq {msg.audio.seq}"))


def free_port() -> int:
    return free_ports(1)[0]


async def start_server(port: int, servicer: RecordingDuplex) -> grpc.aio.Server:
    server = grpc.aio.server()
    pb_grpc.add_DuplexServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server


async def wait_until(predicate, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


def make_link(port: int, token: str = "secret"):
    received: list[pb.HostMessage] = []
    states: list[bool] = []
    link = HostLink(
        f"127.0.0.1:{port}",
        pb.SessionStart(protocol_version=1, auth_token=token, codec=pb.CODEC_OPUS, sample_rate_hz=16000, frame_ms=20),
        received.append,
        lambda up, _detail: states.append(up),
        queue_size=8,
        backoff=Backoff(first=0.05, ceiling=0.2),
        connect_timeout=0.5,
    )
    return link, received, states


async def test_host_down_then_up_reconnects_and_streams():
    port = free_port()
    link, received, states = make_link(port)
    task = asyncio.create_task(link.run())
    await wait_until(lambda: len(states) >= 2)  # failed at least twice, backing off
    assert states[:2] == [False, False]
    assert not link.send(pb.EdgeMessage(audio=pb.AudioFrame(seq=1, opus=b"x")))
    assert link.counters.dropped_disconnected == 1

    servicer = RecordingDuplex()
    server = await start_server(port, servicer)
    try:
        await wait_until(lambda: link.connected)
        assert states[-1] is True
        for seq in range(3):
            assert link.send(pb.EdgeMessage(audio=pb.AudioFrame(seq=seq, opus=b"x")))
        await wait_until(lambda: len(received) == 3)
        assert [m.transcript.text for m in received] == ["seq 0", "seq 1", "seq 2"]
        start = servicer.received[0].start
        assert start.session_id and start.codec == pb.CODEC_OPUS

        await server.stop(None)  # the host dies mid-session
        await wait_until(lambda: not link.connected and states[-1] is False)
        server = await start_server(port, servicer)
        await wait_until(lambda: link.connected)
        assert link.counters.connects == 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.stop(None)


async def test_fatal_refusal_stops_retrying():
    port = free_port()
    server = await start_server(port, RecordingDuplex())
    link, _, _ = make_link(port, token="wrong")
    try:
        with pytest.raises(HostRefused, match="UNAUTHENTICATED: bad token"):
            await asyncio.wait_for(link.run(), 10)
    finally:
        await server.stop(None)


async def test_full_queue_drops_oldest_audio_but_keeps_events():
    link, _, _ = make_link(free_port())
    link.connected = True  # queue semantics only: nothing is written without a session
    turn = pb.EdgeMessage(turn=pb.TurnEvent(kind=pb.TurnEvent.SPEECH_START, turn_id=1))
    link.send(turn)
    for seq in range(10):
        link.send(pb.EdgeMessage(audio=pb.AudioFrame(seq=seq)))
    queued = link.queued()
    assert queued[0] == turn
    assert [m.audio.seq for m in queued[1:]] == list(range(3, 10))
    assert link.counters.dropped_overflow == 3
