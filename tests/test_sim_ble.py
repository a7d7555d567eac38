"""The simulator as a real BLE peripheral: bumble's two virtual controllers in a subprocess, the
simulator's GATT server on one, a small bumble central (standing in for the edge) on the other."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
from ble_hub import controllers
from bumble.core import UUID
from bumble.device import Device, Peer
from bumble.hci import Address
from bumble.transport import open_transport

from sottovoce.firmware_sim.config import SimConfig
from sottovoce.firmware_sim.scenario import parse_scenario, synthesize
from sottovoce.firmware_sim.simulator import Simulator, TransportError
from sottovoce.proto import control as ctl
from sottovoce.proto.codec import DOWNLINK_CONFIG, FRAME_SAMPLES, OpusDecoder, OpusEncoder, frames_of
from sottovoce.proto.events import read_sim_events
from sottovoce.proto.gatt import audio, battery, speaker
from sottovoce.proto.gatt.att import ATT_HEADER
from sottovoce.tools.demo import free_ports

SCENARIO = """
name = "ble-test"
tts = "espeak"
lead_in = 0.2
tail = 0.3

[[utterance]]
say = "Hello there, how are you?"
at = 0.3

[link]
connection_interval_ms = 15
max_mtu = 100
"""
ADDRESS = "F0:F1:F2:F3:F4:F5"
ANSWER_FRAMES = 25  # 0.5 s


@pytest.fixture
def hub():
    with controllers() as urls:
        yield urls


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


async def test_sim_serves_gatt_audio_and_speaker_over_ble(hub, tmp_path: Path):
    sim_url, central_url = hub
    scenario = parse_scenario(SCENARIO, "ble-test.toml")
    synthesize(scenario)
    hci = await open_transport(central_url)
    lines: list[str] = []
    sim = Simulator(scenario, SimConfig(out=tmp_path, address=ADDRESS, seed=1), say=lines.append)
    sim_task = asyncio.create_task(sim.run(sim_url))
    try:
        async with hci:
            central = Device.with_hci("edge-test", Address("C0:C1:C2:C3:C4:C5"), hci.source, hci.sink)
            await central.power_on()
            connection = None
            for _ in range(50):  # until the simulator advertises
                try:
                    connection = await central.connect(Address(ADDRESS), timeout=2.0)
                    break
                except Exception:
                    await asyncio.sleep(0.1)
            assert connection is not None
            peer = Peer(connection)
            mtu = await peer.request_mtu(247)
            assert mtu == 100  # capped by the scenario's max_mtu

            await peer.discover_services()
            await peer.discover_characteristics()

            def char(uuid: str):
                found = peer.get_characteristics_by_uuid(UUID(uuid))
                assert found, f"characteristic {uuid} missing"
                return found[0]

            assert await char(audio.CODEC_UUID).read_value() == bytes([audio.CODEC_OPUS_16K_20MS])
            assert 0 <= (await char(battery.LEVEL_UUID).read_value())[0] <= 100

            frames: list[tuple[bytes, int]] = []
            reassembler = audio.UplinkReassembler(lambda f, lost: frames.append((f, lost)), att_mtu=mtu)
            notification_sizes: list[int] = []
            # Answer once the utterance has gone by (0.2 s lead-in + 0.3 s + speech + margin).
            speech_frames = (0.2 + 0.3 + len(scenario.utterances[0].audio) / 16000 + 0.1) / 0.02
            heard_it = asyncio.Event()

            def on_audio(value: bytes) -> None:
                notification_sizes.append(len(value))
                reassembler.feed(bytes(value))
                if len(frames) >= speech_frames:
                    heard_it.set()

            reports: list[ctl.ControlMessage] = []
            finished = asyncio.Event()

            def on_control(value: bytes) -> None:
                msg = ctl.decode(value)
                reports.append(msg)
                if isinstance(msg, ctl.PlaybackReport) and msg.event == "finished":
                    finished.set()

            control_in = speaker.ControlReassembler(on_control, "test central")
            await char(speaker.CONTROL_UUID).subscribe(lambda value: control_in.feed(bytes(value)))
            await char(audio.DATA_UUID).subscribe(on_audio)

            control_out = speaker.ControlPacketizer()

            async def write_control(msg: ctl.ControlMessage) -> None:
                for fragment in control_out.packetize(msg.encode(), mtu):
                    await char(speaker.CONTROL_UUID).write_value(fragment, with_response=True)

            await asyncio.wait_for(heard_it.wait(), 20)
            encoder = OpusEncoder(DOWNLINK_CONFIG)
            packetizer = speaker.DownlinkPacketizer(mtu)
            downlink = char(speaker.DOWNLINK_UUID)
            for pcm in frames_of(_tone(ANSWER_FRAMES * 0.02)):
                for chunk in packetizer.packetize(7, encoder.encode(pcm)):
                    await downlink.write_value(chunk, with_response=False)
                await asyncio.sleep(0.005)  # a paced sender, like the edge
            await write_control(ctl.StreamEnd(stream=7, frames=ANSWER_FRAMES))
            await write_control(ctl.TimeSyncRequest(t0=123))
            await asyncio.wait_for(finished.wait(), 10)
            events = await asyncio.wait_for(sim_task, 20)
            reassembler.flush()
    finally:
        if not sim_task.done():  # a failed check above must not leave the simulator running
            sim_task.cancel()

    # Uplink: every notification fits the negotiated MTU; frames reassemble without loss and
    # decode to the mic track, which holds the scenario's speech at its start time.
    assert max(notification_sizes) <= mtu - ATT_HEADER
    assert all(lost == 0 for _, lost in frames)
    decoder = OpusDecoder()
    lead = 10  # 0.2 s of lead-in frames are sent but not recorded
    decoded = np.concatenate([decoder.decode(f) for f, _ in frames])[lead * FRAME_SAMPLES :].astype(np.float64)
    mic = sim.recorder.mic().astype(np.float64)
    n = min(len(decoded), len(mic))
    assert n >= len(mic) - 10 * FRAME_SAMPLES
    speech = scenario.utterances[0].audio.astype(np.float64)
    start = round(0.3 * 16000)
    assert np.array_equal(mic[start : start + len(speech)], speech)  # no noise/echo configured
    # Opus (CELT) adds a few ms of delay: take the best lag, then the waveforms must agree.
    best = max(
        (np.corrcoef(mic[start : start + len(speech)], decoded[start + lag : start + lag + len(speech)])[0, 1], lag)
        for lag in range(0, 161, 4)
    )
    assert best[0] > 0.9, best

    # Downlink: the speaker started, played exactly the stream and reported it.
    kinds = [(m.event if isinstance(m, ctl.PlaybackReport) else m.TYPE) for m in reports]
    assert "started" in kinds and "finished" in kinds
    done = next(m for m in reports if isinstance(m, ctl.PlaybackReport) and m.event == "finished")
    assert done.stream == 7 and done.sample == ANSWER_FRAMES * FRAME_SAMPLES
    assert any(isinstance(m, ctl.BufferReport) and m.stream == 7 for m in reports)
    sync = next(m for m in reports if isinstance(m, ctl.TimeSyncResponse))
    assert sync.t0 == 123 and sync.t1 > 0

    # Recording: both tracks on one timeline, the answer where the events say it is.
    assert (tmp_path / "mic.wav").is_file() and (tmp_path / "ear.wav").is_file()
    saved = json.loads((tmp_path / "sim_events.json").read_text())
    assert read_sim_events(tmp_path / "sim_events.json") == events
    (play,) = saved["playback"]
    assert play["ended"] == "finished" and play["samples"] == ANSWER_FRAMES * FRAME_SAMPLES
    ear = sim.recorder.ear()
    assert len(ear) == len(sim.recorder.mic())
    s0, s1 = round(play["start_s"] * 16000), round(play["end_s"] * 16000)
    assert s1 - s0 == ANSWER_FRAMES * FRAME_SAMPLES
    assert not ear[:s0].any() and not ear[s1:].any()
    assert np.sqrt(np.mean(ear[s0:s1].astype(np.float64) ** 2)) > 1000
    assert saved["utterances"][0]["start_s"] == 0.3
    assert play["start_s"] > saved["utterances"][0]["end_s"]
    assert saved["counters"]["link"]["mtu"] == 100
    assert lines[0] == f"sim advertising as Sottovoce-Sim {ADDRESS}"
    assert any(line.startswith("sim connected") for line in lines) and lines[-1] == "sim scenario done"


async def test_sim_names_the_transport_it_cannot_open():
    scenario = parse_scenario(SCENARIO, "ble-test.toml")
    url = f"tcp-client:127.0.0.1:{free_ports(1)[0]}"
    with pytest.raises(TransportError, match=url):
        await Simulator(scenario, say=lambda _line: None).run(url)
