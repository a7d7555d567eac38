"""Which language pairs can be translated: offline, the Apertium modes installed on this machine
(``apertium -l``); with a language-model backend configured, any pair of the languages below.

Apertium names its modes with ISO 639-3 codes ("spa-eng"); the rest of Sottovoce, like
SessionStart.language and Whisper, uses ISO 639-1 ("es"). Modes with a variant suffix
("spa-eng_US") are left out: the plain mode of the same pair is the one used.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import cache

# ISO 639-1 -> 639-3 for the languages Apertium has pairs of with English or Spanish, and those
# the backend path offers (Whisper recognises all of them; eSpeak NG speaks all of them).
ISO3 = {
    "en": "eng", "es": "spa", "ca": "cat", "gl": "glg", "pt": "por", "fr": "fra", "it": "ita",
    "de": "deu", "eo": "epo", "eu": "eus", "oc": "oci", "nl": "nld", "is": "isl", "mk": "mkd",
}  # fmt: skip
ISO1 = {v: k for k, v in ISO3.items()}
NAMES = {
    "en": "English", "es": "Spanish", "ca": "Catalan", "gl": "Galician", "pt": "Portuguese", "fr": "French",
    "it": "Italian", "de": "German", "eo": "Esperanto", "eu": "Basque", "oc": "Occitan", "nl": "Dutch",
    "is": "Icelandic", "mk": "Macedonian",
}  # fmt: skip

Pair = tuple[str, str]  # (source, target), ISO 639-1


def parse_modes(listing: str) -> frozenset[Pair]:
    """The pairs in ``apertium -l`` output (one mode a line)."""
    pairs = set()
    for line in listing.split():
        src, sep, tgt = line.strip().partition("-")
        if sep and src in ISO1 and tgt in ISO1:
            pairs.add((ISO1[src], ISO1[tgt]))
    return frozenset(pairs)


@cache
def offline_pairs() -> frozenset[Pair]:
    """The pairs Apertium translates on this machine (none when it is not installed)."""
    if shutil.which("apertium") is None:
        return frozenset()
    listing = subprocess.run(["apertium", "-l"], capture_output=True, text=True, timeout=10, check=False).stdout
    return parse_modes(listing)


def describe(pairs: frozenset[Pair] | set[Pair]) -> str:
    return ", ".join(f"{s}->{t}" for s, t in sorted(pairs)) or "none"


@dataclass(frozen=True)
class PairCatalogue:
    """What this host translates: Apertium's pairs, and every pair of ``ISO3``'s languages when a
    backend is configured."""

    offline: frozenset[Pair]
    backend: bool = False

    def supports(self, source: str, target: str) -> bool:
        if source == target:
            return False
        if self.backend:
            return source in ISO3 and target in ISO3
        return (source, target) in self.offline

    def refusal(self, wearer: str, other: str) -> str | None:
        """Why a conversation between a ``wearer`` language and an ``other`` one ("auto": whichever
        the other person speaks) cannot be translated both ways; None if it can."""
        wearer = wearer or "en"
        if other == "auto":
            if any(self.supports(o, wearer) and self.supports(wearer, o) for o in ISO3):
                return None
            return f"no language pair with {wearer} both ways; pairs: {self.listing()}"
        missing = [f"{s}->{t}" for s, t in ((other, wearer), (wearer, other)) if not self.supports(s, t)]
        if missing:
            return f"translation {' and '.join(missing)} not available; pairs: {self.listing()}"
        return None

    def listing(self) -> str:
        own = describe(self.offline)
        return f"{own} offline; any of {', '.join(sorted(ISO3))} with the --llm backend" if self.backend else own
