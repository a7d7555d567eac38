"""``sottovoce host``: run the inference node until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from sottovoce.host.session import SessionConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", default="127.0.0.1:50051", metavar="HOST:PORT", help="gRPC address")
    parser.add_argument(
        "--auth-token",
        default=os.environ.get("SOTTOVOCE_AUTH_TOKEN"),
        help="token the edge must present in SessionStart (default: $SOTTOVOCE_AUTH_TOKEN; none = open)",
    )
    parser.add_argument("--tts", choices=("piper", "espeak"), default="piper", help="voice engine")
    parser.add_argument("--asr-threads", type=int, default=2, metavar="N", help="CPU threads for Whisper")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))


def _display_address(listen: str, port: int) -> str:
    host = listen.rsplit(":", 1)[0] if ":" in listen else listen
    return f"{host}:{port}"


async def _serve(args: argparse.Namespace) -> int:
    from sottovoce.host.server import BindError, start_server

    try:
        host = await start_server(
            args.listen, SessionConfig(auth_token=args.auth_token or None), tts=args.tts, asr_threads=args.asr_threads
        )
    except BindError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"host listening on {_display_address(args.listen, host.port)}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await host.stop(1.0)
    return 0


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.asr_threads < 1:
        print("error: --asr-threads must be at least 1", file=sys.stderr)
        return 2
    return asyncio.run(_serve(args))


def main() -> int:
    parser = argparse.ArgumentParser(prog="sottovoce host", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
