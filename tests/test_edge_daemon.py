"""The edge daemon's surface: its command line (built from EdgeConfig), its secrets, and what it
does with malformed bytes from the device."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sottovoce.edge.backoff import Backoff
from sottovoce.edge.config import EdgeConfig
from sottovoce.edge.daemon import Edge
from sottovoce.edge.end_rules import TURN_POLICIES
from sottovoce.edge.vad import VADS
from sottovoce.proto import events
from sottovoce.tools import cli
from sottovoce.tools.options import TOKEN_ENV

SECRET = "s3cret-t0ken-value"


def test_the_command_line_offers_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit):
        cli.main(["edge", "--help"])
    text = re.sub(r"\s+", " ", capsys.readouterr().out)
    for f in dataclasses.fields(EdgeConfig):
        if "option" in f.metadata:
            flag = "--" + f.name.replace("_", "-")
            assert flag in text
            if f.default not in (None, ""):
                assert f"{flag}" in text and f"(default: {f.default})" in text
    assert "{" + ",".join(TURN_POLICIES) + "}" in text and "{" + ",".join(VADS) + "}" in text
    assert "--auth-token-file" in text


def test_the_token_is_never_an_argument(capsys):
    # Not even as an abbreviation of --auth-token-file: the token would end up in ps and an error.
    with pytest.raises(SystemExit) as exit_:
        cli.main(["edge", "--device", "tcp-client:127.0.0.1:9", "--auth-token", SECRET])
    assert exit_.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_the_token_from_the_environment_reaches_no_log(tmp_path, monkeypatch, capsys):
    """The token goes to the host in SessionStart and nowhere else: not in the event log's
    edge_started (which lists the options), not on the terminal. A device that cannot be opened
    is a one-line fatal error on stderr."""
    monkeypatch.setenv(TOKEN_ENV, SECRET)
    log = tmp_path / "events.jsonl"
    code = cli.main(["edge", "--device", "serial:/dev/ttyNOPE0", "--host", "127.0.0.1:9", "--events", str(log)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "sottovoce edge: cannot open serial port /dev/ttyNOPE0" in err and "cannot open" not in out
    started = events.of_type(events.read_events(log), events.EdgeStarted)
    assert len(started) == 1 and started[0].config["device"] == "serial:/dev/ttyNOPE0"
    assert SECRET not in log.read_text() + out + err


def test_the_token_goes_to_the_host_in_the_session_start():
    edge = Edge(EdgeConfig(device="serial:/dev/ttyNOPE0", turn="silence"), auth_token=SECRET)
    assert edge.host.start.auth_token == SECRET
    assert SECRET not in repr(edge.config)


def test_a_token_file_that_cannot_be_read_is_a_fatal_error(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert cli.main(["edge", "--device", "serial:/dev/ttyNOPE0", "--auth-token-file", str(missing)]) == 2
    assert f"sottovoce edge: cannot read the token file {missing}" in capsys.readouterr().err


@pytest.fixture(scope="module")
def edge():
    return Edge(EdgeConfig(device="serial:/dev/ttyNOPE0", host="127.0.0.1:9", turn="silence"))


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=64))
def test_malformed_bytes_from_the_device_are_counted_and_dropped(edge, data):
    before = dataclasses.replace(edge.counters)
    edge.on_control(data)  # never raises, whatever the device sends
    edge.on_button(data)
    after = edge.counters
    assert after.malformed_control - before.malformed_control in (0, 1)
    assert after.malformed_buttons - before.malformed_buttons in (0, 1)


def test_garbage_is_counted_once_per_message(edge):
    before = dataclasses.replace(edge.counters)
    edge.on_control(b"\xff\x00garbage")
    edge.on_button(b"\x01")
    assert edge.counters.malformed_control == before.malformed_control + 1
    assert edge.counters.malformed_buttons == before.malformed_buttons + 1
    assert "turn.barge_ins" in edge.all_counters() and "edge.malformed_control" in edge.all_counters()


def test_reconnect_delays_back_off_to_a_ceiling_and_start_again_after_a_success():
    backoff = Backoff(first=0.5, ceiling=5.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5
