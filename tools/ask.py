"""``sottovoce ask [--llm URL] [--json] "question"``: the host's responder chain as text - the
skills first, then the language model (the offline one, or the server at ``--llm``).

Prints the answer as its speech units come, or with ``--json`` one object: the answer (``text``),
which part answered (``by``: skill, model, or tool: a skill the model chose with ``--llm-tools``),
the model's ``tokens``, and ``first_chunk_s``, the seconds from the question to the first speech
unit (what TTS would start rendering). A timer or reminder a skill sets is only said, never armed,
and a volume change never reaches a device: nothing here keeps running.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from contextlib import aclosing

from sottovoce.host.clock import Clock
from sottovoce.host.history import History
from sottovoce.host.llm import LlmConfig, LlmError, open_model
from sottovoce.host.responder import ChainResponder, Context, SkillResponder
from sottovoce.host.timers import Timers
from sottovoce.tools.options import add_logging_option, add_options, config_from, fail, setup_logging

PROGRAM = "ask"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("question", help="what the wearer says")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the text")
    add_options(parser, LlmConfig)
    add_logging_option(parser, default="WARNING")


async def _ask(question: str, config: LlmConfig, as_json: bool) -> int:
    try:
        # One question: warming the model's prompt cache first would only add to its wait.
        model = await asyncio.to_thread(open_model, config, False)
    except LlmError as exc:
        return fail(PROGRAM, str(exc))
    clock = Clock()
    responder = ChainResponder(SkillResponder(), model, config)
    try:
        start = time.perf_counter()
        reply = await responder.respond(question, Context(History(), clock, Timers(clock)))
        if reply is None:
            return fail(PROGRAM, "the question has no words")
        first_chunk_s, first_unit = None, None
        async with aclosing(reply.units()) as units:
            async for unit in units:
                if first_chunk_s is None:
                    first_chunk_s, first_unit = time.perf_counter() - start, unit
                if not as_json:
                    print(unit if unit is first_unit else f" {unit}", end="", flush=True)
    finally:
        await model.aclose()
    if as_json:
        out = {"text": reply.text, "by": reply.by, "tokens": reply.tokens,
               "first_chunk_s": round(first_chunk_s or 0.0, 3)}  # fmt: skip
        print(json.dumps(out))
    else:
        print()
    return 0


def run(args: argparse.Namespace) -> int:
    setup_logging(PROGRAM, args.log_level)
    if args.llm_threads < 1:
        return fail(PROGRAM, "--llm-threads must be at least 1")
    return asyncio.run(_ask(args.question, config_from(LlmConfig, args), args.json))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sottovoce ask", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
