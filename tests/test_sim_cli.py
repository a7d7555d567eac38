"""`sottovoce sim` on the command line: options from SimConfig, fatal errors as one line on stderr."""

from __future__ import annotations

import pytest

from sottovoce.firmware_sim.config import SimConfig
from sottovoce.tools.cli import main


def test_options_come_from_the_config_with_its_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["sim", "--help"])
    out = capsys.readouterr().out
    defaults = SimConfig()
    for flag, default in (("--scenario", defaults.scenario), ("--address", defaults.address),
                          ("--name", defaults.name), ("--seed", defaults.seed)):  # fmt: skip
        assert flag in out and str(default) in out
    assert "--transport" in out and "--out" in out and "--log-level" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "Glasses"], "--name must start with the Sottovoce prefix, got 'Glasses'"),
        (["--address", "nope"], "bad --address 'nope'"),
        (["--scenario", "no-such-scenario"], "invalid scenario: no scenario file 'no-such-scenario'"),
        (["--gpsd", "2947"], "bad gpsd address '2947': use HOST:PORT"),
    ],
)
def test_fatal_errors_are_one_line_on_stderr(capsys, args, message):
    assert main(["sim", "--transport", "tcp-client:127.0.0.1:1", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"sottovoce sim: {message}") and captured.err.count("\n") == 1


def test_serving_gpsd_needs_a_walk(capsys, tmp_path):
    scenario = tmp_path / "still.toml"
    scenario.write_text('tts = "espeak"\n[[utterance]]\nsay = "Hi."\nat = 1\n')
    assert main(["sim", "--transport", "tcp-client:127.0.0.1:1", "--scenario", str(scenario),
                 "--gpsd", "127.0.0.1:2947"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.startswith("sottovoce sim: --gpsd needs a scenario with a [walk]") and err.count("\n") == 1
