"""``sottovoce host``: run the inference node until interrupted.

The token the edge must present comes from ``--auth-token-file`` or $SOTTOVOCE_AUTH_TOKEN (none:
an open host), never from the command line, where ``ps`` would show it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from sottovoce.host.asr import AsrError
from sottovoce.host.llm import LlmConfig, LlmError
from sottovoce.host.navigation.osm_map import MapError
from sottovoce.host.server import BindError, HostConfig, start_server
from sottovoce.host.stream import StreamConfig
from sottovoce.host.tts import TtsError
from sottovoce.host.turn_replay import RECORD_ENV
from sottovoce.tools.options import (
    add_logging_option,
    add_options,
    add_token_options,
    config_from,
    fail,
    read_token,
    setup_logging,
)

PROGRAM = "host"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_options(parser, HostConfig)
    add_options(parser, LlmConfig)
    add_token_options(parser, "the edge must present in SessionStart")
    add_logging_option(parser)


def _display_address(listen: str, port: int) -> str:
    host = listen.rsplit(":", 1)[0] if ":" in listen else listen
    return f"{host}:{port}"


async def _serve(config: HostConfig) -> int:
    try:
        host = await start_server(config)
    except BindError as exc:
        return fail(PROGRAM, str(exc))
    except OSError as exc:  # the recording file
        return fail(PROGRAM, f"cannot write {config.record_turns}: {exc.strerror}")
    try:
        await host.ready()
    except (AsrError, TtsError, LlmError, MapError) as exc:
        return fail(PROGRAM, str(exc))
    print(f"host listening on {_display_address(config.listen, host.port)}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await host.stop(1.0)
    return 0


def run(args: argparse.Namespace) -> int:
    setup_logging(PROGRAM, args.log_level)
    for name in ("asr_threads", "llm_threads"):
        if getattr(args, name) < 1:
            return fail(PROGRAM, f"--{name.replace('_', '-')} must be at least 1")
    try:
        token = read_token(args.auth_token_file)
    except ValueError as exc:
        return fail(PROGRAM, str(exc))
    record = args.record_turns or (Path(os.environ[RECORD_ENV]) if os.environ.get(RECORD_ENV) else None)
    config = config_from(
        HostConfig, args, stream=StreamConfig(auth_token=token or None), record_turns=record,
        language_model=config_from(LlmConfig, args),
    )  # fmt: skip
    return asyncio.run(_serve(config))


def main() -> int:
    parser = argparse.ArgumentParser(prog="sottovoce host", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
