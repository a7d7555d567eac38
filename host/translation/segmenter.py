"""Simultaneous translation's commit policy: which words of a growing transcript are final
enough to translate while the speaker is still talking.

The ASR re-reads the audio not yet committed every ~0.3 s, and its last words change as more audio
arrives. A word is *settled* when Whisper's own evidence says it will not change: it ended at least
``settle_s`` before the end of the audio decoded (more of the speaker's voice came after it, so the
decoder did not have to guess where it stops) and the decoder gave it a probability of at least
``min_probability``. Only the unsettled tail waits for the older rule, local agreement (the policy
of Whisper-Streaming and SimulMT systems): two consecutive hypotheses agree on it and on everything
before it. That second hypothesis costs the listener a partial interval and a decode, which the
evidence saves for every word Whisper is sure of; two readings of noise agreeing on an improbable
word (below ``agree_min_probability``) do not settle it.

Settled words are committed as a segment at the last clause boundary among them: a punctuation mark
after a word (",", ".", "?", ...), or a word that opens a clause ("pero", "because", ...;
``CLAUSE_OPENERS``) with at least ``min_words`` before it. Without a boundary they are committed
once ``max_stable_words`` of them wait (``idle_words`` while the listener hears nothing): a long
clause is not held back whole (the ear-voice span grows with every word). Whisper puts a full stop
after whatever audio it was given, so a boundary at a hypothesis' very end is often just where the
audio stopped: it counts only when the word is settled by the evidence (a pause followed it) or the
previous hypothesis ended on the same word with the same punctuation. A pause the audio itself shows
(``update(..., quiet_s)``, its last ``pause_s`` or more quiet) commits every word of the hypothesis
at once (once the one before agreed on its first). At the end of the turn the final transcript's
words not said are the last segment (``finish``).

Words once committed are never said again. Hypotheses may re-read committed words (the ASR keeps
their audio until ``cut`` says it was dropped): the new words are found after the hypothesis' best
alignment with what was committed (``resume_index``), so a correction ("de el" read again as "del")
is not repeated and an unaligned word is not skipped. Pure: no audio, no clock, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

_BOUNDARY = re.compile(r"[,.;:?!…]+[\"')\]»]*$")

# Words that begin a clause (a coordinating or subordinating conjunction), per language: the words
# before one are a unit of their own, which a word-by-word translator renders as well as the whole.
# "que"/"that" are left out: more often a complement ("tiene que", "so that") than a clause's start.
CLAUSE_OPENERS = frozenset(
    "y e pero o u porque aunque cuando donde mientras si sino pues entonces "
    "and but or because although though when where while if so then unless".split()
)


@dataclass(frozen=True)
class Word:
    text: str  # as the ASR wrote it, punctuation attached
    start: float = 0.0  # seconds from the decoded audio's start
    end: float = 0.0
    probability: float = 1.0  # the decoder's (1 when unscored: nothing speaks against the word)


def unscored(text: str) -> list[Word]:
    """The words of a transcript without timings or probabilities: agreement alone settles them."""
    return [Word(w) for w in text.split()]


def _norm(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def _fold(word: str) -> str:
    """A word's letters, lower case, accents off: how two readings of one word are compared."""
    return "".join(c for c in unicodedata.normalize("NFKD", _norm(word)) if not unicodedata.combining(c))


# How many of the last said words are looked for in a new hypothesis, and how far past their count
# it may run: enough to place them unambiguously, few enough to stay cheap on a long turn.
_ALIGN_TAIL = 8
_ALIGN_SLACK = 8
# A match of the said words' letters with at most one edit in this many letters is the same reading.
_GOOD_MATCH = 5


def _align(said: list[str], words: list[str]) -> tuple[int, int, int]:
    """(index in ``words`` after the run best matching the end of ``said``, or -1 when nothing
    matches; that match's edit distance in letters; the letters matched against)."""
    target = "".join(_fold(w) for w in said[-_ALIGN_TAIL:])
    first = max(0, len(said) - _ALIGN_TAIL - _ALIGN_SLACK)
    last = min(len(words), len(said) + _ALIGN_SLACK)
    # Semi-global edit distance: the target against any run of letters of words[first:last] that
    # ends at a word boundary (the run may start anywhere).
    row = list(range(len(target) + 1))  # the target's prefixes against no letters
    best, best_k = len(target), -1
    for k in range(first, last):
        for c in _fold(words[k]):
            new = [0]
            for i, t in enumerate(target, 1):
                new.append(min(row[i] + 1, new[i - 1] + 1, row[i - 1] + (t != c)))
            row = new
        if row[-1] < best:
            best, best_k = row[-1], k + 1
    return best_k, best, len(target)


def resume_index(said: list[str], words: list[str]) -> int:
    """Where in ``words`` (a new hypothesis that re-reads what was ``said``) the words not yet said
    begin: after the run of words that best matches the end of ``said``, letter by letter (so "del"
    matches "de el", and "Él" matches "el"); the earliest such place wins a tie. When nothing
    matches at all, the hypothesis is taken for a misreading of the same audio, as many words long."""
    if not said:
        return 0
    index, _, _ = _align(said, words)
    return min(len(said), len(words)) if index < 0 else index


def unsaid_lead(said: list[str], words: list[str], max_words: int = 3) -> int:
    """How many first words of ``words`` (a whole turn's transcript) come before the first said
    word and match none of it: the turn's first words that no hypothesis settled (a partial of the
    first second often misses them) and that a later one found. At most ``max_words``."""
    if not said or not words:
        return 0
    head = _fold(said[0])
    for b, w in enumerate(words[: max_words + 1]):
        if _fold(w) == head:
            return b
    return 0


@dataclass(frozen=True)
class SegmenterConfig:
    # Commit settled words without a clause boundary once this many wait: a long clause is not held
    # back whole, a short one is not cut off mid-phrase.
    max_stable_words: int = 4
    # While the listener hears nothing (no translation queued or being said), settled words are
    # committed once this many wait: the first words of a turn, or of a clause after a quiet spell,
    # reach the ear sooner, and while one is being said the next has time to grow longer, which
    # costs the listener nothing and the translator less. 0: ``max_stable_words`` always.
    idle_words: int = 2
    # A clause opener starts a segment only after this many words (a segment of one word is a word
    # translated out of its phrase).
    min_words: int = 2
    # Whisper's evidence that a word is settled: it ended this long before the audio decoded did...
    settle_s: float = 0.3
    # ...and the decoder gave it at least this probability (0 < p <= 1; above 1: never settled so).
    min_probability: float = 0.7
    # Agreement settles a word only if the decoder gave it at least this probability: two readings of
    # silence or noise agree on words nobody said ("¿Se ha estado?" at 0.03-0.06 after the speech).
    agree_min_probability: float = 0.1
    # A word with this many words after it in the newest hypothesis counts as stable without a
    # second partial's agreement (the "hold-n" policy). 0: off.
    hold_words: int = 0
    # A partial whose audio ends in this long a quiet commits its words without a second partial's
    # agreement (0: never). Off: on ``sottovoce bench translate`` es->en it cut the commit lag by only
    # ~0.1 s and cost ~2 chrF, committing what Whisper made of the silence after a sentence's last
    # word, which the turn's final pass would have read right.
    pause_s: float = 0.0


@dataclass
class Segmenter:
    config: SegmenterConfig = field(default_factory=SegmenterConfig)
    said: list[str] = field(default_factory=list)  # committed words, in order
    # Of the said words, those whose audio the hypotheses still re-read (since the last ``cut``),
    # as they were heard when committed (their timings: where they are in that audio).
    in_view: list[Word] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # the newest hypothesis' words not said yet
    # Where the said words lie in the turn's audio (seconds from its start, as heard when committed;
    # None until a word with timings is said): the final pass is matched against them by time.
    said_from_s: float | None = None
    said_until_s: float | None = None
    finished: bool = False
    _offset_s: float = 0.0  # where in the turn the audio hypotheses are of begins

    def update(
        self, hypothesis: Sequence[Word], audio_s: float = 0.0, quiet_s: float = 0.0, ear_idle: bool = False
    ) -> list[str]:
        """A new hypothesis of the audio since the last ``cut`` (``audio_s`` long, its last
        ``quiet_s`` quiet; ``ear_idle``: the listener hears nothing now); the segments it makes final."""
        if self.finished:
            return []
        cfg = self.config
        heard = list(hypothesis)
        skip = resume_index([w.text for w in self.in_view], [w.text for w in heard])
        fresh_words = heard[skip:]
        fresh = [w.text for w in fresh_words]
        previous, self.pending = self.pending, fresh
        agreed = 0
        while (
            agreed < min(len(fresh), len(previous))
            and _norm(fresh[agreed]) == _norm(previous[agreed])
            and fresh_words[agreed].probability >= cfg.agree_min_probability
        ):
            agreed += 1
        stable = agreed
        while stable < len(fresh) and self._evident(fresh_words[stable], audio_s):
            stable += 1
        if cfg.hold_words:
            stable = max(stable, len(fresh) - cfg.hold_words)
        # a boundary at the hypothesis' last word may be only where the audio stopped
        agreed_end = len(fresh) == len(previous) == agreed and bool(fresh) and fresh[-1] == previous[-1]
        ends_settled = bool(fresh) and stable == len(fresh) and self._evident(fresh_words[-1], audio_s)
        limit = stable if (agreed_end or ends_settled) else min(stable, len(fresh) - 1)
        boundary = max((i + 1 for i in range(limit) if _BOUNDARY.search(fresh[i])), default=0)
        opener = max(
            (i for i in range(stable) if _norm(fresh[i]) in CLAUSE_OPENERS and i - boundary >= cfg.min_words),
            default=0,
        )
        take = max(boundary, opener)
        enough = cfg.idle_words if ear_idle and cfg.idle_words else cfg.max_stable_words
        if take == 0 and stable >= enough:
            take = stable
        # The pause is the clause boundary, once the previous partial agreed at least on where the
        # words begin: Whisper's reading of the turn's first second alone is often another phrase.
        if 0 < cfg.pause_s <= quiet_s and agreed > 0:
            take = len(fresh)
        if take == 0:
            return []
        segment = fresh[:take]
        self.said += segment
        self.in_view += fresh_words[:take]
        self.pending = fresh[take:]
        timed = [w for w in fresh_words[:take] if w.end > 0]
        if timed:
            if self.said_from_s is None:
                self.said_from_s = self._offset_s + timed[0].start
            self.said_until_s = self._offset_s + timed[-1].end
        return [" ".join(segment)]

    def _evident(self, word: Word, audio_s: float) -> bool:
        cfg = self.config
        return word.probability >= cfg.min_probability and audio_s - word.end >= cfg.settle_s

    def overlap_start(self, keep_s: float) -> float | None:
        """Where the audio could be cut so that hypotheses still re-read the last ``keep_s`` of
        said words (at least one): the start of the earliest said word in view within ``keep_s``
        of the said words' end, when a said word before it can go (None: nothing can)."""
        timed = [w for w in self.in_view if w.end > 0]
        if len(timed) < 2:
            return None
        end = timed[-1].end
        keep = next(i for i, w in enumerate(timed) if w.start >= end - keep_s or i == len(timed) - 1)
        return timed[keep].start if keep > 0 else None

    def cut(self, at_s: float) -> None:
        """The audio before ``at_s`` (seconds into the audio hypotheses were of) was dropped: the
        said words heard in it are no longer re-read, and the timings of the rest start there."""
        self.in_view = [
            Word(w.text, w.start - at_s, w.end - at_s, w.probability) for w in self.in_view if w.start >= at_s
        ]
        self._offset_s += at_s

    @property
    def context(self) -> str:
        """The said words whose audio is no longer re-read: the prompt for the next hypothesis."""
        return " ".join(self.said[: len(self.said) - len(self.in_view)])

    def finish(self, final: str | Sequence[Word]) -> str:
        """The turn's final transcript, of the whole turn (text, or words timed from the turn's
        start); its words not yet said (empty when none).

        With timings, a word of the final transcript counts as said when it lies where the said
        words were heard, unless the text shows it otherwise: when the end of what was said is
        found in the final words letter for letter, what follows it is new; when the final pass
        reads that stretch another way, the words after the said ones' time are new. Words the
        final pass found before the first said word (the turn's first words, which no partial
        settled) are not lost either: they come first in what is returned."""
        if self.finished:
            return ""
        self.finished = True
        words = unscored(final) if isinstance(final, str) else list(final)
        texts = [w.text for w in words]
        if self.said_from_s is None or self.said_until_s is None or not any(w.end > 0 for w in words):
            lead = unsaid_lead(self.said, texts)
            start = max(lead, resume_index(self.said, texts))
        else:

            def middle(w: Word) -> float:
                return (w.start + w.end) / 2

            lead = next((i for i, w in enumerate(words) if middle(w) >= self.said_from_s), len(words))
            start = next((i for i, w in enumerate(words) if middle(w) > self.said_until_s), len(words))
            index, cost, letters = _align(self.said, texts) if self.said else (-1, 0, 0)
            if index >= 0 and cost <= letters // _GOOD_MATCH:
                start = index
            start = max(lead, start)
        rest = texts[:lead] + texts[start:]
        self.said += rest
        return " ".join(rest)
