"""Sequenced chunks on the speaker service: control messages fragmented at any MTU, and what a
receiver does with loss, reordering, duplicates and garbage (a clear error and a counter, never a
wrong message)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sottovoce.proto import control as ctl
from sottovoce.proto.gatt import speaker
from sottovoce.proto.gatt.att import ATT_HEADER, DEFAULT_ATT_MTU, FramingError
from sottovoce.proto.gatt.chunks import ChunkPacketizer, ChunkReassembler

MTUS = range(DEFAULT_ATT_MTU, 248)
EVERY_MESSAGE = [
    ctl.Flush(stream=3),
    ctl.StreamEnd(stream=255, frames=0xFFFF_FFFF),
    ctl.Duck(stream=255, depth_db=60, ramp_ms=1000),
    ctl.SetVolume(level=100),
    ctl.SetWhisper(on=True),
    ctl.SetMute(on=False),
    ctl.TimeSyncRequest(t0=2**64 - 1),
    ctl.PlaybackReport(event="underrun", stream=255, sample=0xFFFF_FFFF, at=2**64 - 1),
    ctl.BufferReport(stream=255, queued=0xFFFF_FFFF, free=0xFFFF_FFFF, played=0xFFFF_FFFF),
    ctl.Gesture(kind="double_tap", at=2**64 - 1),
    ctl.TimeSyncResponse(t0=2**64 - 1, t1=2**64 - 1),
]


class Receiver:
    """A control reassembler and everything it delivered or said."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.control = speaker.ControlReassembler(self.messages.append, "test")


def test_every_message_type_crosses_at_every_mtu_in_fragments_that_fit():
    assert {type(m) for m in EVERY_MESSAGE} == set(ctl.MESSAGE_TYPES.values())
    for mtu in MTUS:
        sender, receiver = speaker.ControlPacketizer(), Receiver()
        for msg in EVERY_MESSAGE:
            for fragment in sender.packetize(msg.encode(), mtu):
                assert len(fragment) <= mtu - ATT_HEADER
                receiver.control.feed(fragment)
        assert [ctl.decode(m) for m in receiver.messages] == EVERY_MESSAGE, mtu
        assert receiver.control.counters == speaker.ControlCounters()


def test_the_largest_message_fits_the_fragment_index():
    largest = ctl.MAX_MESSAGE_BYTES
    assert len(speaker.ControlPacketizer().packetize(bytes(largest), DEFAULT_ATT_MTU)) <= 128
    with pytest.raises(FramingError, match="chunks"):
        speaker.ControlPacketizer().packetize(bytes(17 * 128 + 1), DEFAULT_ATT_MTU)


@given(
    st.lists(st.binary(max_size=ctl.MAX_MESSAGE_BYTES), max_size=12),
    st.sampled_from(MTUS),
    st.integers(min_value=0, max_value=0xFFFF),
)
def test_round_trip_any_messages_any_mtu_across_the_wrap(messages, mtu, first_seq):
    sender = ChunkPacketizer(tag_bytes=0, att_mtu=mtu, first_seq=first_seq)
    out: list[bytes] = []
    receiver = ChunkReassembler(lambda _tag, m: out.append(m), tag_bytes=0)
    for m in messages:
        for packet in sender.packetize(m):
            receiver.feed(packet)
    assert out == messages
    assert receiver.stats.lost_packets == receiver.stats.stale_packets == receiver.stats.dropped_messages == 0


@given(st.lists(st.binary(max_size=40), max_size=60))
def test_random_bytes_never_crash_and_are_counted(fragments):
    receiver = Receiver()
    for f in fragments:
        receiver.control.feed(f)  # never raises: counted and warned about instead
    short = sum(1 for f in fragments if len(f) < 3)
    assert receiver.control.counters.fragments_malformed == short


@given(st.lists(st.binary(max_size=40), max_size=60), st.integers(min_value=0, max_value=2))
def test_chunk_reassembler_raises_only_framing_errors(packets, tag_bytes):
    receiver = ChunkReassembler(lambda _tag, _m: None, tag_bytes=tag_bytes)
    for p in packets:
        try:
            receiver.feed(p)
        except FramingError:
            pass


def _impair(packets: list[bytes], draw: Callable) -> list[bytes]:
    """Lose, repeat and swap packets, as a faulty link might."""
    out = []
    for p in packets:
        fate = draw(st.sampled_from(["keep"] * 6 + ["lose", "repeat"]))
        if fate != "lose":
            out.append(p)
        if fate == "repeat":
            out.append(p)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        if len(out) > 1:
            i = draw(st.integers(min_value=0, max_value=len(out) - 2))
            out[i], out[i + 1] = out[i + 1], out[i]
    return out


@given(
    st.lists(st.binary(min_size=1, max_size=120), min_size=1, max_size=10),
    st.sampled_from([23, 27, 40, 64]),
    st.integers(min_value=0xFFF0, max_value=0xFFFF),
    st.data(),
)
def test_loss_and_reordering_give_a_reason_and_a_counter_never_a_wrong_message(messages, mtu, first_seq, data):
    sender = ChunkPacketizer(tag_bytes=0, att_mtu=mtu, first_seq=first_seq)
    # A message before and one after the faults arrive intact: a receiver sees a loss by the
    # packets around it, so one at the very start or end would show only then.
    arrived = sender.packetize(b"first")
    sent = [sender.packetize(m) for m in messages]
    arrived += _impair([p for packets in sent for p in packets], data.draw)
    arrived += sender.packetize(b"last")
    out: list[bytes] = []
    reasons: list[str] = []
    receiver = ChunkReassembler(lambda _tag, m: out.append(m), 0, reasons.append)
    for p in arrived:
        receiver.feed(p)
    assert out[0] == b"first" and out[-1] == b"last"
    out = out[1:-1]
    # Whatever arrives is a message that was sent, whole, in the order sent.
    it = iter(messages)
    assert all(any(m == s for s in it) for m in out), (out, messages)
    stats = receiver.stats
    if out != messages:
        assert stats.lost_packets + stats.stale_packets > 0 and reasons
    if stats.lost_packets + stats.stale_packets + stats.dropped_messages:
        assert reasons and all("packet" in r for r in reasons)


def test_a_chunk_lost_mid_frame_drops_that_frame_once():
    sender = speaker.DownlinkPacketizer(att_mtu=DEFAULT_ATT_MTU)  # 16 bytes of frame per write
    out: list[tuple[int, bytes]] = []
    receiver = speaker.DownlinkReassembler(lambda s, f: out.append((s, f)))
    a, b, c = (sender.packetize(4, bytes([i]) * 40) for i in range(3))  # three writes each
    for packet in [*a, b[0], b[2], *c]:
        receiver.feed(packet)
    assert out == [(4, bytes([0]) * 40), (4, bytes([2]) * 40)]
    assert (receiver.stats.lost_packets, receiver.stats.dropped_messages) == (1, 1)


def test_losing_a_frame_end_and_the_next_start_drops_both():
    sender = speaker.DownlinkPacketizer(att_mtu=DEFAULT_ATT_MTU)
    out: list[tuple[int, bytes]] = []
    receiver = speaker.DownlinkReassembler(lambda s, f: out.append((s, f)))
    a, b, c = (sender.packetize(4, bytes([i]) * 40) for i in range(3))
    for packet in a[:2] + b[1:] + c:  # a's last write and b's first are lost
        receiver.feed(packet)
    assert out == [(4, bytes([2]) * 40)]
    assert (receiver.stats.lost_packets, receiver.stats.dropped_messages) == (2, 2)


def test_a_continuation_of_another_stream_is_not_joined():
    sender = speaker.DownlinkPacketizer(att_mtu=DEFAULT_ATT_MTU)
    out: list[tuple[int, bytes]] = []
    receiver = speaker.DownlinkReassembler(lambda s, f: out.append((s, f)))
    first = sender.packetize(1, bytes(40))
    forged = bytearray(first[1])
    forged[2] = 2  # the same write, claiming another stream
    for packet in (first[0], bytes(forged), first[2]):
        receiver.feed(packet)
    assert out == [] and receiver.stats.dropped_messages >= 1


class Loopback:
    """A central's GATT client wired straight to a device's speaker service (no radio)."""

    def __init__(self, att_mtu: int) -> None:
        self.att_mtu = att_mtu
        self.notify: Callable[[bytes], None] | None = None
        self.device = speaker.SpeakerServer(self._send, clock_us=lambda: 42)
        self._out = speaker.ControlPacketizer()

    def _send(self, message: bytes) -> None:
        assert self.notify is not None, "the central has not subscribed"
        for fragment in self._out.packetize(message, self.att_mtu):
            self.notify(fragment)

    def has(self, uuid: str) -> bool:
        return any(c.uuid == uuid for c in speaker.SERVICE.characteristics)

    async def read(self, uuid: str) -> bytes:
        return self.device.read(uuid)

    async def subscribe(self, uuid: str, on_value: Callable[[bytes], None]) -> None:
        assert uuid == speaker.CONTROL_UUID
        self.notify = on_value

    async def write(self, uuid: str, data: bytes, *, with_response: bool) -> None:
        await asyncio.sleep(0)  # a write takes a round trip: other tasks run meanwhile
        self.device.write(uuid, data)


async def test_client_and_device_exchange_whole_messages_even_when_sent_concurrently():
    gatt = Loopback(DEFAULT_ATT_MTU)
    client = speaker.SpeakerClient(gatt)
    received: list[bytes] = []
    assert client.present()
    await client.subscribe(received.append)
    requests = [ctl.TimeSyncRequest(t0=2**50 + i) for i in range(3)]
    await asyncio.gather(*(client.write_control(r.encode()) for r in requests))
    assert gatt.device.counters.control_received == 3 and gatt.device.counters.fragment_losses == 0
    replies = [ctl.decode(m) for m in received]
    assert replies == [ctl.TimeSyncResponse(t0=r.t0, t1=42) for r in requests]
