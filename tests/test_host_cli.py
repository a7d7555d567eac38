"""``sottovoce host``: options from HostConfig, the token never on the command line, fatal errors
as one line on stderr."""

from __future__ import annotations

import argparse

import pytest

from sottovoce.host import cli
from sottovoce.host.server import HostConfig
from sottovoce.host.tts import TTS_ENGINES


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sottovoce host")
    cli.add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults_and_choices_come_from_the_config():
    args = parse([])
    defaults = HostConfig()
    assert (args.listen, args.tts, args.asr_threads, args.record_turns) == (
        defaults.listen, defaults.tts, defaults.asr_threads, defaults.record_turns,
    )  # fmt: skip
    for engine in TTS_ENGINES:
        assert parse(["--tts", engine]).tts == engine
    with pytest.raises(SystemExit):
        parse(["--tts", "nope"])


def test_the_token_is_not_a_command_line_option(capsys):
    with pytest.raises(SystemExit):
        parse(["--auth-token", "s3cret"])
    assert "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--auth-token-file", "/nonexistent/token"], "sottovoce host: cannot read the token file /nonexistent/token"),
        (["--asr-threads", "0"], "sottovoce host: --asr-threads must be at least 1"),
        (["--listen", "256.0.0.1:1"], "sottovoce host: cannot listen on 256.0.0.1:1"),
        (
            ["--listen", "127.0.0.1:0", "--map", "/nonexistent/city.osm.pbf"],
            "sottovoce host: map file /nonexistent/city.osm.pbf does not exist",
        ),
    ],
)
def test_fatal_errors_are_one_line_on_stderr(argv, message, capsys):
    assert cli.run(parse([*argv, "--log-level", "ERROR"])) == 2
    out = capsys.readouterr()
    assert out.err.startswith(message) and out.err.count("\n") == 1 and not out.out
