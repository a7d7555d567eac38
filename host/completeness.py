"""Whether the words of a turn form a complete request: the text half of end-of-turn detection.

The edge's acoustic model hears *how* a phrase ends; some ends it cannot call from sound alone
(a question's final rise sounds like a speaker going on). The host has the words by then: after a
tentative end it has already run the final ASR pass. A sentence that stops on a function word
("remind me to call my", "and", "um"), on an auxiliary without its subject ("my battery is"), or
trails off (", ..." in the transcript) is unfinished whatever its melody. A number that ends a
statement says nothing either way: digits are dictated in groups and every group reads as a
finished sentence, yet "the code is 417" is as often the whole of it, so the sound decides alone.
Anything else is complete as far as text can tell - by these rules alone; with the language
model's end-of-utterance probability (``host.end_of_utterance``), only if that is at least
``END_PROBABILITY``. The rules cannot tell "set a timer for ten minutes" from "I was going to the
station" (both end on a content word); the model can, and it also reads fragments the rules pass
("he should make inquiries as to symptoms and time at which").

Text alone says nothing about a pause inside a list ("I need eggs" is complete and may still go
on), and Whisper tidies speech up, dropping a trailing "and" or "um" and closing a fragment with
a full stop, which is why a complete reading only *confirms* an end the model already thinks
probable. Misrecognised words would be judged as confidently as right ones, so a transcript the
recogniser itself is unsure of is never called complete, nor one whose last word it hesitates
over (a trailing "and" it half hears as "end").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sottovoce.host.asr import AsrResult

# Words an English sentence almost never ends on: articles, possessives, the prepositions that
# need an object, conjunctions, subject pronouns and fillers. Words that end elliptical or short
# answers are left out ("yes I can", "turn it on", "thank you", "take a picture of this"). Stranded
# prepositions in questions ("who is it for?") are the rare exception: those turns wait for the
# acoustic decision.
HANGING_WORDS = frozenset(
    """
    a an the my your his her its our their every
    to of at for with from by about into onto between than as
    and or but so because if then while when where whose although though unless until
    i he she we they i'm you're he's she's we're they're it's there's let's i'll we'll
    """.split()
)
# Hesitations: no sentence ends on one, and over an answer they say nothing (``host.overlap``).
FILLERS = frozenset("um uh er erm hmm mm uhm".split())
# An auxiliary ends a sentence only after its subject, in an elliptical answer ("yes, I can",
# "they did"); after anything else the sentence is waiting for its verb or complement ("my
# battery is", "how far is").
AUXILIARIES = frozenset(
    "is are was were am be do does did have has had will would can could should shall may might must".split()
)
SUBJECTS = frozenset("i you he she it we they there that this who".split())
TRAILING_MARKS = (",", "...", "…", "-", "—", ":", ";")
MIN_ASR_CONFIDENCE = math.exp(-0.5)  # mean token probability; below it the words are a guess
# The last word decides whether a sentence is finished, so the recogniser must prefer its reading
# of that word to all others together: cut at "station and,", Whisper writes "station end." with
# "end" 0.30 and "and" 0.30 (Piper voice), while its mean over the sentence stays at 0.86.
MIN_LAST_WORD_CONFIDENCE = 0.5
# No rule on the recogniser's certainty of the sentence's end (the probability of a full stop,
# question or exclamation mark right after the last word): it sets ends and pauses apart only
# partly (medians 0.83 and 0.70 on validation readings that look complete; "Tell me about the
# history of Rome." scores 0.51, questions ~0.97): requiring 0.7 cut validation's false cut-offs
# (words at 0.5/0.5: 3.8 % to 2.6 %) but hardly the unrepaired ones (1.3 % to 1.1 %), and made
# answers later (mean 0.761 to 0.801 s).
# No rule catching a dropped last word by timing either. Cut 0.3 s into the
# pause of "Remind me in ten minutes to | call Anna." (the demo), Whisper reads "Remind me in 10
# minutes." or "... minutes, too." and both read complete; the words would then have to end
# before the speech does. tiny.en's word timestamps (cross-attention alignment) put the last
# word's end up to 0.27 s after the speech ("What time is it?": 1.03 s against 0.76 s), longer
# than the dropped "to" lasts. Neither does the end mark tell: "too." scores 0.82-0.86.


# The language model's probability that the message is over (``host.end_of_utterance``): from
# END_PROBABILITY the words read complete, below UNFINISHED_PROBABILITY unfinished (a veto of an
# end the acoustic model is sure of), in between they say nothing. Chosen on the host's readings
# of real tuning turns and synthetic validation turns (``tools.turn.words_signal``). At 0.08,
# 38 % of synthetic ends and 5 % of their pauses read complete (the rules: 46 % and 24 %); real
# tuning turns 35 % and 16 % (47 % and 28 %). A veto below 0.002 falls on 1 % of synthetic ends,
# as the rules' does; any higher and finished requests the model mishears as fragments ("take a
# picture on this": 0.0096) wait for the fallback.
END_PROBABILITY = 0.08
UNFINISHED_PROBABILITY = 0.002

# Numbers are dictated in groups ("my code is 417 ... 995 ... 167"), and every group reads as a
# finished sentence; a number that ends a question ("what is 12 times 7?") is the exception.
# Calling such a transcript unfinished held back more finished turns than the pauses it saved
# (validation, Piper voice: ~20 dictated numbers and times "until half past six." vetoed and left
# to the fallback, against 3 pauses the model alone was sure of), so it is no reading at all.
NUMBER_WORDS = frozenset("zero oh one two three four five six seven eight nine ten".split())
# "one" after these is a pronoun ("the last one"), not a digit
ONE_AS_PRONOUN = frozenset("the this that last next other another each every which any no same new old right".split())


def _ends_on_number(words: list[str]) -> bool:
    last = words[-1]
    if last == "one" and len(words) > 1 and words[-2] in ONE_AS_PRONOUN:
        return False
    return last.isdigit() or last in NUMBER_WORDS


@dataclass(frozen=True)
class Completeness:
    complete: bool
    reason: str  # why, for logs: "sentence", "no words", "ends on 'the'", ...
    sure: bool = True  # False: no words, words too uncertain, or text that cannot say either way
    question: bool = False  # complete, and a question


def judge(
    text: str, asr_confidence: float, last_word_confidence: float = 1.0, end_probability: float | None = None
) -> Completeness:
    """Read a final transcript: is it a finished sentence, as far as its words can tell?
    ``asr_confidence`` is the recogniser's mean token probability, ``last_word_confidence`` its
    probability for the last word, ``end_probability`` the language model's that the message is
    over (None: the rules alone decide)."""
    words = re.findall(r"[\w']+", text.lower())
    if not words:
        return Completeness(False, "no words", sure=False)
    if asr_confidence < MIN_ASR_CONFIDENCE:
        return Completeness(False, f"unsure transcript ({asr_confidence:.2f})", sure=False)
    if last_word_confidence < MIN_LAST_WORD_CONFIDENCE:
        return Completeness(False, f"unsure of {words[-1]!r} ({last_word_confidence:.2f})", sure=False)
    stripped = text.rstrip()
    question = stripped.endswith("?")
    if stripped.endswith(TRAILING_MARKS):
        return Completeness(False, "trails off")
    if words[-1] in HANGING_WORDS or words[-1] in FILLERS:
        return Completeness(False, f"ends on {words[-1]!r}")
    if words[-1] in AUXILIARIES and (len(words) < 2 or words[-2] not in SUBJECTS):
        return Completeness(False, f"ends on {words[-1]!r}")
    if _ends_on_number(words) and not question:
        return Completeness(False, "a number may go on", sure=False)
    if end_probability is not None and end_probability < UNFINISHED_PROBABILITY:
        return Completeness(False, f"p(end) {end_probability:.4f}")
    if end_probability is not None and end_probability < END_PROBABILITY:
        return Completeness(False, f"p(end) {end_probability:.4f} says neither", sure=False)
    kind = "question" if question else "sentence"
    return Completeness(True, kind if end_probability is None else f"{kind}, p(end) {end_probability:.3f}",
                        question=question)  # fmt: skip


def judge_result(result: AsrResult, end_probability: float | None = None) -> Completeness:
    """``judge`` on a final ASR pass, with the recogniser's own confidences (and the language
    model's ``end_probability`` of its words): the host's TurnHint and the turn tools' replay of
    it read the words the same way."""
    return judge(result.text, result.confidence, result.last_word_prob, end_probability)
