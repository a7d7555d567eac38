"""One turn of the other person's speech, translated while they speak: partial decodes of the audio
not yet committed, word by word with Whisper's evidence (``word_asr``), through the commit policy
(``segmenter``), each committed segment handed on at once; at the turn's end, one final pass over
the whole turn and the words it holds that were not said yet.

Partials decode little more than what is not committed: once the audio they decode is
``TRIM_AFTER_S`` long, its said words are dropped from the front, all but the last ``OVERLAP_S`` of
them, and the dropped ones become Whisper's prompt (the "previous text", so the next words go on in
context). Whisper reads the first word of a clip badly (the cut falls into it, or the sound before it
is missing), so a clip begins on words already said, which the segmenter finds and skips, never on
the first word still to say. The cut falls on the quietest 20 ms frame before the first word kept.
A partial then costs about the same however long the turn. Partials never queue: one is started only
when the ASR worker is idle (a final pass of anyone's turn goes first).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import numpy as np

from sottovoce.host.asr import Language, quietest_cut, trailing_quiet_s
from sottovoce.host.translation.segmenter import Segmenter
from sottovoce.host.translation.word_asr import Heard, WordAsr
from sottovoce.proto.codec import SAMPLE_RATE

log = logging.getLogger(__name__)

# Partials decode at most about this much audio: beyond it, said words are dropped from the front.
TRIM_AFTER_S = 3.0
# The said words kept at the front of what is decoded: Whisper reads the first word of a clip badly
# (cut into, or without the sound before it), so the clip begins on words already said, re-read and
# skipped, rather than on the first word not said.
OVERLAP_S = 0.6
# Where the audio is cut: the quietest frame among this many seconds before the first word kept.
CUT_SEARCH_S = 0.15


class SimultaneousListener:
    """``audio_source()``: the turn's audio so far; ``on_segment(text)``: a committed segment, in
    order; ``on_partial(text)``: the words said and the newest hypothesis after them; ``ear_idle()``:
    nothing is being said to the listener (the segmenter then commits shorter segments)."""

    def __init__(
        self,
        asr: WordAsr,
        audio_source: Callable[[], np.ndarray],
        segmenter: Segmenter,
        on_segment: Callable[[str], None],
        on_partial: Callable[[str], Awaitable[None]] | None = None,
        language: Language = None,
        ear_idle: Callable[[], bool] = lambda: False,
    ) -> None:
        self.asr = asr
        self.audio_source = audio_source
        self.segmenter = segmenter
        self.on_segment = on_segment
        self.on_partial = on_partial
        self.language = language
        self.ear_idle = ear_idle  # whether the listener hears nothing now (no translation queued or playing)
        self._cut = 0  # samples into the turn where the audio partials decode begins
        self._last_partial_samples = 0
        self._last_text = ""
        self._task: asyncio.Task[None] | None = None
        self._finalising = False
        self.partial_decodes = 0
        self.partial_audio_s = 0.0  # audio decoded for partials, all told

    def audio_grew(self, total_samples: int) -> None:
        """Called as frames arrive; starts a partial when enough new audio has come and the worker is free."""
        if self._finalising or (self._task and not self._task.done()) or not self.asr.idle:
            return
        if total_samples - self._last_partial_samples < self.asr.config.partial_every_s * SAMPLE_RATE:
            return
        self._last_partial_samples = total_samples
        self._task = asyncio.get_running_loop().create_task(self._partial(), name="translation-partial")

    async def _partial(self) -> None:
        pcm = self.audio_source()[self._cut :]
        try:
            heard = await self.asr.hear_words(pcm, self.segmenter.context, self.language)
        except Exception:  # a failed partial is not worth a turn; the final pass will tell
            log.exception("partial ASR failed")
            return
        self.partial_decodes += 1
        self.partial_audio_s += heard.audio_s
        if self._finalising:
            return
        quiet_s = trailing_quiet_s(pcm) if self.segmenter.config.pause_s > 0 else 0.0
        segments = self.segmenter.update(heard.words, heard.audio_s, quiet_s, self.ear_idle())
        log.debug("partial of %.2f s in %.0f ms: %s -> %s", heard.audio_s, 1000 * heard.decode_s,
                  " ".join(f"{w.text}[{heard.audio_s - w.end:.2f},{w.probability:.2f}]" for w in heard.words),
                  segments)  # fmt: skip
        for segment in segments:
            self.on_segment(segment)
        self._trim(pcm, heard.audio_s)
        text = " ".join([*self.segmenter.said, *self.segmenter.pending])
        if self.on_partial is not None and text and text != self._last_text:
            self._last_text = text
            await self.on_partial(text)

    def _trim(self, pcm: np.ndarray, audio_s: float) -> None:
        """Once the audio decoded is ``TRIM_AFTER_S`` long, drop its said words but the last ``OVERLAP_S``."""
        if audio_s < TRIM_AFTER_S:
            return
        at = self.segmenter.overlap_start(OVERLAP_S)
        if at is None:
            return
        cut = quietest_cut(pcm[: round(at * SAMPLE_RATE)], round(CUT_SEARCH_S * SAMPLE_RATE))
        self._cut += cut
        self.segmenter.cut(cut / SAMPLE_RATE)

    async def caught_up(self) -> None:
        """Wait for the partial under way, if any (a test feeding audio faster than real time lets
        every partial that is due run to its end)."""
        if self._task is not None:
            await asyncio.wait([self._task])

    async def final(self, pcm: np.ndarray) -> tuple[Heard, str]:
        """The whole turn's final transcript, word by word, and its words not said yet (the last
        segment, maybe empty)."""
        self._finalising = True
        heard = await self.asr.hear_words(pcm, "", self.language)
        return heard, self.segmenter.finish(heard.words)

    def close(self) -> None:
        self._finalising = True
        if self._task and not self._task.done():
            self._task.cancel()
