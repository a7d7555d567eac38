"""When a cue is said, and proactive speech's one rule: never over the wearer, urgent cues in a
pause, stale ones dropped or re-worded, the newest for the same thing kept."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sottovoce.host.navigation.cues import CueConfig, spoken_s, turn_cue_due, turn_cue_now
from sottovoce.host.navigation.instructions import Step
from sottovoce.host.proactive import GIVE_WAY_MS, ProactiveQueue, began_with, gives_way, may_speak, original
from sottovoce.proto.codec import FRAME_MS
from sottovoce.proto.timeline import AUDIO_SEQ

LEFT = Step(at_m=300.0, angle=-90.0, street="Aleksanterinkatu", lat=60.17, lon=24.95)
CFG = CueConfig()


@given(speed=st.floats(0.8, 2.0), chars_per_s=st.floats(CFG.chars_per_s, 20.0), render_s=st.floats(0.1, 0.5))
def test_a_cue_started_when_due_finishes_10_to_40_m_before_the_turn(speed, chars_per_s, render_s):
    """Walked metre by metre at ``speed``: the cue starts the first time it is due and is heard
    ``render_s`` later for as long as the voice takes to say it (at any pace up to 20 characters a
    second: the planner assumes the slowest)."""
    to_turn = 120.0
    while not turn_cue_due(LEFT, to_turn, speed, CFG):
        to_turn -= 0.1
    cue = turn_cue_now(LEFT, to_turn, speed, CFG)
    assert cue is not None and "turn left onto Aleksanterinkatu" in cue.text
    finished_at = to_turn - speed * (render_s + len(cue.text) / chars_per_s)
    assert CFG.min_lead_m <= finished_at <= CFG.max_lead_m, (to_turn, cue.text, finished_at)


def test_its_distance_is_what_is_left_when_it_is_heard_and_near_the_turn_it_is_urgent():
    cue = turn_cue_now(LEFT, 40.0, 1.4, CFG)
    assert cue.text == "In 40 metres, turn left onto Aleksanterinkatu." and not cue.urgent
    now = turn_cue_now(LEFT, 12.0, 1.4, CFG)
    assert now.text == "Now turn left onto Aleksanterinkatu." and now.urgent
    assert turn_cue_now(LEFT, -3.0, 1.4, CFG) is None  # the turn is behind: nothing to say
    assert spoken_s(cue.text, CFG) == pytest.approx(len(cue.text) / CFG.chars_per_s)


def test_the_rule_for_speaking_unasked():
    assert may_speak(urgent=False, wearer_talking=False, wearer_paused=False, answer_playing=False)
    assert not may_speak(urgent=False, wearer_talking=True, wearer_paused=True, answer_playing=False)
    assert may_speak(urgent=True, wearer_talking=True, wearer_paused=True, answer_playing=False)
    assert not may_speak(urgent=True, wearer_talking=True, wearer_paused=False, answer_playing=False)
    assert not may_speak(urgent=True, wearer_talking=False, wearer_paused=False, answer_playing=True)


@dataclass
class Item:
    key: str
    text: str | None
    urgent: bool = False

    def text_now(self) -> str | None:
        return self.text


def test_the_queue_keeps_the_newest_per_key_drops_the_stale_and_counts_what_it_cannot_keep():
    q = ProactiveQueue(max_queued=2)
    assert q.offer(Item("turn-1", "In 30 metres, turn left."))
    assert q.offer(Item("turn-1", "In 20 metres, turn left."))  # replaces, not queued twice
    assert q.offer(Item("timer-1", None))  # gone stale by the time it could be said
    assert not q.offer(Item("timer-2", "Your timer is done."))  # full: refused and counted
    assert q.counters.replaced == 1 and q.counters.dropped_full == 1 and len(q) == 2
    assert q.take(wearer_talking=True, wearer_paused=False, answer_playing=False) is None
    _, text = q.take(wearer_talking=False, wearer_paused=False, answer_playing=False)
    assert text == "In 20 metres, turn left."
    assert q.take(wearer_talking=False, wearer_paused=False, answer_playing=False) is None
    assert q.counters.stale == 1 and q.counters.taken == 1 and len(q) == 0


def test_an_urgent_item_goes_first_and_in_a_pause():
    q = ProactiveQueue(max_queued=4)
    q.offer(Item("timer-1", "Your timer is done."))
    q.offer(Item("turn-2", "Now turn right.", urgent=True))
    item, text = q.take(wearer_talking=True, wearer_paused=True, answer_playing=False)
    assert item.key == "turn-2" and text == "Now turn right."
    assert q.take(wearer_talking=True, wearer_paused=True, answer_playing=False) is None  # the timer waits
    q.put_back(item)  # the wearer began talking while it was rendered: first in line again
    assert q.counters.held_back == 1 and len(q) == 2
    again, _ = q.take(wearer_talking=False, wearer_paused=False, answer_playing=False)
    assert again.key == "turn-2"


@given(first_seq=st.integers(0, 2**32 - 1), onset_frames=st.integers(-200, 200))
def test_proactive_speech_gives_way_to_speech_begun_before_it_or_in_its_first_300_ms(first_seq, onset_frames):
    """On the audio's clock, across the wrap of the uplink's frame numbers: an onset before the
    item's first frame, or up to 300 ms (15 frames) after it, began with it; a later one did not."""
    onset_seq = AUDIO_SEQ.add(first_seq, onset_frames)
    assert began_with(first_seq, onset_seq) == (onset_frames * FRAME_MS <= GIVE_WAY_MS)
    assert began_with(first_seq, onset_seq) == (onset_frames <= 15)
    assert gives_way(onset_frames * FRAME_MS) == began_with(first_seq, onset_seq)


class Counted(Item):
    """An item whose words are asked for each time it is to be said (how a cue is re-worded)."""

    def __init__(self, key: str, texts: list[str]) -> None:
        super().__init__(key, texts[0])
        self._texts = texts

    def text_now(self) -> str | None:
        return self._texts.pop(0)


def test_an_item_that_gave_way_is_first_in_line_again_counted_and_said_in_its_words_of_then():
    q = ProactiveQueue(max_queued=4)
    q.offer(Item("timer-1", "Your timer is done."))
    q.offer(Counted("turn-2", ["In 30 metres, turn right.", "In 15 metres, turn right."]))
    q.take(wearer_talking=False, wearer_paused=False, answer_playing=False)  # the timer, said
    item, text = q.take(wearer_talking=False, wearer_paused=False, answer_playing=False)
    assert text == "In 30 metres, turn right."
    q.offer(Item("timer-3", "Your tea is ready."))
    q.give_way(item)  # the wearer began talking with it
    assert q.counters.gave_way == 1 and q.counters.held_back == 0 and len(q) == 2
    assert q.take(wearer_talking=True, wearer_paused=False, answer_playing=False) is None  # their turn first
    again, text = q.take(wearer_talking=False, wearer_paused=False, answer_playing=False)
    assert again.key == "turn-2" and text == "In 15 metres, turn right."
    q.offer(Item("turn-2", "Now turn right."))  # a newer cue for the same turn wins over one given back
    q.give_way(again)
    assert (
        len(q) == 2
        and q.take(wearer_talking=False, wearer_paused=False, answer_playing=False)[1] == "Your tea is ready."
    )


FREE = {"wearer_talking": False, "wearer_paused": False, "answer_playing": False}


def test_an_item_the_wearer_stopped_is_said_again_after_their_turn_reworded_and_once_at_most():
    q = ProactiveQueue(max_queued=4)
    q.offer(Counted("turn-2", ["In 30 metres, turn right.", "In 15 metres, turn right.", "Now turn right."]))
    item, text = q.take(**FREE)
    assert text == "In 30 metres, turn right."
    q.stopped(item)  # the wearer's question stopped it after its first words
    assert q.counters.stopped == 1 and len(q) == 0  # not said during their turn, not even in a pause
    assert q.take(wearer_talking=True, wearer_paused=True, answer_playing=False) is None
    q.offer(Item("timer-1", "Your timer is done."))
    q.after_turn(wanted_silence=False)  # their turn is over, its answer under way
    assert q.counters.resumed == 1 and len(q) == 2
    assert q.take(wearer_talking=False, wearer_paused=False, answer_playing=True) is None  # after the answer
    again, text = q.take(**FREE)
    assert original(again) is item and text == "In 15 metres, turn right."  # first in line, in its words of then
    q.stopped(again)  # stopped a second time: not a third
    q.after_turn(wanted_silence=False)
    assert q.counters.stopped_again == 1 and q.counters.resumed == 1
    assert q.take(**FREE)[1] == "Your timer is done." and q.take(**FREE) is None


def test_an_item_stopped_by_a_bare_request_for_quiet_is_dropped_and_a_newer_one_wins_over_one_stopped():
    q = ProactiveQueue(max_queued=4)
    q.offer(Item("timer-1", "Your timer is done."))
    item, _ = q.take(**FREE)
    q.stopped(item)
    q.after_turn(wanted_silence=True)  # "Stop."
    assert q.counters.silenced == 1 and q.counters.resumed == 0 and len(q) == 0
    q.offer(Item("turn-2", "In 30 metres, turn right."))
    item, _ = q.take(**FREE)
    q.stopped(item)
    q.offer(Item("turn-2", "Now turn right."))  # the next cue for the same turn, due during the wearer's turn
    q.after_turn(wanted_silence=False)
    assert q.counters.replaced == 1 and q.counters.resumed == 0
    assert q.take(**FREE)[1] == "Now turn right." and q.take(**FREE) is None


@given(
    ops=st.lists(
        st.tuples(st.sampled_from(["offer", "take", "stop", "turn", "quiet", "give_way"]), st.integers(0, 3)),
        max_size=60,
    )
)
def test_whatever_the_wearer_does_an_item_is_said_again_at_most_once_after_being_stopped(ops):
    """Offers, takes, items stopped or given way, turns over in any order: the queue and the items
    waiting for a turn stay within bounds, and no item is taken again after being stopped twice."""
    q = ProactiveQueue(max_queued=3)
    offered: list[Item] = []  # kept alive: their ids name them
    stops: dict[int, int] = {}  # id of the item as offered -> times stopped
    current = None
    for op, n in ops:
        if op == "offer":
            offered.append(Item(f"k{n}", f"text {n}"))
            q.offer(offered[-1])
        elif op == "take" and current is None:
            taken = q.take(**FREE)
            if taken is not None:
                current = taken[0]
                assert stops.get(id(original(current)), 0) < 2  # never after a second stop
        elif op == "stop" and current is not None:
            stops[id(original(current))] = stops.get(id(original(current)), 0) + 1
            q.stopped(current)
            current = None
        elif op == "give_way" and current is not None:
            q.give_way(current)
            current = None
        elif op in ("turn", "quiet"):
            q.after_turn(wanted_silence=op == "quiet")
        # what is queued, plus what was given back or said again, first in line
        assert len(q) <= 2 * q.max_queued
    c = q.counters
    assert c.stopped_again <= c.resumed  # only an item said again can be stopped again
    assert c.stopped + c.stopped_again == sum(stops.values())
