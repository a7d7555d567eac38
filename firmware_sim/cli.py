"""`sottovoce sim`: the simulated glasses as a BLE peripheral on a bumble virtual controller.

python -m bumble.apps.controllers tcp-server:127.0.0.1:9001 tcp-server:127.0.0.1:9002 &
sottovoce sim --transport tcp-client:127.0.0.1:9001 --scenario demo --out out/

Standard output carries the progress lines other programs wait for ("sim advertising as ...");
logs and fatal errors go to standard error.
"""

from __future__ import annotations

import argparse
import asyncio

from sottovoce.firmware_sim.config import SimConfig
from sottovoce.proto.gatt import DEVICE_NAME_PREFIX
from sottovoce.tools.options import add_logging_option, add_options, config_from, fail, setup_logging

PROGRAM = "sim"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--transport", required=True, help="HCI transport URL, e.g. tcp-client:127.0.0.1:9001")
    add_options(parser, SimConfig)
    add_logging_option(parser, default="WARNING")


def run(args: argparse.Namespace) -> int:
    setup_logging(PROGRAM, args.log_level)
    config = config_from(SimConfig, args)
    # Imports after argument parsing: bumble and the TTS engines are slow to import.
    from bumble.core import InvalidArgumentError
    from bumble.hci import Address

    from sottovoce.firmware_sim.scenario import ScenarioError, load_scenario
    from sottovoce.firmware_sim.simulator import Simulator, TransportError

    if not config.name.startswith(DEVICE_NAME_PREFIX):
        return fail(PROGRAM, f"--name must start with the {DEVICE_NAME_PREFIX} prefix, got {config.name!r}")
    try:
        Address(config.address)
    except (InvalidArgumentError, ValueError) as exc:
        return fail(PROGRAM, f"bad --address {config.address!r}: {exc}")
    if config.gpsd is not None:
        from sottovoce.firmware_sim.gpsd import parse_address

        try:
            parse_address(config.gpsd)
        except ValueError as exc:
            return fail(PROGRAM, str(exc))
    try:
        scenario = load_scenario(config.scenario)
    except ScenarioError as exc:
        return fail(PROGRAM, f"invalid scenario: {exc}")
    if config.gpsd is not None and scenario.walk is None:
        return fail(PROGRAM, f"--gpsd needs a scenario with a [walk]; {config.scenario} has none")
    sim = Simulator(scenario, config, say=lambda line: print(line, flush=True))
    try:
        asyncio.run(sim.run(args.transport))
    except TransportError as exc:
        return fail(PROGRAM, str(exc))
    except KeyboardInterrupt:
        return 130
    return 0
