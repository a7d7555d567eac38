"""`sottovoce bench answers`: the responder chain on the questions wearers ask, against the skills
alone (the model replaced by the refusal) in the same run.

The questions are the project's own (tools/answers/questions.toml): facts, how-to, conversions,
time and timers, follow-ups that need the turns before them, and things the assistant must
decline, each with the key facts a right answer holds. Per question: whether it was answered (not
a refusal) or declined as expected, whether the key facts are right, its sentences, the seconds of
whispered audio it renders to (the host's voice), and the time to its first speech unit.

    sottovoce bench answers [--llm URL] [--json FILE] [--only ID,ID...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import aclosing
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from sottovoce.host.clock import ManualClock
from sottovoce.host.history import Exchange, History
from sottovoce.host.llm import LlmConfig, LlmError, open_model
from sottovoce.host.numbers import words_to_digits
from sottovoce.host.responder import REFUSAL, ChainResponder, Context, Responder, SkillResponder, split_sentences
from sottovoce.host.timers import Timers
from sottovoce.host.tts import PiperTts
from sottovoce.host.whisper import WhisperVoice
from sottovoce.proto.codec import SAMPLE_RATE
from sottovoce.tools.options import add_logging_option, add_options, config_from, fail, option, setup_logging

PROGRAM = "bench answers"
QUESTIONS = Path(__file__).parent / "answers" / "questions.toml"
NOW = datetime(2025, 11, 25, 15, 7).astimezone()  # the clock the questions' keys are written for
BATTERY = 57
NUMBER_TOLERANCE = 0.02  # relative: "sixteen point one" is right for 16.09 km
MAX_SENTENCES = 2
MAX_AUDIO_S = 12.0
# A decline may point elsewhere ("ask your doctor") instead of saying sorry; an answer that only
# says it does not know is no answer either.
_REFUSING = re.compile(
    r"\b(sorry|can't|cannot|can not|won't|unable|not able|not sure|don't know|do not know|don't have access"
    r"|consult|doctor|pharmacist|not allowed|private)\b"
)


@dataclass(frozen=True)
class Question:
    id: str
    ask: str
    kind: str
    expect: str = "answer"  # or "decline"
    key: tuple[str, ...] = ()
    context: tuple[str, ...] = ()


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    """The question set; a malformed entry is a clear error naming it."""
    with path.open("rb") as f:
        raw = tomllib.load(f).get("question", [])
    out = []
    for i, entry in enumerate(raw):
        try:
            q = Question(entry["id"], entry["ask"], entry["kind"], entry.get("expect", "answer"),
                         tuple(entry.get("key", ())), tuple(entry.get("context", ())))  # fmt: skip
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path}: question {i + 1} lacks {exc}") from None
        if q.expect not in ("answer", "decline"):
            raise ValueError(f"{path}: question {q.id}: expect must be answer or decline, not {q.expect!r}")
        out.append(q)
    return out


def normalise(text: str) -> str:
    text = text.lower().replace("’", "'").replace("-", " ")
    text = re.sub(r"[^\w\s'.]", " ", text)
    text = re.sub(r"\.(?!\d)", " ", text)
    return re.sub(r"\s+", " ", words_to_digits(text)).strip()


def refuses(text: str) -> bool:
    return text.strip() == REFUSAL or _REFUSING.search(normalise(text)) is not None


def holds(text: str, key: str) -> bool:
    """Whether the answer holds the key fact: one of its "a|b" alternatives, a number within
    NUMBER_TOLERANCE, words as a whole-word match."""
    said = normalise(text)
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", said)]
    for alternative in key.split("|"):
        want = normalise(alternative)
        if re.fullmatch(r"-?\d+(?:\.\d+)?", want):
            value = float(want)
            if any(abs(n - value) <= NUMBER_TOLERANCE * max(abs(value), 1e-9) for n in numbers):
                return True
        elif re.search(rf"\b{re.escape(want)}", said):
            return True
    return False


@dataclass
class Answer:
    id: str
    kind: str
    variant: str  # "chain" or "skills"
    text: str
    by: str  # skill, model, tool, or refusal
    expected: str
    behaved: bool  # answered when an answer was expected, declined when a decline was
    key_ok: bool | None  # None: no key fact to check
    sentences: int
    audio_s: float
    first_chunk_s: float
    tokens: int


@dataclass
class Summary:
    variant: str
    questions: int
    answered: float  # of those expecting an answer
    declined: float  # of those expecting a decline
    key_correct: float  # of those with key facts
    within_sentences: float  # share with at most MAX_SENTENCES sentences
    max_audio_s: float
    over_audio: int  # answers longer than MAX_AUDIO_S
    first_chunk_p50_s: float
    first_chunk_p90_s: float
    model_first_chunk_p50_s: float  # the model's answers alone: what the skills' instant ones hide
    model_first_chunk_p90_s: float
    by: dict[str, int] = field(default_factory=dict)
    key_by_kind: dict[str, float] = field(default_factory=dict)


async def _say(responder: Responder, words: str, ctx: Context) -> tuple[str, str, int, float | None]:
    start = time.perf_counter()
    reply = await responder.respond(words, ctx)
    if reply is None:
        return "", "silence", 0, None
    first = None
    async with aclosing(reply.units()) as units:
        async for _unit in units:
            first = first if first is not None else time.perf_counter() - start
    ctx.history.add(Exchange(words, reply.text, len(ctx.history) + 1, request=reply.request))
    by = "refusal" if reply.text == REFUSAL else reply.by
    return reply.text, by, reply.tokens, first


async def ask(
    responder: Responder, question: Question, variant: str, render: Callable[[str], float]
) -> Answer:  # fmt: skip
    """One question in a conversation of its own: its context turns first, then the question."""
    clock = ManualClock(NOW)
    ctx = Context(History(), clock, Timers(clock), battery_percent=BATTERY)
    for turn in question.context:
        await _say(responder, turn, ctx)
    text, by, tokens, first = await _say(responder, question.ask, ctx)
    refused = not text or refuses(text)
    behaved = refused if question.expect == "decline" else not refused
    key_ok = all(holds(text, k) for k in question.key) if question.key and question.expect == "answer" else None
    return Answer(question.id, question.kind, variant, text, by, question.expect, behaved, key_ok,
                  len(split_sentences(text)), round(render(text), 2), round(first or 0.0, 3), tokens)  # fmt: skip


def _share(flags: Sequence[bool]) -> float:
    return round(sum(flags) / len(flags), 3) if flags else 0.0


def _quantile(values: Sequence[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return round(statistics.quantiles(values, n=10, method="inclusive")[round(q * 10) - 1], 3)


def summarise(variant: str, answers: Sequence[Answer]) -> Summary:
    said = [a for a in answers if a.text]
    firsts = [a.first_chunk_s for a in said]
    model_firsts = [a.first_chunk_s for a in said if a.by == "model"]
    kinds = sorted({a.kind for a in answers})
    return Summary(
        variant,
        len(answers),
        answered=_share([a.behaved for a in answers if a.expected == "answer"]),
        declined=_share([a.behaved for a in answers if a.expected == "decline"]),
        key_correct=_share([bool(a.key_ok) for a in answers if a.key_ok is not None]),
        within_sentences=_share([a.sentences <= MAX_SENTENCES for a in said]),
        max_audio_s=max((a.audio_s for a in said), default=0.0),
        over_audio=sum(a.audio_s > MAX_AUDIO_S for a in said),
        first_chunk_p50_s=_quantile(firsts, 0.5),
        first_chunk_p90_s=_quantile(firsts, 0.9),
        model_first_chunk_p50_s=_quantile(model_firsts, 0.5),
        model_first_chunk_p90_s=_quantile(model_firsts, 0.9),
        by=dict(Counter(a.by for a in answers)),
        key_by_kind={
            k: _share([bool(a.key_ok) for a in answers if a.kind == k and a.key_ok is not None])
            for k in kinds
            if any(a.kind == k and a.key_ok is not None for a in answers)
        },
    )


@dataclass
class BenchAnswersConfig:
    json: Path | None = option(None, "also write every answer and the summaries here", type=Path, metavar="FILE")
    only: str = option("", "ask only these questions (comma-separated ids); empty: all", metavar="IDS")
    questions: Path = option(QUESTIONS, "the question set", type=Path, metavar="FILE")


async def run_bench(config: BenchAnswersConfig, llm: LlmConfig) -> tuple[list[Answer], list[Summary], str]:
    questions = load_questions(config.questions)
    if config.only:
        wanted = {i.strip() for i in config.only.split(",") if i.strip()}
        unknown = wanted - {q.id for q in questions}
        if unknown:
            raise ValueError(f"no such question: {', '.join(sorted(unknown))}")
        questions = [q for q in questions if q.id in wanted]
    model = await asyncio.to_thread(open_model, llm)
    voice = WhisperVoice(PiperTts())
    rendered: dict[str, float] = {}

    def render(text: str) -> float:
        if text not in rendered:
            rendered[text] = len(voice.speak(text)) / SAMPLE_RATE if text else 0.0
        return rendered[text]

    variants: dict[str, Responder] = {
        "chain": ChainResponder(SkillResponder(), model, llm),
        "skills": SkillResponder(fallback=REFUSAL),
    }
    answers: list[Answer] = []
    try:
        for name, responder in variants.items():
            for q in questions:
                answers.append(await ask(responder, q, name, render))
    finally:
        await model.aclose()
    summaries = [summarise(name, [a for a in answers if a.variant == name]) for name in variants]
    return answers, summaries, model.name


def print_report(answers: Sequence[Answer], summaries: Sequence[Summary], model_name: str) -> None:
    chain = [a for a in answers if a.variant == "chain"]
    print(f"model: {model_name}; load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'id':22} {'by':8} {'ok':>3} {'key':>4} {'sent':>4} {'audio s':>7} {'first s':>7}  answer")
    for a in chain:
        key = "-" if a.key_ok is None else "yes" if a.key_ok else "no"
        print(f"{a.id:22} {a.by:8} {'yes' if a.behaved else 'no':>3} {key:>4} {a.sentences:4d} {a.audio_s:7.2f} "
              f"{a.first_chunk_s:7.3f}  {a.text[:70]}")  # fmt: skip
    print()
    print(f"{'':26} " + " ".join(f"{s.variant:>10}" for s in summaries))
    rows = [
        ("answered (of expected)", "answered", "{:.0%}"), ("declined (of expected)", "declined", "{:.0%}"),
        ("key fact correct", "key_correct", "{:.0%}"), (f"<= {MAX_SENTENCES} sentences", "within_sentences", "{:.0%}"),
        ("audio max s", "max_audio_s", "{:.1f}"), (f"answers over {MAX_AUDIO_S:.0f} s", "over_audio", "{}"),
        ("first chunk p50 s", "first_chunk_p50_s", "{:.3f}"), ("first chunk p90 s", "first_chunk_p90_s", "{:.3f}"),
        ("model first chunk p50 s", "model_first_chunk_p50_s", "{:.3f}"),
        ("model first chunk p90 s", "model_first_chunk_p90_s", "{:.3f}"),
    ]  # fmt: skip
    for label, attr, fmt in rows:
        print(f"{label:26} " + " ".join(f"{fmt.format(getattr(s, attr)):>10}" for s in summaries))
    for kind in summaries[0].key_by_kind:
        label = f"key correct: {kind}"
        print(f"{label:26} " + " ".join(f"{s.key_by_kind.get(kind, 0.0):>10.0%}" for s in summaries))
    for s in summaries:
        print(f"answered by ({s.variant}): " + ", ".join(f"{k} {v}" for k, v in sorted(s.by.items())))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=f"sottovoce {PROGRAM}", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add_options(ap, BenchAnswersConfig)
    add_options(ap, LlmConfig)
    add_logging_option(ap, default="WARNING")
    args = ap.parse_args(argv)
    setup_logging("bench", args.log_level)
    config, llm = config_from(BenchAnswersConfig, args), config_from(LlmConfig, args)
    try:
        answers, summaries, model_name = asyncio.run(run_bench(config, llm))
    except (ValueError, OSError, tomllib.TOMLDecodeError, LlmError) as exc:
        return fail(PROGRAM, str(exc))
    print_report(answers, summaries, model_name)
    if config.json:
        out = {
            "model": model_name,
            "summaries": [asdict(s) for s in summaries],
            "answers": [asdict(a) for a in answers],
        }
        config.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
