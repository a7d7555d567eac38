"""When the edge tells the host the wearer's pose: new fixes once a second, head turns of 5 degrees
at once, never more than 5 a second, fix lost or stale at once; through PoseTracker's public side."""

from __future__ import annotations

import itertools
import math

from sottovoce.edge.heading import HeadingFusion
from sottovoce.edge.pose import FIX_STALE_S, HEARTBEAT_S, MAX_RATE_HZ, PoseReporter, PoseTracker
from sottovoce.edge.position import Fix
from sottovoce.firmware_sim.imu import SimulatedImu, earth_field
from sottovoce.firmware_sim.walk import Stop, Walk, walk_samples
from sottovoce.proto.gatt import imu
from sottovoce.proto.v1 import duplex_pb2 as pb

HERE = (60.168952, 24.948900)


def fix_at(t: float) -> Fix:
    return Fix(True, *HERE, 5.0, 1.4, "gpsd", received_s=t)


def test_a_new_fix_goes_out_once_a_second_and_a_steady_head_adds_nothing():
    reporter = PoseReporter("gpsd")
    sent = []
    t = 0.0
    while t < 10:
        pose = reporter.update(t, fix_at(math.floor(t)), 90.0)  # a fix each second, head still
        if pose is not None:
            sent.append((t, pose))
        t = round(t + 0.05, 2)
    assert [round(t, 2) for t, _ in sent] == [float(s) for s in range(10)]
    first = sent[0][1]
    assert first.has_fix and first.has_heading and first.heading_deg == 90.0 and first.source == "gpsd"
    assert (first.latitude_deg, first.longitude_deg, first.horizontal_accuracy_m) == (*HERE, 5.0)


def test_head_turns_go_out_at_once_but_never_more_than_five_a_second():
    reporter = PoseReporter("gpsd")
    fix = fix_at(0.0)
    times = []
    for i in range(100):  # a head turning at 100 deg/s for 2 s
        t = i * 0.02
        if reporter.update(t, fix, (2.0 * i) % 360) is not None:
            times.append(t)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1 / MAX_RATE_HZ - 1e-9 and len(times) >= 9
    # a small turn is not news, a 5 degree one is
    quiet = PoseReporter("gpsd")
    assert quiet.update(0.0, fix, 10.0) is not None
    assert quiet.update(0.5, fix, 14.0) is None
    assert quiet.update(0.7, fix, 15.5) is not None


def test_losing_the_fix_is_news_at_once_and_a_quiet_pose_still_beats():
    reporter = PoseReporter("gpsd")
    assert reporter.update(0.0, fix_at(0.0), None) is not None
    lost = reporter.update(0.3, Fix(False, source="gpsd", received_s=0.3), None)
    assert lost is not None and not lost.has_fix and lost.speed_mps < 0
    assert reporter.update(1.0, Fix(False, source="gpsd", received_s=1.0), None) is None
    assert reporter.update(0.3 + HEARTBEAT_S, Fix(False, source="gpsd", received_s=4.0), None) is not None


def test_the_tracker_fuses_the_imu_marks_a_stale_fix_and_counts_what_the_host_link_refused():
    clock = [0.0]
    accepted = [True]
    out: list[pb.EdgeMessage] = []

    def send(msg: pb.EdgeMessage) -> bool:
        out.append(msg)
        return accepted[0]

    tracker = PoseTracker(None, send, HeadingFusion(), clock=lambda: clock[0])
    sensor = SimulatedImu(earth_field(*HERE), seed=1)
    server = imu.ImuServer(lambda _uuid, data: tracker.on_imu(data) or True)
    tracker.on_imu(b"\x09garbage")  # malformed: counted, dropped
    assert tracker.counters.malformed_imu == 1
    walk = Walk((HERE, (60.168961, 24.949210)), start_heading=87, stops=(Stop(0, 60),))
    for s in walk_samples(walk, imu.SAMPLE_RATE_HZ, until_s=6):
        clock[0] = s.t_s
        server.add(sensor.sample(s), att_mtu=247)
        if s.fix is not None:
            tracker.on_fix(Fix(True, s.fix.latitude_deg, s.fix.longitude_deg, 5.0, 0.0, "simulator", s.t_s))
        if round(s.t_s * imu.SAMPLE_RATE_HZ) % round(imu.SAMPLE_RATE_HZ / MAX_RATE_HZ) == 0:  # the 5 Hz report
            tracker.report()
    poses = [m.pose for m in out]
    assert poses[-1].has_fix and poses[-1].has_heading and abs(poses[-1].heading_deg - 87) < 3
    assert tracker.counters.poses_sent == len(poses)
    clock[0] = 6.0 + FIX_STALE_S + 0.5  # the receiver falls silent
    stale = tracker.report()
    assert stale is not None and not stale.has_fix and tracker.counters.stale_fixes == 1
    accepted[0] = False
    clock[0] += HEARTBEAT_S
    assert tracker.report() is not None and tracker.counters.poses_dropped == 1


def test_only_navigation_mode_tracks_the_pose_and_a_bad_source_is_refused():
    from sottovoce.edge.config import EdgeConfig
    from sottovoce.edge.daemon import Edge

    assert Edge(EdgeConfig(device="serial:/dev/ttyNOPE0", turn="silence", gps="gpsd://127.0.0.1:2947")).pose is None
    navigating = Edge(EdgeConfig(device="serial:/dev/ttyNOPE0", turn="silence", mode="navigation"))
    assert navigating.pose is not None and navigating.pose.source is None  # --gps none: heading only
    try:
        Edge(EdgeConfig(device="serial:/dev/ttyNOPE0", turn="silence", mode="navigation", gps="gps:/dev/x"))
    except ValueError as exc:
        assert "gpsd://HOST:PORT, nmea:/dev/ttyUSB0[@4800] or none" in str(exc)
    else:
        raise AssertionError("a bad --gps was accepted")
