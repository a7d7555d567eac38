"""`sottovoce bench stop`: how fast a barge-in stops a language model's answer, against letting it
run to its end, in the same run.

Each round asks the offline model (caps raised far above the default, so that it is still writing)
for a long answer through the answer pipeline, speaks it into the void until its second piece is
rendered, then cancels the task speaking it, as the session does on a barge-in. Measured: from the
cancel to the task gone (no piece rendered after it) and to the model no longer generating, and the
tokens written by then. The baseline rounds let the same answer run: how long the model would have
gone on writing after that moment.

    sottovoce bench stop [--rounds 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from contextlib import aclosing
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from sottovoce.host.answer import AnswerPipeline, HostModels
from sottovoce.host.clock import Clock
from sottovoce.host.history import History
from sottovoce.host.llm import LlamaChatModel
from sottovoce.host.responder import ChainResponder, Context
from sottovoce.host.server import HostConfig, load_models
from sottovoce.host.timers import Timers
from sottovoce.tools.options import add_logging_option, add_options, config_from, fail, option, setup_logging

QUESTIONS = (
    "Tell me a very long story about a dragon.",
    "Explain in detail how a steam engine works.",
    "Describe the history of Rome from its founding to the fall of the empire.",
)


@dataclass
class BenchStopConfig:
    rounds: int = option(5, "rounds per way (cancelled, left to run)")
    json: Path | None = option(None, "also write the figures here", type=Path, metavar="FILE")


@dataclass
class Round:
    question: str
    cancelled: bool
    task_gone_ms: float  # cancel -> the speaking task finished (0 for the baseline)
    generation_stopped_ms: float  # cancel (or the same moment, left to run) -> the model idle
    tokens: int


async def _round(models: HostModels, question: str, cancel: bool) -> Round:
    chain = models.responder_factory()
    assert isinstance(chain, ChainResponder) and isinstance(chain.model, LlamaChatModel)
    chain.config = replace(chain.config, max_sentences=50, max_words=400, max_tokens=400)
    clock = Clock()
    pipeline = AnswerPipeline(models.asr, models.voice, chain, Context(History(), clock, Timers(clock)))
    draft = await pipeline.answer_text(question)
    assert draft is not None and draft.reply.by == "model"
    second = asyncio.Event()

    async def speak() -> None:  # as the session speaks an answer: its pieces closed however it ends
        count = 0
        async with aclosing(pipeline.pieces(draft)) as pieces:
            async for _ in pieces:
                count += 1
                if count == 2:
                    second.set()

    speaking = asyncio.ensure_future(speak())
    await asyncio.wait_for(asyncio.wait([speaking, asyncio.ensure_future(second.wait())],
                                        return_when=asyncio.FIRST_COMPLETED), 120)  # fmt: skip
    t0 = time.perf_counter()
    gone = 0.0
    if cancel:
        speaking.cancel()
        await asyncio.gather(speaking, return_exceptions=True)
        gone = time.perf_counter() - t0
    # the model's lock offers nothing to await: a 1 ms poll bounds the error
    while chain.model.generating:  # noqa: ASYNC110
        await asyncio.sleep(0.001)
    stopped = time.perf_counter() - t0
    if not cancel:  # the rest of its audio is not what is measured
        speaking.cancel()
        await asyncio.gather(speaking, return_exceptions=True)
    return Round(question, cancel, round(1000 * gone, 1), round(1000 * stopped, 1), draft.reply.tokens)


async def measure(models: HostModels, rounds: int) -> list[Round]:
    out = []
    for i in range(rounds):
        question = QUESTIONS[i % len(QUESTIONS)]
        for cancel in (True, False) if i % 2 == 0 else (False, True):  # alternate: neither way goes first always
            out.append(await _round(models, question, cancel))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sottovoce bench stop", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add_options(ap, BenchStopConfig)
    add_logging_option(ap, default="WARNING")
    args = ap.parse_args(argv)
    setup_logging("bench", args.log_level)
    config = config_from(BenchStopConfig, args)
    models = load_models(HostConfig())
    if not isinstance(models.responder_factory().model, LlamaChatModel):
        fail("bench stop measures the offline model")
    results = asyncio.run(measure(models, config.rounds))
    print(f"{'question':44s} {'way':10s} {'task gone ms':>12} {'model idle ms':>13} {'tokens':>6}")
    for r in results:
        way = "cancelled" if r.cancelled else "ran on"
        print(f"{r.question[:44]:44s} {way:10s} {r.task_gone_ms:12.1f} {r.generation_stopped_ms:13.1f} {r.tokens:6d}")
    for cancelled in (True, False):
        mine = [r.generation_stopped_ms for r in results if r.cancelled == cancelled]
        way = "cancelled" if cancelled else "left to run"
        print(f"{way}: model idle after median {statistics.median(mine):.1f} ms, max {max(mine):.1f} ms")
    if config.json:
        config.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
