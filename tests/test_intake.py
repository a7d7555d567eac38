"""Outside bytes are decoded, or counted, logged and dropped: never raised, never lost unseen."""

import logging
from dataclasses import dataclass

import pytest

from sottovoce.proto import control
from sottovoce.proto.intake import Intake

log = logging.getLogger("test.intake")


@dataclass
class Counters:
    malformed: int = 0


def test_good_bytes_decode_and_bad_ones_are_counted_and_said(caplog):
    counters = Counters()
    intake = Intake("control message", control.decode, control.ControlError, counters, "malformed", log)
    message = control.SetVolume(level=40)
    assert intake(message.encode()) == message
    with caplog.at_level(logging.WARNING):
        assert intake(b"\xff\x00") is None
    assert counters.malformed == 1
    assert "dropped control message" in caplog.text


def test_errors_it_was_not_told_about_still_raise():
    def broken(_data: bytes) -> None:
        raise KeyError("a bug, not bad input")

    intake = Intake("thing", broken, control.ControlError, Counters(), "malformed", log)
    with pytest.raises(KeyError):
        intake(b"")


def test_a_counter_that_does_not_exist_is_refused_at_once():
    with pytest.raises(AttributeError, match="no counter 'typo'"):
        Intake("thing", bytes, ValueError, Counters(), "typo", log)
