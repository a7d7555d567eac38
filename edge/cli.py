"""`sottovoce edge`: run the edge daemon against a device and a host."""

from __future__ import annotations

import argparse
import asyncio

from sottovoce.tools.options import (
    add_logging_option,
    add_options,
    add_token_options,
    config_from,
    fail,
    read_token,
    setup_logging,
)

from .config import EdgeConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        required=True,
        metavar="URL",
        help="device URL: a bumble transport (tcp-client:127.0.0.1:6402[#ADDRESS|#NAME], usb:0), "
        "ble:ADDRESS|NAME (bleak), serial:/dev/ttyACM0[@baud], audio:[IN[,OUT]] (pyaudio)",
    )
    add_options(parser, EdgeConfig)
    add_token_options(parser, "to present to the host")
    add_logging_option(parser)


def run(args: argparse.Namespace) -> int:
    setup_logging("edge", args.log_level)
    try:
        token = read_token(args.auth_token_file)
    except ValueError as exc:
        return fail("edge", str(exc))
    try:
        config = config_from(EdgeConfig, args)
    except ValueError as exc:
        return fail("edge", str(exc))
    from .daemon import run_edge  # the models and links load only once the options are known

    return asyncio.run(run_edge(config, token))
