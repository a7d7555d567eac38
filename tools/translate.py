"""``sottovoce translate --from es --to en FILE.wav [--audio OUT.wav] [--llm URL]``: one recording
translated, for testers and scripts.

The translation is the first line of standard output; what was heard (and in which language, and
which translator translated it) goes to standard error. ``--from auto`` lets Whisper identify the
language. Offline the pairs are Apertium's (``apertium -l``); with ``--llm URL`` the
OpenAI-compatible server translates any pair of the languages it knows. ``--audio`` also speaks
the translation, in a normal eSpeak NG voice of the target language, into a 16 kHz WAV file.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from sottovoce.host.llm import LlmConfig, LlmError
from sottovoce.host.translation.models import load_translation_models
from sottovoce.host.translation.pairs import ISO3
from sottovoce.host.translation.translator import TranslationError
from sottovoce.host.translation.voices import OutwardVoice
from sottovoce.tools.options import add_logging_option, add_options, config_from, fail, setup_logging

PROGRAM = "translate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("wav", type=Path, metavar="FILE.wav", help="the speech to translate (PCM WAV)")
    parser.add_argument("--from", dest="source", default="auto", metavar="LANG",
                        help="language spoken in FILE (ISO 639-1, e.g. es), or auto (default: auto)")  # fmt: skip
    parser.add_argument("--to", dest="target", default="en", metavar="LANG", help="language to translate into")
    parser.add_argument("--audio", type=Path, metavar="OUT.wav", help="also speak the translation into this file")
    add_options(parser, LlmConfig, exclude=("llm_threads", "llm_tools"))
    add_logging_option(parser, default="WARNING")


async def _translate(args: argparse.Namespace, llm: LlmConfig) -> int:
    from sottovoce.firmware_sim.recorder import write_wav
    from sottovoce.firmware_sim.scenario import read_wav

    try:
        pcm = read_wav(args.wav)
    except Exception as exc:
        return fail(PROGRAM, f"cannot read {args.wav}: {exc}")
    try:
        models = await asyncio.to_thread(load_translation_models, None, llm)
    except (LlmError, RuntimeError) as exc:
        return fail(PROGRAM, str(exc))
    try:
        heard = await models.asr.transcribe_async(pcm, language=None if args.source == "auto" else args.source)
        source = heard.language
        if not heard.text:
            return fail(PROGRAM, f"no speech heard in {args.wav}")
        if not models.catalogue.supports(source, args.target):
            pairs = models.catalogue.listing()
            return fail(PROGRAM, f"translation {source}->{args.target} not available; pairs: {pairs}")
        try:
            text, by = await models.translate(heard.text, source, args.target)
        except TranslationError as exc:
            return fail(PROGRAM, str(exc))
        print(text, flush=True)
        print(f"heard ({source}): {heard.text}  [translated by {by}]", file=sys.stderr)
        if args.audio is not None:
            speech = await asyncio.to_thread(OutwardVoice(models.outward, args.target).speak, text)
            write_wav(args.audio, speech)
    finally:
        models.asr.close()
        if models.backend is not None:
            await models.backend.aclose()
    return 0


def run(args: argparse.Namespace) -> int:
    setup_logging(PROGRAM, args.log_level)
    for lang in {args.source, args.target} - {"auto"}:
        if lang not in ISO3:
            return fail(PROGRAM, f"unknown language {lang!r}; known: {', '.join(sorted(ISO3))}")
    if args.target == "auto":
        return fail(PROGRAM, "--to must name a language")
    return asyncio.run(_translate(args, config_from(LlmConfig, args)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sottovoce translate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
