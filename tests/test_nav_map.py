"""The walking graph and places read from OpenStreetMap data (the shipped Helsinki extract, and small
hand-made extracts whose answers are known), and routes on it."""

from __future__ import annotations

import argparse
from pathlib import Path

import networkx as nx
import osmium
import pytest

from sottovoce.host import cli
from sottovoce.host.navigation.navigator import Navigator
from sottovoce.host.navigation.osm_map import DEFAULT_MAP, MapError, load_map
from sottovoce.host.navigation.progress import Fix
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


def test_a_map_cut_short_is_one_clear_error_and_the_host_stops_with_that_line(tmp_path: Path, capsys):
    """A download that broke off half-way: pyosmium's own words, on one line, through ``sottovoce
    host --map`` as well."""
    cut = tmp_path / "city.osm.pbf"
    cut.write_bytes(DEFAULT_MAP.read_bytes()[:300_000])
    with pytest.raises(MapError, match="not a readable OpenStreetMap extract: PBF error"):
        load_map(cut)
    with pytest.raises(MapError, match="is not a file"):
        load_map(tmp_path)
    parser = argparse.ArgumentParser(prog="sottovoce host")
    cli.add_arguments(parser)
    args = parser.parse_args(["--listen", "127.0.0.1:0", "--map", str(cut), "--log-level", "ERROR"])
    assert cli.run(args) == 2
    out = capsys.readouterr()
    assert out.err.startswith(f"sottovoce host: map file {cut} is not a readable OpenStreetMap extract")
    assert out.err.count("\n") == 1 and not out.out


# Two places mapped only as multipolygon relations: a park whose outline is whole, and a square cut
# by the extract's border (one of its outer ways is missing), plus a church whose members say no role.
RELATIONS_OSM = """
  <node id="20" lat="60.0010" lon="25.0010" version="1"/>
  <node id="21" lat="60.0010" lon="25.0030" version="1"/>
  <node id="22" lat="60.0030" lon="25.0030" version="1"/>
  <node id="23" lat="60.0030" lon="25.0010" version="1"/>
  <node id="24" lat="59.9980" lon="24.9980" version="1"/>
  <node id="25" lat="59.9980" lon="24.9990" version="1"/>
  <node id="26" lat="59.9990" lon="24.9990" version="1"/>
  <way id="30" version="1"><nd ref="20"/><nd ref="21"/><nd ref="22"/><nd ref="23"/><nd ref="20"/></way>
  <way id="31" version="1"><nd ref="24"/><nd ref="25"/><nd ref="26"/></way>
  <way id="32" version="1"><nd ref="2"/><nd ref="7"/></way>
  <relation id="40" version="1"><member type="way" ref="30" role="outer"/>
    <tag k="type" v="multipolygon"/><tag k="leisure" v="park"/><tag k="name" v="Puisto"/>
    <tag k="name:en" v="Corner Park"/></relation>
  <relation id="41" version="1"><member type="way" ref="31" role="outer"/><member type="way" ref="99" role="outer"/>
    <tag k="type" v="multipolygon"/><tag k="place" v="square"/><tag k="highway" v="pedestrian"/>
    <tag k="name" v="Tori"/><tag k="name:en" v="Market Square"/></relation>
  <relation id="42" version="1"><member type="way" ref="32" role=""/>
    <tag k="type" v="multipolygon"/><tag k="amenity" v="place_of_worship"/><tag k="name" v="Kirkko"/></relation>
  <relation id="43" version="1"><member type="way" ref="98" role="outer"/>
    <tag k="type" v="multipolygon"/><tag k="leisure" v="park"/><tag k="name" v="Beyond"/></relation>
  <relation id="44" version="1"><member type="way" ref="30" role="outer"/>
    <tag k="type" v="route"/><tag k="amenity" v="pub"/><tag k="name" v="Pub Crawl"/></relation>
"""


def test_places_mapped_as_relations_stand_where_their_outline_is(tmp_path: Path):
    path = tmp_path / "relations.osm"
    path.write_text(CROSS_OSM.replace("</osm>", RELATIONS_OSM + "</osm>"))
    walk_map = load_map(path)
    park = walk_map.find_place("the park")
    assert (park.name, park.spoken, park.kind) == ("Puisto", "Corner Park", "park")
    # the mean of its outline's nodes (the closing node counted twice)
    assert park.lat == pytest.approx((60.001 * 3 + 60.003 * 2) / 5) and park.lon == pytest.approx(25.0018)
    square = walk_map.find_place("market square")  # half its outline is beyond the extract: the half it holds
    assert square.kind == "square" and square.lat == pytest.approx((59.998 * 2 + 59.999) / 3)
    church = walk_map.find_place("Kirkko")  # no member says it is outer: all of them are the outline
    assert church.kind == "church" or church.kind == "place_of_worship"
    assert church.lat == pytest.approx((59.999 + 59.9995) / 2)
    assert walk_map.find_place("Beyond") is None  # nothing of it in the extract: no place, no crash
    assert walk_map.find_place("pub crawl") is None  # a route relation is no place


def test_the_shipped_map_has_places_that_exist_only_as_relations(helsinki):
    """Kaisaniemi Park and the Market Square are multipolygon relations in the extract, and no node
    or way there carries the park's name or the square's English one (its Finnish one is a tram
    stop's and a street's too); the Market Square's outline is cut by the extract's border."""
    elsewhere = [o.id for o in osmium.FileProcessor(str(DEFAULT_MAP), osmium.osm.NODE | osmium.osm.WAY)
                 if o.tags.get("name") == "Kaisaniemen puisto" or o.tags.get("name:en") == "Market Square"]  # fmt: skip
    assert elsewhere == []
    park, square = helsinki.find_place("Kaisaniemi Park"), helsinki.find_place("the market square")
    assert (park.name, park.kind) == ("Kaisaniemen puisto", "park")
    assert (square.name, square.kind) == ("Kauppatori", "square")
    assert distance_m(park.lat, park.lon, 60.1751, 24.9459) < 150  # the park's middle, by its map
    assert distance_m(square.lat, square.lon, 60.1675, 24.9526) < 100
    assert helsinki.find_place("senate square").name == "Senaatintori"  # the square, not its bike station
    station = helsinki.find_place("the station")
    nav = Navigator(helsinki)
    nav.on_pose(Fix(0.0, station.lat, station.lon), heading=None)
    assert nav.go_to("Kaisaniemi Park").startswith("Kaisaniemi Park, 1 kilometre, about") and nav.route is not None
    assert distance_m(*nav.route.points[-1], park.lat, park.lon) < 50
