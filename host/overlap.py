"""Reading speech the wearer made over an answer: a backchannel the answer should play on
through ("mm-hm", "yeah", "I see", a cough, a laugh), or an interruption that should stop it
("stop", "wait", "no", "what about ...", any request).

Length alone cannot tell them apart: a real "yes" lasts half a second, longer than a quick "stop".
The words can, and the host has all the uplink audio addressed by sequence number, so the edge
names the overlap's first and last frame (an OverlapQuery) and the host reads just that slice
and answers with a verdict (an OverlapVerdict). It reads how the slice sounds as well
(``host.overlap_sound``), because the words of a sound that has none are Whisper's invention.

Only speech made entirely of backchannel words, hesitations and linking words ("and", "the") is a
backchannel: "yeah, stop" and "okay, but what about Anne" carry content, and the wearer must be
let in. An empty reading is a backchannel too: Whisper writes nothing for many coughs, laughs and
throat-clears (its no-speech rule), writes its sound annotations in brackets, a laugh as a run of
"ha", and a hum or a puff of breath as letters with no vowel ("Mmh", "Pfft!"), none of which is a
word.

The sound overrules the words where they are least to be trusted:
- a *nonverbal* sound (mostly unvoiced and noise-like: a cough, a throat-clear, a breath, a noise
  burst) is a backchannel whatever Whisper wrote for it ("Tush", "Thank you.") - unless that is a
  command to stop. A wearer who says "stop" must be obeyed, and a short "Stop." under the answer's
  echo and street noise can measure as nonverbal (a real one: 28 % voiced, 0.13 s of voice, read
  as "Stop." at 0.54), so a command is never overruled by the sound;
- content the recogniser doubts is an interruption when the sound is plainly speech meant to be
  heard (two seconds of voice, or a voice raised over the wearer's own turns): a misheard "stop"
  ("start.") said that way is still the wearer taking the floor. Doubted content in any other
  sound stays ``unsure``: the edge decides by length, as it does when no verdict comes.
Words that are mostly the answer's own are its echo, which a canceller still converging leaves in
the microphone, and the answer plays on; a command to stop is obeyed even then.
A reading that begins with a command to stop is marked ``command``: the edge acts on it even while
the speech goes on, before the end of anything else is awaited. Whisper is often unsure of a lone
"Stop." (a real one reads at 0.5), so commands never need the recogniser's confidence.

The edge asks again as the speech goes on, each time from its first frame (``OverlapHistory``
keeps what the earlier readings of it found). Words heard for longer read as the same words and
more ("Okay." then "Okay, but what about"); a hum does not: Whisper spells it anew at every length
("And the", then "MMA Chen"; "and the mason.", "and the nature.", "and the MHM."). So doubted words
that do not go on from an earlier reading of the same speech that found listening words are that
sound spelt again, and the earlier reading stands: a backchannel. Doubted words that do go on from
it ("Okay, Cole Anna.") stay ``unsure``, and an earlier reading of no words at all is no evidence
(the first 250 ms of a real "stop" reads as nothing, and then as "Start.").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from sottovoce.host.completeness import FILLERS, MIN_ASR_CONFIDENCE
from sottovoce.host.overlap_sound import SoundConfig, SoundKind, SoundReading, classify, measure

if TYPE_CHECKING:
    import numpy as np

    from sottovoce.host.asr import AsrResult, WhisperAsr

# The edge names speech over an answer from the VAD's onset, which comes 60-120 ms after the sound's
# (the "N" of "No." reads as noise to it, and without it Whisper heard "Oh."): the reading starts
# this many frames earlier.
ONSET_LEAD_FRAMES = 5

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
    shh
    shut up
    never mind
    """.strip().splitlines()
)
# Hesitations carry no content of their own: over an answer they are the wearer listening.
HESITATIONS = FILLERS | {"hm", "ah", "oh"}
# Articles and conjunctions ask for nothing on their own. Whisper puts them in front of a murmur it
# cannot spell (a whispered-over "Mm-hm." read as "and the MHM."); a wearer taking the floor goes on
# to a word that does ask for something ("and the weather?").
LINKING_WORDS = frozenset("a an the and but or so then".split())
# Speech over an answer whose words are this share the answer's own is its echo, never the wearer
# taking the floor; a command to stop is obeyed all the same.
ECHO_WORD_SHARE = 0.6
# Whisper's sound annotations: "(coughs)", "[laughter]", "*clears throat*".
_ANNOTATION = re.compile(r"\([^)]*\)|\[[^\]]*\]|\*[^*]*\*")
# Whisper's spellings of a laugh ("Haha", "Hahahaha", "hehe") and of sounds with no vowel in them
# ("Mmh", "Hmm", "Pfft", "Shh"): vocal sounds, not words.
_LAUGH = re.compile(r"(?:h[aeiou]){2,}h?")
_NO_VOWEL = re.compile(r"[^aeiouy]+")
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
    sound: SoundKind | None = None  # how it sounded, when the audio was measured
    listening: tuple[str, ...] = ()  # the words, when they were all listening words (and some)


class OverlapHistory:
    """What the earlier readings of the speech over an answer found, as the edge asks about it again
    while it goes on (always from its first frame): the words of those that were all listening
    words. Speech with another first frame is new speech, and what came before is forgotten."""

    def __init__(self) -> None:
        self._first_seq: int | None = None
        self._listening: list[tuple[str, ...]] = []

    def listened(self, first_seq: int) -> tuple[tuple[str, ...], ...]:
        """The listening words of the earlier readings of the speech from ``first_seq``."""
        return tuple(self._listening) if first_seq == self._first_seq else ()

    def add(self, first_seq: int, reading: OverlapReading) -> None:
        if first_seq != self._first_seq:
            self._first_seq, self._listening = first_seq, []
        if reading.listening:
            self._listening.append(reading.listening)


def _backchannel_only(words: list[str]) -> str | None:
    """None when the words are all backchannel phrases and hesitations; else the first word that
    is not (longest phrase first, so "i see" is one phrase and "i want" is content)."""
    i = 0
    while i < len(words):
        n = next((n for n in range(min(_LONGEST_PHRASE, len(words) - i), 0, -1)
                  if tuple(words[i : i + n]) in BACKCHANNEL_PHRASES), 0)  # fmt: skip
        if n == 0 and words[i] not in HESITATIONS and words[i] not in LINKING_WORDS:
            return words[i]
        i += max(n, 1)
    return None


def _sounds(word: str) -> bool:
    """A vocal sound rather than a word (a hush is a command, not a sound)."""
    return (word,) not in COMMANDS and bool(_LAUGH.fullmatch(word) or _NO_VOWEL.fullmatch(word))


def _echoes(words: list[str], answer_text: str) -> bool:
    """The words are mostly the answer's own: its echo, left in the microphone by a canceller not
    yet converged (Whisper reads "I can tell you" under it as "can thug you")."""
    said = [w for w in words if w not in LINKING_WORDS and w not in HESITATIONS]
    answer = set(re.findall(r"[a-z']+", answer_text.lower()))
    found = sum(1 for w in said if w in answer)
    return bool(said) and found / len(said) >= ECHO_WORD_SHARE


def _goes_on_from(words: list[str], earlier: tuple[str, ...]) -> bool:
    return tuple(words[: len(earlier)]) == earlier


def judge_overlap(
    text: str,
    asr_confidence: float,
    sound: SoundReading | None = None,
    answer_text: str = "",
    listened: tuple[tuple[str, ...], ...] = (),
) -> OverlapReading:
    """Read the transcript of speech over an answer. ``asr_confidence`` is the recogniser's mean
    token probability; ``sound`` how the same audio sounds (``host.overlap_sound``), if measured;
    ``answer_text`` what the answer playing says; ``listened`` the listening words of earlier
    readings of the same speech (``OverlapHistory``)."""
    kind = None if sound is None else sound.kind
    heard = "" if sound is None else f"; {sound.reason}"
    all_words = re.findall(r"[a-z']+", _ANNOTATION.sub(" ", text.lower()))
    words = [w for w in all_words if w in HESITATIONS or not _sounds(w)]
    if not words:
        return OverlapReading(OverlapKind.BACKCHANNEL, text, f"no words{heard}", sound=kind)
    sure = asr_confidence >= MIN_ASR_CONFIDENCE
    content = _backchannel_only(words)
    first = next((i for i, w in enumerate(words) if w not in HESITATIONS), len(words))
    command = any(tuple(words[first : first + n]) in COMMANDS for n in range(1, _LONGEST_COMMAND + 1))
    if kind in (SoundKind.NONVERBAL, SoundKind.SILENT) and not command:
        return OverlapReading(OverlapKind.BACKCHANNEL, text, f"not speech, whatever the words{heard}", sound=kind)
    if content is None:
        return OverlapReading(OverlapKind.BACKCHANNEL, text, f"backchannel words{heard}", sound=kind,
                              listening=tuple(words))  # fmt: skip
    if command:
        return OverlapReading(OverlapKind.INTERRUPTION, text, f"command: {content!r}{heard}", command=True, sound=kind)
    if _echoes(words, answer_text):
        return OverlapReading(OverlapKind.BACKCHANNEL, text, f"the answer's own words{heard}", sound=kind)
    if sure:
        return OverlapReading(OverlapKind.INTERRUPTION, text, f"content: {content!r}{heard}", sound=kind)
    if kind is SoundKind.SPEECH:
        reason = f"content, doubted ({asr_confidence:.2f}), in plain speech: {content!r}{heard}"
        return OverlapReading(OverlapKind.INTERRUPTION, text, reason, sound=kind)
    if listened and not any(_goes_on_from(words, earlier) for earlier in listened):
        reason = f"doubted ({asr_confidence:.2f}) and not going on from the listening words {listened[-1]}{heard}"
        return OverlapReading(OverlapKind.BACKCHANNEL, text, reason, sound=kind)
    return OverlapReading(OverlapKind.UNSURE, text, f"unsure transcript ({asr_confidence:.2f}){heard}", sound=kind)


def judge_overlap_result(
    result: AsrResult, sound: SoundReading | None = None, answer_text: str = "",
    listened: tuple[tuple[str, ...], ...] = (),
) -> OverlapReading:  # fmt: skip
    return judge_overlap(result.text, result.confidence, sound, answer_text, listened)


async def read_overlap(
    asr: WhisperAsr,
    pcm: np.ndarray,
    ambient_dbfs: float | None = None,
    wearer_dbfs: float | None = None,
    config: SoundConfig | None = None,
    answer_text: str = "",
    history: OverlapHistory | None = None,
    first_seq: int = 0,
) -> OverlapReading:
    """Transcribe the overlap's audio (int16, 16 kHz), measure how it sounds, and read both.
    ``ambient_dbfs`` is the uplink's noise floor, ``wearer_dbfs`` the wearer's speaking level in
    this session (``WearerLevel``); either may be unknown. ``answer_text``: what the answer says.
    ``history``: the earlier readings of speech over the answer, this one's from ``first_seq`` among
    them; it is read once the words are in (an earlier reading may end meanwhile) and keeps this one."""
    if len(pcm) == 0:
        return OverlapReading(OverlapKind.UNSURE, "", "no audio")
    sound = classify(measure(pcm, ambient_dbfs, config), wearer_dbfs, config)
    result = await asr.transcribe_async(pcm)
    listened = history.listened(first_seq) if history is not None else ()
    reading = judge_overlap_result(result, sound, answer_text, listened)
    if history is not None:
        history.add(first_seq, reading)
    return reading
