"""The simulator's firmware loop tick by tick, without a radio: control dispatch, mute, and the
speaker -> echo -> mic path on the recorded timeline."""

from __future__ import annotations

import numpy as np

from sottovoce.firmware_sim.scenario import parse_scenario
from sottovoce.firmware_sim.simulator import Simulator
from sottovoce.proto import control as ctl
from sottovoce.proto.codec import DOWNLINK_CONFIG, FRAME_SAMPLES, OpusEncoder, frames_of
from sottovoce.proto.gatt import speaker
from sottovoce.proto.gatt.speaker import ControlPacketizer, DownlinkPacketizer

TOML = """
lead_in = 0
[[utterance]]
say = "x"
at = 5
[echo]
delay_ms = 5
gain_db = -6
lowpass_hz = 7000
"""


def _sim() -> Simulator:
    scenario = parse_scenario(TOML, "t.toml")
    scenario.utterances[0].audio = np.zeros(1600, dtype=np.int16)
    return Simulator(scenario, say=lambda _line: None)


def _write_control(sim: Simulator, packetizer: ControlPacketizer, message: bytes) -> None:
    """One control message as the central writes it: in fragments for the default 23-byte MTU."""
    for fragment in packetizer.packetize(message, 23):
        sim.receive(speaker.CONTROL_UUID, fragment)


def test_control_writes_are_dispatched_and_bad_ones_counted():
    sim = _sim()
    central = ControlPacketizer()
    _write_control(sim, central, ctl.SetMute(on=True).encode())
    _write_control(sim, central, b"\xff\x00garbage")
    _write_control(sim, central, ctl.Gesture(kind="nod", at=1).encode())  # device->edge type
    _write_control(sim, central, ctl.SetVolume(level=40).encode())
    sim.tick(0)
    c, d = sim.counters, sim.speaker_service.counters
    assert sim.muted and d.mute_changes == 1 and c.frames_muted == 1 and c.frames_sent == 0
    assert d.control_malformed == 1 and d.control_unexpected == 1 and d.control_received == 4
    assert sim.speaker.volume == 40
    _write_control(sim, central, ctl.TimeSyncRequest(t0=5).encode())
    assert d.time_syncs == 1 and c.reports_unsent == 1  # nobody connected to answer


def test_speaker_output_leaks_into_the_mic_through_the_echo_path():
    sim = _sim()
    tone = (8000 * np.sin(2 * np.pi * 500 * np.arange(16000) / 16000)).astype(np.int16)
    encoder, packetizer = OpusEncoder(DOWNLINK_CONFIG), DownlinkPacketizer(247)
    for pcm in frames_of(tone[: 10 * FRAME_SAMPLES]):
        for chunk in packetizer.packetize(1, encoder.encode(pcm)):
            sim.receive(speaker.DOWNLINK_UUID, chunk)
    for k in range(15):
        sim.tick(k)
    mic, ear = sim.recorder.mic().astype(np.float64), sim.recorder.ear().astype(np.float64)
    assert len(mic) == len(ear) == 15 * FRAME_SAMPLES
    assert not mic[:80].any()  # 5 ms echo delay: nothing before the speaker's sound arrives
    # The mic carries the ear signal 5 ms (80 samples) later at about half the amplitude.
    lag = 80
    ratio = np.sqrt(np.mean(mic[lag + 800 : 3200] ** 2) / np.mean(ear[800 : 3200 - lag] ** 2))
    assert 0.4 < ratio < 0.6
    assert np.corrcoef(mic[lag + 800 : 3200], ear[800 : 3200 - lag])[0, 1] > 0.95
    assert sim.speaker.playback[0].start_sample == 0


def test_events_list_heard_streams_apart_from_ones_never_played(tmp_path):
    sim = _sim()
    encoder, packetizer = OpusEncoder(DOWNLINK_CONFIG), DownlinkPacketizer(247)
    silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
    for stream, n in ((1, 1), (2, 3)):  # stream 1 is superseded before its first sample
        for _ in range(n):
            for chunk in packetizer.packetize(stream, encoder.encode(silence)):
                sim.receive(speaker.DOWNLINK_UUID, chunk)
    _write_control(sim, ControlPacketizer(), ctl.StreamEnd(stream=2, frames=3).encode())
    for k in range(5):
        sim.tick(k)
    events = sim.recorder.events(sim.director.spoken, sim.speaker.playback, sim.director.fired, sim.snapshot())
    sim.recorder.write(tmp_path, events)
    assert [(p.stream, p.start_s, p.end_s, p.ended) for p in events.playback] == [(2, 0.0, 0.06, "finished")]
    assert [(u.stream, u.ended, u.flush_received_s) for u in events.unplayed] == [(1, "superseded", None)]
    assert events.counters["speaker"]["superseded"] == 1
    assert (tmp_path / "mic.wav").stat().st_size == (tmp_path / "ear.wav").stat().st_size == 44 + 5 * 640
