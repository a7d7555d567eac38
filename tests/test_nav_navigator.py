"""One wearer's navigation on the Helsinki extract: set off by voice, cues along the route on the
right side, questions on the way, and bad input answered with one clear sentence."""

from __future__ import annotations

import itertools

import pytest

from sottovoce.host.clock import Clock
from sottovoce.host.history import Exchange, History
from sottovoce.host.navigation.navigator import NO_FIX, NOT_NAVIGATING, OFF_MAP, CueAnnouncement, Navigator
from sottovoce.host.navigation.osm_map import DEFAULT_MAP, load_map
from sottovoce.host.navigation.progress import Fix
from sottovoce.host.navigation.skill import NavigationResponder, NavigationSkill
from sottovoce.host.responder import Context, SkillResponder
from sottovoce.host.timers import Timers
from sottovoce.proto.geo import bearing_between, destination


@pytest.fixture(scope="module")
def helsinki():
    return load_map(DEFAULT_MAP)


def _at_station(helsinki) -> Fix:
    s = helsinki.find_place("station")
    return Fix(0.0, s.lat, s.lon)


def _walk(nav: Navigator, speed: float = 1.4) -> list[tuple[float, str, float]]:
    """Walk the navigator's route exactly, a fix a second facing the way; (t, cue said, metres to
    its turn when said) for each cue, said as soon as it is due."""
    route, said, t, along = nav.route, [], 1.0, 0.0
    while nav.route is not None and along < route.length_m + 5:
        along += speed
        lat, lon = route.point_at(min(along, route.length_m))
        ahead = route.point_at(min(along + 3, route.length_m))
        heading = bearing_between(lat, lon, *ahead) if ahead != (lat, lon) else None
        for cue in nav.on_pose(Fix(t, lat, lon), heading):
            text = CueAnnouncement(nav, cue).text_now()
            to_turn = cue.step.at_m - along if cue.step else 0.0
            said.append((t, text, to_turn))
        t += 1.0
    return said


def test_set_off_by_name_then_cues_on_the_right_side_then_arrival(helsinki):
    nav = Navigator(helsinki)
    nav.on_pose(_at_station(helsinki), heading=90.0)
    said = nav.go_to("the cathedral")
    assert said.startswith("Helsinki Cathedral, 7") and "minutes" in said
    steps = nav.steps
    heard = _walk(nav)
    turns = [(text, to_turn) for _, text, to_turn in heard if "turn" in text]
    assert len(turns) == len(steps)
    for (text, to_turn), step in zip(turns, steps, strict=True):
        assert step.instruction() in text and ("left" in text) == (step.angle < 0)
        assert 20 < to_turn < 50, (text, to_turn)  # starts early enough to finish 10-40 m before
    assert heard[-1][1].startswith("You have arrived. Helsinki Cathedral is")
    assert not nav.active


def test_no_fix_off_the_map_and_unknown_places_are_one_clear_sentence(helsinki):
    nav = Navigator(helsinki)
    said = nav.go_to("the station")
    assert NO_FIX in said and nav.active
    assert nav.how_far() == NO_FIX
    cues = nav.on_pose(_at_station(helsinki), heading=None)  # the fix comes: it sets off on its own
    assert len(cues) == 1 and cues[0].text.startswith("Helsinki Central Railway Station")
    assert nav.go_to("the moon base") == "I can't find the moon base on the map."
    far = Navigator(helsinki)
    assert far.on_pose(Fix(0.0, 48.8584, 2.2945), heading=0.0) == []  # Paris
    assert far.go_to("the cathedral") == OFF_MAP and far.where_am_i() == OFF_MAP
    assert far.counters.fixes_off_map == 1
    assert Navigator(helsinki).how_far() == NOT_NAVIGATING
    assert Navigator(helsinki).where_am_i() == "I don't know: there is no GPS fix."


async def test_the_navigation_skill_answers_first_and_leaves_the_rest_to_the_assistant(helsinki):
    nav = Navigator(helsinki)
    nav.on_pose(_at_station(helsinki), heading=180.0)
    responder = NavigationResponder(NavigationSkill(nav), SkillResponder())
    history = History()
    ctx = Context(history, Clock(), Timers(Clock()))
    ids = itertools.count(1)

    async def ask(words: str) -> str:
        reply = await responder.respond(words, ctx)
        history.add(Exchange(words, reply.text, next(ids)))
        return reply.text

    assert (await ask("Take me to the cathedral, please.")).startswith("Helsinki Cathedral")
    assert (await ask("How far is it?")).startswith("7")
    assert (await ask("Where am I?")).startswith("You're on ")
    assert (await ask("What is twelve times seven?")) == "Twelve times seven is eighty-four."
    assert (await ask("Take me to Kiasma instead.")).startswith("Museum of Modern Art Kiasma")
    t, cues = 1.0, []
    while not cues:  # walk on to the first turn's cue
        cues = nav.on_pose(Fix(t, *nav.route.point_at(1.4 * t)), None)
        t += 1.0
    text = CueAnnouncement(nav, cues[0]).text_now()
    assert text.startswith("In ")
    history.add(Exchange("", text, next(ids)))
    again = await ask("Say that again.")
    assert "turn" in again and again.split(",")[1:] == text.split(",")[1:]
    assert (await ask("Stop navigation.")) == "Okay, navigation stopped." and not nav.active
    assert (await ask("Stop navigation.")) == NOT_NAVIGATING


def test_an_arrival_the_wearer_stopped_is_still_true_when_said_again_until_navigation_stops(helsinki):
    nav = Navigator(helsinki)
    nav.on_pose(_at_station(helsinki), heading=90.0)
    nav.go_to("the cathedral")
    route, t, along, arrival = nav.route, 1.0, 0.0, None
    while arrival is None and along < route.length_m + 5:
        along += 1.4
        lat, lon = route.point_at(min(along, route.length_m))
        cues = [CueAnnouncement(nav, cue) for cue in nav.on_pose(Fix(t, lat, lon), 90.0)]
        arrival = next((c for c in cues if c.cue.key == "arrive"), None)
        t += 1.0
    assert arrival is not None
    first = arrival.text_now()
    assert first.startswith("You have arrived. Helsinki Cathedral is") and not nav.active
    assert arrival.text_now() == first  # said again after the wearer's turn: still so
    assert nav.stop() == NOT_NAVIGATING
    assert arrival.text_now() is None  # navigation stopped: nothing left to say


def _from_cathedral_to_kiasma(helsinki) -> tuple[Navigator, CueAnnouncement]:
    """Asked before the first fix, as a host started with a destination is: the departure is a cue."""
    cathedral = helsinki.find_place("the cathedral")
    steps_below = helsinki.position(helsinki.nearest_node(cathedral.lat, cathedral.lon)[0])
    nav = Navigator(helsinki)
    nav.go_to("Kiasma")
    [departure] = nav.on_pose(Fix(0.0, *steps_below), heading=270.0)  # on the way, facing along it
    return nav, CueAnnouncement(nav, departure)


def _walk_until(nav: Navigator, wanted) -> list:
    """Walk the route a fix a second until a cue ``wanted`` accepts is due; the cues due by then."""
    route, t, along, due = nav.route, 1.0, 0.0, []
    while not any(wanted(c) for c in due) and along < route.length_m:
        along += 1.4
        lat, lon = route.point_at(along)
        due += nav.on_pose(Fix(t, lat, lon), bearing_between(lat, lon, *route.point_at(min(along + 3, route.length_m))))
        t += 1.0
    return due


def test_a_first_turn_too_near_for_a_cue_of_its_own_is_said_with_the_departure(helsinki):
    """From the cathedral to Kiasma the first turn is under 40 m on: after the departure's words
    (some 9 m of walking) its own cue would already be late, so the departure says it, with the
    distance left when it is heard, and it gets no cue of its own."""
    nav, departure = _from_cathedral_to_kiasma(helsinki)
    first = nav.steps[0]
    assert first.at_m < 40 and departure.cue.step is first
    said = departure.text_now()
    assert said.startswith("Museum of Modern Art Kiasma, 1.2 kilometres, about 14 minutes. Go straight ahead")
    assert said.split(". ")[-1] in [f"In {n} metres, turn left." for n in (20, 25, 30)]
    due = _walk_until(nav, lambda c: c.step is nav.steps[1])
    assert [c.step for c in due] == [nav.steps[1]]  # the next turn's cue, and none for the first
    # stopped by the wearer and said again once the turn's own cue is due: only that is said
    nav, departure = _from_cathedral_to_kiasma(helsinki)
    departure.text_now()
    route = nav.route
    for t in range(1, 9):
        lat, lon = route.point_at(1.4 * t)
        nav.on_pose(Fix(float(t), lat, lon), 270.0)
    assert departure.text_now() in [f"In {n} metres, turn left." for n in (15, 20, 25)] + ["Now turn left."]
    assert departure.text_now() == departure.text_now()  # the same words each time they are asked for
    # waiting, it is as urgent as the turn it leads to: it goes before that turn's own cue
    assert not departure.urgent
    for t in range(9, 15):
        lat, lon = route.point_at(1.4 * t)
        nav.on_pose(Fix(float(t), lat, lon), 270.0)
    assert departure.urgent and departure.text_now() == "Now turn left."
    # facing away: the way to set off, then the turn, with no distance (how far along it they are
    # is not known until they walk it) - only when it is within the cue lead of them, as they may
    # still walk off while they hear the way
    for along, said in ((0.0, "Turn around along Mikonkatu."), (10.0, "Turn around along Mikonkatu, then left.")):
        nav = Navigator(helsinki)
        nav.go_to("Kiasma")
        [departure] = nav.on_pose(Fix(0.0, *route.point_at(along)), heading=90.0)
        assert CueAnnouncement(nav, departure).text_now().endswith(f"14 minutes. {said}")
        assert (departure.step is not None) == said.endswith("then left.")
    # a route whose first turn is far gets it as a cue of its own
    nav = Navigator(helsinki)
    nav.on_pose(_at_station(helsinki), heading=90.0)
    assert nav.go_to("the cathedral").endswith("Go straight ahead along Rautatientori.")


def test_a_departure_still_waiting_when_the_next_turn_is_due_is_stale(helsinki):
    """The wearer talked over the departure and it waited for the end of their turn; meanwhile they
    walked the route and the next turn's cue came due: that cue is what they need, not the
    departure's "go straight ahead" before it."""
    nav, departure = _from_cathedral_to_kiasma(helsinki)
    _walk_until(nav, lambda c: c.step is nav.steps[1])
    assert departure.text_now() is None


def test_a_reroute_said_after_the_wearer_walked_on_is_computed_from_where_they_are(helsinki):
    """Off the route, told late (they were talking): the way to go is the one from where they are
    when they hear it, not from where the re-route was decided; a re-route says only the way."""
    nav = Navigator(helsinki)
    nav.on_pose(_at_station(helsinki), heading=90.0)
    nav.go_to("the cathedral")
    route = nav.route
    lat, lon = route.point_at(60.0)
    away = bearing_between(*route.point_at(40.0), lat, lon) + 90  # walk off the route, square to it
    t, cues, off = 1.0, [], 0.0
    while not cues:
        off += 1.4
        cues = [c for c in nav.on_pose(Fix(t, *destination(lat, lon, away, off)), away) if c.key == "depart"]
        t += 1.0
    reroute = CueAnnouncement(nav, cues[0])
    decided = nav.route
    assert cues[0].text.startswith("Off the route. ") and "minutes" not in cues[0].text
    for _ in range(12):  # talking, they walk on another 17 m
        off += 1.4
        nav.on_pose(Fix(t, *destination(lat, lon, away, off)), away)
        t += 1.0
    said = reroute.text_now()
    assert said is not None and said.startswith("Off the route. ") and nav.route is not decided
    assert nav.route.nodes[0] == helsinki.nearest_node(*destination(lat, lon, away, off))[0]
    assert reroute.text_now() == said  # said again (they stopped it) where it was said: the same way
