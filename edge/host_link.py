"""The edge's gRPC stream to the host: one Converse call per session, reconnecting with backoff.

Outgoing messages go through a bounded queue; while the host is unreachable, audio is dropped
(counted) rather than piling up, because minutes-old audio is useless to a conversation. A host
that refuses the session for good (bad token, unsupported codec) stops the link with an error
instead of retrying forever.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from sottovoce.proto.v1 import duplex_pb2 as pb
from sottovoce.proto.v1 import duplex_pb2_grpc as pb_grpc

from .backoff import Backoff

log = logging.getLogger(__name__)


class HostRefused(RuntimeError):
    """The host answered the session with a fatal error: retrying will not help."""


@dataclass
class HostLinkCounters:
    sent: int = 0
    dropped_disconnected: int = 0
    dropped_overflow: int = 0
    received: int = 0
    connects: int = 0
    failures: int = 0


class HostLink:
    def __init__(
        self,
        target: str,
        start: pb.SessionStart,
        on_message: Callable[[pb.HostMessage], None],
        on_state: Callable[[bool, str], None],
        queue_size: int = 256,
        backoff: Backoff | None = None,
        connect_timeout: float = 3.0,
    ) -> None:
        self.target = target
        self.start = start
        self.on_message = on_message
        self.on_state = on_state
        self.counters = HostLinkCounters()
        self.backoff = backoff or Backoff()
        self.connect_timeout = connect_timeout
        self.connected = False
        self.queue_size = queue_size
        # One FIFO for everything: a turn event must not overtake the audio it refers to.
        self._queue: deque[pb.EdgeMessage | None] = deque()
        self._ready = asyncio.Event()

    def queued(self) -> list[pb.EdgeMessage]:
        """What waits to be sent, oldest first."""
        return [m for m in self._queue if m is not None]

    def send(self, msg: pb.EdgeMessage) -> bool:
        """Queue a message for the host; never blocks. Returns False if it was dropped."""
        if not self.connected:
            self.counters.dropped_disconnected += 1
            return False
        if len(self._queue) >= self.queue_size and not self._drop_oldest_audio():
            self.counters.dropped_overflow += 1
            return False
        self._queue.append(msg)
        self._ready.set()
        return True

    def _drop_oldest_audio(self) -> bool:
        """Make room by dropping the oldest audio frame; control events must get through."""
        for i, item in enumerate(self._queue):
            if item is not None and item.WhichOneof("body") == "audio":
                del self._queue[i]
                self.counters.dropped_overflow += 1
                return True
        return False

    async def run(self) -> None:
        """Hold a session open until cancelled; raises HostRefused on a fatal session error."""
        while True:
            reason = "closed"
            try:
                await self._session()
            except HostRefused:
                raise
            except grpc.aio.AioRpcError as exc:
                reason = f"{exc.code().name}: {exc.details()}"
            except (TimeoutError, OSError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if self.connected:
                self.connected = False
            self.counters.failures += 1
            self.on_state(False, reason)
            delay = self.backoff.next_delay()
            log.warning("host %s unavailable (%s); retrying in %.2f s", self.target, reason, delay)
            await asyncio.sleep(delay)

    async def _session(self) -> None:
        async with grpc.aio.insecure_channel(self.target) as channel:
            await asyncio.wait_for(channel.channel_ready(), self.connect_timeout)
            call = pb_grpc.DuplexStub(channel).Converse()
            start = pb.SessionStart()
            start.CopyFrom(self.start)
            start.session_id = start.session_id or uuid.uuid4().hex[:12]
            await call.write(pb.EdgeMessage(start=start))
            first = await asyncio.wait_for(call.read(), self.connect_timeout)
            if first is grpc.aio.EOF:
                raise OSError("host closed the stream before accepting the session")
            if first.WhichOneof("body") == "error":
                if first.error.fatal:
                    raise HostRefused(
                        f"host refused the session: {pb.Error.Code.Name(first.error.code)}: {first.error.message}"
                    )
            elif first.WhichOneof("body") != "accepted":
                raise OSError(f"host sent {first.WhichOneof('body')} before accepting the session")
            self._drain()
            self.connected = True
            self.counters.connects += 1
            self.backoff.reset()
            self.on_state(True, f"session {first.accepted.session_id} on {first.accepted.host_id}")
            writer = asyncio.create_task(self._write_loop(call))
            try:
                while True:
                    msg = await call.read()
                    if msg is grpc.aio.EOF:
                        raise OSError("host ended the stream")
                    self.counters.received += 1
                    if msg.WhichOneof("body") == "error" and msg.error.fatal:
                        raise OSError(f"host error: {msg.error.message}")
                    self.on_message(msg)
            finally:
                self.connected = False
                writer.cancel()
                await asyncio.gather(writer, return_exceptions=True)

    async def _write_loop(self, call) -> None:
        while True:
            while not self._queue:
                self._ready.clear()
                await self._ready.wait()
            msg = self._queue.popleft()
            if msg is None:
                await call.done_writing()
                return
            await call.write(msg)
            self.counters.sent += 1

    def _drain(self) -> None:
        self.counters.dropped_disconnected += len(self._queue)
        self._queue.clear()

    async def close(self, reason: str = "edge shutting down") -> None:
        """Tell the host the session ends, and give the message a moment to leave."""
        if self.connected:
            self.send(pb.EdgeMessage(end=pb.SessionEnd(reason=reason)))
            self._queue.append(None)
            self._ready.set()
            for _ in range(20):
                if not self._queue:
                    break
                await asyncio.sleep(0.01)
