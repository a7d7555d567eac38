"""What the assistant says back: the ``Responder`` interface, the offline ``SkillResponder``, and
``ChainResponder``: the skills first, a language model (``host.llm``) for everything else.

A responder gets the final transcript of a turn and a ``Context`` (what the wearer heard so far,
battery, clock, timers) and returns a ``Reply``: short, spoken-style text, plus any side effects
(timers to arm, replace or cancel) that the session applies only when the reply is really
released — a reply computed on a tentative end of turn may be thrown away.

A skill's reply is whole from the start. A model's reply is generated while it is spoken: its
``units()`` give each speech unit as soon as it is final, so TTS renders the first clause while
the model writes the rest, and closing them stops the model.

A correction ("no, ten minutes", "not Anna, Anne") changes a detail of the wearer's last request,
read from the history, and runs that request again: its timer is replaced, not joined by a second.
"""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import logging
import math
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sottovoce.host.clock import Clock
from sottovoce.host.history import History
from sottovoce.host.llm import ChatModel, LlmConfig, LlmError, TextStream, Tool, ToolCall, chat_messages
from sottovoce.host.numbers import int_to_words, number_to_words, ordinal_words, words_to_digits
from sottovoce.host.skill_tools import TOOLS, tool_words
from sottovoce.host.timers import TimerRequest, Timers
from sottovoce.host.units import parse_conversion, parse_follow_up

log = logging.getLogger(__name__)


@dataclass
class Context:
    history: History
    clock: Clock
    timers: Timers
    battery_percent: int | None = None  # None until the device reports it
    volume_percent: int = 100  # the device's speaker level, as last set (it starts at full)


@dataclass
class Reply:
    """What to say. A model's reply (``model`` set) starts empty: ``text`` grows as ``units()``
    are read, and is whole once they end."""

    text: str
    arm_timers: tuple[TimerRequest, ...] = ()
    cancel_timers: bool = False
    replace_timers: tuple[int, ...] = ()  # ids of pending timers cancelled before arm_timers are armed
    request: str = ""  # the request carried out when a correction changed it; empty: the words heard
    by: str = "skill"  # which part of the chain answered: "skill", "model", or "tool" (a skill the model chose)
    volume: int | None = None  # a new speaker level for the device, 0..100 (its SetVolume control message)
    # The skill asks for a detail the words lack ("For how long?"): a model that takes tools may
    # work it out instead ("the time it takes to boil an egg").
    asks_detail: bool = False
    model: ModelAnswer | None = field(default=None, repr=False, compare=False)

    @property
    def sentences(self) -> list[str]:
        return split_sentences(self.text)

    @property
    def speech_units(self) -> list[str]:
        return split_speech_units(self.text)

    @property
    def tokens(self) -> int:
        """Tokens the model generated for this reply (0 for a skill's)."""
        return self.model.tokens if self.model else 0

    async def units(self) -> AsyncIterator[str]:
        """The speech units, each once, as soon as it is final; a model's reply can be read once."""
        if self.model is None:
            for unit in self.speech_units:
                yield unit
            return
        async with aclosing(self.model.units()) as units:
            async for unit in units:
                self.text = self.model.text
                yield unit


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
MIN_REST_WORDS = 3
# A first sentence without an early comma is cut before a word that opens a phrase ("The history
# of Rome is a tapestry | woven from ..."), once MIN_HEAD_WORDS words stand before it: the wearer
# hears the first words while the rest is still being written and rendered. Whispered speech has
# no pitch to carry a sentence's melody across the cut.
MIN_HEAD_WORDS = 4
PHRASE_OPENERS = frozenset(
    "about after and as at because before but by during for from in into of on or since so that "
    "through to until when where which while who with".split()
)


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def _first_cut(words: list[str]) -> int | None:
    """Where the first sentence's first piece ends (a word index): after its first comma, or before
    its first phrase opener past MIN_HEAD_WORDS words, whichever comes first. It depends only on
    the words up to the cut, so a sentence still being written never moves a cut once made."""
    for i, word in enumerate(words[:-1]):
        if word.endswith(","):
            return i + 1
        if i + 1 >= MIN_HEAD_WORDS and words[i + 1].lower() in PHRASE_OPENERS:
            return i + 1
    return None


def split_speech_units(text: str) -> list[str]:
    """The pieces TTS renders one at a time: the sentences, the first one cut in two (``_first_cut``)
    when at least MIN_REST_WORDS words follow the cut. The first piece is what the wearer waits for:
    "Okay," renders in ~45 ms where "Okay, a five minute timer, starting now." takes ~180 ms (Piper,
    2 cores), and the rest renders while it plays."""
    units = split_sentences(text)
    if units:
        words = units[0].split()
        cut = _first_cut(words)
        if cut is not None and len(words) - cut >= MIN_REST_WORDS:
            units[0:1] = [" ".join(words[:cut]), " ".join(words[cut:])]
    return units


class Responder(ABC):
    @abstractmethod
    async def respond(self, transcript: str, ctx: Context) -> Reply | None:
        """The reply to one turn, or None to stay silent."""


# ---------------------------------------------------------------------------------- model answers

# Said when nothing else can answer: one short sentence (about 1.5 s whispered), never a list of
# what the assistant could have done instead.
REFUSAL = "Sorry, I can't help with that."
_SENTENCE_DONE = re.compile(r"[.!?][\"')\]]*$")
_MARKUP = re.compile(r"[*_#`~|<>\[\]{}]+")  # read aloud as noise, or as "asterisk"
# "1. Boil the water": read as "one", and its full stop would end a sentence of its own.
_LIST_MARK = re.compile(r"(?m)^[ \t]*(?:\d{1,2}[.)]|[-•])[ \t]+")


# "Check the tyre. 2. Loosen the nuts": a list run into one line; its numbers would be sentences.
_INLINE_LIST_MARK = re.compile(r"(?<=[.!?:])\s+\d{1,2}[.)](?=\s|$)")


def _spoken(raw: str) -> str:
    text = _MARKUP.sub("", _LIST_MARK.sub("", raw))
    return re.sub(r"\s+", " ", _INLINE_LIST_MARK.sub("", text)).lstrip()


def _cut_words(sentence: str, max_words: int) -> str:
    """A sentence that never ends, cut after ``max_words`` words and ended there."""
    cut = " ".join(sentence.split()[:max_words])
    return cut if _SENTENCE_DONE.search(cut) else cut.rstrip(",;:-– ") + "."


class ModelAnswer:
    """A model's reply as speech units while it is generated, within the caps: at most
    ``max_sentences`` sentences and, after the first, ``max_words`` words; cut at the end of the
    last whole sentence when the token cap ends it mid-sentence. A unit is final once the text
    after it has begun (``split_speech_units`` on the growing text never changes a unit that has a
    successor). No text at all, or a model that fails before its first unit, gives ``refusal``.

    The model's text is read as it comes, not as the units are taken: generation stops the moment
    the caps are reached, even while the answer waits for its turn to be confirmed or for TTS, so
    it never takes CPU from the rendering and listening that go on meanwhile."""

    def __init__(self, stream: TextStream, max_sentences: int, max_words: int, refusal: str = REFUSAL) -> None:
        self._stream = stream
        self.max_sentences = max_sentences
        self.max_words = max_words
        self.refusal = refusal
        self.text = ""  # the units taken so far
        self.error: str | None = None  # why the model stopped early, if it failed
        # Bounded by the caps: a first sentence in two units, one per later sentence, then the end.
        self._ready: asyncio.Queue[str | None] = asyncio.Queue(maxsize=max(max_sentences, 2) + 2)
        self._reader = asyncio.ensure_future(self._read())

    @property
    def tokens(self) -> int:
        return self._stream.tokens

    async def units(self) -> AsyncIterator[str]:
        """Each speech unit once, as soon as it is final; closing them stops the model."""
        try:
            while (unit := await self._ready.get()) is not None:
                self.text = f"{self.text} {unit}" if self.text else unit
                yield unit
            await self._reader  # a failure other than the model's own is the caller's
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop the model, if it is still writing (the units taken so far stand)."""
        if not self._reader.done():
            self._reader.cancel()
        await asyncio.wait([self._reader])

    async def _read(self) -> None:
        raw, given = "", 0
        try:
            try:
                async for piece in self._stream:
                    raw += piece
                    kept, over = self._within_caps(split_sentences(_spoken(raw)))
                    units = split_speech_units(" ".join(kept))
                    for unit in units[given:] if over else units[given:-1]:
                        given += 1
                        self._ready.put_nowait(unit)
                    if over:
                        break
            except LlmError as exc:
                self.error = str(exc)
                log.warning("the model failed: %s", exc)
                raw = raw if given else ""
            for unit in self._final_units(_spoken(raw))[given:]:
                given += 1
                self._ready.put_nowait(unit)
        finally:
            await self._stream.aclose()
            self._ready.put_nowait(None)

    def _within_caps(self, sentences: list[str]) -> tuple[list[str], bool]:
        """The leading sentences within the caps, and whether the caps dropped any after them
        (then what is kept is final: later text can only be dropped too). The first sentence is
        always kept, cut after ``max_words`` words if it runs on: a first sentence that never ends
        would otherwise run to the token cap, past 12 s of whisper."""
        kept: list[str] = []
        words = 0
        for sentence in sentences:
            words += len(sentence.split())
            if not kept and words > self.max_words:
                return [_cut_words(sentence, self.max_words)], True
            if len(kept) == self.max_sentences or (kept and words > self.max_words):
                return kept, True
            kept.append(sentence)
        return kept, False

    def _final_units(self, text: str) -> list[str]:
        sentences, _ = self._within_caps(split_sentences(text))
        if sentences and not _SENTENCE_DONE.search(sentences[-1]):
            if len(sentences) > 1:
                sentences.pop()  # cut by the token cap: end at the last whole sentence
            else:
                sentences[-1] = sentences[-1].rstrip(",;:- ") + "."
        return split_speech_units(" ".join(sentences)) or split_speech_units(self.refusal)


class _Opened(TextStream):
    """A stream whose start has been read: its first piece of text, or its end (and with it the
    tool calls), or its failure, given back in order."""

    def __init__(self, inner: TextStream) -> None:
        self._inner = inner
        self._first: str | None = None
        self._error: LlmError | None = None
        self.ended = False

    async def open(self) -> None:
        try:
            self._first = await anext(self._inner)
        except StopAsyncIteration:
            self.ended = True
        except LlmError as exc:
            self._error = exc

    @property
    def tokens(self) -> int:  # type: ignore[override]
        return self._inner.tokens

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:  # type: ignore[override]
        return self._inner.tool_calls

    async def __anext__(self) -> str:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._first is not None:
            first, self._first = self._first, None
            return first
        if self.ended:
            raise StopAsyncIteration
        return await anext(self._inner)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class ChainCounters:
    by_skill: int = 0
    by_model: int = 0
    by_tool: int = 0  # a skill the model chose with a tool call


@dataclass
class ChainResponder(Responder):
    """The skills first, for what must be exact and instant; the model for everything else, with
    the conversation as the wearer heard it as context.

    Where the model takes tools, it is offered the skills as tools, and a tool call it makes is
    carried out by the skill and answered with the skill's words. Then the reply waits for the
    model's first words (or its tool call) before it is returned: a reply is either a skill's,
    with its effects known from the start, or the model's text."""

    skills: SkillResponder
    model: ChatModel
    config: LlmConfig = field(default_factory=LlmConfig)
    refusal: str = REFUSAL
    counters: ChainCounters = field(default_factory=ChainCounters)
    tools: tuple[Tool, ...] = TOOLS  # the skills offered to a model that takes tools

    async def respond(self, transcript: str, ctx: Context) -> Reply | None:
        if wants_silence(transcript):
            return None
        reply = self.skills.match(transcript, ctx)
        if reply is not None and not (reply.asks_detail and self.model.takes_tools):
            self.counters.by_skill += 1
            return reply
        messages = chat_messages(ctx.history, transcript.strip(), self.config)
        tools = self.tools if self.model.takes_tools else ()
        stream: TextStream = self.model.stream(messages, self.config.max_tokens, self.config.temperature, tools)
        if tools:
            stream = _Opened(stream)
            await stream.open()
            if stream.tool_calls:  # known at the start only when the reply came whole, or held nothing else
                await stream.aclose()
                self.counters.by_tool += 1
                return self._carry_out(stream.tool_calls[0], ctx)
        self.counters.by_model += 1
        answer = ModelAnswer(stream, self.config.max_sentences, self.config.max_words, self.refusal)
        return Reply("", by="model", model=answer)

    def _carry_out(self, call: ToolCall, ctx: Context) -> Reply:
        """The skill's reply to the words the tool call stands for; the refusal when no skill can."""
        words = tool_words(call)
        reply = self.skills.match(words, ctx) if words is not None else None
        if reply is None:
            log.info("tool call %s(%s): no skill carries it out", call.name, call.arguments[:200])
            return Reply(self.refusal, by="tool")
        return dataclasses.replace(reply, by="tool", request=reply.request or words)


# ---------------------------------------------------------------------------------- skills

_UNIT_SECONDS = {"second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600}
_DURATION = re.compile(r"(\d+(?:\.\d+)?|an?|half an?)\s*(second|sec|minute|min|hour)s?\b")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
_ASK_TIMERS = re.compile(r"\b(what|which|any|list|how many)\b.*\b(timers?|reminders?|alarms?)\b")
_OPS = {
    "plus": "+", "add": "+", "+": "+", "minus": "-", "-": "-", "subtract": "-", "times": "*",
    "multiplied by": "*", "x": "*", "×": "*", "*": "*", "divided by": "/", "over": "/", "/": "/",
    "÷": "/", "to the power of": "^", "squared": "²", "cubed": "³",
}  # fmt: skip
_OP_WORDS = {"+": "plus", "-": "minus", "*": "times", "/": "divided by", "^": "to the power of"}
_TOKEN = re.compile(
    r"(\d+(?:\.\d+)?)|(multiplied by|divided by|to the power of|squared|cubed|plus|minus|times|over|"
    r"add|subtract|[x×*/÷+\-])"
)
# Declined before any model is asked: a small model answers these with confidence and invents the
# answer (a password, a dose for a child).
_SECRET = re.compile(
    r"\b(?:passwords?|passcodes?|pin(?: number| code)?|credit card numbers?|security codes?|social security)\b"
    r"|\b(?:\w+'s|my|his|her|their) (?:phone number|address)\b"
)
_DOSE = re.compile(
    r"\bhow (?:much|many)\b.*\b(?:pills?|tablets?|capsules?|mg|milligrams?|ibuprofen|paracetamol|acetaminophen"
    r"|aspirin|medicine|medication|insulin)\b|\b(?:safe|maximum|max|daily|right|correct|lethal) dos(?:e|age)\b"
)
_HARM = re.compile(r"\b(?:break into|breaking into|steal|stealing|hack into|pick (?:a|the) lock)\b")
NO_SECRETS = "Sorry, I can't know or share that."
NO_DOSES = "Please ask a doctor or pharmacist about doses."
IDENTITY = "I'm your assistant, whispering through your glasses."
VOLUME_STEP = 20  # percent per "louder": a step the wearer hears in a whisper
_CAPABILITIES = (
    "I can tell you the time and the date, check your battery, set timers and reminders, and do quick sums. "
    "Anything else, I'll answer as best I can."
)


def _normalise(transcript: str) -> str:
    text = transcript.lower().replace("’", "'")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 1,000 -> 1000
    text = re.sub(r"[^\w\s'+\-*/×÷.%]", " ", text)
    text = re.sub(r"\.(?!\d)", " ", text)  # sentence full stops, not decimal points
    return re.sub(r"\s+", " ", words_to_digits(text)).strip()


def _seconds_in(text: str) -> float | None:
    total, found = 0.0, False
    for amount, unit in _DURATION.findall(text):
        value = 0.5 if amount.startswith("half") else 1.0 if amount in ("a", "an") else float(amount)
        total += value * _UNIT_SECONDS[unit]
        found = True
    if "half an hour" in text or "half a minute" in text:
        found = True
    return total if found else None


def _say_duration(seconds: float, adjective: bool = False) -> str:
    """ "five minutes", or "five minute" before a noun ("a five minute timer")."""
    parts = []
    s = round(seconds)
    for name, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        n, s = divmod(s, size)
        if n:
            parts.append(f"{int_to_words(n)} {name}{'s' if n != 1 and not adjective else ''}")
    return " and ".join(parts) if parts else "zero seconds"


def _round_left(seconds: float) -> float:
    """Time left as said: whole seconds under two minutes, whole minutes beyond."""
    return math.ceil(seconds) if seconds < 120 else 60 * round(seconds / 60)


def _say_time(hour: int, minute: int) -> str:
    h12 = hour % 12 or 12
    suffix = "in the morning" if hour < 12 else "in the afternoon" if hour < 18 else "in the evening"
    if minute == 0:
        return f"{int_to_words(h12)} o'clock {suffix}"
    mins = f"oh {int_to_words(minute)}" if minute < 10 else int_to_words(minute)
    return f"{int_to_words(h12)} {mins} {suffix}"


# "at 5 pm", "for 7 30" (Whisper's "7:30"), "at 17 00", "at noon"; never "for 5 minutes".
_CLOCK = re.compile(
    r"\b(?:at|for|by) (?:(?P<noon>noon|midday|midnight)|(?P<h>\d{1,2})(?: (?P<m>\d{2}))?"
    r"(?! ?(?:second|sec|minute|min|hour|percent|%))"
    r"(?: ?(?P<part>am|pm|a m|p m|o'clock|in the morning|in the afternoon|in the evening|at night|tonight))?)\b"
)
_PM = ("pm", "p m", "in the afternoon", "in the evening", "at night", "tonight")
_AM = ("am", "a m", "in the morning")


def _clock_due(text: str, now: datetime) -> datetime | None:
    """The next moment at the clock time said in ``text``, or None if it names none. Without am or
    pm, the sooner of the two: at three in the afternoon, "at 5" is five this afternoon."""
    m = _CLOCK.search(text)
    if m is None:
        return None
    if m["noon"]:
        hours, minute = [0 if m["noon"] == "midnight" else 12], 0
    else:
        hour, minute = int(m["h"]), int(m["m"] or 0)
        if hour > 23 or minute > 59 or (m["part"] in (*_PM, *_AM) and not 1 <= hour <= 12):
            return None
        if m["part"] in _PM:
            hours = [hour % 12 + 12]
        elif m["part"] in _AM:
            hours = [hour % 12]
        else:
            hours = [hour] if hour == 0 or hour > 12 else [hour % 12, hour % 12 + 12]
    tomorrow = "tomorrow" in text
    candidates = []
    for h in hours:
        due = now.replace(hour=h, minute=minute, second=0, microsecond=0)
        if due <= now or (tomorrow and due.date() == now.date()):
            due += timedelta(days=1)
        candidates.append(due)
    return min(candidates)


def _say_due(due: datetime, now: datetime) -> str:
    day = " tomorrow" if due.date() != now.date() else ""
    return f"{_say_time(due.hour, due.minute)}{day}"


class _NotArithmetic(ValueError):
    pass


def _evaluate(tokens: list[str]) -> float:
    """Numbers and operators with the usual precedence; ² and ³ bind tightest, then ^."""
    pos = 0

    def atom() -> float:
        nonlocal pos
        if pos >= len(tokens) or not re.fullmatch(r"\d+(\.\d+)?", tokens[pos]):
            raise _NotArithmetic("expected a number")
        value = float(tokens[pos])
        pos += 1
        while pos < len(tokens) and tokens[pos] in ("²", "³"):
            value **= 2 if tokens[pos] == "²" else 3
            pos += 1
        return value

    def power() -> float:
        nonlocal pos
        base = atom()
        if pos < len(tokens) and tokens[pos] == "^":
            pos += 1
            exponent = power()
            if abs(exponent) > 64:
                raise _NotArithmetic("too big")
            return base**exponent
        return base

    def product() -> float:
        nonlocal pos
        value = power()
        while pos < len(tokens) and tokens[pos] in ("*", "/"):
            op = tokens[pos]
            pos += 1
            rhs = power()
            if op == "/" and rhs == 0:
                raise ZeroDivisionError
            value = value * rhs if op == "*" else value / rhs
        return value

    value = product()
    while pos < len(tokens) and tokens[pos] in ("+", "-"):
        op = tokens[pos]
        pos += 1
        rhs = product()
        value = value + rhs if op == "+" else value - rhs
    if pos != len(tokens):
        raise _NotArithmetic("trailing tokens")
    return value


# Whisper sometimes hears "twelve times seven" as "12th time 7": between two numbers, that is a product.
_MISHEARD_TIMES = re.compile(r"(\d)(?:st|nd|rd|th)?\s+times?\s+(?=\d)")


def _arithmetic_tokens(text: str) -> list[str] | None:
    text = _MISHEARD_TIMES.sub(r"\1 times ", text)
    tokens = [m.group(1) or _OPS[m.group(2)] for m in _TOKEN.finditer(text)]
    has_op = any(t in _OP_WORDS or t in ("²", "³") for t in tokens)
    numbers = sum(1 for t in tokens if t[0].isdigit())
    if not has_op or numbers == 0:
        return None
    return tokens


def _say_expression(tokens: list[str]) -> str:
    out = []
    for t in tokens:
        if t == "²":
            out.append("squared")
        elif t == "³":
            out.append("cubed")
        elif t in _OP_WORDS:
            out.append(_OP_WORDS[t])
        else:
            out.append(number_to_words(float(t)))
    return " ".join(out)


# ---------------------------------------------------------------------------------- corrections

NOTHING_TO_CORRECT = "Sorry, what should I change?"
_UNIT = r"(?:second|sec|minute|min|hour)s?"
# What opens a correction: "no", "I said", "make that", "actually", or "not Anna" naming the detail replaced.
_MARKER = (
    r"(?:no|nope|sorry|oops|i said|i meant|i mean|make (?:that|it)|change (?:that|it) to|actually"
    r"|not (?P<old>[a-z']+)(?: but)?)"
)
_CORRECTION = re.compile(rf"(?:{_MARKER} )+(?P<new>.+?)(?: instead| please| then)*")
_IN_TURN = re.compile(rf"(?P<base>.*?\b(?:timer|remind me)\b.*?) (?P<correction>{_MARKER} .+)")
_WORD_THEN_REST = re.compile(rf"(?:{_MARKER} )+(?P<new>[a-z][a-z']*) (?P<rest>(?:in|at|on|to|for|about) .+)")
# A detail is an amount, with or without its unit, or one word (a name): anything longer is a
# request of its own ("actually, what time is it?") and goes to the skills.
_AMOUNT_DETAIL = re.compile(rf"(?:for )?(?:\d+(?:\.\d+)?(?: ?{_UNIT})?|(?:an?|half an?) {_UNIT})")
_WORD_DETAIL = re.compile(r"[a-z][a-z']*")
# One-word answers that are not details: "no thanks", "no, stop", "sorry, what?".
_NOT_A_DETAIL = frozenset(
    "thanks thank problem worries way idea stop wait nothing never mind that it this one more yes yeah okay ok "
    "sorry no not what pardon again please cancel timer timers reminder reminders".split()
)
# Said alone, these only stop the assistant or hold it back while the wearer thinks: the answer to
# them is silence, not an apology for having nothing to say.
_STOP_WORD = (
    r"(?:no|nope|stop|stop it|wait|wait a (?:second|sec|moment|minute)|hold on|hang on|never ?mind|shh+|hush"
    r"|quiet|be quiet|enough|that's enough)"
)
_STOP_ONLY = re.compile(rf"(?:(?:okay|ok|oh) )?{_STOP_WORD}(?: {_STOP_WORD})*(?: please)?")
_NAME_LIKENESS = 0.6  # difflib ratio: "anna"/"anne" 0.75, "jon"/"john" 0.86; "anne"/"in" 0.33


def wants_silence(transcript: str) -> bool:
    """No words, or words that only stop the assistant: the answer is to say nothing."""
    text = _normalise(transcript)
    return not text or _STOP_ONLY.fullmatch(text) is not None


@dataclass(frozen=True)
class Correction:
    """A changed detail of a request: ``new`` as said ("10 minutes", "anne"), and ``old`` when the
    wearer named what it replaces ("not anna")."""

    new: str
    old: str | None = None

    @property
    def amount(self) -> bool:
        return _AMOUNT_DETAIL.fullmatch(self.new) is not None

    def apply(self, request: str) -> str | None:
        """``request`` (normalised) with the detail changed; None if it holds nothing this changes."""
        if self.amount:
            return self._apply_amount(request)
        words = re.findall(r"[a-z][a-z']*", request)
        old = self.old if self.old in words else None
        if self.old is None:
            close = difflib.get_close_matches(self.new, [w for w in words if w != self.new], 1, _NAME_LIKENESS)
            old = close[0] if close else None
        if old is None:
            return None
        *_, last = re.finditer(rf"\b{re.escape(old)}\b", request)
        return request[: last.start()] + self.new + request[last.end() :]

    def _apply_amount(self, request: str) -> str | None:
        new = self.new.removeprefix("for ")
        durations = list(_DURATION.finditer(request))
        if durations:
            target = durations[-1]
            if _DURATION.search(new) is None:  # "actually 8": the unit stays
                return request[: target.start(1)] + new + request[target.end(1) :]
        else:
            numbers = list(_NUMBER.finditer(request))
            if not numbers:
                return None
            target = numbers[-1]
        return request[: target.start()] + new + request[target.end() :]


def parse_correction(text: str, amount_alone: bool = False) -> Correction | None:
    """The correction in a whole (normalised) turn, or None if the turn is not one. With
    ``amount_alone``, an amount said with nothing else ("10 minutes") is one too: right after a
    timer's answer, that can only change it."""
    if amount_alone and _AMOUNT_DETAIL.fullmatch(text):
        return Correction(text)
    m = _CORRECTION.fullmatch(text)
    if m is None:
        return None
    new = m["new"]
    if _AMOUNT_DETAIL.fullmatch(new) or (_WORD_DETAIL.fullmatch(new) and new not in _NOT_A_DETAIL):
        return Correction(new, m["old"])
    return None


def corrected_in_turn(text: str) -> str | None:
    """A timer or reminder request corrected while it was said ("set a timer for 5 no 10 minutes"),
    with the correction applied; None if there is no such correction."""
    m = _IN_TURN.fullmatch(text)
    if m is None:
        return None
    correction, rest = parse_correction(m["correction"]), ""
    if correction is None:  # "remind me to call anna no anne in 5 minutes": the name, then the request goes on
        tail = _WORD_THEN_REST.fullmatch(m["correction"])
        if tail is None or tail["new"] in _NOT_A_DETAIL:
            return None
        correction, rest = Correction(tail["new"], tail["old"]), " " + tail["rest"]
    corrected = correction.apply(m["base"])
    return corrected + rest if corrected is not None else None


@dataclass
class SkillResponder(Responder):
    """Offline skills for a small ear-worn assistant. Every answer is one to three short sentences;
    words no skill is for get ``fallback``."""

    fallback: str = REFUSAL
    max_timer_seconds: float = 24 * 3600
    _skills: list = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Order matters: the first skill that answers wins (reminders mention time, timers
        # mention minutes, and so on).
        self._skills = [
            self._decline, self._identity, self._what_i_said, self._repeat, self._cancel_timers, self._list_timers,
            self._reminder, self._alarm, self._timer, self._volume, self._conversion, self._arithmetic,
            self._battery, self._date, self._time, self._capabilities, self._greeting, self._thanks,
        ]  # fmt: skip

    async def respond(self, transcript: str, ctx: Context) -> Reply | None:
        if wants_silence(transcript):
            return None
        return self.match(transcript, ctx) or Reply(self.fallback)

    def match(self, transcript: str, ctx: Context) -> Reply | None:
        """The reply of the skill the words are for; None when they are for none (or empty)."""
        text = _normalise(transcript)
        if not text or _STOP_ONLY.fullmatch(text):
            return None  # see wants_silence
        correction = self._correction(text, ctx)
        if correction is not None:
            return correction
        follow_up = self._follow_up(text, ctx)
        if follow_up is not None:
            return follow_up
        corrected = corrected_in_turn(text)  # "set a timer for five, no, ten minutes"
        if corrected is not None:
            reply = self._answer(corrected, ctx)
            return dataclasses.replace(reply, request=corrected) if reply is not None else None
        return self._answer(text, ctx)

    def _answer(self, text: str, ctx: Context) -> Reply | None:
        for skill in self._skills:
            reply = skill(text, ctx)
            if reply is not None:
                return reply
        return None

    def _correction(self, text: str, ctx: Context) -> Reply | None:
        """A change to the wearer's last request: that request runs again with the detail changed,
        and a timer it armed is replaced (the same one, never a second)."""
        last = ctx.history.last_request()
        timed = last is not None and _seconds_in(_normalise(last.asked)) is not None
        correction = parse_correction(text, amount_alone=timed)
        if correction is None:
            return None
        corrected = correction.apply(_normalise(last.asked)) if last is not None else None
        reply = self._answer(corrected, ctx) if corrected is not None else None
        if last is None or reply is None:
            # Nothing the words change, or nothing a skill can do with the change: words that are a
            # request on their own ("make it louder") are that request.
            return self._answer(text, ctx) or Reply(NOTHING_TO_CORRECT)
        reply = dataclasses.replace(reply, request=corrected)
        if not (reply.arm_timers and last.timer_ids):
            return reply  # nothing armed to replace: the corrected request's own answer says it all
        if correction.amount:
            detail = _say_duration(reply.arm_timers[0].seconds)
        else:
            detail = correction.new.capitalize()
        return dataclasses.replace(reply, text=f"Okay, {detail} instead.", replace_timers=last.timer_ids)

    def _follow_up(self, text: str, ctx: Context) -> Reply | None:
        """ "And in miles?" after a conversion: the last request with one part changed. The
        request carried out is noted, so a second follow-up changes that one."""
        last = ctx.history.last_request()
        previous = parse_conversion(_normalise(last.asked)) if last is not None else None
        conversion = parse_follow_up(text, previous) if previous is not None else None
        if conversion is None:
            return None
        return Reply(conversion.say(), request=conversion.request)

    # Each skill returns None when the request is not for it.

    def _decline(self, text: str, ctx: Context) -> Reply | None:
        """What no answer should be given to, whatever the model would say: secrets, doses, harm."""
        if _SECRET.search(text):
            return Reply(NO_SECRETS)
        if _DOSE.search(text):
            return Reply(NO_DOSES)
        if _HARM.search(text):
            return Reply(REFUSAL)
        return None

    def _identity(self, text: str, ctx: Context) -> Reply | None:
        if not re.fullmatch(r"(?:and )?(?:who|what) are you(?: exactly)?|what's your name|what is your name", text):
            return None
        return Reply(IDENTITY)

    def _what_i_said(self, text: str, ctx: Context) -> Reply | None:
        if not re.search(r"\bwhat (?:did i (?:just )?say|was i (?:just )?saying)\b", text):
            return None
        last = ctx.history.last_request()
        if last is None:
            return Reply("You haven't asked me anything yet.")
        return Reply(f"You said: {last.user.strip().rstrip('.!?')}.")

    def _repeat(self, text: str, ctx: Context) -> Reply | None:
        if not re.search(
            r"\b(repeat( that| it| yourself)?|say (that|it) again|come again|what did you (just )?say|"
            r"pardon|one more time)\b",
            text,
        ):
            return None
        last = ctx.history.last_answer()
        if not last:
            return Reply("I haven't said anything yet.")
        return Reply(last)

    def _cancel_timers(self, text: str, ctx: Context) -> Reply | None:
        if not re.search(r"\b(cancel|stop|clear|delete|turn off)\b.*\b(timers?|reminders?|alarms?)\b", text):
            return None
        n = len(ctx.timers.pending())
        if n == 0:
            return Reply("There are no timers running.")
        what = "timer" if n == 1 else f"{int_to_words(n)} timers"
        return Reply(f"Okay, I cancelled your {what}.", cancel_timers=True)

    def _reminder(self, text: str, ctx: Context) -> Reply | None:
        m = re.search(r"\bremind me\b(.*)", text)
        if not m:
            return None
        rest = m.group(1)
        seconds = _seconds_in(rest)
        task_match = re.search(
            r"\b(?:to|that|about)\b (.+?)(?= in \d| in an?\b| in half\b| (?:at|by) (?:\d|noon|midday|midnight)"
            r"| tomorrow\b|$)",
            rest,
        )
        task = task_match.group(1).strip() if task_match else ""
        task = re.sub(r"\b(my|i)\b", lambda w: {"my": "your", "i": "you"}[w.group(1)], task)
        now = ctx.clock.now()
        due = _clock_due(rest, now) if seconds is None else None
        if due is not None:
            seconds = (due - now).total_seconds()
        if seconds is None:
            return Reply("When should I remind you? Say, for example, remind me in ten minutes.", asks_detail=True)
        if not 0 < seconds <= self.max_timer_seconds:
            return Reply("I can set reminders up to a day ahead.")
        announcement = f"Reminder: {task}." if task else "This is your reminder."
        when = f"at {_say_due(due, now)}" if due is not None else f"in {_say_duration(seconds)}"
        said = f"Okay, I'll remind you {when}" + (f" to {task}." if task else ".")
        return Reply(said, arm_timers=(TimerRequest(seconds, announcement, "reminder", task),))

    def _list_timers(self, text: str, ctx: Context) -> Reply | None:
        if not _ASK_TIMERS.search(text) or _seconds_in(text) is not None:
            return None
        pending = sorted(ctx.timers.pending(), key=lambda t: t.due)
        if not pending:
            return Reply("There are no timers running.")
        said = []
        for timer in pending:
            req, left = timer.request, _round_left(ctx.timers.seconds_left(timer))
            if req.label == "reminder":
                what = f"a reminder to {req.subject}" if req.subject else "a reminder"
            elif req.label == "alarm":
                what = f"an alarm for {_say_time(timer.due.hour, timer.due.minute)}"
            else:
                what = f"a {_say_duration(req.seconds, adjective=True)} timer"
            said.append(f"{what}, {_say_duration(left)} left")
        listed = said[0] if len(said) == 1 else "; ".join(said[:-1]) + "; and " + said[-1]
        return Reply(f"You have {listed}.")

    def _alarm(self, text: str, ctx: Context) -> Reply | None:
        if not re.search(r"\b(alarm|wake me)\b", text):
            return None
        now = ctx.clock.now()
        seconds, due = _seconds_in(text), None
        if seconds is None:
            due = _clock_due(text, now)
            if due is None:
                return Reply("For what time? Say, for example, set an alarm for seven thirty.", asks_detail=True)
            seconds = (due - now).total_seconds()
        if not 0 < seconds <= self.max_timer_seconds:
            return Reply("I can set alarms up to a day ahead.")
        due = due or now + timedelta(seconds=seconds)
        at = _say_time(due.hour, due.minute)
        said = f"Okay, an alarm for {_say_due(due, now)}."
        return Reply(said, arm_timers=(TimerRequest(seconds, f"It's {at}. This is your alarm.", "alarm"),))

    def _volume(self, text: str, ctx: Context) -> Reply | None:
        level = ctx.volume_percent
        if re.search(r"\b(louder|speak up|volume up|turn (it|the volume|yourself) up|raise the volume)\b", text):
            level = min(100, level + VOLUME_STEP)
        elif re.search(r"\b(quieter|softer|volume down|turn (it|the volume|yourself) down|lower the volume)\b", text):
            level = max(VOLUME_STEP, level - VOLUME_STEP)  # never down to silence by steps
        elif m := re.search(r"\bvolume\b(?:.*?\b(?:to|at))? (\d+(?:\.\d+)?) ?(?:%|percent)?$", text):
            level = round(float(m.group(1)))
            if level > 100:
                return Reply("The volume goes up to a hundred percent.")
        elif re.search(r"\bvolume\b", text):
            return Reply(f"The volume is at {int_to_words(level)} percent.")
        else:
            return None
        if level == ctx.volume_percent:
            return Reply(f"The volume is already at {int_to_words(level)} percent.")
        return Reply(f"Okay, volume {int_to_words(level)} percent.", volume=level)

    def _conversion(self, text: str, ctx: Context) -> Reply | None:
        conversion = parse_conversion(text)
        return Reply(conversion.say()) if conversion is not None else None

    def _timer(self, text: str, ctx: Context) -> Reply | None:
        if not re.search(r"\btimer\b", text):
            return None
        if re.search(r"\b(how (long|much time)|left|remaining)\b", text):
            n = len(ctx.timers.pending())
            if not n:
                return Reply("There are no timers running.")
            return Reply(f"You have {int_to_words(n)} timer{'s' if n > 1 else ''} running.")
        seconds = _seconds_in(text)
        if seconds is None:
            return Reply("For how long? Say, for example, set a timer for five minutes.", asks_detail=True)
        if not 0 < seconds <= self.max_timer_seconds:
            return Reply("I can set timers up to a day long.")
        length = _say_duration(seconds, adjective=True)
        return Reply(
            f"Okay, a {length} timer, starting now.",
            arm_timers=(TimerRequest(seconds, f"Your {length} timer is done.", "timer"),),
        )

    def _arithmetic(self, text: str, ctx: Context) -> Reply | None:
        tokens = _arithmetic_tokens(text)
        if tokens is None:
            return None
        # "what is 12 minus 3" -> keep from the first number (or "minus" for a negative start).
        while tokens and not tokens[0][0].isdigit():
            tokens.pop(0)
        try:
            value = _evaluate(tokens)
        except ZeroDivisionError:
            return Reply("You can't divide by zero.")
        except (_NotArithmetic, OverflowError):
            return None
        if not math.isfinite(value) or abs(value) >= 1e12:
            return Reply("That number is too big for me to say.")
        return Reply(f"{_say_expression(tokens).capitalize()} is {number_to_words(value)}.")

    def _battery(self, text: str, ctx: Context) -> Reply | None:
        if not re.search(r"\b(battery|charge|charged|power left)\b", text):
            return None
        pct = ctx.battery_percent
        if pct is None:
            return Reply("I don't know the battery level yet.")
        advice = " You may want to charge soon." if pct <= 20 else ""
        return Reply(f"Your glasses are at {int_to_words(pct)} percent.{advice}")

    def _date(self, text: str, ctx: Context) -> Reply | None:
        if not re.search(r"\b(date|what day|which day|day is it|day is today|today's)\b", text):
            return None
        now = ctx.clock.now()
        return Reply(f"Today is {now:%A}, {now:%B} {ordinal_words(now.day)}.")

    def _time(self, text: str, ctx: Context) -> Reply | None:
        if not re.search(r"\b(what time|the time|time is it|what's the time|current time)\b", text):
            return None
        now = ctx.clock.now()
        return Reply(f"It's {_say_time(now.hour, now.minute)}.")

    def _capabilities(self, text: str, ctx: Context) -> Reply | None:
        if not re.search(r"\bwhat (can|do) you do\b|\bwhat are you (good|able) (for|to do)\b", text):
            return None
        return Reply(_CAPABILITIES)

    def _greeting(self, text: str, ctx: Context) -> Reply | None:
        if not re.fullmatch(r"(hi|hello|hey|good (morning|afternoon|evening))( there)?( \w+)?", text):
            return None
        return Reply("Hi! What can I do for you?")

    def _thanks(self, text: str, ctx: Context) -> Reply | None:
        if not re.search(r"\b(thanks|thank you|cheers)\b", text):
            return None
        return Reply("You're welcome.")
