"""Navigation end to end, as a user runs it: the host, the simulated glasses walking Aleksanterinkatu
(IMU over bumble's BLE, GPS served as gpsd with --gpsd) and the edge in navigation mode
(--gps gpsd://...), each its own process. The edge's poses reach the host's session for the whole
walk, and the wearer's question on the way is answered."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sottovoce.proto import events as ev
from sottovoce.tools.demo import Stack, free_ports

pytestmark = pytest.mark.e2e

SCENARIO = Path(__file__).parent / "scenarios" / "walk_aleksanterinkatu.toml"


async def test_a_walk_streams_poses_to_a_navigating_host(tmp_path: Path):
    grpc_port, gpsd_port = free_ports(2)
    stack = Stack(tmp_path)
    cli = ["-m", "sottovoce.tools.cli"]
    events = tmp_path / "edge_events.jsonl"
    try:
        ble_sim, ble_edge = await stack.start_ble_hub()
        host = await stack.start("host", *cli, "host", "--listen", f"127.0.0.1:{grpc_port}", "--tts", "espeak")
        await stack.wait_serving(host, f"127.0.0.1:{grpc_port}", 180)
        sim = await stack.start("sim", *cli, "sim", "--transport", f"tcp-client:127.0.0.1:{ble_sim}",
                                "--scenario", str(SCENARIO), "--gpsd", f"127.0.0.1:{gpsd_port}",
                                "--out", str(tmp_path))  # fmt: skip
        edge = await stack.start("edge", *cli, "edge", "--device", f"tcp-client:127.0.0.1:{ble_edge}",
                                 "--host", f"127.0.0.1:{grpc_port}", "--mode", "navigation",
                                 "--gps", f"gpsd://127.0.0.1:{gpsd_port}", "--events", str(events),
                                 "--scan-timeout", "30")  # fmt: skip
        done = asyncio.create_task(sim.process.wait())
        while not done.done():
            stack.check_running(host, edge)  # a host refusing navigation ends the edge: fail at once
            await asyncio.sleep(0.2)
        assert done.result() == 0, sim.tail()
    finally:
        await stack.stop_all()
    log = ev.read_events(events)
    assert any(e.up for e in ev.of_type(log, ev.HostState)), edge.tail()
    assert not ev.of_type(log, ev.HostError), ev.of_type(log, ev.HostError)
    (stopped,) = ev.of_type(log, ev.EdgeStopped)
    counters = stopped.counters
    # about 30 s of walking: a pose a second at least, most of them with a fix and a heading
    assert counters["pose.poses_sent"] >= 25, counters
    assert counters["pose.malformed_imu"] == 0 and counters["position.fixes"] >= 22
    assert counters["position.no_fix_reports"] >= 2  # the scenario's GPS outage
    assert counters["heading.samples"] >= 1000 and counters["position.garbage"] == 0
    # the session stayed up: poses were dropped only before it was (at most the first second's)
    assert counters["pose.poses_dropped"] <= 5, counters
    assert (tmp_path / "walk.json").is_file()
    transcripts = [e.text.lower() for e in ev.of_type(log, ev.Transcript)]
    assert any("where" in t for t in transcripts), transcripts
