"""Numbers between speech and arithmetic: read them from a transcript, say them in words.

Whisper writes numbers either as digits ("12 times 7") or as words ("twelve times seven"),
sometimes mixed ("12 times seven"); answers are spoken, so numbers go out as words that any TTS
voice pronounces the same way.
"""

from __future__ import annotations

import re

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = [(1_000_000_000, "billion"), (1_000_000, "million"), (1_000, "thousand")]
_ORDINAL_IRREGULAR = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}  # fmt: skip

_WORD_VALUE = {w: i for i, w in enumerate(_UNITS)} | {w: 10 * i for i, w in enumerate(_TENS) if i >= 2}
_MULTIPLIERS = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}


def _below_thousand(n: int) -> str:
    parts: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        parts.append(f"{_UNITS[hundreds]} hundred")
    if rest:
        if rest < 20:
            parts.append(_UNITS[rest])
        else:
            tens, unit = divmod(rest, 10)
            parts.append(_TENS[tens] + (f"-{_UNITS[unit]}" if unit else ""))
    return " and ".join(parts) if len(parts) == 2 else parts[0]


def int_to_words(n: int) -> str:
    if n < 0:
        return "minus " + int_to_words(-n)
    if n < 20:
        return _UNITS[n]
    if n >= 1_000_000_000_000:
        return " ".join(_UNITS[int(d)] for d in str(n))  # absurdly large: read digit by digit
    parts: list[str] = []
    for value, name in _SCALES:
        if n >= value:
            parts.append(f"{int_to_words(n // value)} {name}")
            n %= value
    if n:
        parts.append(_below_thousand(n))
    return " ".join(parts)


def number_to_words(x: float, max_decimals: int = 2) -> str:
    """12 -> "twelve", 3.5 -> "three point five", 1/3 -> "zero point three three"."""
    if float(x).is_integer():
        return int_to_words(int(x))
    text = f"{abs(x):.{max_decimals}f}".rstrip("0")
    whole, frac = text.split(".")
    sign = "minus " if x < 0 else ""
    if not frac:
        return sign + int_to_words(int(whole))
    return sign + int_to_words(int(whole)) + " point " + " ".join(_UNITS[int(d)] for d in frac)


def ordinal_words(n: int) -> str:
    """25 -> "twenty-fifth" (for dates)."""
    words = int_to_words(n)
    head, sep, last = words.rpartition("-") if "-" in words.split()[-1] else words.rpartition(" ")
    if last in _ORDINAL_IRREGULAR:
        last = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


_NUMBER_WORD = "|".join(sorted([*_WORD_VALUE, *_MULTIPLIERS], key=len, reverse=True))
# A run of number words, allowing hyphens and "and" after a scale word ("a hundred and five",
# "twenty-seven") but not between plain numbers ("five and six" stays two numbers).
_JOIN = r"(?:[\s-]+|(?:(?<=hundred)|(?<=thousand)|(?<=million))\s+and\s+)"
_RUN = re.compile(rf"\b(?:{_NUMBER_WORD}|a(?= (?:hundred|thousand|million)\b))(?:{_JOIN}(?:{_NUMBER_WORD})\b)*\b")
# The digits after "point" are said one by one: "one point eight three" is 1.83, not 1 point 11.
_AFTER_POINT = re.compile(r"\bpoint((?: (?:zero|one|two|three|four|five|six|seven|eight|nine|\d))+)\b")
_POINT = re.compile(r"\b(\d+) point ((?:(?:zero|one|two|three|four|five|six|seven|eight|nine|\d)\s?)+)")


def _run_values(words: list[str]) -> list[int]:
    """The numbers a run of number words says: one ("two hundred thirty", "twenty-five"), or
    several where English number grammar breaks between two words ("seven thirty" is a clock time,
    7 30; "nineteen eighty-four" a year, 19 84), never their sum."""
    values: list[int] = []
    total, current, last = 0, 0, ""
    for w in words:
        value = 1 if w == "a" else _WORD_VALUE.get(w)
        if value is not None:
            kind = "tens" if value >= 20 else "small"
            # a unit goes after tens ("twenty five"); any number after a hundred or a scale word
            joins = last in ("", "hundred", "scale") or (last == "tens" and kind == "small" and value < 10)
            if not joins:
                values.append(total + current)
                total, current = 0, 0
            current += value
            last = kind
        elif w == "hundred":
            current = max(current, 1) * 100
            last = "hundred"
        else:  # thousand / million / billion
            total += max(current, 1) * _MULTIPLIERS[w]
            current, last = 0, "scale"
    return [*values, total + current]


def words_to_digits(text: str) -> str:
    """Replace number words by digits in lower-case text: "twenty seven plus a hundred and five"
    -> "27 plus 105"; "one point five" -> "1.5". Other words are left alone."""

    def repl(m: re.Match[str]) -> str:
        words = [w for w in re.split(r"[\s-]+", m.group(0)) if w and w != "and"]
        return " ".join(map(str, _run_values(words)))

    def after_point(m: re.Match[str]) -> str:
        return "point " + "".join(w if w.isdigit() else str(_WORD_VALUE[w]) for w in m.group(1).split())

    text = _RUN.sub(repl, _AFTER_POINT.sub(after_point, text))

    def point(m: re.Match[str]) -> str:
        digits = [d if d.isdigit() else str(_WORD_VALUE[d]) for d in m.group(2).split()]
        return f"{m.group(1)}.{''.join(digits)} "

    return _POINT.sub(point, text).strip()
