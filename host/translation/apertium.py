"""Offline machine translation with Apertium (Debian ``apertium`` plus pair packages such as
``apertium-eng-spa``).

Each pair runs as one long-lived pipeline of its programs (lt-proc, apertium-tagger,
apertium-transfer, ...), started on the pair's first segment and fed one NUL-terminated segment
at a time: a segment then costs a few milliseconds instead of 0.1-0.4 s of starting a dozen
processes. The pipeline is the pair's mode file with every stage's null-flush flag (``-z``), as
``apertium-wblank-mode -z`` writes it. Two things the ``apertium`` script does not do are needed for
a segment to come back without closing the input: some stages (``lt-proc -b``) flush their output
at a NUL only when it is unbuffered, so the whole pipeline runs under ``stdbuf -o0``; and the text
is escaped for Apertium's stream format here (what ``apertium-destxt`` would do, but it does not
pass NULs on). Read at a NUL rather than at the end of its input, the tagger now and then takes a
fragment's last word another way ("o prefiere": "or prefer", not "or prefers"); the rest is the
same as a call per segment gives. Where those tools or the mode file are missing, each segment is one ``apertium``
call. Every process runs in its own process group: a pipeline that times out or is cancelled
mid-segment is killed whole (a reply it gave later would be taken for the next segment's) and
started again for the next segment.

Apertium marks what it could not handle: ``*word`` unknown to the analyser, ``#word`` a lemma it
could not generate, ``@word`` a transfer gap. Those marks would be read out; they are stripped
(the bare word is usually a name, or close enough to be understood).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal
from collections import deque
from pathlib import Path

from sottovoce.host.translation.pairs import ISO3
from sottovoce.host.translation.translator import TranslationError, Translator

log = logging.getLogger(__name__)

_MARK = re.compile(r"(?<![\w*#@~])[*#@~](?=\w)")
# Characters with a meaning in Apertium's stream format, backslash-escaped in plain text
_SPECIAL = re.compile(r"([\\\[\]^$/@<>{}])")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def strip_marks(text: str) -> str:
    """Apertium's output as words to speak: unknown-word marks removed, whitespace collapsed."""
    return " ".join(_MARK.sub("", text).split())


def escape(text: str) -> str:
    """Plain text as an Apertium stream (NUL, the segment terminator, becomes a space)."""
    return _SPECIAL.sub(r"\\\1", text.replace("\0", " "))


def unescape(stream: str) -> str:
    return _ESCAPED.sub(r"\1", stream)


async def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    await proc.wait()


class _Pipeline:
    """One pair's programs, running, translating one segment at a time."""

    def __init__(self, mode: str, script: str) -> None:
        self.mode = mode
        self.script = script
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: deque[str] = deque(maxlen=3)  # its last words, for the error when it dies
        self._lock = asyncio.Lock()

    async def _start(self) -> asyncio.subprocess.Process:
        # $1 and $2 of a mode file: generation with unknown words marked, the tagger's default mode
        proc = await asyncio.create_subprocess_exec(
            "stdbuf", "-o0", "bash", "-c", self.script, "apertium", "-g", "",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True, limit=1 << 20,
        )  # fmt: skip
        asyncio.get_running_loop().create_task(self._drain(proc), name=f"apertium-{self.mode}-stderr")
        return proc

    async def _drain(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        async for line in proc.stderr:
            self._stderr.append(line.decode(errors="replace").strip())

    async def start(self) -> None:
        async with self._lock:
            await self._running()

    async def _running(self) -> asyncio.subprocess.Process:
        if self._proc is None or self._proc.returncode is not None:
            self._proc = await self._start()
        return self._proc

    async def translate(self, text: str, timeout_s: float) -> str:
        async with self._lock:
            proc = await self._running()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                async with asyncio.timeout(timeout_s):
                    # ended as a line, as ``apertium`` ends it: right before the NUL the analyser drops
                    # a full stop, and transfer a last "la" after a blank
                    proc.stdin.write(escape(text).encode() + b"\n\0")
                    await proc.stdin.drain()
                    out = await proc.stdout.readuntil(b"\0")
            except BaseException as exc:  # the pipeline is mid-segment: it cannot be trusted with the next
                self._proc = None
                await _kill(proc)
                if isinstance(exc, TimeoutError):
                    raise TranslationError(f"apertium {self.mode} timed out after {timeout_s:g} s") from None
                if isinstance(exc, (asyncio.IncompleteReadError, ConnectionError)):
                    reason = self._stderr[-1] if self._stderr else f"exit {proc.returncode}"
                    raise TranslationError(f"apertium {self.mode} failed: {reason}") from None
                raise
            return unescape(out[:-1].decode(errors="replace"))

    async def close(self) -> None:
        if self._proc is not None:
            proc, self._proc = self._proc, None
            await _kill(proc)


class ApertiumTranslator(Translator):
    name = "apertium"

    def __init__(self, timeout_s: float = 10.0, command: str = "apertium", persistent: bool = True) -> None:
        self.timeout_s = timeout_s
        self.command = command
        self.persistent = persistent  # False: one ``apertium`` call per segment
        self._pipelines: dict[str, _Pipeline | None] = {}  # by mode; None: the mode runs per call
        self._setup = asyncio.Lock()

    async def translate(self, text: str, source: str, target: str) -> str:
        if source not in ISO3 or target not in ISO3:
            raise TranslationError(f"apertium: no language code for {source}->{target}")
        text = " ".join(text.split())
        if not text:
            return ""
        mode = f"{ISO3[source]}-{ISO3[target]}"
        path = shutil.which(self.command)
        if path is None:
            raise TranslationError(f"apertium cannot run: {self.command} not found")
        pipeline = await self._pipeline(mode, Path(path))
        if pipeline is not None:
            return strip_marks(await pipeline.translate(text, self.timeout_s))
        return strip_marks(await self._call(text, mode))

    async def warm(self, source: str, target: str) -> None:
        """Start the pair's pipeline now: its programs load their dictionaries (~0.3 s) before the
        first segment rather than while it waits. Nothing happens for a pair it cannot run."""
        path = shutil.which(self.command)
        if source in ISO3 and target in ISO3 and path is not None:
            pipeline = await self._pipeline(f"{ISO3[source]}-{ISO3[target]}", Path(path))
            if pipeline is not None:
                try:
                    await pipeline.start()
                except OSError as exc:  # the first segment will start it again, and fail clearly if it must
                    log.warning("apertium %s could not start: %s", pipeline.mode, exc)

    async def _pipeline(self, mode: str, command: Path) -> _Pipeline | None:
        if not self.persistent:
            return None
        async with self._setup:
            if mode not in self._pipelines:
                self._pipelines[mode] = await self._find_pipeline(mode, command)
        return self._pipelines[mode]

    async def _find_pipeline(self, mode: str, command: Path) -> _Pipeline | None:
        # the mode files sit where the ``apertium`` script looks: <prefix>/share/apertium/modes
        mode_file = command.resolve().parent.parent / "share" / "apertium" / "modes" / f"{mode}.mode"
        tools = [shutil.which(t) for t in ("apertium-wblank-mode", "stdbuf", "bash")]
        if mode_file.is_file() and all(tools):
            proc = await asyncio.create_subprocess_exec(
                "apertium-wblank-mode", "-z", str(mode_file),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            script, _ = await proc.communicate()
            if proc.returncode == 0 and script.strip():
                return _Pipeline(mode, script.decode())
        log.info("apertium %s: no null-flush pipeline (mode file or tools missing); one call per segment", mode)
        return None

    async def _call(self, text: str, mode: str) -> str:
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
            await _kill(proc)
            if isinstance(exc, TimeoutError):
                raise TranslationError(f"apertium {mode} timed out after {self.timeout_s:g} s") from None
            raise
        if proc.returncode != 0:
            reason = err.decode(errors="replace").strip().splitlines()
            raise TranslationError(f"apertium {mode} failed: {reason[-1] if reason else proc.returncode}")
        return out.decode(errors="replace")

    async def aclose(self) -> None:
        for pipeline in self._pipelines.values():
            if pipeline is not None:
                await pipeline.close()
        self._pipelines.clear()
