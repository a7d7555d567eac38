"""Command-line options built from config dataclasses, one logging format, secrets, fatal errors.

Each program's defaults live once, in its config dataclass; a field declared with ``option()``
becomes ``--field-name`` with that default, type, help and choices, so a CLI can never drift
from the config it fills. Every program logs in one format to stderr, and says fatal errors
there in one line (``sottovoce PROGRAM: message``), exiting 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMAT = "%(asctime)s {program} %(levelname)s %(name)s: %(message)s"
TOKEN_ENV = "SOTTOVOCE_AUTH_TOKEN"

C = TypeVar("C")


def option(
    default: Any,
    help: str,
    *,
    choices: Sequence[str] | None = None,
    type: Any = None,
    metavar: str | None = None,
) -> Any:
    """A config field that is also a command-line option (``--name-with-dashes``).

    ``type`` is needed only where the default does not show it (a ``None`` default)."""
    meta = {"help": help, "choices": tuple(choices) if choices else None, "type": type, "metavar": metavar}
    return dataclasses.field(default=default, metadata={"option": meta})


def add_options(parser: argparse.ArgumentParser, cls: type, exclude: Iterable[str] = ()) -> None:
    """Add an option for every ``option()`` field of the dataclass ``cls``."""
    skip = set(exclude)
    for f in dataclasses.fields(cls):
        meta = f.metadata.get("option")
        if meta is None or f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        help_text = meta["help"] + (" (default: %(default)s)" if f.default not in (None, "") else "")
        if isinstance(f.default, bool):
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=f.default,
                                help=help_text)  # fmt: skip
            continue
        kind = meta["type"] or (type(f.default) if f.default is not None else str)
        parser.add_argument(
            flag, dest=f.name, type=kind, default=f.default, choices=meta["choices"], metavar=meta["metavar"],
            help=help_text,
        )  # fmt: skip


def config_from(cls: type[C], args: argparse.Namespace, **overrides: Any) -> C:
    """The config ``cls`` filled from parsed options (fields without an option keep their default)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    values.update(overrides)
    return cls(**values)


def add_logging_option(parser: argparse.ArgumentParser, default: str = "INFO") -> None:
    parser.add_argument("--log-level", default=default, type=str.upper, choices=LOG_LEVELS,
                        help="log verbosity (default: %(default)s)")  # fmt: skip


def setup_logging(program: str, level: str) -> None:
    """One format for every program, on stderr (standard output is for results)."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT.format(program=program), stream=sys.stderr, force=True)


def add_token_options(parser: argparse.ArgumentParser, what: str) -> None:
    """The auth token comes from a file or the environment, never the command line (``ps`` shows it).
    Abbreviated options are turned off: argparse would read a leftover ``--auth-token T`` as
    ``--auth-token-file T`` and echo the token in its error."""
    parser.allow_abbrev = False
    parser.add_argument("--auth-token-file", type=Path, metavar="FILE",
                        help=f"read the token {what} from this file (default: ${TOKEN_ENV})")  # fmt: skip


def read_token(path: Path | None) -> str:
    """The token from ``path`` (first line, stripped), else from $SOTTOVOCE_AUTH_TOKEN, else "".
    Raises ValueError naming the file when it cannot be read."""
    if path is None:
        return os.environ.get(TOKEN_ENV, "")
    try:
        return path.read_text().splitlines()[0].strip() if path.stat().st_size else ""
    except OSError as exc:
        raise ValueError(f"cannot read the token file {path}: {exc.strerror}") from None


def fail(program: str, message: str) -> int:
    """Say a fatal error in one line on stderr; the exit code to return."""
    print(f"sottovoce {program}: {message}", file=sys.stderr, flush=True)
    return 2
