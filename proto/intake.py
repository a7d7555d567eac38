"""Bytes from outside (a device, a link, a peer) in: decoded, or counted, logged and dropped.

Malformed input must never raise into the code that receives it, nor vanish unseen: every kind
of input has a counter that says how much of it was dropped, and a warning says why. The edge,
the GATT profile's device side and the simulator all take outside bytes in through this.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Intake(Generic[T]):
    """``decode`` for one kind of input; a failure (one of ``errors``) adds one to the integer
    field ``counter`` of the dataclass ``counters``, is logged as ``what`` and gives None."""

    def __init__(
        self,
        what: str,
        decode: Callable[[bytes], T],
        errors: type[Exception] | tuple[type[Exception], ...],
        counters: Any,
        counter: str,
        log: logging.Logger,
    ) -> None:
        if counter not in {f.name for f in dataclasses.fields(counters)}:
            raise AttributeError(f"{type(counters).__name__} has no counter {counter!r}")
        self.what = what
        self.decode = decode
        self.errors = errors
        self.counters = counters
        self.counter = counter
        self.log = log

    def __call__(self, data: bytes) -> T | None:
        try:
            return self.decode(data)
        except self.errors as exc:
            setattr(self.counters, self.counter, getattr(self.counters, self.counter) + 1)
            self.log.warning("dropped %s: %s", self.what, exc)
            return None
