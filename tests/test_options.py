"""Command-line options are built from the config dataclasses: one default, one list of choices."""

import argparse
from dataclasses import dataclass, field

import pytest

from sottovoce.tools.options import add_options, config_from, option, read_token


@dataclass
class Config:
    target: str  # no option: the CLI supplies it another way
    mode: str = option("a", "which mode", choices=("a", "b"))
    window_ms: int = option(200, "how long")
    scale: float = option(0.5, "how much")
    loud: bool = option(False, "say more")
    internal: list[int] = field(default_factory=list)


def parse(argv):
    parser = argparse.ArgumentParser()
    add_options(parser, Config)
    return parser.parse_args(argv)


def test_defaults_come_from_the_dataclass():
    config = config_from(Config, parse([]), target="x")
    assert config == Config(target="x")


def test_options_are_typed_and_named_after_their_fields():
    config = config_from(Config, parse(["--mode", "b", "--window-ms", "300", "--scale", "2", "--loud"]), target="x")
    assert (config.mode, config.window_ms, config.scale, config.loud) == ("b", 300, 2.0, True)


def test_choices_are_enforced(capsys):
    with pytest.raises(SystemExit):
        parse(["--mode", "c"])
    assert "invalid choice" in capsys.readouterr().err


def test_token_from_file_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SOTTOVOCE_AUTH_TOKEN", "from-env")
    assert read_token(None) == "from-env"
    path = tmp_path / "token"
    path.write_text("s3cret\n")
    assert read_token(path) == "s3cret"
    with pytest.raises(ValueError, match="token file"):
        read_token(tmp_path / "missing")
