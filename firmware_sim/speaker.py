"""The glasses' ear speaker: downlink writes -> Opus frames -> bounded playback buffer -> samples.

Driven one 20 ms tick at a time by the audio clock (``tick(k)`` renders timeline samples
``k*320 .. k*320+319``), so every report carries an exact sample position and the recorder gets
what was actually heard. Reports go back to the edge as CBOR control messages through ``send``.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from sottovoce.proto import control as ctl
from sottovoce.proto.codec import FRAME_SAMPLES, CodecError, OpusDecoder
from sottovoce.proto.gatt_profile import DownlinkReassembler, FramingError

log = logging.getLogger(__name__)

CAPACITY_FRAMES = 50  # ~1 s of audio: what a small wearable can afford to buffer
START_THRESHOLD = 2  # frames queued before a stream starts playing (absorbs link jitter)
REPORT_EVERY_TICKS = 5  # BufferReport every 100 ms while a stream is active
RECENT_STREAMS = 16  # ended stream ids remembered, so their late frames are dropped


@dataclass
class PlaybackRecord:
    """One response stream as heard; sample indices are on the recording timeline."""

    stream: int
    start_sample: int | None = None  # first sample played
    end_sample: int | None = None  # one past the last sample played
    ended: str | None = None  # finished | flushed | superseded | cut
    flush_received_sample: int | None = None
    samples: int = 0


@dataclass
class SpeakerCounters:
    frames_received: int = 0
    frames_played: int = 0
    frames_concealed: int = 0  # lost on the link (or undecodable), replaced by FEC/PLC
    frames_dropped_late: int = 0  # arrived for a stream already flushed/superseded/finished
    frames_dropped_flush: int = 0  # queued frames thrown away by a flush or a superseding stream
    overflow: int = 0  # arrived with the buffer full
    underruns: int = 0
    missing_frames: int = 0  # StreamEnd announced more frames than ever arrived
    decode_errors: int = 0
    malformed_writes: int = 0
    flushes: int = 0
    superseded: int = 0
    buffer_reports: int = 0
    playback_reports: int = 0


@dataclass
class _Stream:
    id: int
    record: PlaybackRecord
    queue: deque[bytes | None] = field(default_factory=deque)  # None = a frame lost on the link
    decoder: OpusDecoder = field(default_factory=OpusDecoder)
    playing: bool = False
    end_frames: int | None = None  # from StreamEnd
    frames_played: int = 0


class Speaker:
    def __init__(
        self,
        send: Callable[[ctl.ControlMessage], None],
        clock_us: Callable[[], int],
        capacity: int = CAPACITY_FRAMES,
    ) -> None:
        self.send = send
        self.clock_us = clock_us
        self.capacity = capacity
        self.counters = SpeakerCounters()
        self.playback: list[PlaybackRecord] = []
        self.volume = 100
        self.whisper = False
        self.whisper_changes = 0
        self.position = 0  # next timeline sample to render
        self._current: _Stream | None = None
        self._ended: deque[tuple[int, PlaybackRecord]] = deque(maxlen=RECENT_STREAMS)
        self._ticks = 0
        self._reassembler = DownlinkReassembler(self._on_frame)
        self._dropped_seen = 0
        self._link_totals: dict[str, int] = {}

    def new_connection(self) -> None:
        """Downlink sequence numbers and stream ids are scoped to a connection: a reconnected edge
        starts over, which must read neither as 65k lost writes nor as late frames."""
        for key, value in asdict(self._reassembler.stats).items():
            self._link_totals[key] = self._link_totals.get(key, 0) + value
        self._reassembler = DownlinkReassembler(self._on_frame)
        self._dropped_seen = 0
        self._ended.clear()

    # --- input --------------------------------------------------------------------------------

    def on_downlink(self, data: bytes) -> None:
        """One downlink write (write without response)."""
        try:
            self._reassembler.feed(data)
        except FramingError as exc:
            self.counters.malformed_writes += 1
            log.warning("malformed downlink write dropped: %s", exc)

    @property
    def link_stats(self) -> dict[str, int]:
        return {k: v + self._link_totals.get(k, 0) for k, v in asdict(self._reassembler.stats).items()}

    def _on_frame(self, stream: int, frame: bytes) -> None:
        c = self.counters
        c.frames_received += 1
        # Frames the reassembler had to drop since the last good one are concealed in place.
        lost = self._reassembler.stats.dropped_frames - self._dropped_seen
        self._dropped_seen = self._reassembler.stats.dropped_frames
        if self._is_ended(stream):
            c.frames_dropped_late += 1
            return
        s = self._current
        if s is None or s.id != stream:
            s = self._begin(stream)
            lost = 0  # losses before a stream's first frame belong to no playable position
        for _ in range(lost):
            if len(s.queue) < self.capacity:
                s.queue.append(None)
        if len(s.queue) >= self.capacity:
            c.overflow += 1
            return
        s.queue.append(frame)
        if len(s.queue) == self.capacity:
            self._buffer_report(s)

    def on_control(self, msg: ctl.ControlMessage) -> bool:
        """Handle the speaker's control messages; False if ``msg`` is not one of them."""
        if isinstance(msg, ctl.Flush):
            self._flush(msg.stream)
        elif isinstance(msg, ctl.StreamEnd):
            self._stream_end(msg.stream, msg.frames)
        elif isinstance(msg, ctl.SetVolume):
            self.volume = msg.level
        elif isinstance(msg, ctl.SetWhisper):
            self.whisper = msg.on
            self.whisper_changes += 1
        else:
            return False
        return True

    def _begin(self, stream: int) -> _Stream:
        old = self._current
        if old is not None:
            self.counters.superseded += 1
            self.counters.frames_dropped_flush += sum(1 for f in old.queue if f is not None)
            self._close(old, "superseded")
        record = PlaybackRecord(stream=stream)
        self.playback.append(record)
        self._current = _Stream(id=stream, record=record)
        return self._current

    def _flush(self, stream: int) -> None:
        self.counters.flushes += 1
        s = self._current
        if s is not None and s.id == stream:
            s.record.flush_received_sample = self.position
            self.counters.frames_dropped_flush += sum(1 for f in s.queue if f is not None)
            s.queue.clear()
            self._close(s, "flushed")
            played = s.record.samples
        else:
            # Already over (or never heard): still answer, so the edge learns what was heard.
            record = self._ended_record(stream)
            if record is None:
                record = PlaybackRecord(stream=stream, ended="flushed")
                self._ended.append((stream, record))
            elif record.flush_received_sample is None:
                record.flush_received_sample = self.position
            played = record.samples
        self._report("flushed", stream, played)
        self.counters.buffer_reports += 1
        self._emit(ctl.BufferReport(stream=stream, queued=0, free=self.capacity, played=played))

    def _stream_end(self, stream: int, frames: int) -> None:
        if self._is_ended(stream):
            return
        s = self._current
        if s is None or s.id != stream:
            s = self._begin(stream)
        s.end_frames = frames

    # --- output -------------------------------------------------------------------------------

    def tick(self, k: int) -> np.ndarray:
        """Render timeline frame ``k``; returns int16 samples for the ear."""
        start = k * FRAME_SAMPLES
        self.position = start
        out = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        s = self._current
        if s is not None:
            if not s.playing and (len(s.queue) >= START_THRESHOLD or (s.end_frames is not None and s.queue)):
                s.playing = True
            if s.playing and s.queue:
                out = self._play(s, start)
            elif s.playing and s.end_frames is None:
                # Ran dry mid-stream: report once, then wait to re-prime like at the start.
                s.playing = False
                self.counters.underruns += 1
                self._report("underrun", s.id, s.record.samples)
            if s.end_frames is not None and not s.queue:
                if s.frames_played < s.end_frames:
                    self.counters.missing_frames += s.end_frames - s.frames_played
                self._close(s, "finished")
                self._report("finished", s.id, s.record.samples)
            elif self._ticks % REPORT_EVERY_TICKS == 0:
                self._buffer_report(s)
        self._ticks += 1
        self.position = start + FRAME_SAMPLES
        if self.volume != 100:
            out = (out.astype(np.int32) * self.volume // 100).astype(np.int16)
        return out

    def _play(self, s: _Stream, start: int) -> np.ndarray:
        packet = s.queue.popleft()
        if packet is None:
            pcm = self._conceal(s)
        else:
            try:
                pcm = s.decoder.decode(packet)
            except CodecError as exc:
                self.counters.decode_errors += 1
                log.warning("stream %d: %s", s.id, exc)
                pcm = self._conceal(s)
        first = s.record.start_sample is None
        if first:
            s.record.start_sample = start
        s.frames_played += 1
        s.record.samples += FRAME_SAMPLES
        s.record.end_sample = start + FRAME_SAMPLES
        self.counters.frames_played += 1
        if first:
            self._report("started", s.id, 0)
        return pcm

    def _conceal(self, s: _Stream) -> np.ndarray:
        self.counters.frames_concealed += 1
        nxt = s.queue[0] if s.queue else None
        return s.decoder.conceal(nxt)  # FEC from the next packet when present, else PLC

    def close(self) -> None:
        """End of the run: a stream still open was cut off."""
        if self._current is not None:
            self._close(self._current, "cut")

    # --- helpers ------------------------------------------------------------------------------

    def _close(self, s: _Stream, how: str) -> None:
        s.record.ended = how
        self._ended.append((s.id, s.record))
        if self._current is s:
            self._current = None

    def _is_ended(self, stream: int) -> bool:
        return self._ended_record(stream) is not None

    def _ended_record(self, stream: int) -> PlaybackRecord | None:
        for sid, record in reversed(self._ended):
            if sid == stream:
                return record
        return None

    def _report(self, event: str, stream: int, sample: int) -> None:
        self.counters.playback_reports += 1
        self._emit(ctl.PlaybackReport(event=event, stream=stream, sample=sample, at=self.clock_us()))

    def _buffer_report(self, s: _Stream) -> None:
        self.counters.buffer_reports += 1
        queued = len(s.queue)
        self._emit(ctl.BufferReport(stream=s.id, queued=queued, free=self.capacity - queued, played=s.record.samples))

    def _emit(self, msg: ctl.ControlMessage) -> None:
        try:
            self.send(msg)
        except Exception:  # a send failure must not stop playback
            log.exception("control report not sent")
