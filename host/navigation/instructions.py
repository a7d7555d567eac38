"""A route as the steps a pedestrian follows: where to turn, which way, onto which street, and the
words for each.

Sidewalks and crossings are mapped as many short ways with small kinks: a bearing is read over a
few metres before and after each node (``BEARING_SPAN_M``), small bends are no step at all, and
bends a few metres apart (across a crossing) are one step with their summed angle. A turn that
follows another closely is said with it ("turn left, then right onto ..."), never as a cue of its
own the wearer could not act on in time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sottovoce.host.navigation.router import Route
from sottovoce.proto.geo import bearing_between, turn_deg

BEARING_SPAN_M = 8.0  # the bearing into / out of a node is read over this much of the route
MIN_TURN_DEG = 40.0  # smaller bends are followed without being told
SLIGHT_DEG = 60.0  # below: "slight"; above SHARP_DEG: "sharp"
SHARP_DEG = 140.0
MERGE_M = 12.0  # bends closer than this are one turn
THEN_M = 30.0  # a turn this close after another is said with it
EDGE_M = 10.0  # no turn step this near the start or the end


@dataclass(frozen=True)
class Step:
    at_m: float  # distance along the route
    angle: float  # signed, positive right
    street: str  # what the wearer turns onto ("" when the map names nothing)
    lat: float
    lon: float
    then: Step | None = None  # a turn close after this one, said with it

    @property
    def direction(self) -> str:
        return direction_words(self.angle)

    def instruction(self) -> str:
        """ "turn left onto Mikonkatu", "turn left, then right onto Mikonkatu"."""
        said = f"turn {self.direction}"
        last = self
        if self.then is not None:
            said += f", then {self.then.direction}"
            last = self.then
        return f"{said} onto {last.street}" if last.street else said


def direction_words(angle: float) -> str:
    side = "right" if angle > 0 else "left"
    magnitude = abs(angle)
    if magnitude < SLIGHT_DEG:
        return f"slight {side}"
    if magnitude > SHARP_DEG:
        return f"sharp {side}"
    return side


# A side is named only this clear of dead ahead and dead behind, and "slightly" within FULL_SIDE_DEG of
# them: neighbouring words agree ("ahead of you", "ahead of you, slightly left", "on your left"), so
# a heading or a position a few degrees off moves a place between words that are all true, never to
# the other side, nor gives a side to a place straight ahead.
SIDE_DEG = 20.0
FULL_SIDE_DEG = 45.0


def relative_side(target_bearing: float, heading: float) -> str:
    """Where a bearing lies for someone facing ``heading``: "ahead of you", "ahead of you, slightly
    left", "on your left", "behind you, slightly left", "behind you" (and the same on the right)."""
    rel = turn_deg(heading, target_bearing)
    side = "right" if rel > 0 else "left"
    off = abs(rel)
    if off <= SIDE_DEG:
        return "ahead of you"
    if off >= 180.0 - SIDE_DEG:
        return "behind you"
    if off < FULL_SIDE_DEG:
        return f"ahead of you, slightly {side}"
    if off > 180.0 - FULL_SIDE_DEG:
        return f"behind you, slightly {side}"
    return f"on your {side}"


def bearing_along(route: Route, from_m: float, to_m: float) -> float:
    a = route.point_at(from_m)
    b = route.point_at(to_m)
    if a == b:
        return 0.0
    return bearing_between(*a, *b)


def steps_of(route: Route) -> list[Step]:
    """The turns of ``route`` in order (no departure or arrival: the navigator says those)."""
    bends = []
    for i in range(1, len(route.points) - 1):
        at = route.along_m[i]
        if at < EDGE_M or route.length_m - at < EDGE_M:
            continue
        angle = turn_deg(
            bearing_along(route, max(0.0, at - BEARING_SPAN_M), at),
            bearing_along(route, at, min(route.length_m, at + BEARING_SPAN_M)),
        )
        if abs(angle) >= MIN_TURN_DEG / 2:
            bends.append((i, at, angle))
    turns: list[tuple[int, float, float]] = []
    k = 0
    while k < len(bends):  # bends within MERGE_M of each other: one turn, at the first
        i, at, _ = bends[k]
        j = k
        while j + 1 < len(bends) and bends[j + 1][1] - bends[j][1] <= MERGE_M:
            j += 1
        end_at = bends[j][1]
        angle = turn_deg(
            bearing_along(route, max(0.0, at - BEARING_SPAN_M), at),
            bearing_along(route, end_at, min(route.length_m, end_at + BEARING_SPAN_M)),
        )
        if abs(angle) >= MIN_TURN_DEG:
            turns.append((i, at, angle))
        k = j + 1
    plain = [
        Step(at, angle, _street_after(route, i, turns[n + 1][1] if n + 1 < len(turns) else route.length_m),
             *route.points[i])
        for n, (i, at, angle) in enumerate(turns)
    ]  # fmt: skip
    steps: list[Step] = []
    n = 0
    while n < len(plain):
        step = plain[n]
        if n + 1 < len(plain) and plain[n + 1].at_m - step.at_m <= THEN_M:
            steps.append(Step(step.at_m, step.angle, step.street, step.lat, step.lon, then=plain[n + 1]))
            n += 2
        else:
            steps.append(step)
            n += 1
    return steps


def _street_after(route: Route, node_index: int, until_m: float) -> str:
    """The street the wearer turns onto: the first real street name before the next turn, else a
    crossing or steps, else nothing."""
    described = ""
    for e in range(node_index, len(route.names)):
        if route.along_m[e] >= until_m:
            break
        name = route.names[e]
        if name and not name.startswith("the "):
            return name
        if name and not described and route.along_m[e] - route.along_m[node_index] < 15:
            described = name
    return described


def say_distance(metres: float) -> str:
    """A distance as said in a cue: to 5 m near, to 10 m further, to 50 m beyond 200 m."""
    if metres < 1000:
        step = 5 if metres < 100 else 10 if metres < 200 else 50
        n = max(step, int(round(metres / step) * step))
        return f"{n} metres"
    said = f"{metres / 1000:.1f}".removesuffix(".0")
    return f"{said} kilometre{'s' * (said != '1')}"
