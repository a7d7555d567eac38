"""Whisper's decode with the evidence for each word: where in the audio it was heard (the decoder's
cross-attention alignment) and how sure the decoder was of it (its tokens' mean probability).

Simultaneous translation decides from these whether a word is settled: one heard well before the
end of the audio, with a high probability, is not going to change when more audio arrives, so it
can be translated without waiting for a second hypothesis to agree. The alignment is one more
decoder pass over the same encoder output (~20 ms on Whisper base), cheaper than a second partial.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np

from sottovoce.host.asr import Language, WhisperAsr, collapse_repeat
from sottovoce.host.translation.segmenter import Word
from sottovoce.proto.codec import SAMPLE_RATE

# faster-whisper's own defaults: punctuation that belongs to the word before or after it
PREPEND = "\"'“¿([{-"
APPEND = "\"'.。,，!！?？:：”)]}、"


@dataclass(frozen=True)
class Heard:
    """One decode of a stretch of audio, word by word."""

    words: tuple[Word, ...]
    audio_s: float  # how much audio was decoded: a word's distance from its end is audio_s - word.end
    decode_s: float
    language: str

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


class WordAsr(WhisperAsr):
    """A ``WhisperAsr`` that also decodes word by word (``hear_words``), on the same worker and model."""

    def hear_words_blocking(self, pcm: np.ndarray, context: str = "", language: Language = None) -> Heard:
        """Blocking: decode int16 16 kHz ``pcm`` (``context``: the words just before it, the prompt).
        A decode that looks repetitive is redone with the full 30 s window, as ``transcribe`` does."""
        t0 = time.perf_counter()
        audio, window = self._audio_window(pcm)
        language = language or self.language
        with self._lock:
            words, language = self._hear(audio, window, context, language)
            text = " ".join(w.text for w in words)
            if (collapse_repeat(text) != text or self._looks_repetitive(text)) and window < 30.0:
                words, language = self._hear(audio, 30.0, context, language)
        # A repetition left even so is cut where the collapsed text ends.
        kept = len(collapse_repeat(" ".join(w.text for w in words)).split())
        return Heard(tuple(words[:kept]), len(audio) / SAMPLE_RATE, time.perf_counter() - t0, language)

    def _hear(self, audio: np.ndarray, window_s: float, context: str, language: Language) -> tuple[list[Word], str]:
        from faster_whisper.transcribe import merge_punctuations

        cfg = self.config
        model = self._model
        encoded, language = self._encode(audio, window_s, language)
        tokenizer = self._tokenizer_for(language)
        prompt = self._prompt_for(context, tokenizer)
        result = self._generate(encoded, prompt, len(audio))
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1) if tokens else -10.0
        if not tokens or (result.no_speech_prob > cfg.no_speech_threshold and avg_logprob < -0.5):
            return [], language
        alignment = model.find_alignment(tokenizer, [tokens], encoded, len(audio) // 160)[0]
        merge_punctuations(alignment, PREPEND, APPEND)
        timed = [a for a in alignment if re.search(r"\w", a["word"])]
        # The alignment lets a word begin where the silence before it began (the first word of a
        # clip that opens on quiet often "starts" at 0): a word is at most twice the median long,
        # measured back from its end, as faster-whisper's own word timestamps do.
        durations = [a["end"] - a["start"] for a in timed if a["end"] > a["start"]]
        longest = 2 * min(0.7, float(np.median(durations))) if durations else 0.0
        words = [
            Word(a["word"].strip(), max(float(a["start"]), float(a["end"]) - longest), float(a["end"]),
                 float(a["probability"]))
            for a in timed
        ]  # fmt: skip
        return words, language

    async def hear_words(self, pcm: np.ndarray, context: str = "", language: Language = None) -> Heard:
        """``hear_words_blocking`` on the model's worker thread, queued with its other decodes."""
        return await self.on_worker(self.hear_words_blocking, pcm, context, language)
