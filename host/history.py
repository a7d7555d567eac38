"""What was said: the conversation history, and where each word of an answer sits in its audio.

The assistant's side of the history is what the wearer actually *heard*: when the edge reports
that playback was interrupted after N samples, the answer is cut back to the words spoken by then
(per-sentence sample offsets from TTS, proportional within a sentence).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SpokenSentence:
    text: str
    start: int  # first sample of this sentence in the response audio
    end: int  # one past its last speech sample (pauses between sentences excluded)


@dataclass
class SpokenText:
    """The sentences of one response in the order they were sent, with sample offsets."""

    sentences: list[SpokenSentence] = field(default_factory=list)

    def add(self, text: str, start: int, end: int) -> None:
        self.sentences.append(SpokenSentence(text, start, end))

    @property
    def total_samples(self) -> int:
        return self.sentences[-1].end if self.sentences else 0

    def text_until(self, samples: int) -> str:
        """The words a listener has heard after ``samples`` samples of this response."""
        words: list[str] = []
        for s in self.sentences:
            if samples >= s.end:
                words.extend(s.text.split())
                continue
            if samples > s.start:
                sentence_words = s.text.split()
                share = (samples - s.start) / max(1, s.end - s.start)
                words.extend(sentence_words[: int(len(sentence_words) * share)])
            break
        return " ".join(words)

    def full_text(self) -> str:
        return " ".join(s.text for s in self.sentences)


@dataclass
class Exchange:
    user: str
    assistant: str  # as heard by the wearer
    response_id: int = 0
    interrupted: bool = False
    # What a later correction ("no, ten minutes") changes: the request as carried out, with any
    # correction already applied (empty: the words heard), and the timers its answer armed.
    request: str = ""
    timer_ids: tuple[int, ...] = ()

    @property
    def asked(self) -> str:
        return self.request or self.user


class History:
    """The recent exchanges of one session (bounded: old ones fall off)."""

    def __init__(self, max_exchanges: int = 20) -> None:
        self._items: deque[Exchange] = deque(maxlen=max_exchanges)

    def add(self, exchange: Exchange) -> None:
        self._items.append(exchange)

    def __iter__(self):
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def remove(self, response_id: int) -> Exchange | None:
        """Take an exchange back (its turn turned out to be unfinished); the removed one, if any."""
        ex = self.find(response_id)
        if ex is not None:
            self._items.remove(ex)
        return ex

    def find(self, response_id: int) -> Exchange | None:
        for ex in reversed(self._items):
            if ex.response_id == response_id:
                return ex
        return None

    def record_effects(self, response_id: int, request: str, timer_ids: tuple[int, ...]) -> bool:
        """Note what an exchange's answer carried out; False if the exchange is gone."""
        ex = self.find(response_id)
        if ex is None:
            return False
        ex.request, ex.timer_ids = request, timer_ids
        return True

    def last_request(self) -> Exchange | None:
        """The last exchange that answered the wearer (proactive notifications have no request)."""
        return next((ex for ex in reversed(self._items) if ex.asked), None)

    def last_answer(self) -> str | None:
        """The last thing the wearer heard from the assistant (skipping empty, fully cut answers)."""
        for ex in reversed(self._items):
            if ex.assistant:
                return ex.assistant
        return None

    def truncate(self, response_id: int, heard: str) -> bool:
        ex = self.find(response_id)
        if ex is None:
            return False
        ex.assistant, ex.interrupted = heard, True
        return True
