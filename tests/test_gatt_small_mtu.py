"""The profile at ATT MTU 23 (BLE's default, and what BlueZ reports before the MTU is acquired), over
real bumble: the simulator capped at ``max_mtu = 23``, the edge's BumbleLink and its playback pacer.

The device's playback reports are larger than one 20-byte notification; they must still arrive, so
the pacer keeps sending and an answer longer than its window plays whole."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from ble_hub import controllers
from link_events import RecordedEvents

from sottovoce.edge.links.bumble_link import BumbleLink
from sottovoce.edge.playback import Playback
from sottovoce.edge.uplink import Uplink
from sottovoce.firmware_sim.config import SimConfig
from sottovoce.firmware_sim.scenario import parse_scenario, synthesize
from sottovoce.firmware_sim.simulator import Simulator
from sottovoce.proto import control as ctl
from sottovoce.proto.codec import DOWNLINK_CONFIG, FRAME_SAMPLES, OpusEncoder, frames_of, to_int16
from sottovoce.proto.gatt.att import ATT_HEADER, DEFAULT_ATT_MTU

SCENARIO = f"""
name = "mtu-23"
tts = "espeak"
lead_in = 0.2
tail = 0.3

[[utterance]]
say = "What time is it?"
at = 0.3

[link]
connection_interval_ms = 15
max_mtu = {DEFAULT_ATT_MTU}
"""
ANSWER_FRAMES = 100  # 2 s: five times the pacer's 20-frame window, so reports must flow
RESPONSE_ID = 1


class Edge(RecordedEvents):
    """What the daemon does with a link's events, cut down to audio and playback reports."""

    def __init__(self, playback: Playback) -> None:
        super().__init__()
        self.playback = playback
        self.reports: list[ctl.ControlMessage] = []

    def on_control(self, data: bytes) -> None:
        super().on_control(data)
        msg = ctl.decode(data)
        self.reports.append(msg)
        self.playback.on_report(msg)


@pytest.fixture
def hub():
    with controllers() as urls:
        yield urls


async def until(predicate, seconds: float) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_reports_arrive_and_an_answer_plays_whole_at_mtu_23(hub, tmp_path: Path):
    sim_url, central_url = hub
    scenario = parse_scenario(SCENARIO, "mtu-23.toml")
    synthesize(scenario)
    sim = Simulator(scenario, SimConfig(out=tmp_path, seed=1), say=lambda _line: None)
    sim_task = asyncio.create_task(sim.run(sim_url))
    heard: list[tuple[str, int, int]] = []
    playback = Playback(lambda *event: heard.append(event))
    edge = Edge(playback)
    link = BumbleLink(central_url, scan_timeout=20)
    pacer = None
    try:
        await link.open(edge)
        assert link.att_mtu == DEFAULT_ATT_MTU and link.has_downlink
        playback.attach(link)
        pacer = asyncio.create_task(playback.run())

        # Answer once the wearer has finished speaking, as the edge would.
        await until(lambda: sim.director.spoken and sim.speaker.position >= sim.director.spoken[0].end_sample, 20)
        t = np.arange(ANSWER_FRAMES * FRAME_SAMPLES) / 16000
        encoder = OpusEncoder(DOWNLINK_CONFIG)
        playback.start(RESPONSE_ID)
        for pcm in frames_of(to_int16(0.3 * np.sin(2 * np.pi * 330 * t))):
            playback.add_frame(RESPONSE_ID, encoder.encode(pcm))
        playback.finish(RESPONSE_ID)
        await until(lambda: any(kind == "finished" for kind, _, _ in heard), 20)
        events = await asyncio.wait_for(sim_task, 20)
    finally:
        if pacer is not None:
            pacer.cancel()
        await link.close()
        if not sim_task.done():
            sim_task.cancel()

    # The edge heard the whole answer from the device's own reports, which crossed in fragments.
    assert heard == [("started", RESPONSE_ID, 0), ("finished", RESPONSE_ID, ANSWER_FRAMES * FRAME_SAMPLES)]
    assert any(isinstance(m, ctl.BufferReport) for m in edge.reports)
    assert max(len(m.encode()) for m in edge.reports) > DEFAULT_ATT_MTU - ATT_HEADER
    assert link.control_counters is not None and link.control_counters.fragment_losses == 0
    # ... and the wearer heard all of it.
    (play,) = events.playback
    assert play.ended == "finished" and play.samples == ANSWER_FRAMES * FRAME_SAMPLES
    counters = events.counters
    assert counters["speaker"]["missing_frames"] == 0 and counters["speaker"]["frames_concealed"] == 0
    assert counters["control"]["control_received"] >= 1 and counters["control"]["control_malformed"] == 0
    assert counters["link"]["mtu"] == DEFAULT_ATT_MTU
    # The uplink too: every notification fits, and the frames rebuild.
    assert max(len(n) for n in edge.audio) <= DEFAULT_ATT_MTU - ATT_HEADER
    frames = []
    uplink = Uplink(frames.append)
    uplink.connected(link.att_mtu)
    for notification in edge.audio:
        uplink.feed(notification)
    assert len(frames) > 50 and uplink.counters.malformed_notifications == 0 and uplink.counters.concealed == 0
