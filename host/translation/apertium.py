"""Offline machine translation with Apertium (Debian ``apertium`` plus pair packages such as
``apertium-eng-spa``), run as a subprocess.

One call per segment (0.1-0.4 s): the ``apertium`` script is a pipeline of a dozen programs, and
its null-flush mode (``-z``) did not hand back a segment through that pipeline without closing
its input, so a persistent process per pair would wait for text it never returns. Each call runs
in its own process group with a timeout, so a stuck pipeline is killed whole, not just its shell.

Apertium marks what it could not handle: ``*word`` unknown to the analyser, ``#word`` a lemma it
could not generate, ``@word`` a transfer gap. Those marks would be read out; they are stripped
(the bare word is usually a name, or close enough to be understood).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal

from sottovoce.host.translation.pairs import ISO3
from sottovoce.host.translation.translator import TranslationError, Translator

_MARK = re.compile(r"(?<![\w*#@~])[*#@~](?=\w)")


def strip_marks(text: str) -> str:
    """Apertium's output as words to speak: unknown-word marks removed, whitespace collapsed."""
    return " ".join(_MARK.sub("", text).split())


class ApertiumTranslator(Translator):
    name = "apertium"

    def __init__(self, timeout_s: float = 10.0, command: str = "apertium") -> None:
        self.timeout_s = timeout_s
        self.command = command

    async def translate(self, text: str, source: str, target: str) -> str:
        if source not in ISO3 or target not in ISO3:
            raise TranslationError(f"apertium: no language code for {source}->{target}")
        text = " ".join(text.split())
        if not text:
            return ""
        mode = f"{ISO3[source]}-{ISO3[target]}"
        try:
            proc = await asyncio.create_subprocess_exec(
                self.command, mode, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            raise TranslationError(f"apertium cannot run: {exc}") from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(text.encode()), self.timeout_s)
        except BaseException as exc:  # timeout or cancellation: the whole pipeline goes
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            if isinstance(exc, TimeoutError):
                raise TranslationError(f"apertium {mode} timed out after {self.timeout_s:g} s") from None
            raise
        if proc.returncode != 0:
            reason = err.decode(errors="replace").strip().splitlines()
            raise TranslationError(f"apertium {mode} failed: {reason[-1] if reason else proc.returncode}")
        return strip_marks(out.decode(errors="replace"))
