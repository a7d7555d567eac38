"""`sottovoce sim`: the simulated glasses as a BLE peripheral on a bumble virtual controller.

python -m bumble.apps.controllers tcp-server:127.0.0.1:9001 tcp-server:127.0.0.1:9002 &
sottovoce sim --transport tcp-client:127.0.0.1:9001 --scenario demo --out out/
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from sottovoce.firmware_sim.gatt import DEFAULT_ADDRESS, SIM_NAME
from sottovoce.proto.gatt_profile import DEVICE_NAME_PREFIX


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--transport", required=True, help="HCI transport URL, e.g. tcp-client:127.0.0.1:9001")
    parser.add_argument("--scenario", default="demo", help="scenario file (.toml) or packaged name (default: demo)")
    parser.add_argument("--out", type=Path, default=None, help="directory for mic.wav, ear.wav, sim_events.json")
    parser.add_argument("--address", default=DEFAULT_ADDRESS, help=f"static random address (default {DEFAULT_ADDRESS})")
    parser.add_argument("--name", default=SIM_NAME, help=f"advertised name (default {SIM_NAME})")
    parser.add_argument("--seed", type=int, default=0, help="seed for link loss/jitter and noise (default 0)")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])


def _fail(message: str) -> int:
    print(f"sim: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # Imports after argument parsing: bumble and the TTS engines are slow to import.
    from bumble.core import InvalidArgumentError

    from sottovoce.firmware_sim.scenario import ScenarioError, load_scenario
    from sottovoce.firmware_sim.simulator import Simulator, TransportError

    if not args.name.startswith(DEVICE_NAME_PREFIX):
        return _fail(f"--name must start with the Sottovoce prefix, got {args.name!r}")
    try:
        from bumble.hci import Address

        Address(args.address)
    except (InvalidArgumentError, ValueError) as exc:
        return _fail(f"bad --address {args.address!r}: {exc}")
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        return _fail(f"invalid scenario: {exc}")
    sim = Simulator(scenario, out=args.out, address=args.address, seed=args.seed, name=args.name,
                    say=lambda line: print(line, flush=True))  # fmt: skip
    try:
        asyncio.run(sim.run(args.transport))
    except TransportError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    return 0
