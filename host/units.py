"""Unit conversions as the wearer asks them: "How many kilometres is ten miles?", "72 Fahrenheit in
Celsius", "convert five pounds to kilograms", and the follow-ups that change one part of the last
one ("and in miles?", "what about twenty?").

Every factor is an exact ``Fraction`` of its dimension's base unit (the international mile is
1609.344 m by definition), so the arithmetic is exact and only the spoken result is rounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from sottovoce.host.numbers import number_to_words


@dataclass(frozen=True)
class Unit:
    name: str  # spoken, singular
    plural: str
    dimension: str
    factor: Fraction  # base units in one of this unit
    offset: Fraction = Fraction(0)  # temperatures: base = value * factor + offset
    aliases: tuple[str, ...] = ()

    def say(self, amount: str, one: bool) -> str:
        return f"{amount} {self.name if one else self.plural}"


def _u(name: str, plural: str, dimension: str, factor: str, *aliases: str, offset: str = "0") -> Unit:
    return Unit(name, plural, dimension, Fraction(factor), Fraction(offset), aliases)


# US customary volumes (the gallon of 231 cubic inches) unless the wearer says imperial.
UNITS = (
    _u("millimetre", "millimetres", "length", "0.001", "millimeter", "millimeters", "mm"),
    _u("centimetre", "centimetres", "length", "0.01", "centimeter", "centimeters", "cm"),
    _u("metre", "metres", "length", "1", "meter", "meters", "m"),
    _u("kilometre", "kilometres", "length", "1000", "kilometer", "kilometers", "km"),
    _u("inch", "inches", "length", "0.0254", "in"),
    _u("foot", "feet", "length", "0.3048", "ft"),
    _u("yard", "yards", "length", "0.9144", "yd"),
    _u("mile", "miles", "length", "1609.344", "mi"),
    _u("gram", "grams", "mass", "0.001", "gramme", "grammes", "g"),
    _u("kilogram", "kilograms", "mass", "1", "kilogramme", "kilogrammes", "kilo", "kilos", "kg", "kgs"),
    _u("ounce", "ounces", "mass", "0.028349523125", "oz"),
    _u("pound", "pounds", "mass", "0.45359237", "lb", "lbs"),
    _u("stone", "stone", "mass", "6.35029318", "stones"),
    _u("millilitre", "millilitres", "volume", "0.001", "milliliter", "milliliters", "ml"),
    _u("litre", "litres", "volume", "1", "liter", "liters", "l"),
    _u("cup", "cups", "volume", "0.2365882365"),
    _u("pint", "pints", "volume", "0.473176473"),
    _u("quart", "quarts", "volume", "0.946352946"),
    _u("gallon", "gallons", "volume", "3.785411784"),
    _u("imperial gallon", "imperial gallons", "volume", "4.54609", "uk gallon", "uk gallons"),
    _u("degree Celsius", "degrees Celsius", "temperature", "1", "celsius", "centigrade", "c"),
    _u("degree Fahrenheit", "degrees Fahrenheit", "temperature", "5/9", "fahrenheit", "f", offset="-160/9"),
    _u("kelvin", "kelvin", "temperature", "1", "kelvins", offset="-273.15"),
    _u("kilometre per hour", "kilometres per hour", "speed", "1", "kilometers per hour", "km per hour", "kph",
       "km/h", "kmh"),
    _u("mile per hour", "miles per hour", "speed", "1.609344", "mph"),
    _u("metre per second", "metres per second", "speed", "3.6", "meters per second"),
)  # fmt: skip

# One-letter abbreviations, and "in", only count right after a number ("5 m", "72 f", "6 in"), never
# as the unit asked for: "in" is the word that asks for it.
_NOT_TARGETS = frozenset({"in"})
_BY_WORD: dict[str, Unit] = {}
for _unit in UNITS:
    for _word in (_unit.name.lower(), _unit.plural.lower(), *_unit.aliases):
        _BY_WORD[_word] = _unit
_WORDS = "|".join(re.escape(w) for w in sorted(_BY_WORD, key=len, reverse=True))
_LONG_WORDS = "|".join(
    re.escape(w) for w in sorted(_BY_WORD, key=len, reverse=True) if len(w) > 1 and w not in _NOT_TARGETS
)
_DEGREES = r"(?:degrees? )?"
_AMOUNT = r"(?P<amount>\d+(?:\.\d+)?|an?|one)"
# "10 miles", "72 degrees fahrenheit", "a pound"
_SOURCE = re.compile(rf"(?:(?<=\s)|^)(?:minus |negative )?{_AMOUNT} ?{_DEGREES}(?P<unit>{_WORDS})\b")
_MINUS = re.compile(r"(?:minus|negative) $")
_TARGET = re.compile(rf"\b{_DEGREES}(?P<unit>{_LONG_WORDS})\b")
# The words that make a sentence holding two units a request to convert between them.
_ASKS = re.compile(r"\b(?:how many|how much|convert|in|into|to|is|are|equals?|what's|what is)\b")

# Follow-ups: "and in miles?", "what about in Fahrenheit", "and 20?", "what about 20 pounds?"
_FOLLOW_OPEN = r"(?:(?:and|so|what about|how about|ok|okay)\s+)+"
_FOLLOW_TARGET = re.compile(rf"(?:{_FOLLOW_OPEN})?(?:in|into|to) {_DEGREES}(?P<unit>{_LONG_WORDS})(?: please)?")
_FOLLOW_AMOUNT = re.compile(rf"{_FOLLOW_OPEN}(?P<amount>\d+(?:\.\d+)?)(?: ?{_DEGREES}(?P<unit>{_WORDS}))?(?: please)?")

MAX_DECIMALS = 2
SIGNIFICANT = 3


@dataclass(frozen=True)
class Conversion:
    amount: Fraction
    source: Unit
    target: Unit

    @property
    def result(self) -> Fraction:
        base = self.amount * self.source.factor + self.source.offset
        return (base - self.target.offset) / self.target.factor

    @property
    def request(self) -> str:
        """The request as words the parser reads back: what a follow-up is resolved against."""
        return f"convert {_plain(self.amount)} {self.source.plural.lower()} to {self.target.plural.lower()}"

    def say(self) -> str:
        """ "Ten miles is about sixteen point one kilometres." ("about" only when rounded)."""
        result = self.result
        rounded = spoken_round(result)
        about = "" if rounded == result else "about "
        source = self.source.say(number_to_words(float(self.amount), MAX_DECIMALS), self.amount == 1)
        target = self.target.say(number_to_words(float(rounded), max_decimals=6), rounded == 1)
        # "Ten miles is ...": one distance, however many units it is said in.
        return f"{source[0].upper()}{source[1:]} is {about}{target}."


def _plain(x: Fraction) -> str:
    return str(int(x)) if x.denominator == 1 else f"{float(x):g}"


def spoken_round(x: Fraction) -> Fraction:
    """Three significant figures, at most two decimals; whole numbers from a hundred up."""
    if x == 0:
        return x
    magnitude = len(str(int(abs(x)))) if abs(x) >= 1 else 0
    decimals = max(0, min(MAX_DECIMALS, SIGNIFICANT - magnitude))
    if abs(x) < 1:  # 0.0254: keep a significant figure rather than round to nothing
        while decimals < 6 and round(abs(x), decimals) == 0:
            decimals += 1
    return Fraction(round(x, decimals))


def unit_named(word: str) -> Unit | None:
    return _BY_WORD.get(word.strip().lower())


def _amount(text: str) -> Fraction:
    return Fraction(1) if text in ("a", "an", "one") else Fraction(text)


def parse_conversion(text: str) -> Conversion | None:
    """The conversion asked for in normalised text (numbers as digits), or None. The amount is the
    number said with a unit; the target is another unit of the same dimension said elsewhere."""
    if not _ASKS.search(text):
        return None
    for source in _SOURCE.finditer(text):
        unit = _BY_WORD[source["unit"]]
        amount = _amount(source["amount"])
        if source.group(0).startswith(("minus", "negative")) or _MINUS.search(text[: source.start()]):
            amount = -amount
        rest = text[: source.start()] + " " * (source.end() - source.start()) + text[source.end() :]
        for target in _TARGET.finditer(rest):
            other = _BY_WORD[target["unit"]]
            if other.dimension == unit.dimension and other != unit:
                return Conversion(amount, unit, other)
    return None


def parse_follow_up(text: str, last: Conversion) -> Conversion | None:
    """A follow-up changing one part of ``last``: its target ("and in miles?") or its amount ("what
    about 20?", "and 20 pounds?"); None if the words are not one."""
    m = _FOLLOW_TARGET.fullmatch(text)
    if m is not None:
        unit = _BY_WORD[m["unit"]]
        if unit.dimension != last.source.dimension:
            return None
        return Conversion(last.amount, last.source, unit) if unit != last.source else last
    m = _FOLLOW_AMOUNT.fullmatch(text)
    if m is not None:
        unit = _BY_WORD[m["unit"]] if m["unit"] else last.source
        if unit.dimension != last.source.dimension:
            return None
        target = last.target if unit != last.target else last.source
        return Conversion(Fraction(m["amount"]), unit, target)
    return None
