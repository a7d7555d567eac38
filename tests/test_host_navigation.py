"""Navigation mode over the real gRPC stream: the wearer says "take me to the cathedral", the edge
sends Pose messages along the way, and the host whispers the turn cue before the turn, unasked."""

from __future__ import annotations

import dataclasses

import pytest
from grpc_edge import Edge, host_config, response_of, serving, spoken

from sottovoce.host.answer import HostModels
from sottovoce.host.navigation.instructions import steps_of
from sottovoce.host.navigation.osm_map import DEFAULT_MAP, load_map
from sottovoce.host.navigation.router import route
from sottovoce.host.responder import SkillResponder
from sottovoce.host.server import HostConfig, load_models
from sottovoce.proto.v1 import duplex_pb2 as pb


@pytest.fixture(scope="module")
def models() -> HostModels:
    m = load_models(HostConfig(tts="piper"))
    return HostModels(m.asr, m.voice, SkillResponder)


def _pose(t_s: float, lat: float, lon: float, heading: float | None = None) -> pb.Pose:
    return pb.Pose(time_us=int(t_s * 1e6), has_fix=True, latitude_deg=lat, longitude_deg=lon,
                   horizontal_accuracy_m=5.0, speed_mps=1.4, has_heading=heading is not None,
                   heading_deg=heading or 0.0, source="test")  # fmt: skip


def _started(msgs: list[pb.HostMessage]) -> list[pb.ResponseEvent]:
    return [m.response for m in msgs if response_of(pb.ResponseEvent.STARTED)(m)]


async def test_take_me_to_the_cathedral_then_a_turn_cue_before_the_turn(models):
    walk_map = load_map(DEFAULT_MAP)
    station, cathedral = walk_map.find_place("station"), walk_map.find_place("cathedral")
    planned = route(walk_map, walk_map.nearest_node(station.lat, station.lon)[0],
                    walk_map.nearest_node(cathedral.lat, cathedral.lon)[0])  # fmt: skip
    first_turn = steps_of(planned)[0]
    words = spoken({"go": "Take me to the cathedral."})
    async with serving(models) as host:
        edge = Edge(host.port)
        edge.start(mode=pb.MODE_NAVIGATION)
        await edge.accepted()
        edge.send(pose=_pose(0.0, station.lat, station.lon, heading=90.0))
        edge.utterance(1, words["go"])
        msgs = await edge.recv_until(response_of(pb.ResponseEvent.DONE))
        answer = _started(msgs)[0]
        assert answer.turn_id == 1 and answer.text.startswith("Helsinki Cathedral, 7"), answer.text
        edge.send(playback=pb.PlaybackEvent(kind=pb.PlaybackEvent.FINISHED, response_id=answer.response_id,
                                            heard_samples=msgs[-1].response.total_samples))  # fmt: skip
        # walk the route, a fix a second, up to 5 m before the first turn
        along, t = 0.0, 1.0
        while along < first_turn.at_m - 5:
            edge.send(pose=_pose(t, *planned.point_at(along)))
            along, t = along + 1.4, t + 1.0
        got = await edge.recv_until(response_of(pb.ResponseEvent.STARTED))
        cue = _started(got)[-1]
        assert cue.turn_id == 0 and first_turn.instruction() in cue.text, cue.text  # unasked, and the right turn
        assert cue.text.startswith(("In ", "Now "))
        # a pose that is no position is reported, and the session goes on
        edge.send(pose=pb.Pose(has_fix=True, latitude_deg=200.0, longitude_deg=0.0))
        err = await edge.recv_until(lambda m: m.WhichOneof("body") == "error")
        assert err[-1].error.code == pb.Error.BAD_REQUEST and not err[-1].error.fatal
        assert "not a latitude and longitude" in err[-1].error.message
        await edge.close()


async def test_a_host_started_with_a_destination_sets_off_at_the_first_fix(models):
    """``sottovoce host --destination NAME``: a navigation session routes there as soon as it knows
    where the wearer is, and says so unasked; before the first fix it waits."""
    station = load_map(DEFAULT_MAP).find_place("station")
    config = dataclasses.replace(host_config(), destination="the cathedral")
    async with serving(models, config) as host:
        edge = Edge(host.port)
        edge.start(mode=pb.MODE_NAVIGATION)
        await edge.accepted()
        edge.send(pose=pb.Pose(has_fix=False, has_heading=True, heading_deg=10.0))  # no fix yet: nothing said
        edge.send(pose=_pose(1.0, station.lat, station.lon, heading=90.0))
        got = await edge.recv_until(response_of(pb.ResponseEvent.STARTED))
        said = _started(got)[-1]
        assert said.turn_id == 0 and said.text.startswith("Helsinki Cathedral, 7"), said.text
        await edge.close()


def _station_to_cathedral():
    walk_map = load_map(DEFAULT_MAP)
    station, cathedral = walk_map.find_place("station"), walk_map.find_place("cathedral")
    planned = route(walk_map, walk_map.nearest_node(station.lat, station.lon)[0],
                    walk_map.nearest_node(cathedral.lat, cathedral.lon)[0])  # fmt: skip
    return station, planned, steps_of(planned)


async def _walk_to(edge: Edge, planned, along: float, t: float, to_m: float) -> tuple[float, float]:
    """Poses along ``planned``, a fix a second at walking pace, from ``along`` up to ``to_m``."""
    while along < to_m:
        edge.send(pose=_pose(t, *planned.point_at(along)))
        along, t = along + 1.4, t + 1.0
    return along, t


async def _first_cue(
    edge: Edge, station, planned, first_turn, go: list[bytes]
) -> tuple[pb.ResponseEvent, float, float]:
    """Set off for the cathedral by voice and walk to 20 m before the first turn: its cue, its
    first frame out; and where and when the walk is."""
    edge.start(mode=pb.MODE_NAVIGATION)
    await edge.accepted()
    edge.send(pose=_pose(0.0, station.lat, station.lon, heading=90.0))
    edge.utterance(1, go)
    msgs = await edge.recv_until(response_of(pb.ResponseEvent.DONE))
    edge.send(playback=pb.PlaybackEvent(kind=pb.PlaybackEvent.FINISHED, response_id=_started(msgs)[0].response_id,
                                        heard_samples=msgs[-1].response.total_samples))  # fmt: skip
    along, t = await _walk_to(edge, planned, 0.0, 1.0, first_turn.at_m - 20)
    got = await edge.recv_until(response_of(pb.ResponseEvent.STARTED))
    cue = _started(got)[-1]
    assert cue.turn_id == 0 and first_turn.instruction() in cue.text, cue.text
    await edge.recv_until(lambda m: m.WhichOneof("body") == "audio")  # its first frame is out
    return cue, along, t


async def _answered(edge: Edge, turn_id: int) -> tuple[list[pb.HostMessage], pb.ResponseEvent]:
    """What came up to the answer to ``turn_id`` starting, and that answer."""
    got = await edge.recv_until(lambda m: response_of(pb.ResponseEvent.STARTED)(m) and m.response.turn_id == turn_id)
    return got, got[-1].response


async def _cue_said_again_after_the_answer(
    edge: Edge, got: list[pb.HostMessage], answer: pb.ResponseEvent, cue: pb.ResponseEvent, first_turn
) -> None:
    """``got`` led up to ``answer`` to "how far is it?": the cue was not said over the wearer nor
    over the answer, and once the answer has been heard it is said again, in its words of then."""
    assert not [r for r in _started(got)[:-1] if r.turn_id == 0]  # not said again over the wearer
    assert "Helsinki Cathedral" in answer.text and "metres" in answer.text, answer.text  # how far, answered
    done = await edge.recv_until(response_of(pb.ResponseEvent.DONE))
    assert not _started(done)  # nothing unasked over the answer
    edge.send(playback=pb.PlaybackEvent(kind=pb.PlaybackEvent.FINISHED, response_id=answer.response_id,
                                        heard_samples=done[-1].response.total_samples))  # fmt: skip
    again = _started(await edge.recv_until(response_of(pb.ResponseEvent.STARTED)))[-1]
    assert again.turn_id == 0 and first_turn.instruction() in again.text, again.text
    assert again.response_id != cue.response_id


@pytest.mark.parametrize("edge_saw", ["late_onset", "barge_in", "overlap"])
async def test_a_cue_the_wearer_starts_talking_with_gives_way_and_is_said_after_their_turn(models, edge_saw):
    """The wearer begins to speak just as a cue begins (their onset, reported by its audio frame,
    falls 120 ms after the cue's first frame): the cue is withdrawn (CANCELLED, the edge flushes
    it), the wearer's question is their own turn and answered, and the cue is said again after.
    The edge may report the speech as a turn of its own (its onset came before the cue reached
    it), stop the cue itself (a barge-in), or first ask the host to read the speech over it."""
    station, planned, steps = _station_to_cathedral()
    first_turn = steps[0]
    words = spoken({"go": "Take me to the cathedral.", "far": "How far is it?"})
    async with serving(models) as host:
        edge = Edge(host.port)
        cue, _, _ = await _first_cue(edge, station, planned, first_turn, words["go"])
        if edge_saw == "barge_in":  # the edge held it at the onset and stopped it after 200 ms of speech
            edge.send(playback=pb.PlaybackEvent(kind=pb.PlaybackEvent.INTERRUPTED, response_id=cue.response_id,
                                                heard_samples=1920))  # fmt: skip
            edge.send(cancel=pb.CancelResponse(response_id=cue.response_id, reason="barge_in"))
        edge.silence_frames(5)
        onset = edge.audio(words["far"])
        if edge_saw == "overlap":  # held at the onset, the words asked about: it gives way there and then
            edge.send(overlap=pb.OverlapQuery(query_id=1, first_seq=onset, last_seq=onset + 10))
            got = await edge.recv_until(response_of(pb.ResponseEvent.CANCELLED))
            assert got[-1].response.response_id == cue.response_id
        edge.turn(pb.TurnEvent.SPEECH_START, 2, onset, barge_in=edge_saw != "late_onset")
        edge.end_turn(2)
        got, answer = await _answered(edge, 2)
        cancelled = [m.response for m in got if response_of(pb.ResponseEvent.CANCELLED)(m)]
        assert [c.response_id for c in cancelled] == ([] if edge_saw == "overlap" else [cue.response_id])
        await _cue_said_again_after_the_answer(edge, got, answer, cue, first_turn)
        await edge.close()


def _talk_over(edge: Edge, cue: pb.ResponseEvent, turn_id: int, packets: list[bytes]) -> None:
    """The wearer speaks well after the cue began (600 ms of its audio on the uplink first): the
    edge ducks it at their onset and stops it, a barge-in, after 800 ms of it were heard."""
    edge.silence_frames(30)
    onset = edge.audio(packets)
    edge.send(playback=pb.PlaybackEvent(kind=pb.PlaybackEvent.INTERRUPTED, response_id=cue.response_id,
                                        heard_samples=12800))  # fmt: skip
    edge.turn(pb.TurnEvent.SPEECH_START, turn_id, onset, barge_in=True)
    edge.end_turn(turn_id)


async def test_a_cue_the_wearer_stops_with_a_question_is_said_again_after_the_answer(models):
    """Past its first moments a cue does not give way: the wearer's question stops it as a barge-in
    stops an answer. It has not been heard whole, so once the question is answered it is said again,
    in its words of then."""
    station, planned, steps = _station_to_cathedral()
    first_turn = steps[0]
    words = spoken({"go": "Take me to the cathedral.", "far": "How far is it?"})
    async with serving(models) as host:
        edge = Edge(host.port)
        cue, _, _ = await _first_cue(edge, station, planned, first_turn, words["go"])
        _talk_over(edge, cue, 2, words["far"])
        got, answer = await _answered(edge, 2)
        await _cue_said_again_after_the_answer(edge, got, answer, cue, first_turn)
        await edge.close()


async def test_a_cue_the_wearer_stops_with_a_bare_stop_is_not_said_again(models):
    """ "Stop." over a cue asks for quiet: it gets no reply and the cue is dropped; the next cue the
    wearer hears is the next turn's."""
    station, planned, steps = _station_to_cathedral()
    first_turn, second_turn = steps[0], steps[1]
    words = spoken({"go": "Take me to the cathedral.", "stop": "Stop."})
    async with serving(models) as host:
        edge = Edge(host.port)
        cue, along, t = await _first_cue(edge, station, planned, first_turn, words["go"])
        _talk_over(edge, cue, 2, words["stop"])
        heard = await edge.recv_until(lambda m: m.WhichOneof("body") == "transcript" and m.transcript.final)
        assert heard[-1].transcript.turn_id == 2 and "stop" in heard[-1].transcript.text.lower()
        await _walk_to(edge, planned, along, t, second_turn.at_m - 20)
        nxt = _started(await edge.recv_until(response_of(pb.ResponseEvent.STARTED)))[-1]
        assert nxt.turn_id == 0 and second_turn.instruction() in nxt.text, nxt.text
        assert first_turn.instruction() not in nxt.text
        await edge.close()
