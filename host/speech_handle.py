"""One answer on its way to the wearer's ear, from its first frame to what was actually heard.

After livekit agents' ``SpeechHandle``: whoever says something gets a handle and can see whether
it has started, how much audio went out, whether it was interrupted (cancelled by the host, or
cut short at the ear), how much of it was heard, and whether it is done. The words sit at known
sample offsets (``SpokenText``), so "heard up to N samples" becomes the words heard.
"""

from __future__ import annotations

import asyncio

from sottovoce.host.history import SpokenText
from sottovoce.host.responder import Reply
from sottovoce.host.turn_ledger import AnswerProgress
from sottovoce.proto.codec import FRAME_SAMPLES


class SpeechHandle:
    def __init__(
        self, response_id: int, turn_id: int, user_text: str, reply: Reply, task: asyncio.Task | None = None
    ) -> None:
        self.response_id = response_id
        self.turn_id = turn_id  # 0: proactive speech, an answer to no turn
        self.user_text = user_text
        self.reply = reply
        self.spoken = SpokenText()
        self.sent_samples = 0
        self.started_seq: int | None = None  # newest uplink frame when its first audio went out
        self.heard_samples = 0  # as the edge reported when playback ended
        self.play_until = 0.0  # loop time after which playback is assumed finished
        self._task = task  # the task producing its audio; cancelling the answer cancels it
        self._started = False
        self._done = False
        self._cancelled = False
        self._playback_over = False

    # ------------------------------------------------------------------ producing

    def sentence(self, text: str, speech_samples: int) -> None:
        """The next sentence begins at the next frame; ``speech_samples`` of it are speech."""
        self.spoken.add(text, self.sent_samples, self.sent_samples + speech_samples)

    @property
    def next_frame(self) -> int:
        """The number, within the answer, of the frame to send next."""
        return self.sent_samples // FRAME_SAMPLES

    def frame_sent(self, uplink_seq: int | None) -> None:
        """One more frame went out, while ``uplink_seq`` was the newest frame from the wearer."""
        if not self._started:
            self._started, self.started_seq = True, uplink_seq
        self.sent_samples += FRAME_SAMPLES

    def all_sent(self, play_until: float) -> None:
        self._done, self.play_until = True, play_until

    async def cancel(self) -> bool:
        """Stop producing (no audio may follow); False if it already was cancelled."""
        if self._cancelled:
            return False
        self._cancelled = True
        task = self._task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return True

    # ------------------------------------------------------------------ at the ear

    def playback_ended(self, heard_samples: int) -> None:
        self._playback_over, self.heard_samples = True, heard_samples

    def heard_text(self, samples: int) -> str:
        """The words a listener has heard after ``samples`` samples of this answer."""
        return self.spoken.text_until(samples)

    # ------------------------------------------------------------------ state

    @property
    def started(self) -> bool:
        return self._started

    @property
    def done(self) -> bool:
        """All its audio has been sent."""
        return self._done

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def playback_over(self) -> bool:
        return self._playback_over

    @property
    def active(self) -> bool:
        """Producing, or (as far as the host knows) still playing at the wearer's ear."""
        if self._cancelled or self._playback_over:
            return False
        return not self._done or asyncio.get_running_loop().time() < self.play_until

    def progress(self) -> AnswerProgress:
        """What the turn ledger needs to know to tell a continued turn from a reply to this answer."""
        return AnswerProgress(
            started_seq=self.started_seq,
            heard_samples=self.heard_samples,
            heard_whole=self._playback_over and not self._cancelled,
        )
