"""Navigation's pose over the real stack: the simulated glasses walk Aleksanterinkatu and notify their
IMU over bumble's BLE, the simulator serves the walk's GPS as gpsd over TCP, and the edge daemon in
navigation mode fuses the heading, reads gpsd with gpsdclient and sends its poses to a gRPC host
(the recording stand-in of the host-link tests), which notes the wearer's true pose as each arrives."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from ble_hub import controllers
from test_edge_host_link import RecordingDuplex, start_server

from sottovoce.edge.config import EdgeConfig
from sottovoce.edge.daemon import Edge
from sottovoce.firmware_sim.config import SimConfig
from sottovoce.firmware_sim.scenario import load_scenario
from sottovoce.firmware_sim.simulator import Simulator
from sottovoce.firmware_sim.walk import WalkSample
from sottovoce.proto.geo import distance_m, turn_deg
from sottovoce.proto.v1 import duplex_pb2 as pb
from sottovoce.tools.demo import free_ports

SCENARIO = Path(__file__).parent / "scenarios" / "walk_aleksanterinkatu.toml"


class NavigationHost(RecordingDuplex):
    """Records each pose with where the simulated wearer truly was when it arrived."""

    def __init__(self, sim: Simulator) -> None:
        super().__init__()
        self.sim = sim
        self.poses: list[tuple[pb.Pose, WalkSample]] = []

    async def Converse(self, request_iterator, context):
        async for reply in super().Converse(self._note_poses(request_iterator), context):
            yield reply

    async def _note_poses(self, requests):
        async for msg in requests:
            if msg.WhichOneof("body") == "pose" and self.sim.walk_now is not None:
                self.poses.append((msg.pose, self.sim.walk_now))
            yield msg


@pytest.fixture
def hub():
    with controllers() as urls:
        yield urls


async def test_the_edges_poses_follow_the_simulated_walk(hub, tmp_path: Path):
    sim_url, central_url = hub
    scenario = load_scenario(SCENARIO)
    host_port, gpsd_port = free_ports(2)
    sim = Simulator(scenario, SimConfig(out=tmp_path, seed=1, gpsd=f"127.0.0.1:{gpsd_port}"), say=lambda _l: None)
    host = NavigationHost(sim)
    server = await start_server(host_port, host)
    edge = Edge(
        EdgeConfig(device=central_url, host=f"127.0.0.1:{host_port}", mode="navigation",
                   gps=f"gpsd://127.0.0.1:{gpsd_port}", turn="silence", aec=False, scan_timeout=20),
        auth_token="secret",
    )  # fmt: skip
    stop = asyncio.Event()
    sim_task = asyncio.create_task(sim.run(sim_url))
    edge_task = asyncio.create_task(edge.run(stop))
    try:
        events = await asyncio.wait_for(sim_task, 90)
    finally:
        stop.set()
        await asyncio.wait_for(edge_task, 20)
        if not sim_task.done():
            sim_task.cancel()
        await server.stop(None)

    assert sim.walk_done and (tmp_path / "walk.json").is_file()
    assert events.counters["imu"]["batches_sent"] > 200 and events.counters["gpsd"]["clients"] >= 1
    counters = edge.all_counters()
    assert counters["pose.malformed_imu"] == 0 and counters["heading.samples"] > 1000
    assert counters["position.fixes"] >= 20 and counters["position.garbage"] == 0

    poses = host.poses
    assert len(poses) >= 30
    times = [p.time_us for p, _ in poses]
    assert min(np.diff(times)) >= 0.2e6 - 1e3  # never more than 5 a second
    located = [(p, s) for p, s in poses if p.has_fix]
    assert len(located) >= 20 and all(p.source == "gpsd" for p, _ in located)
    # the fixes carry the receiver's few metres of error, and lag the wearer by at most a second's walk
    errors = [distance_m(p.latitude_deg, p.longitude_deg, s.latitude_deg, s.longitude_deg) for p, s in located]
    assert np.median(errors) < 10 and max(errors) < 25, errors
    assert all(0 < p.horizontal_accuracy_m <= 10 for p, _ in located)
    # the receiver's two seconds without a fix reached the host at once, and the fix came back
    assert any(not p.has_fix for p, s in poses if 22 <= s.t_s <= 24.5)
    assert any(p.has_fix for p, s in poses if s.t_s > 25)
    # the head's heading from the fused IMU, wherever the head is not turning fast
    steady = [(p, s) for p, s in poses if p.has_heading and s.t_s > 2 and abs(s.yaw_rate_dps) < 5]
    assert len(steady) >= 20
    heading_errors = np.abs([turn_deg(s.heading_deg, p.heading_deg) for p, s in steady])
    assert np.median(heading_errors) < 5 and np.percentile(heading_errors, 90) < 10, heading_errors
    # the look to the left at 6 s reached the host: 60 degrees left of walking east along Aleksanterinkatu
    looking = [p for p, s in poses if p.has_heading and 7.0 <= s.t_s <= 8.0]
    assert looking and any(abs(turn_deg(87 - 60, p.heading_deg)) < 10 for p in looking)
