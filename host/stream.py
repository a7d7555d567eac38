"""The ``Duplex.Converse`` stream protocol: the SessionStart handshake, dispatch, and closing.

A stream must open with a SessionStart within ``StreamConfig.start_timeout_s``: its token (hmac
compared), protocol version, audio format and mode are checked before anything else is taken, and
a stream that never starts is closed rather than held open. Only then is a conversation opened
(by the ``ModeHandler`` of its mode), and the edge's audio, turn, playback, cancel, telemetry and
pose messages are handed to it. Everything the host sends goes through one bounded ``Outbox``. A
malformed message is counted and the edge told once per kind; it never ends the conversation.
Strings from the client reach the log clipped (``clip``): before authentication anyone can send
them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from sottovoce.host.tasks import TaskSet
from sottovoce.host.uplink_audio import UplinkAudio
from sottovoce.proto.codec import FRAME_MS, SAMPLE_RATE, CodecError
from sottovoce.proto.v1 import duplex_pb2 as pb

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
LOGGED_CHARS = 64  # of any client string that goes into the log
_CLOSE = object()  # sentinel on the outbound queue: end the stream


def clip(text: str, limit: int = LOGGED_CHARS) -> str:
    """A client string as it may appear in the log: quoted (no forged log lines) and cut short."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


@dataclass(frozen=True)
class StreamConfig:
    auth_token: str | None = field(default=None, repr=False)  # None: open host; never logged
    host_id: str = "sottovoce-host"
    outbound_queue: int = 256  # HostMessages waiting for gRPC; producers wait when it is full
    start_timeout_s: float = 10.0  # a stream without a SessionStart by then is closed
    max_session_id_chars: int = 128  # the id is echoed back and names the session in log lines


class BadRequest(StrEnum):
    """Kinds of malformed input; each is reported to the edge once and counted every time."""

    EMPTY = "empty"
    BEFORE_START = "before_start"
    DUPLICATE_START = "duplicate_start"
    INTERNAL = "internal"  # a message the host failed to handle
    OPUS = "opus"
    TURN = "turn"
    CANCEL = "cancel"
    PLAYBACK = "playback"
    TELEMETRY = "telemetry"
    POSE = "pose"


@dataclass(slots=True)  # slots: counting a kind without a field fails instead of adding one
class StreamCounters:
    empty: int = 0
    before_start: int = 0
    duplicate_start: int = 0
    internal: int = 0
    opus: int = 0
    turn: int = 0
    cancel: int = 0
    playback: int = 0
    telemetry: int = 0
    pose: int = 0
    refused_starts: int = 0  # fatal handshakes: token, version, format, mode, id
    start_timeouts: int = 0

    def count(self, kind: BadRequest) -> None:
        setattr(self, kind.value, getattr(self, kind.value) + 1)


class Outbox:
    """The host's side of one stream: bounded, closed once, and each kind of bad request
    reported once (not once per frame)."""

    def __init__(self, size: int, counters: StreamCounters, name: Callable[[], str]) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=size)
        self._counters = counters
        self._name = name
        self._reported: set[BadRequest] = set()
        self.closing = False

    async def send(self, **body: Any) -> None:
        await self._queue.put(pb.HostMessage(**body))

    async def bad_request(self, kind: BadRequest, message: str) -> None:
        self._counters.count(kind)
        if kind in self._reported:
            return
        self._reported.add(kind)
        log.warning("session %s: bad request (%s): %s", self._name(), kind.value, message)
        await self.send(error=pb.Error(code=pb.Error.BAD_REQUEST, message=message, fatal=False))

    async def take_audio(self, uplink: UplinkAudio, frame: pb.AudioFrame) -> None:
        """The edge's audio frame into the conversation's timeline; one that does not decode is
        reported (once per stream, as every bad request) and the conversation goes on."""
        try:
            uplink.push(frame.seq, frame.opus)
        except CodecError as exc:
            await self.bad_request(BadRequest.OPUS, str(exc))

    async def fatal(self, code: int, message: str) -> None:
        log.warning("session %s: fatal %s: %s", self._name(), pb.Error.Code.Name(code), message)
        await self.send(error=pb.Error(code=code, message=message, fatal=True))
        await self.close()

    async def close(self) -> None:
        """End the stream once everything queued so far has gone out."""
        if not self.closing:
            self.closing = True
            await self._queue.put(_CLOSE)

    def halt(self) -> None:
        """The stream is going away without a goodbye (the edge cancelled it): produce no more."""
        self.closing = True

    async def next(self) -> pb.HostMessage | None:
        msg = await self._queue.get()
        return None if msg is _CLOSE else msg


class Conversation(Protocol):
    """What a started stream drives (the session)."""

    async def on_audio(self, frame: pb.AudioFrame) -> None: ...
    async def on_turn(self, event: pb.TurnEvent) -> None: ...
    async def on_playback(self, event: pb.PlaybackEvent) -> None: ...
    async def on_cancel(self, response_id: int, reason: str) -> None: ...
    async def on_overlap(self, query: pb.OverlapQuery) -> None: ...
    async def on_telemetry(self, telemetry: pb.Telemetry) -> None: ...
    async def on_pose(self, pose: pb.Pose) -> None: ...
    async def shutdown(self) -> None: ...
    def counters(self) -> dict[str, dict[str, int]]: ...


@dataclass(frozen=True)
class ModeHandler:
    """How a host serves one mode: ``open`` builds the conversation of an accepted start;
    ``refusal`` says why a start of this mode cannot be served (None: it can)."""

    open: Callable[[str, Outbox, pb.SessionStart], Conversation]
    refusal: Callable[[pb.SessionStart], str | None] = lambda start: None


def mode_name(mode: int) -> str:
    return pb.Mode.Name(mode) if mode in pb.Mode.values() else f"mode {mode}"


class Stream:
    """One ``Converse`` stream: ``converse`` consumes the edge's messages and yields the host's;
    cancelling the consumer cancels everything the stream started. ``modes`` says which modes the
    host serves and how."""

    def __init__(self, config: StreamConfig, modes: Mapping[int, ModeHandler]) -> None:
        self.config = config
        self.modes = modes
        self.session_id = ""
        self.conversation: Conversation | None = None
        self.stream_counters = StreamCounters()
        self.out = Outbox(config.outbound_queue, self.stream_counters, self.name)
        self._tasks = TaskSet(self.name)

    def name(self) -> str:
        return self.session_id or "-"

    def counters(self) -> dict[str, dict[str, int]]:
        """Every component's counters, by component."""
        own = {"stream": dataclasses.asdict(self.stream_counters)}
        return own | (self.conversation.counters() if self.conversation else {})

    async def converse(self, requests: AsyncIterator[pb.EdgeMessage]) -> AsyncIterator[pb.HostMessage]:
        reader = self._tasks.spawn(self._read(requests), "reader")
        self._tasks.spawn(self._start_deadline(), "start-deadline")
        try:
            while (msg := await self.out.next()) is not None:
                yield msg
        finally:
            reader.cancel()
            await self.shutdown()

    async def shutdown(self) -> None:
        self.out.halt()
        if self.conversation is not None:
            await self.conversation.shutdown()
        await self._tasks.cancel_all()

    async def _start_deadline(self) -> None:
        await asyncio.sleep(self.config.start_timeout_s)
        if self.conversation is None and not self.out.closing:
            self.stream_counters.start_timeouts += 1
            await self.out.fatal(pb.Error.BAD_REQUEST, f"no SessionStart within {self.config.start_timeout_s:g} s")

    async def _read(self, requests: AsyncIterator[pb.EdgeMessage]) -> None:
        try:
            async for msg in requests:
                try:
                    await self._handle(msg)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # one bad message must not end the conversation
                    log.exception("session %s: handling %s failed", self.name(), msg.WhichOneof("body"))
                    await self.out.bad_request(BadRequest.INTERNAL, f"could not handle message: {exc}")
                if self.out.closing:
                    return
        finally:
            await self.out.close()

    async def _handle(self, msg: pb.EdgeMessage) -> None:
        kind = msg.WhichOneof("body")
        conversation = self.conversation
        if kind == "start":
            await self._on_start(msg.start)
        elif kind is None:
            await self.out.bad_request(BadRequest.EMPTY, "EdgeMessage without a body")
        elif conversation is None:
            await self.out.bad_request(BadRequest.BEFORE_START, f"{kind} before SessionStart")
        elif kind == "audio":
            await conversation.on_audio(msg.audio)
        elif kind == "turn":
            await conversation.on_turn(msg.turn)
        elif kind == "playback":
            await conversation.on_playback(msg.playback)
        elif kind == "cancel":
            await conversation.on_cancel(msg.cancel.response_id, msg.cancel.reason or "cancel")
        elif kind == "telemetry":
            await conversation.on_telemetry(msg.telemetry)
        elif kind == "overlap":
            await conversation.on_overlap(msg.overlap)
        elif kind == "pose":
            await conversation.on_pose(msg.pose)
        elif kind == "end":
            log.info("session %s: ended by edge (%s)", self.name(), clip(msg.end.reason or "no reason"))
            await self.out.close()

    def _refusal(self, start: pb.SessionStart) -> tuple[int, str] | None:
        """Why this SessionStart cannot open a conversation (error code, message), if it cannot."""
        token = self.config.auth_token
        if token and not hmac.compare_digest(start.auth_token.encode(), token.encode()):
            return pb.Error.UNAUTHENTICATED, "bad auth token"
        limit = self.config.max_session_id_chars
        if len(start.session_id) > limit or not start.session_id.isprintable():
            return pb.Error.BAD_REQUEST, f"session_id must be at most {limit} printable characters"
        if start.protocol_version != PROTOCOL_VERSION:
            return pb.Error.UNSUPPORTED, f"protocol version {start.protocol_version}; this host speaks 1"
        if start.codec != pb.CODEC_OPUS or start.sample_rate_hz != SAMPLE_RATE or start.frame_ms != FRAME_MS:
            return pb.Error.UNSUPPORTED, (
                f"audio {pb.Codec.Name(start.codec)} {start.sample_rate_hz} Hz {start.frame_ms} ms; "
                f"this host takes CODEC_OPUS {SAMPLE_RATE} Hz {FRAME_MS} ms"
            )
        handler = self.modes.get(start.mode)
        if handler is None:
            served = ", ".join(mode_name(m) for m in self.modes if m != pb.MODE_UNSPECIFIED)
            return pb.Error.UNSUPPORTED, f"{mode_name(start.mode)} is not served here; this host serves {served}"
        reason = handler.refusal(start)
        return None if reason is None else (pb.Error.UNSUPPORTED, reason)

    async def _on_start(self, start: pb.SessionStart) -> None:
        if self.conversation is not None:
            await self.out.bad_request(BadRequest.DUPLICATE_START, "SessionStart sent twice")
            return
        refusal = self._refusal(start)
        if refusal is not None:
            self.stream_counters.refused_starts += 1
            await self.out.fatal(*refusal)
            return
        self.session_id = start.session_id or f"s{id(self) & 0xFFFF:04x}"
        log.info("session %s: accepted (device %s)", self.session_id, clip(start.device_id))
        await self.out.send(accepted=pb.SessionAccepted(session_id=self.session_id, host_id=self.config.host_id))
        self.conversation = self.modes[start.mode].open(self.session_id, self.out, start)
