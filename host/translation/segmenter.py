"""Simultaneous translation's commit policy: which words of a growing transcript are final
enough to translate while the speaker is still talking.

The ASR re-reads the turn every ~0.6 s, and its last words change as more audio arrives. A word
is *stable* once two consecutive partial hypotheses agree on it and on everything before it
(local agreement, the policy of Whisper-Streaming and SimulMT systems). Stable words are committed
as a segment when they reach a clause boundary (",", ".", "?", ...), or when ``max_stable_words``
of them wait without one. Whisper puts a full stop after whatever audio it was given, so a
boundary at a hypothesis' very end is often just where the audio stopped: it counts only when the
previous hypothesis ended on the same word with the same punctuation (no new words came between
two partials: the speaker paused there). A pause the audio itself shows (``update(..., quiet_s)``: its
last ``pause_s`` or more are quiet, the speaker breathing between clauses) says the same at once: every word
of that hypothesis was heard whole, with silence after it, so they are committed, up to the pause, on that
one partial instead of waiting a partial interval and a decode for a second one to agree (provided
the one before agreed on their first word).
At the end of the turn the final transcript's words after the committed ones are the last segment.

Words once committed are never said again. When a later hypothesis corrects them ("de el" for
"del"), the new words are found after the hypothesis' best alignment with what was committed, so
only what is new is translated. Pure: no audio, no clock, no I/O.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

_BOUNDARY = re.compile(r"[,.;:?!…]+[\"')\]»]*$")


def words_of(text: str) -> list[str]:
    return text.split()


def _norm(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def resume_index(said: list[str], words: list[str]) -> int:
    """Where in ``words`` (a new hypothesis of the whole turn) the words not yet ``said`` begin:
    after the last word aligned with a said word, plus any said words left unaligned after it."""
    if not said:
        return 0
    a, b = [_norm(w) for w in said], [_norm(w) for w in words]
    blocks = [m for m in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks() if m.size]
    if not blocks:
        return min(len(said), len(words))
    last = blocks[-1]
    return min(len(words), last.b + last.size + (len(said) - (last.a + last.size)))


@dataclass(frozen=True)
class SegmenterConfig:
    # Commit stable words without a clause boundary once this many wait: a long clause is not held
    # back whole (the ear-voice span grows with every word), a short one is not cut off mid-phrase.
    max_stable_words: int = 5
    # A word with this many words after it in the newest hypothesis counts as stable without a
    # second partial's agreement (the "hold-n" policy): Whisper rarely rewrites a word once it has
    # heard several more, and waiting for the next partial costs the listener a whole partial
    # interval plus a decode. 0: agreement only.
    hold_words: int = 0
    # A partial whose audio ends in this long a quiet commits its words without a second partial's
    # agreement (0: never; 0.25 s is shorter than a breath between clauses, longer than a stop
    # consonant). Off: on ``sottovoce bench translate`` es->en with partials every 0.3 s it cut the
    # commit lag by only ~0.1 s and cost ~2 chrF, committing what Whisper made of the silence after
    # a sentence's last word, which the turn's final pass would have read right.
    pause_s: float = 0.0


@dataclass
class Segmenter:
    config: SegmenterConfig = field(default_factory=SegmenterConfig)
    said: list[str] = field(default_factory=list)  # committed words, in order
    _previous: list[str] = field(default_factory=list)  # the last hypothesis' words after ``said``
    finished: bool = False

    def update(self, hypothesis: str, quiet_s: float = 0.0) -> list[str]:
        """A new partial transcript of the whole turn so far; the segments it makes final.
        ``quiet_s``: how long the audio it was decoded from had been quiet at its end."""
        if self.finished:
            return []
        words = words_of(hypothesis)
        fresh = words[resume_index(self.said, words) :]
        previous, self._previous = self._previous, fresh
        stable = 0
        while stable < min(len(fresh), len(previous)) and _norm(fresh[stable]) == _norm(previous[stable]):
            stable += 1
        if self.config.hold_words:
            stable = max(stable, len(fresh) - self.config.hold_words)
        # a boundary at the hypothesis' last word may be only where the audio stopped
        agreed_end = len(fresh) == len(previous) == stable and bool(fresh) and fresh[-1] == previous[-1]
        limit = stable if agreed_end else min(stable, len(fresh) - 1)
        boundary = max((i + 1 for i in range(limit) if _BOUNDARY.search(fresh[i])), default=0)
        take = boundary
        if take == 0 and stable >= self.config.max_stable_words:
            take = stable
        # The pause is the clause boundary, once the previous partial agreed at least on where the
        # words begin: Whisper's reading of the turn's first second alone is often another phrase.
        if 0 < self.config.pause_s <= quiet_s and stable > 0:
            take = len(fresh)
        if take == 0:
            return []
        segment = fresh[:take]
        self.said += segment
        self._previous = fresh[take:]
        return [" ".join(segment)]

    def finish(self, final: str) -> str:
        """The turn's final transcript; its words not yet said (empty when there are none)."""
        if self.finished:
            return ""
        self.finished = True
        words = words_of(final)
        rest = words[resume_index(self.said, words) :]
        self.said += rest
        return " ".join(rest)
