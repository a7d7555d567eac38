"""An OpenStreetMap extract (``.osm.pbf``) read with pyosmium into what a pedestrian can use: a
walking graph (``networkx.DiGraph``, edges in metres, with their street names) and the named
places a wearer may ask to be taken to.

A place is mapped as a node, a closed way, or - many churches, parks, squares and stations - a
multipolygon relation whose outline is its member ways. Each stands where the nodes of its outline
average out. A relation's outline is read from whichever of its ways the extract holds: an extract
cuts relations at its border, so an outline need not close to give a place its position (pyosmium's
area assembly gives up on such a polygon, and Helsinki's Market Square is one).

Pedestrians walk both ways along one-way streets, so ``oneway`` is ignored; only
``oneway:foot=yes`` (or a footway that is itself ``oneway=yes``) keeps one direction. Roads a
pedestrian may not use (motorways, trunk roads, ``foot=no``, private access) are left out.
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
import osmium

from sottovoce.proto.geo import LocalFrame, distance_m

log = logging.getLogger(__name__)

DEFAULT_MAP = Path(__file__).parent / "maps" / "helsinki.osm.pbf"

# highway=* values a pedestrian may walk along (sidewalks are usually mapped as footways).
WALKABLE = frozenset({
    "footway", "pedestrian", "path", "steps", "crossing", "living_street", "residential", "service",
    "unclassified", "tertiary", "tertiary_link", "secondary", "secondary_link", "primary", "primary_link",
    "cycleway", "track", "corridor", "platform", "bridleway", "road",
})  # fmt: skip
_NO_FOOT = frozenset({"no", "private", "use_sidepath"})
# What a place is, by the tag that says so; the word a wearer uses for it ("the cathedral").
_KIND_TAGS = ("amenity", "tourism", "shop", "railway", "building", "historic", "leisure")
_PLACE_BUILDINGS = frozenset({"cathedral", "church", "chapel", "train_station", "museum", "mosque", "synagogue"})
_KIND_WORDS = {
    "train_station": "station", "station": "station", "place_of_worship": "church", "bus_station": "bus station",
    "tram_stop": "tram stop", "subway_entrance": "metro",
}  # fmt: skip
# Place kinds that stand for "the station", "the cathedral": the one a wearer most likely means.
_PROMINENT = {
    "cathedral": 3,
    "train_station": 3,
    "museum": 2,
    "station": 2,
    "church": 2,
    "square": 2,
    "attraction": 1,
    "park": 1,
}


class MapError(ValueError):
    """A map file that cannot be used (missing, unreadable, or with no walkable ways)."""


@dataclass(frozen=True)
class Place:
    name: str  # as the map names it (local language)
    english: str  # its English name, or ""
    kind: str  # cathedral, station, museum, restaurant, ...
    lat: float
    lon: float

    @property
    def spoken(self) -> str:
        """How the wearer hears it named."""
        return self.english or self.name

    def words(self) -> str:
        return f"{self.name} {self.english} {self.kind} {_KIND_WORDS.get(self.kind, '')}".lower()


@dataclass
class WalkMap:
    graph: nx.DiGraph  # node -> lat, lon; edge -> length_m, name, kind
    places: list[Place]
    bounds: tuple[float, float, float, float]  # min lat, min lon, max lat, max lon of the walkable nodes
    source: str = ""
    _ids: np.ndarray = field(init=False, repr=False)
    _frame: LocalFrame = field(init=False, repr=False)
    _xy: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ids = list(self.graph.nodes)
        self._ids = np.array(ids, dtype=np.int64)
        self._frame = LocalFrame(*self.origin)
        self._xy = np.array([self._frame.to_xy(*self.position(n)) for n in ids], dtype=np.float64)

    @property
    def origin(self) -> tuple[float, float]:
        return (self.bounds[0] + self.bounds[2]) / 2, (self.bounds[1] + self.bounds[3]) / 2

    def position(self, node: int) -> tuple[float, float]:
        data = self.graph.nodes[node]
        return data["lat"], data["lon"]

    def covers(self, lat: float, lon: float, margin_m: float = 200.0) -> bool:
        """Whether (lat, lon) lies on this map (its walkable area, with a margin)."""
        _, distance = self.nearest_node(lat, lon)
        return distance <= margin_m

    def nearest_node(self, lat: float, lon: float) -> tuple[int, float]:
        """The walkable node nearest to (lat, lon) and its distance in metres."""
        x, y = self._frame.to_xy(lat, lon)
        i = int(np.argmin((self._xy[:, 0] - x) ** 2 + (self._xy[:, 1] - y) ** 2))
        node = int(self._ids[i])
        return node, distance_m(lat, lon, *self.position(node))

    def find_place(self, query: str) -> Place | None:
        """The place the words name ("the cathedral", "Kiasma", "the station"): every word of the
        query (but articles) must be in the place's names or kind; the most prominent kind wins,
        then the shortest name (the place itself rather than its café or bike station)."""
        words = [w for w in re.findall(r"[\w']+", query.lower()) if w not in {"the", "a", "an", "to"}]
        if not words:
            return None
        found = [p for p in self.places if all(re.search(rf"\b{re.escape(w)}", p.words()) for w in words)]
        if not found:
            return None
        return max(found, key=lambda p: (_PROMINENT.get(p.kind, 0), bool(p.english), -len(p.spoken)))


def _walkable(tags: osmium.osm.TagList) -> bool:
    highway = tags.get("highway")
    if highway not in WALKABLE:
        return False
    if tags.get("foot") in _NO_FOOT or (tags.get("access") in ("no", "private") and tags.get("foot") != "yes"):
        return False
    return tags.get("area") != "yes"


def _one_way_on_foot(tags: osmium.osm.TagList) -> bool:
    if tags.get("oneway:foot") in ("yes", "-1"):
        return True
    return tags.get("highway") in ("footway", "path", "pedestrian") and tags.get("oneway") in ("yes", "-1")


def _street_name(tags: osmium.osm.TagList) -> str:
    name = tags.get("name", "")
    if name:
        return name
    if tags.get("footway") == "crossing" or tags.get("highway") == "crossing":
        return "the crossing"
    if tags.get("highway") == "steps":
        return "the steps"
    return ""


def _place_kind(tags: osmium.osm.TagList) -> str | None:
    if tags.get("place") == "square":  # a square is mostly a pedestrian area: its place tag names it
        return "square"
    building = tags.get("building")
    if building in _PLACE_BUILDINGS:
        return building
    for key in _KIND_TAGS[:-3]:
        value = tags.get(key)
        if value and (key != "railway" or value == "station"):
            return value
    if tags.get("historic") or tags.get("leisure") == "park":
        return tags.get("historic") or "park"
    return None


def load_map(path: Path | str) -> WalkMap:
    """Read ``path`` into a walking graph and its places. Raises MapError with one clear line."""
    path = Path(path)
    if not path.is_file():
        raise MapError(f"map file {path} {'is not a file' if path.exists() else 'does not exist'}")
    graph = nx.DiGraph()
    places: list[Place] = []
    try:
        # Relations come after the ways they are made of: one pass over the relations first says
        # which ways outline a place, so the main pass keeps those ways' nodes and no others.
        outlined = _place_relations(path)
        outline_ways = {way for _, _, ways in outlined for way in ways}
        outlines: dict[int, list[tuple[float, float]]] = {}
        for obj in osmium.FileProcessor(str(path)).with_locations():
            tags = obj.tags
            if obj.is_way():
                if obj.id in outline_ways:
                    outlines[obj.id] = [(n.lat, n.lon) for n in obj.nodes if n.location.valid()]
                if _walkable(tags):
                    _add_way(graph, obj, tags)
                elif "name" in tags and (kind := _place_kind(tags)) is not None:
                    _add_place(places, tags, kind, [(n.lat, n.lon) for n in obj.nodes if n.location.valid()])
            elif obj.is_node() and "name" in tags and (kind := _place_kind(tags)) is not None:
                _add_place(places, tags, kind, [(obj.lat, obj.lon)])
    except (RuntimeError, ValueError, OSError) as exc:  # pyosmium says a broken file with RuntimeError
        raise MapError(f"map file {path} is not a readable OpenStreetMap extract: {exc}") from None
    outside = 0
    for tags, kind, ways in outlined:
        points = [p for way in ways for p in outlines.get(way, ())]
        outside += not points
        _add_place(places, tags, kind, points)
    if graph.number_of_edges() == 0:
        raise MapError(f"map file {path} has no ways a pedestrian can walk")
    # An extract cuts ways at its border and holds islands (a courtyard, a platform): keep the
    # largest part in which every node reaches every other, so any two points on the map route.
    graph = graph.subgraph(max(nx.strongly_connected_components(graph), key=len)).copy()
    lats = [d["lat"] for _, d in graph.nodes(data=True)]
    lons = [d["lon"] for _, d in graph.nodes(data=True)]
    walk_map = WalkMap(graph, places, (min(lats), min(lons), max(lats), max(lons)), str(path))
    log.info("map %s: %d nodes, %d edges, %d places (%d of %d outlined by relations; %d with no outline in the "
             "extract)", path.name, graph.number_of_nodes(), graph.number_of_edges(), len(places),
             len(outlined) - outside, len(outlined), outside)  # fmt: skip
    return walk_map


def _place_relations(path: Path) -> list[tuple[dict[str, str], str, list[int]]]:
    """The named places mapped as multipolygon relations: their tags, kind and outline's ways
    (the outer ones; all of them when no member says it is outer)."""
    found = []
    for rel in osmium.FileProcessor(str(path), osmium.osm.RELATION):
        tags = rel.tags
        if tags.get("type") != "multipolygon" or "name" not in tags or (kind := _place_kind(tags)) is None:
            continue
        ways = [(m.ref, m.role) for m in rel.members if m.type == "w"]
        outer = [ref for ref, role in ways if role == "outer"] or [ref for ref, _ in ways]
        found.append(({"name": tags["name"], "name:en": tags.get("name:en", "")}, kind, outer))
    return found


def _add_way(graph: nx.DiGraph, way: osmium.osm.Way, tags: osmium.osm.TagList) -> None:
    name, kind = _street_name(tags), tags.get("highway", "")
    reverse = tags.get("oneway:foot") == "-1" or tags.get("oneway") == "-1"
    one_way = _one_way_on_foot(tags)
    nodes = [(n.ref, n.lat, n.lon) for n in way.nodes if n.location.valid()]
    if reverse:
        nodes.reverse()
    for (a, alat, alon), (b, blat, blon) in itertools.pairwise(nodes):
        if a == b:
            continue
        graph.add_node(a, lat=alat, lon=alon)
        graph.add_node(b, lat=blat, lon=blon)
        length = distance_m(alat, alon, blat, blon)
        graph.add_edge(a, b, length_m=length, name=name, kind=kind)
        if not one_way:
            graph.add_edge(b, a, length_m=length, name=name, kind=kind)


def _add_place(
    places: list[Place], tags: osmium.osm.TagList | dict[str, str], kind: str, points: list[tuple[float, float]]
) -> None:
    if not points:
        return
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    places.append(Place(tags["name"], tags.get("name:en", ""), kind, lat, lon))
