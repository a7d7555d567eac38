"""Sottovoce speaker service: response audio down to the wearable, and a two-way control channel.

Omi's speaker path only plays short 8 kHz PCM clips, so Sottovoce adds its own service:

- downlink (write without response): the answer's Opus frames, each write
  ``[seq_lo, seq_hi, stream, sub_index | FINAL]`` + a chunk of one frame; the device's buffer
  reports pace the sender;
- control (write + notify): CBOR messages both ways (``proto/control.py``), each in one or more
  fragments ``[seq_lo, seq_hi, sub_index | FINAL]`` + a chunk of the message, so every message
  crosses at any ATT MTU, the 23-byte default included.

A stream id with its top bit set (``OUTWARD``) plays on the glasses' second, outward speaker
(aloud, for the person in front of the wearer: translation mode's spoken replies) rather than in
the ear; every message about a stream (frames, flush, end, duck, reports) names it by that id, so
the two outputs share the characteristics and each plays one stream at a time.

Both are sequenced chunks (``chunks.py``). The server side is the wearable's: its ear speaker
(playback buffer, flush, stream end, level changes ramped sample by sample, holds that pause a
stream where it is, exact sample reports), which the simulator and the edge's local-audio link
both run, and the dispatch of control messages. The client side is the central's: downlink
writes, and control messages out and in.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from sottovoce.proto import control as ctl
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE, CodecError, OpusDecoder
from sottovoce.proto.intake import Intake

from .att import (
    DEFAULT_ATT_MTU,
    Characteristic,
    FramingError,
    GattClient,
    Permission,
    Property,
    Service,
    ServiceServer,
)
from .chunks import ChunkPacketizer, ChunkReassembler, ChunkStats

log = logging.getLogger(__name__)

SERVICE_UUID = "5D0E0000-3F6B-4D39-A1C6-7E2B9C55A001"
DOWNLINK_UUID = "5D0E0001-3F6B-4D39-A1C6-7E2B9C55A001"
CONTROL_UUID = "5D0E0002-3F6B-4D39-A1C6-7E2B9C55A001"

DOWNLINK_TAG = 1  # bytes of tag: the stream id, between the sequence number and the chunk index
OUTWARD = 0x80  # the stream id bit of the outward speaker; ear streams are 1..127, outward ones 0x81..0xFF


def is_outward(stream: int) -> bool:
    """The stream plays on the outward speaker."""
    return bool(stream & OUTWARD)


SERVICE = Service(
    SERVICE_UUID,
    "Sottovoce speaker",
    (
        Characteristic(
            DOWNLINK_UUID, Property.WRITE_WITHOUT_RESPONSE, Permission.WRITEABLE, "downlink write (Opus chunk)"
        ),
        Characteristic(
            CONTROL_UUID,
            Property.WRITE | Property.NOTIFY,
            Permission.READABLE | Permission.WRITEABLE,
            "control fragment (CBOR)",
        ),
    ),
)


# --- the two characteristics' framing -----------------------------------------------------------


class DownlinkPacketizer:
    """Splits response Opus frames into downlink writes: [seq_lo, seq_hi, stream, sub|FINAL]."""

    def __init__(self, att_mtu: int = DEFAULT_ATT_MTU) -> None:
        self._chunks = ChunkPacketizer(DOWNLINK_TAG, att_mtu)

    @property
    def att_mtu(self) -> int:
        return self._chunks.att_mtu

    @att_mtu.setter
    def att_mtu(self, value: int) -> None:
        self._chunks.att_mtu = value

    def packetize(self, stream: int, frame: bytes) -> list[bytes]:
        return self._chunks.packetize(frame, bytes((stream & 0xFF,)))


class DownlinkReassembler(ChunkReassembler):
    """Device side: rebuilds ``on_frame(stream, frame)`` from downlink writes; a lost write drops its frame."""

    def __init__(self, on_frame: Callable[[int, bytes], None]) -> None:
        super().__init__(lambda tag, frame: on_frame(tag[0], frame), DOWNLINK_TAG)


class ControlPacketizer:
    """One end's outgoing control messages, as fragments that fit the ATT MTU at the time of sending."""

    def __init__(self) -> None:
        self._chunks = ChunkPacketizer(tag_bytes=0)

    def packetize(self, message: bytes, att_mtu: int) -> list[bytes]:
        self._chunks.att_mtu = att_mtu
        return self._chunks.packetize(message)


@dataclass
class ControlCounters:
    """What one end of the control characteristic did with what it received."""

    fragments_malformed: int = 0  # shorter than the fragment header
    fragment_losses: int = 0  # gaps, reorderings, messages without their start (each warned about)


class ControlReassembler:
    """One end's incoming control fragments -> ``on_message(cbor)`` for each whole message.

    Bad fragments and losses are counted and warned about here; nothing partial is delivered."""

    def __init__(self, on_message: Callable[[bytes], None], who: str, counters: ControlCounters | None = None) -> None:
        self.on_message = on_message
        self.who = who
        self.counters = counters if counters is not None else ControlCounters()
        self._intake = Intake(f"{who} fragment", lambda data: self._chunks.feed(data), FramingError, self.counters,
                              "fragments_malformed", log)  # fmt: skip
        self.reset()

    def reset(self) -> None:
        """A new connection: its sequence numbers start over (the counters carry on)."""
        self._chunks = ChunkReassembler(lambda _tag, message: self.on_message(message), 0, self._on_loss)

    @property
    def stats(self) -> ChunkStats:
        """This connection's packets and messages."""
        return self._chunks.stats

    def feed(self, fragment: bytes) -> None:
        self._intake(fragment)

    def _on_loss(self, reason: str) -> None:
        self.counters.fragment_losses += 1
        log.warning("%s: control message lost: %s", self.who, reason)


# --- device side: the speaker -------------------------------------------------------------------


def gain_of(depth_db: float) -> float:
    """The amplitude factor of an attenuation in dB."""
    return 10.0 ** (-depth_db / 20.0)


def ramp_gains(start: float, target: float, ramp_samples: int, done: int, n: int) -> np.ndarray:
    """Gains for ``n`` samples, ``done`` samples into a linear ramp from ``start`` to ``target`` over
    ``ramp_samples`` (the target from then on). Linear in amplitude: a few milliseconds of it do
    not click, and the level falls fastest at the start."""
    if ramp_samples <= 0:
        return np.full(n, target)
    progress = np.minimum(np.arange(done + 1, done + n + 1) / ramp_samples, 1.0)
    return start + (target - start) * progress


def samples_to_reach(start: float, target: float, ramp_samples: int, gain: float) -> int | None:
    """Samples into the ramp ``ramp_gains`` describes until the gain is at or below ``gain``; None
    if it never gets there."""
    if start <= gain:
        return 0
    if target > gain:
        return None
    if ramp_samples <= 0:
        return 1
    return max(1, int(np.ceil(ramp_samples * (start - gain) / (start - target) - 1e-9)))


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
    ducks: list[DuckRecord] = field(default_factory=list)
    holds: list[HoldRecord] = field(default_factory=list)


@dataclass
class DuckRecord:
    """One change of a stream's level at the ear: a linear ramp from ``from_db`` to ``depth_db``
    below full level, starting at timeline sample ``sample``."""

    sample: int
    from_db: float
    depth_db: int
    ramp_samples: int
    queued_frames: int  # frames in the buffer when the command came: a duck in the downlink would have missed them


@dataclass
class HoldRecord:
    """One hold of a stream: a linear ramp from ``from_db`` below full level to silence over
    ``ramp_samples`` from timeline sample ``sample``; the stream stopped consuming its buffer at
    ``held_sample`` and went on from there at ``resumed_sample`` (None: it never did, or never
    stopped: the hold was undone during its ramp)."""

    sample: int
    from_db: float
    ramp_samples: int
    held_sample: int | None = None
    resumed_sample: int | None = None


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
    ducks: int = 0  # level changes (duck or restore) applied
    holds: int = 0  # ... of them holds
    resumes: int = 0  # held streams set going again
    ducks_while_held: int = 0  # ducks to some depth for a held stream: it stays held
    ducks_stale: int = 0  # for a stream not playing any more
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
    gain: float = 1.0  # the level reached so far, as an amplitude factor
    ramp: _Ramp | None = None  # the level change under way (or about to start)
    holding: bool = False  # a hold is asked for and not undone: ramping to silence, or held
    held: bool = False  # ... and the stream has stopped consuming its buffer


@dataclass
class _Ramp:
    """A level change of a stream: from ``start`` to ``target`` over ``ramp_samples``, ``done`` of
    them played (``started`` once the first has)."""

    start: float
    target: float
    depth_db: int
    ramp_samples: int
    queued_frames: int
    hold: bool = False  # the ramp to silence of a hold
    done: int = 0
    started: bool = False


class Speaker:
    """The wearable's ear speaker: downlink writes -> Opus frames -> bounded playback buffer -> samples.

    Driven one 20 ms tick at a time by the device's audio clock (``tick(k)`` renders timeline
    samples ``k*320 .. k*320+319``), so every report carries an exact sample position and what
    the ear heard is known to the sample. Reports go back as control messages through ``send``.
    """

    def __init__(
        self,
        send: Callable[[ctl.ControlMessage], None],
        clock_us: Callable[[], int],
        capacity: int = CAPACITY_FRAMES,
        outward: Speaker | None = None,
    ) -> None:
        """``outward``: the device's outward speaker, which plays the streams ``is_outward`` names
        (None: this speaker plays every stream)."""
        self.send = send
        self.outward = outward
        self.clock_us = clock_us
        self.capacity = capacity
        self.counters = SpeakerCounters()
        self._intake_downlink = Intake("downlink write", lambda data: self._reassembler.feed(data), FramingError,
                                       self.counters, "malformed_writes", log)  # fmt: skip
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
        if self.outward is not None:
            self.outward.new_connection()

    # --- input --------------------------------------------------------------------------------

    def on_downlink(self, data: bytes) -> None:
        """One downlink write (write without response)."""
        self._intake_downlink(data)

    @property
    def link_stats(self) -> dict[str, int]:
        return {k: v + self._link_totals.get(k, 0) for k, v in asdict(self._reassembler.stats).items()}

    def _output(self, stream: int) -> Speaker:
        """The speaker that plays ``stream``."""
        return self.outward if self.outward is not None and is_outward(stream) else self

    def _on_frame(self, stream: int, frame: bytes) -> None:
        # Frames the reassembler had to drop since the last good one are concealed in place.
        lost = self._reassembler.stats.dropped_messages - self._dropped_seen
        self._dropped_seen = self._reassembler.stats.dropped_messages
        self._output(stream)._take(stream, frame, lost)

    def _take(self, stream: int, frame: bytes, lost: int) -> None:
        """One frame of ``stream`` for this speaker, after ``lost`` frames lost on the link."""
        c = self.counters
        c.frames_received += 1
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
        if isinstance(msg, (ctl.Flush, ctl.StreamEnd, ctl.Duck)) and self._output(msg.stream) is not self:
            return self._output(msg.stream).on_control(msg)
        if isinstance(msg, ctl.Flush):
            self._flush(msg.stream)
        elif isinstance(msg, ctl.StreamEnd):
            self._stream_end(msg.stream, msg.frames)
        elif isinstance(msg, ctl.Duck):
            self._duck(msg)
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

    def _duck(self, msg: ctl.Duck) -> None:
        s = self._current
        if s is None or s.id != msg.stream:
            self.counters.ducks_stale += 1
            return
        # From the level reached so far: a duck during a restore (or the reverse) has no jump.
        ramp = msg.ramp_ms * SAMPLE_RATE // 1000
        if s.holding and msg.depth_db and not msg.hold:  # silent already, and the wearer may still be speaking
            self.counters.ducks_while_held += 1
            return
        self.counters.ducks += 1
        if msg.hold:
            self._hold(s, ramp)
            return
        if s.held:  # set going again from exactly where it stopped
            self.counters.resumes += 1
            s.record.holds[-1].resumed_sample = self.position
        s.holding = s.held = False
        s.ramp = _Ramp(s.gain, gain_of(msg.depth_db), msg.depth_db, ramp, len(s.queue))
        self._report("ducked" if msg.depth_db else "restored", s.id, s.record.samples)

    def _hold(self, s: _Stream, ramp: int) -> None:
        """Ramp ``s`` to silence, then stop consuming its buffer at the end of the frame the ramp
        ends in: what follows that frame plays when it resumes, nothing skipped or repeated."""
        self.counters.holds += 1
        if s.holding:
            return
        s.holding = True
        if not s.playing or ramp <= 0:  # nothing sounding to ramp down (or no ramp asked): stop here
            s.ramp = None
            s.gain = 0.0
            s.record.holds.append(HoldRecord(self.position, self._db(s.gain), 0))
            self._stop_for_hold(s)
            return
        s.ramp = _Ramp(s.gain, 0.0, ctl.DUCK_DB[1], ramp, len(s.queue), hold=True)

    def _stop_for_hold(self, s: _Stream) -> None:
        s.held = True
        s.record.holds[-1].held_sample = self.position
        self._report("held", s.id, s.record.samples)

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
            primed = len(s.queue) >= START_THRESHOLD or (s.end_frames is not None and s.queue)
            if not s.playing and not s.held and primed:
                s.playing = True
            if s.held:
                pass  # waits where it is: not starved, so no underrun
            elif s.playing and s.queue:
                out = self._play(s, start)
                if s.holding and s.ramp is None:  # the ramp to silence is over with this frame
                    self.position = start + FRAME_SAMPLES
                    self._stop_for_hold(s)
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
        pcm = self._level(s, start, pcm)
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

    def _level(self, s: _Stream, start: int, pcm: np.ndarray) -> np.ndarray:
        """``pcm`` at the stream's level, moving along a ramp under way."""
        r = s.ramp
        if r is None:
            return pcm if s.gain == 1.0 else np.round(pcm * s.gain).astype(np.int16)
        if not r.started:  # the ramp starts with the first sample played after the command
            r.started = True
            if r.hold:
                s.record.holds.append(HoldRecord(start, self._db(r.start), r.ramp_samples))
            else:
                s.record.ducks.append(DuckRecord(start, self._db(r.start), r.depth_db, r.ramp_samples, r.queued_frames))
        gains = ramp_gains(r.start, r.target, r.ramp_samples, r.done, len(pcm))
        r.done += len(pcm)
        s.gain = float(gains[-1])
        if r.done >= r.ramp_samples:
            s.ramp = None
            s.gain = r.target
        return np.clip(np.round(pcm * gains), -32768, 32767).astype(np.int16)

    @staticmethod
    def _db(gain: float) -> float:
        """An amplitude factor as dB below full level."""
        return 0.0 if gain >= 1.0 else round(-20 * float(np.log10(max(gain, 1e-6))), 2)

    def _conceal(self, s: _Stream) -> np.ndarray:
        self.counters.frames_concealed += 1
        nxt = s.queue[0] if s.queue else None
        return s.decoder.conceal(nxt)  # FEC from the next packet when present, else PLC

    def close(self) -> None:
        """End of the run: a stream still open was cut off."""
        if self._current is not None:
            self._close(self._current, "cut")
        if self.outward is not None:
            self.outward.close()

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


def mix(*tracks: np.ndarray) -> np.ndarray:
    """Speakers' frames played into one output: summed, clipped to int16."""
    total = np.sum([t.astype(np.int32) for t in tracks], axis=0)
    return np.clip(total, -32768, 32767).astype(np.int16)


# --- device side: the service -------------------------------------------------------------------


@dataclass
class DeviceControlCounters(ControlCounters):
    control_received: int = 0  # whole control messages
    control_malformed: int = 0
    control_unexpected: int = 0  # device->edge message types written to the device
    time_syncs: int = 0
    mute_changes: int = 0


class SpeakerServer(ServiceServer):
    """The wearable's side of the service: downlink writes feed its speaker; control messages are
    dispatched (speaker commands, microphone mute, time sync) and its reports go back through
    ``send(cbor)``, one whole message at a time (a GATT device fragments them with ``ControlPacketizer``).
    """

    service = SERVICE

    def __init__(self, send: Callable[[bytes], object], clock_us: Callable[[], int]) -> None:
        self.send = send
        self.clock_us = clock_us
        self.outward = Speaker(self._send_message, clock_us)  # aloud, for the person in front of the wearer
        self.speaker = Speaker(self._send_message, clock_us, outward=self.outward)
        self.counters = DeviceControlCounters()
        self._intake_control = Intake("control write", ctl.decode, ctl.ControlError, self.counters,
                                      "control_malformed", log)  # fmt: skip
        self.muted = False
        self.control_in = ControlReassembler(self.on_control, "device", self.counters)

    def new_connection(self) -> None:
        """Sequence numbers are scoped to a connection: a reconnected central starts over."""
        self.speaker.new_connection()
        self.control_in.reset()

    def write(self, uuid: str, data: bytes) -> None:
        if uuid == DOWNLINK_UUID:
            self.speaker.on_downlink(data)
        elif uuid == CONTROL_UUID:
            self.control_in.feed(data)
        else:
            super().write(uuid, data)

    def on_control(self, data: bytes) -> None:
        """One whole control message from the central."""
        self.counters.control_received += 1
        msg = self._intake_control(data)
        if msg is None or self.speaker.on_control(msg):
            return
        if isinstance(msg, ctl.SetMute):
            self.muted = msg.on
            self.counters.mute_changes += 1
        elif isinstance(msg, ctl.TimeSyncRequest):
            self.counters.time_syncs += 1
            self._send_message(ctl.TimeSyncResponse(t0=msg.t0, t1=self.clock_us()))
        else:
            self.counters.control_unexpected += 1
            log.warning("control message %r is not for the device; dropped", msg.TYPE)

    def _send_message(self, msg: ctl.ControlMessage) -> None:
        self.send(msg.encode())


# --- central side -------------------------------------------------------------------------------


class SpeakerClient:
    """The central's side: downlink writes, and control messages fragmented and reassembled."""

    def __init__(self, gatt: GattClient) -> None:
        self.gatt = gatt
        self.control_out = ControlPacketizer()
        self.control_in: ControlReassembler | None = None
        # Fragments of two messages must not interleave: a flush can be sent while a stream end is.
        self._control_lock = asyncio.Lock()

    def present(self) -> bool:
        return self.gatt.has(DOWNLINK_UUID) and self.gatt.has(CONTROL_UUID)

    async def subscribe(self, on_message: Callable[[bytes], None]) -> None:
        """Deliver each whole control message the device sends."""
        self.control_in = ControlReassembler(on_message, "central")
        await self.gatt.subscribe(CONTROL_UUID, self.control_in.feed)

    async def write_downlink(self, packet: bytes) -> None:
        await self.gatt.write(DOWNLINK_UUID, packet, with_response=False)

    async def write_control(self, message: bytes) -> None:
        # With response: control messages are rare and must not be lost (a flush, a stream end).
        async with self._control_lock:
            for fragment in self.control_out.packetize(message, self.gatt.att_mtu):
                await self.gatt.write(CONTROL_UUID, fragment, with_response=True)
