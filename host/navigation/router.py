"""Walking routes on a ``WalkMap``: networkx A* over edge lengths in metres, with the great-circle
distance to the goal as its heuristic (never more than the walk, so the route is the shortest)."""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass

import networkx as nx

from sottovoce.host.navigation.osm_map import WalkMap
from sottovoce.proto.geo import distance_m


class NoRoute(LookupError):
    pass


@dataclass(frozen=True)
class Route:
    nodes: tuple[int, ...]
    points: tuple[tuple[float, float], ...]  # (lat, lon) of each node
    names: tuple[str, ...]  # street name of each edge (len(points) - 1)
    along_m: tuple[float, ...]  # distance from the start to each point

    @property
    def length_m(self) -> float:
        return self.along_m[-1]

    def segment_at(self, along_m: float) -> int:
        """Index of the edge that ``along_m`` falls on."""
        i = bisect.bisect_right(self.along_m, along_m) - 1
        return min(max(i, 0), len(self.points) - 2)

    def point_at(self, along_m: float) -> tuple[float, float]:
        i = self.segment_at(along_m)
        span = self.along_m[i + 1] - self.along_m[i]
        t = 0.0 if span <= 0 else min(max((along_m - self.along_m[i]) / span, 0.0), 1.0)
        (a_lat, a_lon), (b_lat, b_lon) = self.points[i], self.points[i + 1]
        return a_lat + t * (b_lat - a_lat), a_lon + t * (b_lon - a_lon)


def route(walk_map: WalkMap, start: int, goal: int) -> Route:
    """The shortest walk from node ``start`` to node ``goal``; NoRoute if none joins them."""
    graph = walk_map.graph
    if start not in graph or goal not in graph:
        raise NoRoute(f"no walking route from node {start} to node {goal}: not on the map")
    goal_pos = walk_map.position(goal)

    def heuristic(node: int, _goal: int) -> float:
        return distance_m(*walk_map.position(node), *goal_pos)

    try:
        nodes = nx.astar_path(graph, start, goal, heuristic=heuristic, weight="length_m")
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        raise NoRoute(f"no walking route from node {start} to node {goal}") from None
    return route_of(walk_map, nodes)


def route_along(points: tuple[tuple[float, float], ...], name: str = "") -> Route:
    """A route along a drawn polyline (a walk's path) rather than the map's ways: its turns are
    read the same way as a routed one's."""
    along = [0.0]
    for pa, pb in itertools.pairwise(points):
        along.append(along[-1] + distance_m(*pa, *pb))
    return Route(tuple(range(len(points))), tuple(points), (name,) * (len(points) - 1), tuple(along))


def route_of(walk_map: WalkMap, nodes: list[int]) -> Route:
    """The route along ``nodes`` (consecutive nodes joined by edges of the map)."""
    if len(nodes) < 2:
        nodes = [nodes[0], nodes[0]] if nodes else []
    if not nodes:
        raise NoRoute("a route needs at least one node")
    points = tuple(walk_map.position(n) for n in nodes)
    names, along = [], [0.0]
    for a, b, pa, pb in zip(nodes, nodes[1:], points, points[1:], strict=False):
        edge = walk_map.graph.get_edge_data(a, b) or {}
        names.append(edge.get("name", ""))
        along.append(along[-1] + distance_m(*pa, *pb))
    return Route(tuple(nodes), points, tuple(names), tuple(along))
