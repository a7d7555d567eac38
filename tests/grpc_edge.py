"""A test's edge: a real gRPC client of the host's Duplex stream, driven by hand (frames, turn
events, replies awaited), for the host's session tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
import numpy as np

from sottovoce.host.answer import HostModels
from sottovoce.host.server import HostConfig, HostServer, start_server
from sottovoce.host.stream import StreamConfig
from sottovoce.host.tts import PiperTts
from sottovoce.proto.codec import FRAME_SAMPLES, OpusDecoder, OpusEncoder, frames_of
from sottovoce.proto.v1 import duplex_pb2 as pb
from sottovoce.proto.v1 import duplex_pb2_grpc as pb_grpc

TOKEN = "s3cret"
WAIT = 20.0  # generous bound so a broken host fails the test instead of hanging it


def host_config(**stream) -> HostConfig:
    return HostConfig(listen="127.0.0.1:0", stream=StreamConfig(auth_token=TOKEN, **stream))


class Edge:
    """A minimal edge: a request queue feeding the stream and helpers to await replies."""

    def __init__(self, port: int) -> None:
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.requests: asyncio.Queue[pb.EdgeMessage | None] = asyncio.Queue()
        self.call = pb_grpc.DuplexStub(self.channel).Converse(self._iter())
        self.seq = 0
        self.silence = OpusEncoder().encode(np.zeros(FRAME_SAMPLES, dtype=np.int16))

    async def _iter(self):
        while (msg := await self.requests.get()) is not None:
            yield msg

    def send(self, **body) -> None:
        self.requests.put_nowait(pb.EdgeMessage(**body))

    def start(self, token: str = TOKEN, mode: int = pb.MODE_ASSISTANT, language: str = "", target: str = "") -> None:
        self.send(
            start=pb.SessionStart(
                protocol_version=1, auth_token=token, codec=pb.CODEC_OPUS, sample_rate_hz=16000, frame_ms=20,
                mode=mode, session_id="test", language=language, target_language=target,
            )
        )  # fmt: skip

    def audio(self, packets: list[bytes]) -> int:
        """Send frames; returns the seq of the first one."""
        first = self.seq
        for p in packets:
            self.send(audio=pb.AudioFrame(seq=self.seq, opus=p))
            self.seq += 1
        return first

    def silence_frames(self, n: int) -> None:
        self.audio([self.silence] * n)

    def turn(self, kind: int, turn_id: int, seq: int, barge_in: bool = False, speaker: int = 0) -> None:
        self.send(turn=pb.TurnEvent(kind=kind, turn_id=turn_id, audio_seq=seq, barge_in=barge_in, speaker=speaker))

    async def recv(self) -> pb.HostMessage | None:
        msg = await asyncio.wait_for(self.call.read(), WAIT)
        return None if msg is grpc.aio.EOF else msg

    async def recv_until(self, pred) -> list[pb.HostMessage]:
        got = []
        while True:
            msg = await self.recv()
            assert msg is not None, f"stream ended early after {got}"
            got.append(msg)
            if pred(msg):
                return got

    async def accepted(self) -> None:
        msg = await self.recv()
        assert msg.WhichOneof("body") == "accepted", msg

    def utterance(self, turn_id: int, packets: list[bytes], confirm: bool = True) -> None:
        self.silence_frames(5)
        onset = self.audio(packets)
        self.turn(pb.TurnEvent.SPEECH_START, turn_id, onset)
        self.end_turn(turn_id, confirm)

    def end_turn(self, turn_id: int, confirm: bool = True) -> None:
        """200 ms of silence after the speech, then its tentative (and confirmed) end."""
        self.silence_frames(10)
        self.turn(pb.TurnEvent.TENTATIVE_END, turn_id, self.seq - 1)
        if confirm:
            self.turn(pb.TurnEvent.CONFIRMED_END, turn_id, self.seq - 1)

    async def close(self) -> None:
        self.requests.put_nowait(None)
        await self.channel.close()


def response_of(kind: int):
    return lambda m: m.WhichOneof("body") == "response" and m.response.kind == kind


def decoded(packets: list[bytes]) -> np.ndarray:
    dec = OpusDecoder()
    return np.concatenate([dec.decode(p) for p in packets])


@asynccontextmanager
async def serving(models: HostModels, config: HostConfig | None = None) -> AsyncIterator[HostServer]:
    """A real host on a free port (``config``: the test host's by default), serving ``models``,
    stopped on exit."""
    host = await start_server(config or host_config(), load=lambda: models)
    await host.ready()
    try:
        yield host
    finally:
        await host.stop(None)


def spoken(phrases: dict[str, str]) -> dict[str, list[bytes]]:
    """Each phrase said by Piper and Opus-encoded as the edge would send it. The same delivery
    every run: Piper's sampler now and then says "timer for" so that Whisper hears "time or
    four", and the readings the tests expect would depend on the draw."""
    tts, enc = PiperTts(deterministic=True), OpusEncoder()
    return {k: [enc.encode(f) for f in frames_of(tts.synthesize(v))] for k, v in phrases.items()}
