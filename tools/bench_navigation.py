"""`sottovoce bench navigation`: walking cues on simulated walks through real Helsinki streets.

Five routes between named places of the shipped OpenStreetMap extract. On each, the wearer walks
the simulator's own walk model (``firmware_sim.walk``: the walk the stack walks) at 1.4 m/s with
GPS noise (a slowly drifting error of ``gps_noise_m``, one fix a second), looks around now and
then, stops at a crossing, takes one wrong turn (walks down the wrong street, 35 m at most, and
turns onto the new route once told it is off the route, or walks back) and talks a lot: a few
seconds every 10-20 s, and asks "how far is it?" halfway. The host's own
navigator, cue timing and proactive-speech rule (``host.proactive``) run on a simulated clock fed
those poses; every cue's length is its real whispered TTS audio, the time to render it is
measured, and the answer to the question goes through the real navigation skill and TTS.

A cue plays out against the wearer's speech as the live stack plays it: speech the edge hears
begin over a cue is ducked at once; a cue the wearer began talking with (``host.proactive``'s
``gives_way``: they had begun, unheard yet, or began within its first moments) is withdrawn when
the host hears of the onset, ``ONSET_DELAY_S`` after it, and said again later; speech that begins
over a cue later stops it, as a barge-in stops an answer, and the cue is queued again when the
wearer's turn is over (its end confirmed, ``END_CONFIRM_S`` after it), to be said after the answer,
if there is one, in its words of then (``ProactiveQueue.stopped`` / ``after_turn``).

Measured per turn of the route: how far before the turn its cue finished (10-40 m is right);
off-route detection time, from when the wearer is truly ``LEFT_M`` off the route after the wrong
turn, and re-routes while they were on the route they were guided along (false); cues that played
on over the wearer's speech for more than ``OVER_WEARER_S`` (and, apart, cues that gave way and cues
the wearer stopped); sides said wrong (``wrong_side``: the turn or place is on the other side, or
within ``SIDE_TOLERANCE_DEG`` of dead ahead or behind), judged from the wearer's true direction of
travel as they come up to the corner (turns: "turn left" is told for the corner, and a street may
bend between the cue and it) or true head heading and position at that moment (the destination's
side); question end -> first answer sample.

    sottovoce bench navigation [--json FILE] [--fast] [--stack]

``--stack`` walks one short route through the simulator, edge and host instead, as ``sottovoce demo
--scenario navigation_short`` does (the simulator walks its ``[walk]``, serves its GPS as gpsd, and
the edge sends the poses), and reports the same keys measured there, at the simulated ear against
the simulator's true walk (``tools.demo.analyse_navigation``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sottovoce.firmware_sim.walk import (
    DEFAULT_GPS_NOISE_M,
    DEFAULT_SPEED_MPS,
    Look,
    Stop,
    Walk,
    WalkSample,
    turned_onto,
    walk_samples,
)
from sottovoce.host.navigation.cues import Cue
from sottovoce.host.navigation.instructions import BEARING_SPAN_M, MERGE_M, Step, bearing_along, steps_of
from sottovoce.host.navigation.navigator import CueAnnouncement, Navigator
from sottovoce.host.navigation.osm_map import DEFAULT_MAP, WalkMap, load_map
from sottovoce.host.navigation.progress import Fix, Tracker
from sottovoce.host.navigation.router import Route, route
from sottovoce.host.proactive import ProactiveQueue, gives_way, may_speak, original
from sottovoce.host.responder import split_speech_units
from sottovoce.proto.geo import bearing_between, destination, distance_m, turn_deg
from sottovoce.tools.options import add_logging_option, add_options, config_from, fail, option, setup_logging

PROGRAM = "bench navigation"
ROUTES = (
    ("station", "cathedral"),
    ("Kiasma", "old market hall"),
    ("Ateneum", "music centre"),
    ("Oodi", "cathedral"),
    ("cathedral", "Kiasma"),
)
WRONG_WAY_M = 35.0  # down the wrong street before turning back (about 25 s)
TICK_S = 0.1
ONSET_DELAY_S = 0.2  # the edge hears the wearer begin this long after they do
END_CONFIRM_S = 0.5  # the edge confirms the end of the wearer's turn this long after it
OVER_WEARER_S = 0.3  # a cue at full level over the wearer's speech for longer talked over them
CUE_LEAD_OK = (10.0, 40.0)
ARRIVING_M = 4.0  # this far before a corner the wearer still walks the street leading to it
# The wearer has left the route once truly this far from it (a pavement's width): the off-route
# detection time runs from then. Going straight on at a right-angle corner that is 3 m past it; on
# a street forking off at a shallow angle, later - before, no fix could tell them off it.
LEFT_M = 3.0
# A side said ("left", "slightly left") is wrong when the place or turn is not at least this far
# to that side of dead ahead (or of dead behind), by the wearer's true heading and position: on
# the other side, or straight ahead or behind. A place 30 degrees to the left may be "ahead of
# you, slightly left" or "on your left"; neither is wrong.
SIDE_TOLERANCE_DEG = 10.0


@dataclass
class BenchNavigationConfig:
    json: Path | None = option(None, "also write the figures here", type=Path, metavar="FILE")
    fast: bool = option(False, "two routes, cue lengths from the voice's pace instead of rendering each")
    stack: bool = option(False, "one short walk through simulator + edge + host instead")
    seed: int = option(7, "random seed of the noise, the chatter and the looks")
    gps_noise_m: float = option(DEFAULT_GPS_NOISE_M, "GPS error, metres (drifting, horizontal RMS)")
    scenario_out: Path | None = option(
        None, "write the first route's walk as a scenario [walk] table here", type=Path, metavar="FILE"
    )


# ---------------------------------------------------------------------------------- the walk


def wrong_turn_walk(walk_map: WalkMap, planned: Route, turn: Step, noise_m: float) -> tuple[Walk, float]:
    """The planned route walked with one wrong turn at ``turn`` (``WRONG_WAY_M`` down the street
    that is not the route's, then back) and a stop at the first crossing; the distance walked at
    which the wearer leaves the route."""
    k = next(i for i, a in enumerate(planned.along_m) if abs(a - turn.at_m) < 0.01)
    node = planned.nodes[k]
    back_bearing = bearing_between(*planned.points[k], *planned.points[k - 1])
    right_bearing = bearing_between(*planned.points[k], *planned.points[k + 1])
    options = []
    for nb in walk_map.graph.successors(node):
        b = bearing_between(*planned.points[k], *walk_map.position(nb))
        if abs(turn_deg(b, back_bearing)) > 45 and abs(turn_deg(b, right_bearing)) > 45:
            options.append((abs(turn_deg(bearing_between(*planned.points[k - 1], *planned.points[k]), b)), nb))
    wrong: list[tuple[float, float]] = []
    if options:  # the straightest way that is not the route's: walk it
        prev, cur, walked = node, min(options)[1], 0.0
        wrong.append(walk_map.position(cur))
        walked += distance_m(*walk_map.position(prev), *walk_map.position(cur))
        while walked < WRONG_WAY_M:
            heading = bearing_between(*walk_map.position(prev), *walk_map.position(cur))
            nexts = [n for n in walk_map.graph.successors(cur) if n != prev]
            if not nexts:
                break
            nb = min(nexts, key=lambda n: abs(turn_deg(heading, bearing_between(*walk_map.position(cur),
                                                                              *walk_map.position(n)))))  # fmt: skip
            prev, cur = cur, nb
            wrong.append(walk_map.position(cur))
            walked += distance_m(*walk_map.position(prev), *walk_map.position(cur))
    else:  # no other way at that corner: walk straight on, off the map's ways
        wrong.append(destination(*planned.points[k], back_bearing + 180, WRONG_WAY_M))
    path = list(planned.points[: k + 1]) + wrong + list(reversed(wrong[:-1])) + list(planned.points[k:])
    crossing = next((a for a, name in zip(planned.along_m, planned.names, strict=False) if name == "the crossing"), 30)
    start_heading = bearing_between(*planned.points[0], *planned.points[min(2, len(planned.points) - 1)])
    looks = tuple(Look(20.0 + 37.0 * n, (-70.0, 80.0, -100.0)[n % 3], 2.5) for n in range(12))
    walk = Walk(tuple(path), DEFAULT_SPEED_MPS, noise_m, start_heading, (Stop(crossing, 8.0),), looks)
    return walk, planned.along_m[k]


# ---------------------------------------------------------------------------------- the run


@dataclass
class Speech:
    start: float
    end: float


@dataclass
class SaidCue:
    t_start: float  # first sample at the ear
    t_end: float
    text: str
    step: Step | None
    route_id: int
    over_wearer: bool
    side_error: bool
    walked_m_at_end: float


@dataclass
class RouteResult:
    name: str
    length_m: float
    turns: int
    cue_leads_m: list[float | None]
    cue_lead_ok: int
    cues_over_wearer: int
    left_right_errors: int
    off_route_detect_s: float | None
    reroutes: int
    false_off_route: int  # re-routed while on the route: before the wrong turn, or on the route they followed after it
    answer_latency_s: float
    stale_dropped: int
    transcript: list[str]
    cues_gave_way: int = 0  # withdrawn as the wearer began talking, said again later
    cues_interrupted: int = 0  # stopped by the wearer's speech begun over them later
    cues_said_again: int = 0  # stopped by the wearer, queued again after their turn


class Voice:
    """Cue lengths: the real whispered voice (rendered, timed), or its pace (``--fast``)."""

    def __init__(self, render: bool) -> None:
        self.render = render
        self._voice = None
        self._cache: dict[str, tuple[float, float]] = {}
        if render:
            from sottovoce.host.tts import make_engine
            from sottovoce.host.whisper import WhisperVoice

            self._voice = WhisperVoice(make_engine("piper"))

    def say(self, text: str) -> tuple[float, float]:
        """(seconds to render, seconds of speech)."""
        if text not in self._cache:
            if self._voice is None:
                self._cache[text] = (0.15, len(text) / 16.5)
            else:
                began = time.perf_counter()
                pcm = self._voice.speak(text)
                self._cache[text] = (time.perf_counter() - began, len(pcm) / 16000)
        return self._cache[text]


def _chatter(duration_s: float, rng: random.Random) -> list[Speech]:
    talk, t = [], 6.0
    while t < duration_s:
        length = rng.uniform(2.0, 4.0)
        talk.append(Speech(t, t + length))
        t += length + rng.uniform(8.0, 16.0)
    return talk


def _instruction(text: str) -> str:
    """A turn's instruction in a cue ("turn left, then right onto ..."): a departure that says the
    first turn ("Go right along Postikatu. In 15 metres, turn left ...") names a way to set off
    before it; "" when the instruction was not reached."""
    at = text.rfind("turn ")
    return text[at:] if at >= 0 else ""


def wrong_side(said: str, rel_deg: float) -> bool:
    """Whether ``said`` ("left" or "right") is the wrong side for something at ``rel_deg`` from the
    wearer's heading (positive right): see ``SIDE_TOLERANCE_DEG``."""
    toward = rel_deg if said == "right" else -rel_deg
    return not SIDE_TOLERANCE_DEG <= toward <= 180.0 - SIDE_TOLERANCE_DEG


def _side_word(text: str) -> str | None:
    """The first side a text names ("turn right, then left": right)."""
    found = [(text.find(f" {word}"), word) for word in ("left", "right") if f" {word}" in text]
    return min(found)[1] if found else None


def planned_walk(
    walk_map: WalkMap, index: int, origin: str, goal: str, cfg: BenchNavigationConfig
) -> tuple[Route, list[Step], Walk, float]:
    """Route ``index`` from ``origin`` to ``goal``, its turns, the walk with its wrong turn (at the
    middle turn) and the distance walked when the wearer leaves the route."""
    start_place, goal_place = walk_map.find_place(origin), walk_map.find_place(goal)
    assert start_place is not None and goal_place is not None, (origin, goal)
    planned = route(walk_map, walk_map.nearest_node(start_place.lat, start_place.lon)[0],
                    walk_map.nearest_node(goal_place.lat, goal_place.lon)[0])  # fmt: skip
    steps = steps_of(planned)
    walk, leave_m = wrong_turn_walk(walk_map, planned, steps[len(steps) // 2], cfg.gps_noise_m)
    return planned, steps, walk, leave_m


def run_route(
    walk_map: WalkMap, index: int, origin: str, goal: str, voice: Voice, cfg: BenchNavigationConfig
) -> RouteResult:
    rng = random.Random(cfg.seed + index)
    goal_place = walk_map.find_place(goal)
    assert goal_place is not None
    planned, steps, walk, leave_m = planned_walk(walk_map, index, origin, goal, cfg)
    samples = list(walk_samples(walk, 1 / TICK_S, cfg.seed + index))
    duration = samples[-1].t_s
    talk = _chatter(duration, rng)
    ask_at = duration / 2
    talk = [s for s in talk if s.end < ask_at - 1 or s.start > ask_at + 8]
    question = Speech(ask_at, ask_at + 1.2)
    talk.append(question)

    navigator = Navigator(walk_map)
    queue = ProactiveQueue(8)
    transcript: list[str] = []
    said: list[SaidCue] = []
    playing_until = -1.0
    routes: list[Route] = []
    answer_latency = 0.0
    asked = False
    leave_t = next(s.t_s for s in samples if s.distance_m >= leave_m and _off_m(planned, s) > LEFT_M)
    detect_t: float | None = None
    false_off_route = 0
    interrupted = 0
    turn_over_at: float | None = None  # the end of the turn that stopped a cue, confirmed
    rng_heading = np.random.default_rng(cfg.seed + 100 + index)

    def pose(s: WalkSample) -> None:
        fix = Fix(s.t_s, s.fix.latitude_deg, s.fix.longitude_deg, s.fix.accuracy_m) if s.fix else None
        heading = (s.heading_deg + rng_heading.normal(0, 5)) % 360  # the edge's fused heading
        for cue in navigator.on_pose(fix, heading):
            queue.offer(CueAnnouncement(navigator, cue))

    went = navigator.go_to(goal)
    transcript.append(f"{0.0:6.1f}s  wearer: take me to the {goal}  ->  {went}")
    followed: list[Step] = []  # the turns of the re-route the wearer turned onto
    followed_from = (0.0, 0.0)  # ... from this distance walked (less a metre: two measures of it), told then
    k = 0
    while k < len(samples):  # the walk may change under way: the wearer follows a re-route
        s = samples[k]
        k += 1
        if s.gps_report:
            reroutes, guided = navigator.counters.reroutes, navigator.route
            pose(s)
            if navigator.route is not None and (not routes or routes[-1] is not navigator.route):
                routes.append(navigator.route)
            if navigator.counters.reroutes > reroutes:
                if detect_t is None and s.t_s >= leave_t - 3:
                    detect_t = s.t_s
                elif detect_t is None or (guided is not None and _off_m(guided, s) <= LEFT_M):
                    false_off_route += 1  # before the wrong turn, or later on the route they were guided along
        talking, paused = _floor(talk, s.t_s)
        if turn_over_at is not None and s.t_s >= turn_over_at:
            queue.after_turn(wanted_silence=False)  # the wearer's chatter and questions are no call for quiet
            turn_over_at = None
        if not asked and s.t_s >= question.end:
            asked = True
            began = time.perf_counter()
            answer = navigator.how_far()
            responded = time.perf_counter() - began
            render, _ = voice.say(split_speech_units(answer)[0])  # the first piece is what the wearer waits for
            answer_latency = responded + render
            _, whole = voice.say(answer)
            start = max(s.t_s, playing_until) + answer_latency
            playing_until = start + whole
            transcript.append(f"{s.t_s:6.1f}s  wearer: how far is it?  ->  {answer}")
        if s.t_s < playing_until:
            continue
        taken = queue.take(talking, paused, False)
        if taken is None:
            continue
        item, text = taken
        render, length = voice.say(text)
        t0 = s.t_s + render
        if not may_speak(item.urgent, *_floor(talk, t0), False):  # rendered, the session looks again
            queue.put_back(item)
            continue
        playing_until, over_s, outcome = played_out(talk, t0, length)
        over = over_s > OVER_WEARER_S
        fix_now = _sample_at(samples, t0)
        where = (
            f"{t0:6.1f}s  at {fix_now.latitude_deg:.5f},{fix_now.longitude_deg:.5f} facing {fix_now.heading_deg:3.0f}"
        )
        # what reached the ear, at the voice's even pace, before it stopped
        heard = text[: round(len(text) * min(1.0, (playing_until - t0) / length))]
        if outcome == GAVE_WAY:
            queue.give_way(item)
        elif outcome == INTERRUPTED:
            interrupted += 1
            queue.stopped(item)
            turn_over_at = next(sp.end for sp in talk if sp.start == playing_until) + END_CONFIRM_S
        cue: Cue = original(item).cue
        said_side = _side_word(_instruction(heard) if cue.step is not None else heard)
        if outcome != "whole":
            transcript.append(f"{where}  heard: {heard}...  [{outcome} after {playing_until - t0:.2f} s]")
            # a cue given way is said again; one stopped by the wearer too, after their turn, and
            # it counts for its corner if its side was heard
            if outcome == GAVE_WAY or said_side is None:
                continue
        end = _sample_at(samples, playing_until)
        rerouted = cue.key == "depart" and navigator.counters.reroutes > 0
        if rerouted and outcome == "whole" and not followed and navigator.route is not None:
            # told the new way (the re-route whole, or, when they stopped it, said again as its first
            # turn), the wearer turns onto it where they are when the cue ends (before its turn's
            # side is judged: a re-route may say its first turn, on the walk they now take)
            followed, followed_from = steps_of(navigator.route), (end.distance_m - 1.0, t0)
            walk = turned_onto(walk, end.distance_m, joined(navigator.route, followed, end))
            i = samples.index(end)
            samples[i + 1 :] = list(walk_samples(walk, 1 / TICK_S, cfg.seed + index))[i + 1 :]
        side_error = False
        step = cue.step
        if step is not None and said_side:
            active = navigator.route or routes[-1]
            # a corner mapped as a few short ways (a crossing) bends more than once within MERGE_M:
            # the way out is read across the whole corner, as the instructions read it
            out_bearing = bearing_along(active, step.at_m, min(active.length_m, step.at_m + MERGE_M + BEARING_SPAN_M))
            arriving = _arriving(samples, t0, step.lat, step.lon)
            side_error = wrong_side(said_side, turn_deg(arriving.body_heading_deg, out_bearing))
        elif cue.key == "arrive" and said_side:
            now = _sample_at(samples, t0)
            to_goal = bearing_between(now.latitude_deg, now.longitude_deg, goal_place.lat, goal_place.lon)
            side_error = wrong_side(said_side, turn_deg(now.heading_deg, to_goal))
        said.append(SaidCue(t0, playing_until, text, step, len(routes), over, side_error, end.distance_m))
        if outcome == "whole":
            transcript.append(
                f"{where}  heard: {text}"
                + ("  [over the wearer]" if over else "")
                + ("  [wrong side]" if side_error else "")
            )
        elif side_error:
            transcript[-1] += "  [wrong side]"
    # per turn walked (the planned route's up to the wrong turn, then those of the route the wearer
    # followed, if they did, counted from where and when they were told it): where its cue
    # finished, measured along the true walk
    turns = [(step, 0.0) for step in steps if step.at_m <= leave_m + 0.5 or not followed]
    turns += [(step, followed_from[0]) for step in followed]
    leads: list[float | None] = []
    for (step, from_m), passed in zip(turns, _turn_passages(walk, turns), strict=True):
        # its cue: the last one for this corner said before the wearer reached it (the route after
        # the wrong turn is another Route, with its own Steps at the same corners)
        cue_end = None
        told = followed_from[1] if from_m else 0.0
        for c in said:
            if c.step is not None and c.t_start >= told and distance_m(c.step.lat, c.step.lon, step.lat, step.lon) < 3:
                if passed is None or c.walked_m_at_end <= passed + 1:
                    cue_end = c
        leads.append(None if cue_end is None or passed is None else passed - cue_end.walked_m_at_end)
    ok = sum(1 for d in leads if d is not None and CUE_LEAD_OK[0] <= d <= CUE_LEAD_OK[1])
    return RouteResult(
        f"{origin} -> {goal}", round(planned.length_m), len(turns), [None if d is None else round(d, 1) for d in leads],
        ok, sum(c.over_wearer for c in said), sum(c.side_error for c in said),
        None if detect_t is None else round(detect_t - leave_t, 1), navigator.counters.reroutes, false_off_route,
        round(answer_latency, 3), queue.counters.stale, transcript, queue.counters.gave_way, interrupted,
        queue.counters.resumed,
    )  # fmt: skip


GAVE_WAY = "gave way"
INTERRUPTED = "stopped by the wearer"


def played_out(talk: list[Speech], t0: float, length: float) -> tuple[float, float, str]:
    """A cue heard from ``t0`` for ``length`` seconds against the wearer's speech: when it stops at
    the ear, how long it played at full level over their speech, and how it ended ("whole",
    ``GAVE_WAY`` or ``INTERRUPTED``)."""
    end = t0 + length
    for sp in sorted(talk, key=lambda sp: sp.start):
        if sp.end <= t0 or sp.start >= end:
            continue
        if not gives_way(1000 * (sp.start - t0)):  # the edge ducks it at their onset; a barge-in stops it
            return sp.start, 0.0, INTERRUPTED
        # Speech begun before the cue is the wearer's turn to the edge, which plays the cue on at
        # full level until the host, told of the onset, withdraws it; speech begun after its first
        # sample the edge ducks at once.
        heard = sp.start + ONSET_DELAY_S
        over_s = max(0.0, min(heard, end) - t0) if sp.start <= t0 else 0.0
        return (heard, over_s, GAVE_WAY) if heard < end else (end, over_s, "whole")
    return end, 0.0, "whole"


def joined(new: Route, steps: list[Step], here: WalkSample) -> tuple[tuple[float, float], ...]:
    """The way a wearer told a new route walks it from ``here``: onto it where it passes nearest
    to them before its first turn (not back to the node it was computed from, which they may have
    walked past while they heard it), then along it."""
    before = min(steps[0].at_m if steps else new.length_m, new.length_m)
    along = min(np.arange(0.0, before, 1.0), default=0.0,
                key=lambda a: distance_m(here.latitude_deg, here.longitude_deg, *new.point_at(a)))  # fmt: skip
    return (new.point_at(float(along)), *new.points[new.segment_at(float(along)) + 1 :])


def _floor(talk: list[Speech], t: float) -> tuple[bool, bool]:
    """(wearer talking, wearer paused) as the host knows it at ``t``: the edge hears speech begin
    ``ONSET_DELAY_S`` late, and confirms its end ``END_CONFIRM_S`` after it (until then, a pause)."""
    seen = t - ONSET_DELAY_S
    talking = any(sp.start <= seen < sp.end + END_CONFIRM_S for sp in talk)
    return talking, talking and not any(sp.start <= seen < sp.end for sp in talk)


def _off_m(walked: Route, s: WalkSample) -> float:
    """How far the wearer truly is from ``walked``."""
    return Tracker(walked).update(Fix(s.t_s, s.latitude_deg, s.longitude_deg)).off_m


def _sample_at(samples: list[WalkSample], t: float) -> WalkSample:
    i = min(max(round(t / TICK_S), 0), len(samples) - 1)
    return samples[i]


def _arriving(samples: list[WalkSample], t0: float, lat: float, lon: float) -> WalkSample:
    """The wearer coming up to the corner at (lat, lon) after ``t0``: the first sample within
    ``ARRIVING_M`` of it (still on the street that leads there); if they never get there (they went
    another way), the wearer at ``t0``."""
    for s in samples[round(t0 / TICK_S) :]:
        if distance_m(s.latitude_deg, s.longitude_deg, lat, lon) < ARRIVING_M:
            return s
    return _sample_at(samples, t0)


def _turn_passages(walk: Walk, turns: list[tuple[Step, float]]) -> list[float | None]:
    """For each turn, the distance walked when the wearer first reaches it from the distance given
    with it on (a corner passed again on a re-route); None if they never do."""
    walked = [0.0]
    for a, b in zip(walk.path, walk.path[1:], strict=False):
        walked.append(walked[-1] + distance_m(*a, *b))
    out: list[float | None] = []
    for step, from_m in turns:
        hits = [w for p, w in zip(walk.path, walked, strict=True) if distance_m(*p, step.lat, step.lon) < 1.0]
        out.append(next((w for w in hits if w >= from_m), None))
    return out


STACK_SCENARIO = "navigation_short"


STACK_KEYS = ("turns", "cue_leads_m", "cue_lead_ok_rate", "cues_over_wearer", "left_right_errors",
              "off_route_detect_p50_s", "answer_latency_p50_s", "failures")  # fmt: skip


async def run_stack(out: Path, timeout_s: float = 900.0) -> dict:
    """The short walk through simulator + edge (navigation mode) + host, run as ``sottovoce demo``
    runs it, and measured as the demo judges a navigation run: at the simulated ear, against the
    simulator's true walk."""
    from sottovoce.tools.demo import DemoConfig, print_navigation, run_demo

    summary = await run_demo(DemoConfig(out=out, scenario=STACK_SCENARIO, timeout=timeout_s))
    print_navigation(summary)
    heard = [e["text"] for e in summary["transcript"] if e["kind"] in ("cue", "answer")]
    return {key: summary[key] for key in STACK_KEYS} | {"heard": heard}


def scenario_walk_toml(walk: Walk) -> str:
    """The walk as a scenario's ``[walk]`` table (the simulator's contract)."""
    pts = _simplified(walk.path)
    lines = [
        "[walk]",
        "path = [",
        *[f"  [{lat:.6f}, {lon:.6f}]," for lat, lon in pts],
        "]",
        f"speed_mps = {walk.speed_mps}",
        f"gps_noise_m = {walk.gps_noise_m}",
    ]
    if walk.start_heading is not None:
        lines.append(f"start_heading = {walk.start_heading:.0f}")
    for stop in walk.stops:
        lines += ["", "[[walk.stop]]", f"at_m = {stop.at_m:.0f}", f"seconds = {stop.seconds:g}"]
    for look in walk.looks:
        lines += [
            "",
            "[[walk.look]]",
            f"at_s = {look.at_s:g}",
            f"degrees = {look.degrees:g}",
            f"seconds = {look.seconds:g}",
        ]
    for outage in walk.gps_outages:
        lines += ["", "[[walk.gps_outage]]", f"at_s = {outage.at_s:g}", f"seconds = {outage.seconds:g}"]
    return "\n".join(lines) + "\n"


def _simplified(path: tuple[tuple[float, float], ...]) -> list[tuple[float, float]]:
    """Drop points where the path runs straight on (under 3 degrees) and repeats."""
    out = [path[0]]
    for i in range(1, len(path) - 1):
        if distance_m(*out[-1], *path[i]) < 0.5:
            continue
        a = bearing_between(*out[-1], *path[i])
        b = bearing_between(*path[i], *path[i + 1]) if distance_m(*path[i], *path[i + 1]) > 0.5 else a
        if abs(turn_deg(a, b)) >= 3:
            out.append(path[i])
    out.append(path[-1])
    return out


# ---------------------------------------------------------------------------------- report


def summary(results: list[RouteResult]) -> dict:
    leads = [d for r in results for d in r.cue_leads_m]
    detects = [r.off_route_detect_s for r in results if r.off_route_detect_s is not None]
    return {
        "routes": len(results),
        "turns": len(leads),
        "cue_lead_ok_rate": round(sum(r.cue_lead_ok for r in results) / max(1, len(leads)), 3),
        "cue_lead_p50_m": statistics.median([d for d in leads if d is not None]) if any(leads) else None,
        "cues_over_wearer": sum(r.cues_over_wearer for r in results),
        "left_right_errors": sum(r.left_right_errors for r in results),
        "off_route_detected": f"{len(detects)}/{len(results)}",
        "off_route_detect_p50_s": statistics.median(detects) if detects else None,
        "false_off_route": sum(r.false_off_route for r in results),
        "answer_latency_p50_s": statistics.median([r.answer_latency_s for r in results]),
        "stale_cues_dropped": sum(r.stale_dropped for r in results),
        "cues_gave_way": sum(r.cues_gave_way for r in results),
        "cues_interrupted": sum(r.cues_interrupted for r in results),
        "cues_said_again": sum(r.cues_said_again for r in results),
        "per_route": [asdict(r) | {"transcript": None} for r in results],
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_options(parser, BenchNavigationConfig)
    add_logging_option(parser, "WARNING")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"sottovoce {PROGRAM}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add_arguments(parser)
    args = parser.parse_args(argv)
    setup_logging(PROGRAM, args.log_level)
    cfg = config_from(BenchNavigationConfig, args)
    if cfg.stack:
        try:
            report = asyncio.run(run_stack(Path("out/bench_navigation")))
        except RuntimeError as exc:  # DemoError: a program died or the scenario did not finish
            return fail(PROGRAM, f"--stack: {exc}")
        print(json.dumps(report, indent=2))
        if cfg.json is not None:
            cfg.json.write_text(json.dumps(report, indent=2))
        return 0
    walk_map = load_map(DEFAULT_MAP)
    voice = Voice(render=not cfg.fast)
    chosen = ROUTES[:2] if cfg.fast else ROUTES
    results = [run_route(walk_map, i, a, b, voice, cfg) for i, (a, b) in enumerate(chosen)]
    report = summary(results)
    print(f"{'route':34} {'m':>5} {'turns':>5} {'lead ok':>7} {'over':>4} {'L/R':>3} {'off-route s':>11} "
          f"{'answer s':>8}  cue leads (m)")  # fmt: skip
    for r in results:
        print(f"{r.name:34} {r.length_m:5} {r.turns:5} {r.cue_lead_ok:7} {r.cues_over_wearer:4} "
              f"{r.left_right_errors:3} {r.off_route_detect_s!s:>11} {r.answer_latency_s:8.3f}  "
              f"{r.cue_leads_m}")  # fmt: skip
    for key in ("cue_lead_ok_rate", "cue_lead_p50_m", "cues_over_wearer", "left_right_errors", "off_route_detected",
                "off_route_detect_p50_s", "false_off_route", "answer_latency_p50_s", "stale_cues_dropped",
                "cues_gave_way", "cues_interrupted"):  # fmt: skip
        print(f"{key}: {report[key]}")
    print("\ntranscript of the first walk:")
    print("\n".join(results[0].transcript))
    if cfg.json is not None:
        cfg.json.write_text(json.dumps(report | {"transcript": results[0].transcript}, indent=2))
    if cfg.scenario_out is not None:
        _, _, walk, _ = planned_walk(walk_map, 0, *ROUTES[0], cfg)
        cfg.scenario_out.write_text(scenario_walk_toml(walk))
    return 0


if __name__ == "__main__":
    sys.exit(main())
