"""GATT framing: Omi uplink header packing/reassembly, Sottovoce downlink, buttons."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sottovoce.proto.gatt import audio, buttons, speaker
from sottovoce.proto.gatt.att import FramingError


def collect_uplink(att_mtu: int):
    frames: list[tuple[bytes, int]] = []
    return frames, audio.UplinkReassembler(lambda f, lost: frames.append((f, lost)), att_mtu)


def test_header_is_id_lo_id_hi_sub_index():
    packets = audio.UplinkPacketizer(att_mtu=247, first_id=0x1234).packetize(b"abc")
    assert packets == [bytes([0x34, 0x12, 0]) + b"abc"]


def test_frame_longer_than_mtu_minus_6_is_split_with_sub_indices():
    p = audio.UplinkPacketizer(att_mtu=23)  # MTU-6 = 17 payload bytes per notification
    frame = bytes(range(40))
    packets = p.packetize(frame)
    assert [pkt[2] for pkt in packets] == [0, 1, 2]
    assert [pkt[0] for pkt in packets] == [0, 1, 2]
    assert all(len(pkt) <= 23 - 3 for pkt in packets)
    assert b"".join(pkt[3:] for pkt in packets) == frame


def test_id_wraps_at_uint16():
    p = audio.UplinkPacketizer(att_mtu=247, first_id=0xFFFF)
    first, second = p.packetize(b"x")[0], p.packetize(b"y")[0]
    assert (first[0], first[1]) == (0xFF, 0xFF)
    assert (second[0], second[1]) == (0, 0)
    frames, r = collect_uplink(247)
    r.feed(first)
    r.feed(second)
    assert frames == [(b"x", 0), (b"y", 0)]
    assert r.stats.lost_notifications == 0


def test_split_frames_reassemble_across_the_wrap():
    p = audio.UplinkPacketizer(att_mtu=23, first_id=0xFFFE)
    frames, r = collect_uplink(23)
    sent = [bytes([i]) * 30 for i in range(5)]
    for f in sent:
        for pkt in p.packetize(f):
            r.feed(pkt)
    assert [f for f, _ in frames] == sent


def test_a_lost_notification_drops_its_frame_and_reports_the_loss():
    p = audio.UplinkPacketizer(att_mtu=23)
    frames, r = collect_uplink(23)
    packets = [p.packetize(bytes([i]) * 20) for i in range(3)]  # 2 chunks each
    r.feed(packets[0][0])
    r.feed(packets[0][1])
    r.feed(packets[1][0])  # second chunk of frame 1 lost
    r.feed(packets[2][0])
    r.feed(packets[2][1])
    assert [f for f, _ in frames] == [bytes([0]) * 20, bytes([2]) * 20]
    assert frames[1][1] == 1  # one frame concealed before frame 2
    assert r.stats.lost_notifications == 1
    assert r.stats.dropped_frames == 1


def test_a_whole_lost_frame_is_counted_for_concealment():
    p = audio.UplinkPacketizer(att_mtu=247)
    frames, r = collect_uplink(247)
    packets = [p.packetize(bytes([i]) * 60)[0] for i in range(5)]
    for i in (0, 1, 4):
        r.feed(packets[i])
    assert [lost for _, lost in frames] == [0, 0, 2]


def test_frame_of_exact_chunk_size_completes_on_next_head_or_flush():
    p = audio.UplinkPacketizer(att_mtu=23)
    frames, r = collect_uplink(23)
    for pkt in p.packetize(bytes(17)):
        r.feed(pkt)
    assert frames == []  # might still continue
    r.flush()
    assert frames == [(bytes(17), 0)]


def test_continuation_without_head_is_dropped():
    frames, r = collect_uplink(23)
    r.feed(bytes([5, 0, 1]) + b"tail")
    assert frames == []
    assert r.stats.dropped_frames == 1


def test_short_notification_is_rejected_with_a_clear_error():
    _, r = collect_uplink(23)
    with pytest.raises(FramingError, match="shorter than its header"):
        r.feed(b"\x01\x02")
    assert r.stats.malformed == 1


@given(st.lists(st.binary(max_size=300), max_size=30), st.integers(min_value=23, max_value=251))
def test_uplink_round_trip_any_frames_any_mtu(frames_in, mtu):
    frames_in = [f for f in frames_in if f]  # Omi never sends empty frames
    p = audio.UplinkPacketizer(att_mtu=mtu, first_id=0xFFF0)
    frames, r = collect_uplink(mtu)
    for f in frames_in:
        for pkt in p.packetize(f):
            r.feed(pkt)
    r.flush()
    assert [f for f, _ in frames] == frames_in


@given(st.lists(st.binary(max_size=40), max_size=50))
def test_uplink_reassembler_never_crashes_on_garbage(notifications):
    _, r = collect_uplink(23)
    for n in notifications:
        try:
            r.feed(n)
        except FramingError:
            pass


@given(st.lists(st.binary(min_size=1, max_size=200), max_size=20), st.integers(min_value=23, max_value=251))
def test_downlink_round_trip(frames_in, mtu):
    p = speaker.DownlinkPacketizer(att_mtu=mtu)
    out: list[tuple[int, bytes]] = []
    r = speaker.DownlinkReassembler(lambda s, f: out.append((s, f)))
    for i, f in enumerate(frames_in):
        for pkt in p.packetize(7 + (i // 5), f):
            assert len(pkt) <= mtu - 3
            r.feed(pkt)
    assert out == [(7 + (i // 5), f) for i, f in enumerate(frames_in)]


def test_downlink_lost_write_drops_only_its_frame():
    p = speaker.DownlinkPacketizer(att_mtu=23)  # MTU-3-4 = 16 payload bytes per write
    out: list[tuple[int, bytes]] = []
    r = speaker.DownlinkReassembler(lambda s, f: out.append((s, f)))
    a, b, c = (p.packetize(1, bytes([i]) * 20) for i in range(3))
    for pkt in a + b[1:] + c:
        r.feed(pkt)
    assert [f for _, f in out] == [bytes([0]) * 20, bytes([2]) * 20]
    assert r.stats.lost_packets == 1


@given(st.lists(st.binary(max_size=40), max_size=50))
def test_downlink_reassembler_never_crashes_on_garbage(writes):
    r = speaker.DownlinkReassembler(lambda s, f: None)
    for w in writes:
        try:
            r.feed(w)
        except FramingError:
            pass


def test_button_codes_round_trip_and_reject_unknown():
    for event in buttons.ButtonEvent:
        data = buttons.encode_button(event)
        assert len(data) == 8
        assert buttons.decode_button(data) is event
    with pytest.raises(FramingError, match="unknown button event code 9"):
        buttons.decode_button(b"\x09\x00\x00\x00\x00\x00\x00\x00")
    with pytest.raises(FramingError):
        buttons.decode_button(b"\x01")


def test_tiny_mtu_is_refused():
    with pytest.raises(FramingError, match="no room"):
        audio.UplinkPacketizer(att_mtu=6).packetize(b"x")
