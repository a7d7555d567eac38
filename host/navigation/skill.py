"""The words that drive navigation, as a responder in front of the assistant's own chain: "take
me to the cathedral", "take me to the station instead", "how far is it?", "where am I?", "say that
again" (after a cue: the instruction with its distance as it is now), "stop navigation". Anything
else goes on to the assistant, so the wearer can still ask it anything while walking."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sottovoce.host.navigation.navigator import Navigator
from sottovoce.host.responder import Context, Reply, Responder, wants_silence

_GO = re.compile(
    r"\b(?:take|bring|lead|guide|get|walk) me (?:to|towards?)\s+(?P<place>.+)"
    r"|\b(?:navigate|directions|the way|route|go) to\s+(?P<place2>.+)"
    r"|\bhow (?:do|can) i get to\s+(?P<place3>.+)"
)
_INSTEAD = re.compile(r"(?:\s+(?:instead|please|now|then))+$")
_HOW_FAR = re.compile(r"\bhow (?:far|much further|much farther)\b|\bhow long (?:is it|will it take|to go|left)\b"
                      r"|\bare we (?:there|nearly there)\b")  # fmt: skip
_WHERE = re.compile(r"\bwhere am i\b|\bwhere are we\b")
_REPEAT = re.compile(r"\b(?:repeat(?: that| it)?|say (?:that|it) again|come again|one more time|pardon)\b")
_STOP = re.compile(r"\b(?:stop|cancel|end|quit|turn off)\b.*\b(?:navigation|navigating|directions|route|guidance)\b")


def _words(transcript: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w' ]+", " ", transcript.lower())).strip()


@dataclass
class NavigationSkill:
    navigator: Navigator

    def match(self, transcript: str, ctx: Context) -> Reply | None:
        text = _words(transcript)
        if _STOP.search(text):
            return Reply(self.navigator.stop())
        go = _GO.search(text)
        if go is not None:
            place = _INSTEAD.sub("", go["place"] or go["place2"] or go["place3"])
            return Reply(self.navigator.go_to(place))
        if _HOW_FAR.search(text) and "timer" not in text:
            return Reply(self.navigator.how_far())
        if _WHERE.search(text):
            return Reply(self.navigator.where_am_i())
        if _REPEAT.search(text) and self.navigator.last_cue and ctx.history.last_answer() == self.navigator.last_cue:
            return Reply(self.navigator.repeat() or self.navigator.last_cue)
        return None


@dataclass
class NavigationResponder(Responder):
    """The navigation skill first, then ``inner`` (the assistant's chain) for everything else."""

    skill: NavigationSkill
    inner: Responder

    async def respond(self, transcript: str, ctx: Context) -> Reply | None:
        if wants_silence(transcript):
            return None
        return self.skill.match(transcript, ctx) or await self.inner.respond(transcript, ctx)
