"""The edge's heading fusion on the simulated glasses' IMU (noise, gyroscope bias, walking bob),
through the IMU service's bytes as they cross BLE: it follows the head within a few degrees."""

from __future__ import annotations

import numpy as np
import pytest

from sottovoce.edge.heading import Declination, HeadingFusion
from sottovoce.firmware_sim.imu import SimulatedImu, earth_field
from sottovoce.firmware_sim.walk import Look, Stop, Walk, WalkSample, walk_samples
from sottovoce.proto.gatt import imu
from sottovoce.proto.geo import turn_deg

PATH = ((60.168912, 24.947433), (60.168961, 24.949210), (60.168956, 24.949331), (60.169066, 24.949320))
WALK = Walk(PATH, start_heading=200, stops=(Stop(40, 3),),
            looks=(Look(8, -60, 2.5), Look(30, 90, 3), Look(60, -45, 1.5)))  # fmt: skip
RATE_HZ = imu.SAMPLE_RATE_HZ


def fuse(walk: Walk, seed: int, drop_every: int = 0, bias=(0.3, -0.2, 0.5)):
    """Run the walk through the simulated IMU, the service's bytes and the fusion; per batch,
    (the truth at its last sample, the fused heading, the fused magnetic heading) for those that arrived."""
    field = earth_field(*walk.path[0])
    sensor = SimulatedImu(field, seed=seed, gyro_bias_dps=bias)
    notified: list[bytes] = []
    server = imu.ImuServer(lambda _uuid, data: notified.append(data) or True)
    fusion = HeadingFusion()
    out: list[tuple[WalkSample, float | None, float | None]] = []
    n = 0
    for s in walk_samples(walk, RATE_HZ, seed=seed):
        if s.fix is not None:
            fusion.set_position(s.fix.latitude_deg, s.fix.longitude_deg)
        server.add(sensor.sample(s), att_mtu=247)
        for data in notified:
            n += 1
            if drop_every and n % drop_every == 0:  # a notification lost on the air
                continue
            fusion.feed(imu.decode_batch(data))
            out.append((s, fusion.heading_deg, fusion.magnetic_heading_deg))
        notified.clear()
    return fusion, out, field


@pytest.mark.parametrize("seed", [1, 2])
def test_the_fused_heading_follows_the_head_within_a_few_degrees(seed: int):
    fusion, out, field = fuse(WALK, seed)
    settled = [(s, h) for s, h, _ in out if s.t_s >= 4.0]
    assert all(h is not None for _, h in settled)
    errors = np.abs([turn_deg(s.heading_deg, h) for s, h in settled])
    assert np.median(errors) < 3 and np.percentile(errors, 95) < 5 and errors.max() < 10, errors.max()
    # the head's turns are followed as they happen, not smoothed away
    looking = [abs(turn_deg(s.heading_deg, h)) for s, h in settled if 31 <= s.t_s <= 32]
    assert looking and max(looking) < 5
    assert fusion.counters.lost_samples == 0 and fusion.counters.samples == len(out) * imu.BATCH_SAMPLES
    # true north is magnetic north plus Helsinki's declination (about 10 degrees east)
    assert field.declination_deg == pytest.approx(10.5, abs=1.5)
    _, h, magnetic = out[-1]
    assert turn_deg(magnetic, h) == pytest.approx(field.declination_deg, abs=0.5)


def test_lost_notifications_are_counted_and_bridged():
    fusion, out, _ = fuse(WALK, seed=3, drop_every=7)
    sent = len(out) * 7 // 6
    assert fusion.counters.lost_samples == pytest.approx(sent // 7 * imu.BATCH_SAMPLES, abs=imu.BATCH_SAMPLES)
    settled = [abs(turn_deg(s.heading_deg, h)) for s, h, _ in out if s.t_s >= 4.0 and h is not None]
    assert np.median(settled) < 3 and np.percentile(settled, 95) < 6


def test_a_strong_gyroscope_bias_is_learnt_while_the_head_is_still():
    standing = Walk(PATH, start_heading=87, stops=(Stop(0, 120),))
    _, out, _ = fuse(standing, seed=4, bias=(1.0, -1.0, 1.5))  # uncalibrated: 2 minutes would drift 180 degrees
    late = [abs(turn_deg(s.heading_deg, h)) for s, h, _ in out if s.t_s >= 60]
    assert late and max(late) < 3


def test_no_true_heading_before_the_fusion_settles_or_without_a_position():
    fusion = HeadingFusion()
    assert fusion.heading_deg is None and fusion.magnetic_heading_deg is None
    sensor = SimulatedImu(earth_field(*PATH[0]), seed=5)
    server_out: list[bytes] = []
    server = imu.ImuServer(lambda _uuid, data: server_out.append(data) or True)
    for s in walk_samples(Walk(PATH, stops=(Stop(0, 10),)), RATE_HZ, until_s=6):
        server.add(sensor.sample(s), att_mtu=247)
    for data in server_out:
        fusion.feed(imu.decode_batch(data))
    assert fusion.magnetic_heading_deg is not None
    assert fusion.heading_deg is None  # no position: no declination, so no true north
    fusion.set_position(*PATH[0])
    assert fusion.heading_deg is not None


def test_declination_is_looked_up_again_only_after_moving_far():
    d = Declination()
    helsinki = d.at(60.17, 24.95)
    assert d.at(60.171, 24.951) == helsinki  # a street away: the same
    assert d.at(40.4, -3.7) != pytest.approx(helsinki, abs=3)  # Madrid: about 1 degree east
