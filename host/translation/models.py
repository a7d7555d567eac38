"""What translation sessions share on a host, loaded once on the first one: Whisper base (the
multilingual ASR), the translators and the outward voice's engine. The assistant's models
(tiny.en, Piper) are not touched; the whispered voice is the host's own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sottovoce.host.asr import AsrConfig
from sottovoce.host.llm import LlmConfig, open_model
from sottovoce.host.translation.apertium import ApertiumTranslator
from sottovoce.host.translation.openai_mt import ModelTranslator
from sottovoce.host.translation.pairs import PairCatalogue, offline_pairs
from sottovoce.host.translation.translator import TranslationError, Translator
from sottovoce.host.translation.whisper_base import model_dir
from sottovoce.host.translation.word_asr import WordAsr
from sottovoce.host.tts import EspeakTts, Prosody
from sottovoce.host.whisper import WhisperVoice

log = logging.getLogger(__name__)

# Whisper's tokenizer splits Spanish or German finer than English: more tokens per second of speech.
MULTILINGUAL_TOKENS_PER_S = 14.0
# Partials more often than the assistant's: a word is committed on the first partial that shows it
# settled, or (its evidence weak) once two partials agree, and the listener waits for each.
# Incremental partials (a few seconds of audio each) keep this affordable; the worker runs one at a
# time, so on a loaded machine they simply come back to back (``sottovoce bench translate``).
PARTIAL_EVERY_S = 0.3
# Translations are whispered faster than the assistant's answers (0.95): an interpreter keeps pace
# with the speaker, and a translation that takes longer to say than its source took would make each
# next one wait behind it, the ear-voice span growing through a long turn (``sottovoce bench translate``).
EAR_RATE = 1.1


def ear_voice(voice: WhisperVoice, rate: float = EAR_RATE) -> WhisperVoice:
    """The host's whispered voice at the pace translations are said."""
    return WhisperVoice(voice.tts, voice.level, Prosody(rate=rate))


def multilingual_asr(cpu_threads: int = AsrConfig.cpu_threads) -> WordAsr:
    """Blocking: Whisper base, identifying the language of each decode unless told it."""
    config = AsrConfig(
        cpu_threads=cpu_threads, max_tokens_per_s=MULTILINGUAL_TOKENS_PER_S, partial_every_s=PARTIAL_EVERY_S
    )
    return WordAsr(config, model_path=model_dir(), language=None)


@dataclass
class TranslationModels:
    asr: WordAsr
    ear: WhisperVoice | None  # the translation of the other person's words, whispered at EAR_RATE (None: text only)
    outward: EspeakTts  # the wearer's words in the other language, aloud
    offline: Translator
    backend: Translator | None = None

    @property
    def catalogue(self) -> PairCatalogue:
        return PairCatalogue(offline_pairs(), backend=self.backend is not None)

    async def translate(self, text: str, source: str, target: str) -> tuple[str, str]:
        """(translation, the translator's name): the backend when configured, Apertium when it
        has no backend or the backend fails on a pair Apertium has."""
        if self.backend is not None:
            try:
                return await self.backend.translate(text, source, target), self.backend.name
            except TranslationError as exc:
                if (source, target) not in offline_pairs():
                    raise
                log.warning("%s; Apertium translates instead", exc)
        return await self.offline.translate(text, source, target), self.offline.name

    async def aclose(self) -> None:
        """Stop the translators' processes and connections (the ASR's worker is ``asr.close()``)."""
        await self.offline.aclose()
        if self.backend is not None:
            await self.backend.aclose()


def load_translation_models(
    voice: WhisperVoice | None, llm: LlmConfig, asr_threads: int = AsrConfig.cpu_threads
) -> TranslationModels:
    """Blocking (1-2 s): run it in a thread."""
    backend = ModelTranslator(open_model(llm, warm=False), timeout_s=llm.timeout_s) if llm.llm else None
    ear = ear_voice(voice) if voice is not None else None
    return TranslationModels(multilingual_asr(asr_threads), ear, EspeakTts(), ApertiumTranslator(), backend)


class LazyModels:
    """Loaded on the first call of ``get`` (in a worker thread), then shared; a load that failed
    is tried again by the next session rather than remembered."""

    def __init__(self, load: Callable[[], TranslationModels]) -> None:
        self._load = load
        self._task: asyncio.Task[TranslationModels] | None = None

    async def get(self) -> TranslationModels:
        if self._task is None or (self._task.done() and (self._task.cancelled() or self._task.exception())):
            self._task = asyncio.get_running_loop().create_task(asyncio.to_thread(self._load), name="translation-load")
        return await asyncio.shield(self._task)
