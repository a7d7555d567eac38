"""Playback on the wearable: response audio paced down the BLE downlink, and what was heard.

The host sends a response's Opus frames as fast as it makes them; the device's buffer holds
about a second. Frames go down while fewer than ``window`` are in flight (sent but not yet
reported played), so the first frames leave at once and a flush on barge-in throws little away.
The device's CBOR reports say exactly which sample of a stream has played: that is what the host
uses to truncate the assistant's history to what the wearer actually heard.

Ducking (the answer brought down while the wearer may be speaking, then back) is a command to
the device rather than a change to the downlink: up to ``window`` frames are already in the
device's buffer, and they would still play at full level.

Holding (the answer silenced where it is while speech over it is decided) is one too: the device
stops consuming its buffer and keeps its position, so its reports stop advancing and the window
stops the sending by itself; nothing is dropped or resent. A flush then ends the answer at the
hold, or a restore sets it going again from the same sample.

The glasses have two outputs: the ear speaker (answers, whispered translations) and the outward
speaker (translation mode's replies, said aloud for the person in front of the wearer). Each plays
one stream at a time and a new stream supersedes only the one on its own output; an outward
stream's id carries the ``OUTWARD`` bit, which is how the device routes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from sottovoce.proto import control
from sottovoce.proto.codec import FRAME_MS, FRAME_SAMPLES
from sottovoce.proto.gatt.speaker import OUTWARD, DownlinkPacketizer

from .links.base import DeviceLink

log = logging.getLogger(__name__)

DUCK_DB = 24  # ducked means >= 20 dB down at the ear; the margin absorbs rounding and the ramp's tail
DUCK_RAMP_MS = 10  # at once, yet long enough not to click
RESTORE_RAMP_MS = 40  # the answer fades back in under the wearer's "mm-hm" rather than jumping
# The device holds at the end of the frame its ramp to silence ends in: a ramp of one frame fades
# out exactly the frame in play, so nothing between the fade and the hold is skipped.
HOLD_RAMP_MS = FRAME_MS
HOLD_DB = control.DUCK_DB[1]  # silence, as far as the message can say


class StreamState(Enum):
    QUEUED = "queued"  # frames arriving, nothing heard yet
    PLAYING = "playing"
    FINISHED = "finished"
    FLUSHED = "flushed"


@dataclass
class Stream:
    response_id: int
    stream_id: int
    frames: deque[bytes] = field(default_factory=deque)
    sent: int = 0
    played_samples: int = 0
    host_done: bool = False
    end_sent: bool = False
    flushing: bool = False  # flush sent, waiting for the device's report
    state: StreamState = StreamState.QUEUED
    outward: bool = False  # plays on the outward speaker, not in the ear

    @property
    def live(self) -> bool:
        return self.state in (StreamState.QUEUED, StreamState.PLAYING)


@dataclass
class PlaybackCounters:
    frames_sent: int = 0
    writes: int = 0
    frames_dropped_overflow: int = 0
    frames_dropped_stale: int = 0  # arrived for a stream already flushed or finished
    underruns: int = 0
    flushes: int = 0
    ducks: int = 0  # level changes sent to the device (duck, hold or restore)
    holds: int = 0  # ... of them holds
    ducks_unsent: int = 0  # for a stream the device had not been sent a frame of: nothing to duck
    bad_reports: int = 0
    volume_changes: int = 0  # SetVolume messages written to the device (asked for, or restored on reconnect)


# (kind, response_id, heard_samples): kind started / finished / interrupted, or ducked / restored
# (the device's level change began after heard_samples) / held (it stopped after heard_samples)
PlaybackListener = Callable[[str, int, int], None]


class Playback:
    def __init__(
        self,
        on_event: PlaybackListener,
        window_frames: int = 20,
        max_queued_frames: int = 3000,
    ) -> None:
        self.on_event = on_event
        self.window = window_frames
        self.max_queued = max_queued_frames
        self.counters = PlaybackCounters()
        self.link: DeviceLink | None = None
        self._packetizer = DownlinkPacketizer()
        self._streams: dict[int, Stream] = {}  # by response_id
        self._by_stream_id: dict[int, Stream] = {}
        self._next_stream_number = {False: 1, True: 1}  # per output: 1..OUTWARD-1, wrapping
        self._wake = asyncio.Event()
        self.volume_percent = 100  # the wearer's chosen speaker level; a device comes up at full
        self._volume_unsent = False

    # --- device --------------------------------------------------------------------------------
    def attach(self, link: DeviceLink | None) -> None:
        """A (re)connected device: its buffer is empty, so nothing in flight survives."""
        self.link = link
        if link is not None:
            self._packetizer.att_mtu = link.att_mtu
        for s in self._streams.values():
            if s.live:
                self._close(s, StreamState.FLUSHED, "interrupted")
        self._volume_unsent = link is not None and self.volume_percent != 100
        self._wake.set()

    async def set_volume(self, level: int) -> None:
        """Set the device's ear speaker to ``level`` percent, now and on every later connection."""
        self.volume_percent = level
        self._volume_unsent = False
        if self.link is None:
            return  # the next connection gets it
        try:
            await self._write_volume(self.link)
        except Exception as exc:  # a dropped link: the reconnect sends the level again
            log.warning("volume write failed: %s", exc)

    # --- responses from the host ---------------------------------------------------------------
    def start(self, response_id: int, outward: bool = False, queued: bool = False) -> Stream:
        """A new stream for ``response_id``, in the ear or (``outward``) on the outward speaker. One
        answer plays at a time on each output: a new one supersedes the one playing, or, ``queued``
        (the next piece of a translation), plays once it has ended."""
        for s in self._streams.values():
            if s.live and s.outward == outward and not queued:
                log.info("response %d supersedes %d", response_id, s.response_id)
                self._close(s, StreamState.FLUSHED, "interrupted")
        number = self._next_stream_number[outward]
        self._next_stream_number[outward] = number % (OUTWARD - 1) + 1
        stream = Stream(response_id, number | (OUTWARD if outward else 0), outward=outward)
        self._streams[response_id] = stream
        self._by_stream_id[stream.stream_id] = stream
        self._forget_old()
        return stream

    def add_frame(self, response_id: int, opus: bytes) -> bool:
        """Queue one frame of a response; False (and counted) if it will never play."""
        s = self._streams.get(response_id)
        if s is None or not s.live or s.host_done:
            self.counters.frames_dropped_stale += 1
            return False
        if len(s.frames) >= self.max_queued:
            self.counters.frames_dropped_overflow += 1
            return False
        s.frames.append(opus)
        self._wake.set()
        return True

    def finish(self, response_id: int) -> None:
        s = self._streams.get(response_id)
        if s is not None:
            s.host_done = True
            self._wake.set()

    @property
    def active(self) -> Stream | None:
        """The stream the wearer is hearing or about to hear in the ear."""
        return self.active_on(outward=False)

    def active_on(self, outward: bool) -> Stream | None:
        """The stream playing or about to play in the ear, or (``outward``) on the outward speaker."""
        for s in self._streams.values():
            if s.live and not s.flushing and s.outward == outward:
                return s
        return None

    async def flush(self, response_id: int) -> None:
        """Stop the response now: drop what is queued here and tell the device to drop its buffer."""
        s = self._streams.get(response_id)
        if s is None or not s.live:
            return
        s.frames.clear()
        s.host_done = s.flushing = True
        self.counters.flushes += 1
        if self.link is not None and s.sent:
            await self.link.write_control(control.Flush(stream=s.stream_id).encode())
            # the device answers with a 'flushed' report carrying the exact sample position
        else:
            self._close(s, StreamState.FLUSHED, "interrupted")

    async def duck(self, response_id: int, depth_db: int, ramp_ms: int, hold: bool = False) -> bool:
        """Bring the response's level ``depth_db`` below full (0: back to full) over ``ramp_ms``,
        setting it going again if it was held; with ``hold``, ramp it to silence (``HOLD_DB``,
        ``HOLD_RAMP_MS``) and hold it where it is. False if the device has none of it to duck (not
        begun, or stopped)."""
        s = self._streams.get(response_id)
        if s is None or not s.live or s.flushing or not s.sent or self.link is None:
            self.counters.ducks_unsent += 1
            return False
        self.counters.ducks += 1
        self.counters.holds += hold
        msg = control.Duck(stream=s.stream_id, depth_db=depth_db, ramp_ms=ramp_ms, hold=hold)
        await self.link.write_control(msg.encode())
        return True

    # --- device reports ------------------------------------------------------------------------
    def on_report(self, msg: control.ControlMessage) -> None:
        if isinstance(msg, control.BufferReport):
            s = self._by_stream_id.get(msg.stream)
            if s is not None:
                s.played_samples = max(s.played_samples, msg.played)
                self._wake.set()
            return
        if not isinstance(msg, control.PlaybackReport):
            return
        s = self._by_stream_id.get(msg.stream)
        if s is None:
            self.counters.bad_reports += 1
            log.warning("playback report for unknown stream %d", msg.stream)
            return
        s.played_samples = max(s.played_samples, msg.sample)
        if msg.event == "started" and s.state is StreamState.QUEUED:
            s.state = StreamState.PLAYING
            self.on_event("started", s.response_id, 0)
        elif msg.event == "finished" and s.live:
            self._close(s, StreamState.FINISHED, "finished")
        elif msg.event == "flushed" and s.live:
            self._close(s, StreamState.FLUSHED, "interrupted")
        elif msg.event == "underrun":
            self.counters.underruns += 1
        elif msg.event in ("ducked", "restored", "held"):
            self.on_event(msg.event, s.response_id, msg.sample)
        self._wake.set()

    def _close(self, s: Stream, state: StreamState, kind: str) -> None:
        s.state = state
        s.frames.clear()
        self.on_event(kind, s.response_id, s.played_samples)

    def _forget_old(self) -> None:
        # Bounded memory: keep the last few streams for late reports, forget the rest.
        while len(self._streams) > 8:
            oldest = next(iter(self._streams))
            old = self._streams.pop(oldest)
            if self._by_stream_id.get(old.stream_id) is old:
                del self._by_stream_id[old.stream_id]

    # --- sender --------------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self.link is None or not self.link.has_downlink:
                continue
            try:
                if self._volume_unsent:
                    self._volume_unsent = False
                    await self._write_volume(self.link)
                for s in (self.active_on(outward=False), self.active_on(outward=True)):
                    if s is not None:
                        await self._pump(s)
            except Exception as exc:  # a dropped link: the reconnect path re-attaches
                log.warning("downlink write failed: %s", exc)

    async def _write_volume(self, link: DeviceLink) -> None:
        self.counters.volume_changes += 1
        await link.write_control(control.SetVolume(level=self.volume_percent).encode())

    async def _pump(self, s: Stream) -> None:
        link = self.link
        assert link is not None
        while s.live and s.frames and s.sent - s.played_samples // FRAME_SAMPLES < self.window:
            frame = s.frames.popleft()
            for packet in self._packetizer.packetize(s.stream_id, frame):
                await link.write_downlink(packet)
                self.counters.writes += 1
            s.sent += 1
            self.counters.frames_sent += 1
        if s.live and s.host_done and not s.frames and not s.end_sent:
            s.end_sent = True
            await link.write_control(control.StreamEnd(stream=s.stream_id, frames=s.sent).encode())
