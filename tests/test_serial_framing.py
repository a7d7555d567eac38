"""Serial framing for wired dev kits: COBS + CRC round trips and resynchronisation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sottovoce.proto import serial_framing as sf
from sottovoce.proto.gatt.att import FramingError

kinds = st.sampled_from(list(sf.MessageType))


@given(st.binary(max_size=1200))
def test_cobs_round_trip(data):
    encoded = sf.cobs_encode(data)
    assert 0 not in encoded
    assert sf.cobs_decode(encoded) == data


@given(st.lists(st.tuples(kinds, st.binary(max_size=300)), max_size=20), st.integers(min_value=1, max_value=64))
def test_messages_round_trip_in_any_chunking(messages, chunk):
    stream = b"".join(sf.encode_message(k, p) for k, p in messages)
    decoder = sf.SerialDecoder()
    out = []
    for i in range(0, len(stream), chunk):
        out += decoder.feed(stream[i : i + chunk])
    assert out == messages


def test_resynchronises_after_noise_and_counts_the_bad_frame():
    decoder = sf.SerialDecoder()
    good = sf.encode_message(sf.MessageType.BATTERY, b"\x50")
    corrupted = bytearray(sf.encode_message(sf.MessageType.AUDIO, b"hello"))
    corrupted[3] ^= 0x10
    out = decoder.feed(b"\x13\x37garbage" + good[:-1][:2])  # mid-stream start
    out += decoder.feed(b"\x00" + bytes(corrupted) + good)
    assert out == [(sf.MessageType.BATTERY, b"\x50")]
    assert decoder.stats.bad_crc + decoder.stats.bad_framing >= 2


def test_overlong_run_is_dropped_until_the_next_delimiter():
    decoder = sf.SerialDecoder()
    assert decoder.feed(b"\x01" * 3000) == []
    assert decoder.stats.overlong == 1
    good = sf.encode_message(sf.MessageType.BUTTON, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    assert decoder.feed(b"\x00" + good) == [(sf.MessageType.BUTTON, b"\x01\x00\x00\x00\x00\x00\x00\x00")]


@given(st.binary(max_size=400))
def test_decoder_never_raises_on_noise(data):
    sf.SerialDecoder().feed(data)


def test_hello_and_limits():
    assert sf.Hello.decode(sf.Hello(21, 244).encode()) == sf.Hello(21, 244)
    with pytest.raises(FramingError):
        sf.Hello.decode(b"\x15")
    with pytest.raises(FramingError, match="exceeds"):
        sf.encode_message(sf.MessageType.DOWNLINK, bytes(2000))
