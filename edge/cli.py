"""`sottovoce edge`: run the edge daemon against a device and a host."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from dataclasses import fields
from pathlib import Path

from .daemon import MODES, EdgeConfig, run_edge


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        required=True,
        help="device URL: a bumble transport (tcp-client:127.0.0.1:6402[#ADDRESS|#NAME], usb:0), "
        "ble:ADDRESS|NAME (bleak), serial:/dev/ttyACM0[@baud], audio:[IN[,OUT]] (pyaudio)",
    )
    parser.add_argument("--host", default="127.0.0.1:50051", help="host gRPC address (default %(default)s)")
    parser.add_argument("--auth-token", default=os.environ.get("SOTTOVOCE_AUTH_TOKEN", ""))
    parser.add_argument("--mode", choices=sorted(MODES), default="assistant")
    parser.add_argument("--language", default="en")
    parser.add_argument("--vad", choices=["silero", "webrtc"], default="silero")
    parser.add_argument(
        "--turn", choices=["model", "silence"], default="model",
        help="end-of-turn policy: the learned model (default) or a fixed silence timeout",
    )  # fmt: skip
    parser.add_argument("--confirm-ms", type=int, default=500, help="silence rule: confirmed end after this")
    parser.add_argument("--tentative-ms", type=int, default=200, help="silence rule: tentative end after this")
    parser.add_argument("--barge-in-ms", type=int, default=200, help="speech needed to interrupt an answer")
    parser.add_argument("--scan-timeout", type=float, default=10.0, help="seconds to look for the peripheral")
    parser.add_argument("--events", dest="events_path", type=Path, help="write a JSON-lines event log here")
    parser.add_argument("--log-level", default="INFO")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s edge %(levelname)s %(name)s: %(message)s")
    # Every option is named after its EdgeConfig field.
    config = EdgeConfig(**{f.name: getattr(args, f.name) for f in fields(EdgeConfig) if hasattr(args, f.name)})
    return asyncio.run(run_edge(config))
