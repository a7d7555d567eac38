"""One wearer's navigation: the destination, the route, where they are on it, which cues are due,
and the answers to "how far is it?", "where am I?", "say that again", "stop navigation".

Fed the wearer's pose (position fix and head heading) and the words of their requests; returns
sentences and ``Cue``s, never raises on bad input: a position off the map, a destination the map
does not know, or no GPS fix is one clear sentence for the wearer. Pure: the caller's clock comes
in with each fix.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

from sottovoce.host.navigation.cues import (
    Cue,
    CueConfig,
    turn_cue_after,
    turn_cue_due,
    turn_cue_now,
    walking_speed,
)
from sottovoce.host.navigation.instructions import Step, bearing_along, relative_side, say_distance, steps_of
from sottovoce.host.navigation.osm_map import Place, WalkMap
from sottovoce.host.navigation.progress import Fix, Progress, ProgressConfig, Tracker
from sottovoce.host.navigation.router import NoRoute, Route, route
from sottovoce.proto.geo import bearing_between, distance_m, turn_deg

log = logging.getLogger(__name__)

NO_FIX = "I don't know where you are yet: there is no GPS fix. I'll start guiding you as soon as there is."
OFF_ROUTE = "Off the route. "
OFF_MAP = "You are outside the map I have, so I can't guide you from here."
NOT_NAVIGATING = "We're not going anywhere yet. Say take me to, and a place."
ARRIVE_M = 15.0  # the arrival is said this near the destination
NEAR_PLACE_M = 120.0  # "where am I" names a place this near


@dataclass(frozen=True)
class NavigatorConfig:
    cues: CueConfig = field(default_factory=CueConfig)
    progress: ProgressConfig = field(default_factory=ProgressConfig)
    map_margin_m: float = 200.0  # a fix further than this from any walkable way is off the map
    # After a new route, the wearer needs a moment to hear it and turn round: no other before then.
    reroute_holdoff_s: float = 20.0
    # A re-route said this far from where it was computed (it waited for the wearer to finish
    # talking while they walked on) is computed again from where they are: its first words ("turn
    # around") and its first turn are the ones true there.
    reroute_moved_m: float = 10.0


@dataclass
class NavigatorCounters:
    routes: int = 0
    reroutes: int = 0
    fixes: int = 0
    fixes_off_map: int = 0
    cues: int = 0


@dataclass
class _Trip:
    place: Place
    route: Route
    steps: list[Step]
    tracker: Tracker
    routed_from: tuple[float, float]  # the fix the route was computed from
    cued: set[float] = field(default_factory=set)  # at_m of steps whose cue was given
    departure_step: Step | None = None  # a first turn so near that the departure said it
    departure_said: bool = False  # its departure was taken to be said (begun, if not heard whole)
    arrived: bool = False


class Navigator:
    def __init__(self, walk_map: WalkMap, config: NavigatorConfig | None = None) -> None:
        self.map = walk_map
        self.config = config or NavigatorConfig()
        self.counters = NavigatorCounters()
        self.fix: Fix | None = None
        self.heading: float | None = None  # of the head, true north
        self.progress: Progress | None = None
        self.last_cue: str = ""
        self._trip: _Trip | None = None
        self._arrived: _Trip | None = None  # ended by its arrival cue, until another trip or a stop
        self._pending: Place | None = None  # asked for before there was a fix
        self._routed_at: float | None = None  # fix time of the last route's start
        self._departure: str | None = None  # the last route's first words, until navigation stops

    @property
    def active(self) -> bool:
        return self._trip is not None or self._pending is not None

    @property
    def route(self) -> Route | None:
        return self._trip.route if self._trip else None

    @property
    def steps(self) -> list[Step]:
        return self._trip.steps if self._trip else []

    # ------------------------------------------------------------------ requests

    def go_to(self, query: str) -> str:
        """Start (or change) the route to the place ``query`` names: the sentence to say."""
        place = self.map.find_place(query)
        if place is None:
            return f"I can't find {query.strip() or 'that'} on the map."
        self._arrived = None
        if self.fix is None:
            self._pending, self._trip = place, None
            return f"Okay, {place.spoken}. {NO_FIX}"
        if not self._on_map(self.fix):
            return OFF_MAP
        return self._start(place)

    def stop(self) -> str:
        was = self.active
        self._trip, self._pending, self._arrived, self._departure = None, None, None, None
        return "Okay, navigation stopped." if was else NOT_NAVIGATING

    def how_far(self) -> str:
        trip = self._trip
        if trip is None:
            return NO_FIX if self._pending else NOT_NAVIGATING
        remaining = trip.route.length_m - trip.tracker.along_m
        said = f"{say_distance(remaining)} to {trip.place.spoken}, {self._minutes(remaining)}."
        step = self._next_step(trip)
        if step is not None:
            said += f" Next, in {say_distance(step.at_m - trip.tracker.along_m)}, {step.instruction()}."
        return said

    def where_am_i(self) -> str:
        if self.fix is None:
            return "I don't know: there is no GPS fix."
        if not self._on_map(self.fix):
            return OFF_MAP
        street = self._street_near(self.fix)
        near = min(self.map.places, key=lambda p: distance_m(self.fix.lat, self.fix.lon, p.lat, p.lon), default=None)
        said = f"You're on {street}" if street else "You're on a path with no name"
        if near is not None and distance_m(self.fix.lat, self.fix.lon, near.lat, near.lon) <= NEAR_PLACE_M:
            side = self._side_of(near)
            said += f", near {near.spoken}" + (f", {side}" if side else "")
        return said + "."

    def repeat(self) -> str | None:
        """The current instruction again, with the distance as it is now; None when there is none."""
        trip = self._trip
        if trip is None:
            return None
        step = self._next_step(trip)
        if step is None:
            return self.how_far()
        return f"In {say_distance(step.at_m - trip.tracker.along_m)}, {step.instruction()}."

    # ------------------------------------------------------------------ the wearer's pose

    def on_pose(self, fix: Fix | None, heading: float | None) -> list[Cue]:
        """A new pose: the cues due now (a new route's first words, a turn ahead, arrival)."""
        if heading is not None:
            self.heading = heading % 360.0
        if fix is None:
            return []
        self.counters.fixes += 1
        fix = dataclasses.replace(fix, heading=self.heading) if fix.heading is None else fix
        self.fix = fix
        if not self._on_map(fix):
            self.counters.fixes_off_map += 1
            return []
        if self._pending is not None:
            place, self._pending = self._pending, None
            return [self._departure_cue(self._start(place))]
        trip = self._trip
        if trip is None or trip.arrived:
            return []
        self.progress = progress = trip.tracker.update(fix)
        settled = self._routed_at is None or fix.t_s - self._routed_at >= self.config.reroute_holdoff_s
        if progress.off_route and settled:
            self.counters.reroutes += 1
            log.info("off the route %.0f m at %.0f m along: re-routing", progress.off_m, progress.along_m)
            return [self._departure_cue(self._start(trip.place, rerouting=True))]
        cues = []
        step = self._next_step(trip)
        if step is not None and step.at_m not in trip.cued and self._walking_the_route(trip, progress):
            to_turn = step.at_m - progress.along_m
            if turn_cue_due(step, to_turn, progress.speed_mps, self.config.cues):
                cue = turn_cue_now(step, to_turn, progress.speed_mps, self.config.cues)
                if cue is not None:
                    trip.cued.add(step.at_m)
                    cues.append(cue)
        if progress.remaining_m <= ARRIVE_M + walking_speed(progress.speed_mps, self.config.cues) * 2:
            trip.arrived = True
            cues.append(Cue("arrive", "", step=None))
        self.counters.cues += len(cues)
        return cues

    def cue_text(self, cue: Cue) -> str | None:
        """The words of ``cue`` as they are true now; None when it has gone stale."""
        trip = self._trip
        if cue.key == "arrive":
            # Saying it ends the trip; said again (the wearer stopped it), it is still true, until
            # they set off somewhere else or stop navigation.
            if trip is not None:
                self._trip, self._arrived = None, trip
            elif self._arrived is None:
                return None
            trip = self._arrived
            side = self._side_of(trip.place, trip.route.point_at(trip.tracker.along_m))
            return f"You have arrived. {trip.place.spoken} is {side or 'here'}."
        if cue.key == "depart":
            # A departure still waiting when a turn's cue is due (the wearer talked over it, and it
            # waited for the end of their turn) is stale: turn cues are given only once the wearer
            # walks the route, and the turn ahead is what they need now, not a second "go straight
            # ahead" that would push it late. One from an earlier route, or a stopped one, is too.
            # A re-route is never stale that way: the wearer must hear they left the route (its way
            # is computed again below if they walked on).
            if cue.text != self._departure:
                return None
            rerouted = cue.text.startswith(OFF_ROUTE)
            if trip is not None and not rerouted and trip.cued - {cue.step and cue.step.at_m}:
                return None
            if trip is None:
                return cue.text  # a route that could not be found, said as it was
            if rerouted and self.fix is not None:
                if distance_m(*trip.routed_from, self.fix.lat, self.fix.lon) > self.config.reroute_moved_m:
                    return self._start(trip.place, rerouting=True)
            step = trip.departure_step
            if trip.departure_said and step is not None:
                # Said again after the wearer stopped it: the turn it carries cannot wait for all
                # of it again once its own cue is due - then that is all that is said.
                to_turn = step.at_m - trip.tracker.along_m
                if turn_cue_due(step, to_turn, self.progress_speed(), self.config.cues):
                    now = turn_cue_now(step, to_turn, self.progress_speed(), self.config.cues)
                    self._departure = now.text if now is not None else None
            trip.departure_said = True
            return self._departure
        if cue.step is None:
            return cue.text
        if trip is None or cue.step not in trip.steps:
            return None  # navigation stopped, or a new route since
        now = turn_cue_now(cue.step, cue.step.at_m - trip.tracker.along_m, self.progress_speed(), self.config.cues)
        return now.text if now is not None else None

    def cue_urgent(self, cue: Cue) -> bool:
        trip = self._trip
        if cue.key == "depart" and trip is not None:
            # as urgent as the route's next turn: a departure waiting (the wearer stopped it) goes
            # before that turn's cue, which means nothing to someone who has not heard the way yet
            step = self._next_step(trip)
            return step is not None and step.at_m - trip.tracker.along_m <= self.config.cues.urgent_m
        if cue.step is None or trip is None:
            return cue.urgent
        return cue.step.at_m - trip.tracker.along_m <= self.config.cues.urgent_m

    def progress_speed(self) -> float | None:
        return self.progress.speed_mps if self.progress else None

    # ------------------------------------------------------------------ inside

    def _on_map(self, fix: Fix) -> bool:
        return self.map.covers(fix.lat, fix.lon, self.config.map_margin_m)

    def _start(self, place: Place, rerouting: bool = False) -> str:
        self._departure = self._route_to(place, rerouting)
        return self._departure

    def _route_to(self, place: Place, rerouting: bool) -> str:
        assert self.fix is not None
        start, _ = self.map.nearest_node(self.fix.lat, self.fix.lon)
        goal, _ = self.map.nearest_node(place.lat, place.lon)
        try:
            found = route(self.map, start, goal)
        except NoRoute:
            self._trip = None
            return f"I can't find a walking route to {place.spoken} from here."
        self.counters.routes += not rerouting
        course = self.progress.course_deg if self.progress is not None else None
        tracker = Tracker(found, self.config.progress)
        self._trip = _Trip(place, found, steps_of(found), tracker, (self.fix.lat, self.fix.lon))
        self.progress = self._trip.tracker.update(self.fix)
        self._routed_at = self.fix.t_s
        if rerouting:
            # Only the way to go: the wearer knows where they are going (and can ask how far), and
            # every second it takes is walked without knowing which way - the new route's first
            # turn may be a few tens of metres on.
            said = f"{OFF_ROUTE}{self._heading_words(found, course)}"
        else:
            said = f"{place.spoken}, {say_distance(found.length_m)}, {self._minutes(found.length_m)}."
            said += f" {self._heading_words(found, course)}"
        # A first turn too near for a cue of its own after these words is said with them: with
        # the distance left when it is heard if the wearer is on the route and faces its way,
        # else as what follows the way to set off ("Go right along Postikatu, then left onto
        # Mannerheiminaukio"): until they are on it, how far along it they are is not known.
        step = self._next_step(self._trip)
        if step is not None:
            speed = self.progress.speed_mps if self.progress is not None else None
            to_turn = step.at_m - tracker.along_m
            turn = turn_cue_after(said, step, to_turn, speed, self.config.cues)
            facing = self._facing_the_route(self._trip, course)
            # Not facing it, only a turn its own cue could not reach in time even said at once:
            # the way there is to the route's start, then along it, and while they hear the way
            # they may still be walking off (so none of it counts as walked).
            if turn is not None and not facing:
                to_walk = distance_m(self.fix.lat, self.fix.lon, *found.points[0]) + step.at_m
                turn = turn if to_walk <= self.config.cues.lead_m else None
            if turn is not None:
                self._trip.cued.add(step.at_m)
                self._trip.departure_step = step
                if facing:
                    said += f" {turn.text}"
                else:
                    said = f"{said[:-1]}, then {step.instruction().removeprefix('turn ')}."
        return said

    def _facing_the_route(self, trip: _Trip, course: float | None) -> bool:
        progress = self.progress
        if progress is None or progress.off_m > self.config.progress.far_m / 2:
            return False
        along = progress.along_m
        way = bearing_along(trip.route, along, min(trip.route.length_m, along + 10))
        facing = course if course is not None else self.heading
        return facing is not None and abs(turn_deg(way, facing)) <= 45

    def _departure_cue(self, text: str) -> Cue:
        return Cue("depart", text, step=self._trip.departure_step if self._trip is not None else None)

    def _heading_words(self, found: Route, course: float | None) -> str:
        """Which way to set off, from the wearer's direction of travel when they walk (a glance
        aside must not make it "go left"), else from where their head faces, else by the compass.
        The way is from where they are to the route 25 m on: its first node may lie behind them."""
        ahead = found.point_at(min(found.length_m, 25.0))
        here = (self.fix.lat, self.fix.lon) if self.fix is not None else found.point_at(0.0)
        far_enough = distance_m(*here, *ahead) > 3
        bearing = bearing_between(*here, *ahead) if far_enough else bearing_along(found, 0.0, 25.0)
        street = next((n for n in found.names if n and not n.startswith("the ")), "")
        onto = f" along {street}" if street else ""
        facing = course if course is not None else self.heading
        if facing is None:
            return f"Head {_compass(bearing)}{onto}."
        side = relative_side(bearing, facing)
        if side.startswith("behind"):
            go = "Turn around"
        elif side.startswith("ahead of you, "):
            go = f"Go {side.removeprefix('ahead of you, ')}"  # "Go slightly left"
        else:
            go = {"ahead of you": "Go straight ahead", "on your right": "Go right", "on your left": "Go left"}[side]
        return f"{go}{onto}."

    def _minutes(self, metres: float) -> str:
        minutes = max(1, round(metres / walking_speed(None, self.config.cues) / 60))
        return f"about {minutes} minute{'s' * (minutes > 1)}"

    def _walking_the_route(self, trip: _Trip, progress: Progress) -> bool:
        """Whether the wearer is on the route and goes its way: a turn's left and right hold only
        then (just after a new route they may still be walking the other way, before turning round)."""
        if progress.off_m > self.config.progress.far_m / 2:  # not on it yet (or any more)
            return False
        along = progress.along_m
        if along > 10:
            way = bearing_along(trip.route, along - 10, along)
        else:
            way = bearing_along(trip.route, along, min(trip.route.length_m, along + 10))
        if progress.course_deg is not None:
            return abs(turn_deg(way, progress.course_deg)) <= 45
        if progress.speed_mps is None:  # too few fixes on this route yet to tell which way they go
            return False
        return self.heading is None or abs(turn_deg(way, self.heading)) <= 45  # standing: where they face

    def _side_of(self, place: Place, where: tuple[float, float] | None = None) -> str:
        """Where ``place`` is for the wearer's head ("on your right") seen from ``where`` (by
        default their fix; on a route, their place on it: near the destination a fix's few metres
        of error would swing the side); "" without a heading."""
        if self.fix is None or self.heading is None:
            return ""
        lat, lon = where or (self.fix.lat, self.fix.lon)
        if distance_m(lat, lon, place.lat, place.lon) < 5:
            return "right here"
        return relative_side(bearing_between(lat, lon, place.lat, place.lon), self.heading)

    def _next_step(self, trip: _Trip) -> Step | None:
        along = trip.tracker.along_m
        return next((s for s in trip.steps if s.at_m > along), None)

    def _street_near(self, fix: Fix) -> str:
        node, _ = self.map.nearest_node(fix.lat, fix.lon)
        names = [d["name"] for _, _, d in self.map.graph.edges(node, data=True) if d["name"]]
        real = [n for n in names if not n.startswith("the ")]
        return (real or names or [""])[0]


_COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


def _compass(bearing: float) -> str:
    return _COMPASS[int((bearing % 360 + 22.5) // 45) % 8]


@dataclass
class CueAnnouncement:
    """A cue waiting to be said, as proactive speech (``host.proactive.Announcement``): its words
    and urgency are the navigator's at the moment it is said."""

    navigator: Navigator
    cue: Cue

    @property
    def key(self) -> str:
        return f"navigation-{self.cue.key}"

    @property
    def urgent(self) -> bool:
        return self.navigator.cue_urgent(self.cue)

    def text_now(self) -> str | None:
        text = self.navigator.cue_text(self.cue)
        if text is not None and self.cue.key == "depart" and text != self.cue.text:
            # a re-route computed again as it was said: if the wearer stops it, that one is said again
            self.cue = self.navigator._departure_cue(text)
        if text is not None:
            self.navigator.last_cue = text
        return text
