"""Reading speech the wearer made over an answer: a backchannel the answer should play on
through ("mm-hm", "yeah", "I see", a cough, a laugh), or an interruption that should stop it
("stop", "wait", "no", "what about ...", any request).

Length alone cannot tell them apart: a real "yes" lasts half a second, longer than a quick "stop".
The words can, and the host has all the uplink audio addressed by sequence number, so the edge
names the overlap's first and last frame (an OverlapQuery) and the host reads just that slice
and answers with a verdict (an OverlapVerdict).

Only speech made entirely of backchannel words and hesitations is a backchannel: "yeah, stop"
and "okay, but what about Anne" carry content, and the wearer must be let in. An empty reading is
a backchannel too: Whisper writes nothing for a cough, a laugh or a throat-clear (its no-speech
rule), and writes its sound annotations in brackets. A reading the recogniser itself doubts is
``unsure``, and the edge decides by length, as it does when no verdict comes, except for words that
begin with a command to stop: Whisper is often unsure of a lone "Stop." (a real one reads at 0.5),
and a wearer who says it must be obeyed. Such a reading is marked ``command``: the edge acts on it
even while the speech goes on, before the end of anything else is awaited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from sottovoce.host.completeness import FILLERS, MIN_ASR_CONFIDENCE

if TYPE_CHECKING:
    import numpy as np

    from sottovoce.host.asr import AsrResult, WhisperAsr

# Phrases a listener says to show they follow, one per line of words after lower-casing and
# splitting on anything but letters and apostrophes ("Mm-hmm." reads as "mm hmm").
BACKCHANNEL_PHRASES: frozenset[tuple[str, ...]] = frozenset(
    tuple(line.split())
    for line in """
    yes
    yeah
    yep
    yup
    ya
    okay
    ok
    right
    alright
    all right
    sure
    cool
    nice
    great
    good
    fine
    wow
    really
    exactly
    indeed
    true
    mhm
    mm hmm
    mm hm
    uh huh
    huh
    i see
    got it
    i got it
    makes sense
    that makes sense
    thanks
    thank you
    of course
    oh
    ah
    aha
    ha
    haha
    hm
    """.strip().splitlines()
)
# Words that, at the start of speech over an answer, ask it to stop.
COMMANDS: frozenset[tuple[str, ...]] = frozenset(
    tuple(line.split())
    for line in """
    stop
    wait
    no
    nope
    hold on
    hang on
    pause
    cancel
    enough
    quiet
    shush
    shut up
    never mind
    """.strip().splitlines()
)
# Hesitations carry no content of their own: over an answer they are the wearer listening.
HESITATIONS = FILLERS | {"hm", "ah", "oh"}
# Whisper's sound annotations: "(coughs)", "[laughter]", "*clears throat*".
_ANNOTATION = re.compile(r"\([^)]*\)|\[[^\]]*\]|\*[^*]*\*")
_LONGEST_PHRASE = max(len(p) for p in BACKCHANNEL_PHRASES)
_LONGEST_COMMAND = max(len(c) for c in COMMANDS)


class OverlapKind(Enum):
    BACKCHANNEL = "backchannel"
    INTERRUPTION = "interruption"
    UNSURE = "unsure"


@dataclass(frozen=True)
class OverlapReading:
    kind: OverlapKind
    text: str  # what the recogniser wrote ("" for none)
    reason: str  # why, for logs: "backchannel words", "content: 'stop'", ...
    command: bool = False  # an interruption that begins with a command to stop


def _backchannel_only(words: list[str]) -> str | None:
    """None when the words are all backchannel phrases and hesitations; else the first word that
    is not (longest phrase first, so "i see" is one phrase and "i want" is content)."""
    i = 0
    while i < len(words):
        n = next((n for n in range(min(_LONGEST_PHRASE, len(words) - i), 0, -1)
                  if tuple(words[i : i + n]) in BACKCHANNEL_PHRASES), 0)  # fmt: skip
        if n == 0 and words[i] not in HESITATIONS:
            return words[i]
        i += max(n, 1)
    return None


def judge_overlap(text: str, asr_confidence: float) -> OverlapReading:
    """Read the transcript of speech over an answer. ``asr_confidence`` is the recogniser's mean
    token probability."""
    words = re.findall(r"[a-z']+", _ANNOTATION.sub(" ", text.lower()))
    if not words:
        return OverlapReading(OverlapKind.BACKCHANNEL, text, "no words")
    content = _backchannel_only(words)
    if content is None:
        return OverlapReading(OverlapKind.BACKCHANNEL, text, "backchannel words")
    first = next(i for i, w in enumerate(words) if w not in HESITATIONS)
    if any(tuple(words[first : first + n]) in COMMANDS for n in range(1, _LONGEST_COMMAND + 1)):
        return OverlapReading(OverlapKind.INTERRUPTION, text, f"command: {content!r}", command=True)
    if asr_confidence < MIN_ASR_CONFIDENCE:
        return OverlapReading(OverlapKind.UNSURE, text, f"unsure transcript ({asr_confidence:.2f})")
    return OverlapReading(OverlapKind.INTERRUPTION, text, f"content: {content!r}")


def judge_overlap_result(result: AsrResult) -> OverlapReading:
    return judge_overlap(result.text, result.confidence)


async def read_overlap(asr: WhisperAsr, pcm: np.ndarray) -> OverlapReading:
    """Transcribe the overlap's audio (int16, 16 kHz) and read it."""
    if len(pcm) == 0:
        return OverlapReading(OverlapKind.UNSURE, "", "no audio")
    return judge_overlap_result(await asr.transcribe_async(pcm))
