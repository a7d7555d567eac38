"""CBOR control messages: round trip, strict rejection, fuzzing, and the CDDL staying in step."""

from __future__ import annotations

import dataclasses
import re
from importlib import resources

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sottovoce.proto import control

EXAMPLES = [
    control.Flush(stream=3),
    control.StreamEnd(stream=255, frames=1234),
    control.Duck(stream=4, depth_db=24, ramp_ms=10),
    control.Duck(stream=4, depth_db=60, ramp_ms=20, hold=True),
    control.SetVolume(level=40),
    control.SetWhisper(on=True),
    control.SetMute(on=False),
    control.TimeSyncRequest(t0=2**40),
    control.PlaybackReport(event="flushed", stream=9, sample=16000, at=123456789),
    control.PlaybackReport(event="held", stream=9, sample=6400, at=5),
    control.BufferReport(stream=1, queued=12, free=38, played=6400),
    control.Gesture(kind="nod", at=5),
    control.TimeSyncResponse(t0=1, t1=2),
]


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: m.TYPE)
def test_round_trip(msg):
    data = msg.encode()
    assert len(data) <= control.MAX_MESSAGE_BYTES
    assert control.decode(data) == msg


def test_every_message_type_has_an_example_and_a_cddl_rule():
    assert {m.TYPE for m in EXAMPLES} == set(control.MESSAGE_TYPES)
    cddl = (resources.files("sottovoce.proto") / "control.cddl").read_text()
    for kind, cls in control.MESSAGE_TYPES.items():
        rule = re.search(r'\{\s*"t":\s*"' + re.escape(kind) + r'"(.*?)\}', cddl, re.S)
        assert rule, f"no CDDL rule for {kind}"
        for f in dataclasses.fields(cls):
            assert f'"{f.name}"' in rule.group(1), f"CDDL rule for {kind} lacks {f.name}"


def test_a_duck_without_the_hold_key_is_no_hold():
    # a peer that predates holding sends no "hold": it means a plain level change
    data = cbor2.dumps({"t": "duck", "stream": 2, "depth_db": 24, "ramp_ms": 10})
    assert control.decode(data) == control.Duck(stream=2, depth_db=24, ramp_ms=10, hold=False)


def test_unknown_keys_are_ignored_for_forward_compatibility():
    data = cbor2.dumps({"t": "volume", "level": 10, "ramp_ms": 50})
    assert control.decode(data) == control.SetVolume(level=10)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"\xff\x00", "not CBOR"),
        (cbor2.dumps([1, 2]), "must be a CBOR map"),
        (cbor2.dumps({"level": 3}), "unknown control message type None"),
        (cbor2.dumps({"t": "reboot"}), "unknown control message type 'reboot'"),
        (cbor2.dumps({"t": "flush"}), "missing key 'stream'"),
        (cbor2.dumps({"t": "flush", "stream": 256}), r"flush.stream must be an integer in \[0, 255\]"),
        (cbor2.dumps({"t": "flush", "stream": -1}), "flush.stream"),
        (cbor2.dumps({"t": "flush", "stream": True}), "flush.stream"),
        (cbor2.dumps({"t": "flush", "stream": 1.0}), "flush.stream"),
        (cbor2.dumps({"t": "whisper", "on": 1}), "whisper.on must be a boolean"),
        (cbor2.dumps({"t": "duck", "stream": 1, "depth_db": 61, "ramp_ms": 10}), r"duck.depth_db .*\[0, 60\]"),
        (cbor2.dumps({"t": "duck", "stream": 1, "depth_db": 20, "ramp_ms": 1001}), "duck.ramp_ms"),
        (cbor2.dumps({"t": "duck", "stream": 1, "depth_db": 20}), "missing key 'ramp_ms'"),
        (
            cbor2.dumps({"t": "duck", "stream": 1, "depth_db": 60, "ramp_ms": 20, "hold": 1}),
            "duck.hold must be a boolean",
        ),
        (cbor2.dumps({"t": "duck", "stream": 1, "depth_db": 60, "ramp_ms": 20, "hold": None}), "duck.hold"),
        (cbor2.dumps({"t": "playback", "event": "paused", "stream": 1, "sample": 0, "at": 0}), "playback.event"),
        (cbor2.dumps({"t": "volume", "level": 3, "pad": b"x" * 600}), "exceeds 512"),
    ],
)
def test_malformed_messages_are_rejected_with_a_reason(body, error):
    with pytest.raises(control.ControlError, match=error):
        control.decode(body)


@given(st.binary(max_size=600))
def test_decoder_raises_only_control_error_on_random_bytes(data):
    try:
        control.decode(data)
    except control.ControlError:
        pass


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=10,
)


@given(
    st.sampled_from(sorted(control.MESSAGE_TYPES)),
    st.dictionaries(
        st.sampled_from(
            [
                "stream",
                "frames",
                "level",
                "on",
                "t0",
                "t1",
                "event",
                "sample",
                "at",
                "queued",
                "free",
                "played",
                "kind",
                "depth_db",
                "ramp_ms",
                "hold",
            ]
        ),
        json_like,
        max_size=6,
    ),
)
def test_decoder_on_structured_garbage(kind, fields):
    try:
        msg = control.decode(cbor2.dumps({"t": kind, **fields}))
    except control.ControlError:
        return
    assert msg.encode() and control.decode(msg.encode()) == msg  # anything accepted re-encodes
