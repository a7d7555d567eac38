"""How likely the words heard so far are the whole of the wearer's message: the language side of
end-of-turn detection, from the offline language model the host already ships.

SmolLM2-135M-Instruct (``llm.offline_model_path``) is given the transcript as a user message of
its chat template, left open, and asked for its next token. What it gives the end of the message
(``<|im_end|>``) and a sentence's end mark ("." "?" "!") is how sure it is that the words are
over: "remind me to call my" leaves both near 1e-10, "set a timer for ten minutes" near 0.3. This
is the turn detector of LiveKit, with the same model family unfine-tuned. The text is lower-cased
and stripped of Whisper's punctuation first: Whisper closes every fragment with a full stop, and
a model shown one would read every pause as an end. The model's words are read once per TurnHint,
so nothing here is streamed.

The model is a second ``Llama`` instance on the responder's GGUF: the weights are memory-mapped
and shared between them, and its own context (a few dozen tokens) costs a few MB. The template's
opening is evaluated once and kept between readings.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sottovoce.host.llm import LlmError, offline_model_path
from sottovoce.tools.options import option

# The user turn opened, never closed: the model's next token says whether it would close it.
# No system message: the template's default one ("You are a helpful AI assistant named SmolLM")
# would add 20 tokens to every reading and says nothing about where a message ends.
PROMPT = "<|im_start|>user\n{text}"
END_TOKEN = "<|im_end|>"
END_MARKS = (".", "?", "!")
MAX_WORDS = 48  # the message's last words: an end is decided by how the message closes


@dataclass(frozen=True)
class EndOfUtteranceConfig:
    eou_context_tokens: int = option(128, "the end-of-utterance model's context window", metavar="N")
    eou_threads: int = option(1, "CPU threads for the end-of-utterance model", metavar="N")


def normalise(text: str) -> str:
    """Lower-case words without punctuation, the last ``MAX_WORDS`` of them ("Set a timer, for
    ten." -> "set a timer for ten")."""
    return " ".join(re.findall(r"[\w']+", text.lower())[-MAX_WORDS:])


class EndOfUtterance:
    """P(the message ends here | its words), one blocking call per reading; thread-safe (one
    reading at a time: a ``Llama`` is not safe to share between threads)."""

    def __init__(self, path: Path | None = None, config: EndOfUtteranceConfig | None = None) -> None:
        config = config or EndOfUtteranceConfig()
        try:
            import llama_cpp
        except ImportError as exc:
            raise LlmError(f"llama-cpp-python is not installed: {exc}") from None
        path = path or offline_model_path()
        try:
            self._llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=config.eou_context_tokens,
                n_threads=config.eou_threads,
                n_threads_batch=config.eou_threads,
                verbose=False,
            )
        except ValueError as exc:
            raise LlmError(f"cannot load {path}: {exc}") from None
        self._logits_of = llama_cpp.llama_get_logits_ith
        self._opening = self._tokens(PROMPT.format(text=""))
        self._end = self._token(END_TOKEN, special=True)
        self._marks = [self._token(m, special=False) for m in END_MARKS]
        self._lock = threading.Lock()

    def _tokens(self, text: str) -> list[int]:
        return self._llama.tokenize(text.encode(), add_bos=False, special=True)

    def _token(self, text: str, special: bool) -> int:
        tokens = self._llama.tokenize(text.encode(), add_bos=False, special=special)
        if len(tokens) != 1:
            raise LlmError(f"{text!r} is not one token of this model: {tokens}")
        return tokens[0]

    def probability(self, text: str) -> float:
        """How likely the message is over after ``text`` (0.0 for no words): the model's
        probability that the next token ends the message or its sentence."""
        words = normalise(text)
        if not words:
            return 0.0
        tokens = self._tokens(PROMPT.format(text=words))
        while len(tokens) > self._llama.n_ctx() and " " in words:  # long words: fewer of them
            words = words.split(" ", 1)[1]
            tokens = self._tokens(PROMPT.format(text=words))
        opening = len(self._opening)
        with self._lock:
            # The template's opening is evaluated once and kept; the words always from there, in
            # one batch: llama.cpp's sums depend on how tokens are batched, and the same words
            # must always read the same.
            if tokens[:opening] != self._opening:
                self._llama.reset()
                self._llama.eval(tokens)
            else:
                if self._llama.n_tokens < opening or self._llama.input_ids[:opening].tolist() != self._opening:
                    self._llama.reset()
                    self._llama.eval(self._opening)
                self._llama.n_tokens = opening
                self._llama.eval(tokens[opening:])
            logits = np.ctypeslib.as_array(self._logits_of(self._llama.ctx, -1), shape=(self._llama.n_vocab(),))
            z = logits.astype(np.float64)
        p = np.exp(z - z.max())
        p /= p.sum()
        return float(p[self._end] + p[self._marks].sum())

    def close(self) -> None:
        self._llama.close()
