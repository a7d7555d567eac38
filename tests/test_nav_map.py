"""The walking graph and places read from OpenStreetMap data (the shipped Helsinki extract, and small
hand-made extracts whose answers are known), and routes on it."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from sottovoce.host.navigation.osm_map import DEFAULT_MAP, MapError, load_map
from sottovoce.host.navigation.router import NoRoute, route
from sottovoce.proto.geo import distance_m

# A plus-shaped junction at (60.0, 25.0): Northgate runs south-north, Eastway west-east; a
# motorway and a one-way-for-feet footway leave it too, and a chapel stands north-east of it.
CROSS_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <node id="1" lat="60.0" lon="25.0" version="1"/>
  <node id="2" lat="59.999" lon="25.0" version="1"/>
  <node id="3" lat="60.001" lon="25.0" version="1"/>
  <node id="4" lat="60.0" lon="24.998" version="1"/>
  <node id="5" lat="60.0" lon="25.002" version="1"/>
  <node id="6" lat="60.0005" lon="25.0015" version="1"/>
  <node id="7" lat="59.9995" lon="25.0015" version="1"/>
  <node id="8" lat="60.0008" lon="25.0008" version="1">
    <tag k="amenity" v="place_of_worship"/><tag k="building" v="chapel"/><tag k="name" v="Pikkukappeli"/>
    <tag k="name:en" v="Little Chapel"/>
  </node>
  <way id="10" version="1"><nd ref="2"/><nd ref="1"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="name" v="Northgate"/><tag k="oneway" v="yes"/></way>
  <way id="11" version="1"><nd ref="4"/><nd ref="1"/><nd ref="5"/>
    <tag k="highway" v="tertiary"/><tag k="name" v="Eastway"/></way>
  <way id="12" version="1"><nd ref="5"/><nd ref="6"/><nd ref="3"/>
    <tag k="highway" v="footway"/><tag k="oneway:foot" v="yes"/></way>
  <way id="13" version="1"><nd ref="2"/><nd ref="7"/><nd ref="5"/>
    <tag k="highway" v="motorway"/><tag k="name" v="Fastway"/></way>
</osm>
"""


@pytest.fixture(scope="module")
def helsinki():
    return load_map(DEFAULT_MAP)


@pytest.fixture
def cross(tmp_path: Path):
    path = tmp_path / "cross.osm"
    path.write_text(CROSS_OSM)
    return load_map(path)


def test_the_shipped_extract_is_a_walking_graph_with_places(helsinki):
    g = helsinki.graph
    assert g.number_of_nodes() > 4000 and nx.is_strongly_connected(g)
    assert all(d["length_m"] > 0 for _, _, d in g.edges(data=True))
    kinds = {d["kind"] for _, _, d in g.edges(data=True)}
    assert {"footway", "steps", "residential", "pedestrian"} <= kinds and "motorway" not in kinds
    names = {d["name"] for _, _, d in g.edges(data=True)}
    assert {"Aleksanterinkatu", "Mannerheimintie", "Kaivokatu"} <= names
    assert helsinki.find_place("the cathedral").english == "Helsinki Cathedral"
    assert helsinki.find_place("the station").english == "Helsinki Central Railway Station"
    assert helsinki.find_place("Kiasma").kind == "museum"
    assert helsinki.find_place("the moon base") is None


def test_one_way_streets_are_two_way_on_foot_but_oneway_foot_is_not(cross):
    g = cross.graph
    assert g.has_edge(1, 2) and g.has_edge(2, 1)  # Northgate is one-way for cars only
    assert g.has_edge(5, 6) and not g.has_edge(6, 5)  # oneway:foot=yes
    assert 7 not in g  # the motorway is no walk
    assert g[1][3]["name"] == "Northgate" and g[5][6]["name"] == ""
    assert cross.find_place("the chapel").spoken == "Little Chapel"


def test_routes_are_shortest_walks_with_street_names(helsinki):
    station, cathedral = helsinki.find_place("station"), helsinki.find_place("cathedral")
    a, _ = helsinki.nearest_node(station.lat, station.lon)
    b, _ = helsinki.nearest_node(cathedral.lat, cathedral.lon)
    r = route(helsinki, a, b)
    assert r.nodes[0] == a and r.nodes[-1] == b
    assert all(helsinki.graph.has_edge(u, v) for u, v in zip(r.nodes, r.nodes[1:], strict=False))
    straight = distance_m(*helsinki.position(a), *helsinki.position(b))
    assert straight < r.length_m < 1.6 * straight  # a walk through streets, not a detour
    assert r.length_m == pytest.approx(nx.shortest_path_length(helsinki.graph, a, b, weight="length_m"))
    assert "Kaivokatu" in r.names


def test_a_route_to_nowhere_is_a_clear_error(cross):
    with pytest.raises(NoRoute, match="no walking route"):
        route(cross, 1, 999)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), (b"not a map at all", "not a readable OpenStreetMap extract"),
     (b"<?xml version='1.0'?><osm version='0.6'></osm>", "no ways a pedestrian can walk")],
)  # fmt: skip
def test_a_map_that_does_not_parse_is_one_clear_error(tmp_path: Path, content, message):
    path = tmp_path / "bad.osm.pbf"
    if content is not None:
        path.write_bytes(content)
    if content and content.startswith(b"<?xml"):
        path = path.rename(tmp_path / "empty.osm")
    with pytest.raises(MapError, match=message) as err:
        load_map(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
