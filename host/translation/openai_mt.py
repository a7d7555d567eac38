"""Machine translation by the OpenAI-compatible chat backend (``--llm URL``): any pair of the
languages in ``pairs.ISO3``, at whatever quality the served model has."""

from __future__ import annotations

import asyncio

from sottovoce.host.llm import ChatModel, LlmError, Message
from sottovoce.host.translation.pairs import NAMES
from sottovoce.host.translation.translator import TranslationError, Translator

PROMPT = (
    "You are a simultaneous interpreter. Translate the user's {source} words into {target}. "
    "The words may be an unfinished part of a sentence: translate just them, do not complete them. "
    "Reply with the translation only, no quotes, no notes."
)


class ModelTranslator(Translator):
    def __init__(self, model: ChatModel, timeout_s: float = 20.0, max_tokens: int = 160) -> None:
        self.model = model
        self.name = f"llm ({model.name})"
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens

    async def translate(self, text: str, source: str, target: str) -> str:
        if not text.strip():
            return ""
        prompt = PROMPT.format(source=NAMES.get(source, source), target=NAMES.get(target, target))
        # A translation is about as long as its source: a model that goes on past that is commenting
        # on it (small models do), and the listener would hear the commentary.
        budget = min(self.max_tokens, 12 + 3 * len(text.split()))
        stream = self.model.stream([Message("system", prompt), Message("user", text)], budget, 0.0)
        pieces: list[str] = []

        async def read() -> None:
            async for piece in stream:
                pieces.append(piece)

        try:
            await asyncio.wait_for(read(), self.timeout_s)
        except TimeoutError:
            raise TranslationError(f"{self.name} did not translate within {self.timeout_s:g} s") from None
        except LlmError as exc:
            raise TranslationError(f"{self.name} failed: {exc}") from None
        finally:
            await stream.aclose()
        lines = [line for line in "".join(pieces).splitlines() if line.strip()]
        return " ".join(lines[0].split()).strip("\"'") if lines else ""

    async def aclose(self) -> None:
        await self.model.aclose()
