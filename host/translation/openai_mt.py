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
        stream = self.model.stream([Message("system", prompt), Message("user", text)], self.max_tokens, 0.0)
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
        return " ".join("".join(pieces).split()).strip("\"'")

    async def aclose(self) -> None:
        await self.model.aclose()
