"""The one interface every machine-translation path sits behind."""

from __future__ import annotations

from abc import ABC, abstractmethod


class TranslationError(RuntimeError):
    """A translation that could not be made (the engine failed, timed out, or lacks the pair)."""


class Translator(ABC):
    name: str

    @abstractmethod
    async def translate(self, text: str, source: str, target: str) -> str:
        """``text`` in ``source`` (ISO 639-1, e.g. "es") said in ``target``; raises TranslationError."""

    async def warm(self, source: str, target: str) -> None:
        """Get ready to translate ``source`` into ``target`` (before the first segment waits for it)."""
        return None

    async def aclose(self) -> None:
        """Release what the translator holds."""
        return None
