"""Reconnect delays: the first retry soon, later ones further apart, never beyond a ceiling."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    first: float = 0.25
    factor: float = 2.0
    ceiling: float = 8.0
    _next: float = 0.0

    def reset(self) -> None:
        """After a success: the next failure waits ``first`` again."""
        self._next = 0.0

    def next_delay(self) -> float:
        self._next = self.first if self._next == 0.0 else min(self.ceiling, self._next * self.factor)
        return self._next
