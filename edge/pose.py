"""The wearer's pose for navigation: position from a ``PositionSource``, heading fused from the
glasses' IMU, sent to the host as ``EdgeMessage.pose`` when it has changed enough to matter.

``PoseReporter`` is the pure policy (clock passed in): a new fix is worth a message once a second,
a head turn of ``HEADING_STEP_DEG`` at once, and nothing goes faster than ``MAX_RATE_HZ``; losing or
regaining the fix is news at once; a quiet wearer still gets a message every ``HEARTBEAT_S`` so
the host knows the pose is current. ``PoseTracker`` wires it to the IMU notifications, the
position source and the host link in navigation mode.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from sottovoce.proto.gatt.att import FramingError
from sottovoce.proto.gatt.imu import decode_batch
from sottovoce.proto.geo import angle_between
from sottovoce.proto.intake import Intake
from sottovoce.proto.v1 import duplex_pb2 as pb

from .heading import HeadingFusion
from .position import NO_FIX, Fix, PositionSource

log = logging.getLogger(__name__)

FIX_INTERVAL_S = 1.0  # a receiver's rate: a position more often would repeat itself
HEADING_STEP_DEG = 5.0  # a head turn this large is news
MAX_RATE_HZ = 5.0  # the most poses a second, however fast the head turns
HEARTBEAT_S = 5.0
FIX_STALE_S = 3.0  # a fix older than this is no fix: the receiver has lost the sky


@dataclass
class PoseCounters:
    poses_sent: int = 0
    poses_dropped: int = 0  # the host link refused them (host down, queue full)
    malformed_imu: int = 0
    stale_fixes: int = 0


class PoseReporter:
    """Decides when the pose is worth a message; clock-free."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._sent_at: float | None = None
        self._sent_heading: float | None = None
        self._sent_has_fix: bool | None = None
        self._sent_fix_at = -math.inf

    def update(self, now_s: float, fix: Fix, heading_deg: float | None) -> pb.Pose | None:
        """The pose to send now, or None. ``fix.received_s`` says how new the fix is."""
        since = now_s - self._sent_at if self._sent_at is not None else math.inf
        if since < 1.0 / MAX_RATE_HZ:
            return None
        new_fix = fix.has_fix and fix.received_s > self._sent_fix_at
        turned = heading_deg is not None and (
            self._sent_heading is None or angle_between(heading_deg, self._sent_heading) >= HEADING_STEP_DEG
        )
        lost_heading = heading_deg is None and self._sent_heading is not None
        send = (
            fix.has_fix != self._sent_has_fix
            or (new_fix and since >= FIX_INTERVAL_S)
            or turned
            or lost_heading
            or since >= HEARTBEAT_S
        )
        if not send:
            return None
        self._sent_at = now_s
        self._sent_heading = heading_deg
        self._sent_has_fix = fix.has_fix
        if fix.has_fix:
            self._sent_fix_at = fix.received_s
        pose = pb.Pose(time_us=int(now_s * 1e6), has_fix=fix.has_fix, source=fix.source or self.source)
        if fix.has_fix:
            pose.latitude_deg = fix.latitude_deg
            pose.longitude_deg = fix.longitude_deg
            pose.horizontal_accuracy_m = fix.accuracy_m if math.isfinite(fix.accuracy_m) else 0.0
            pose.speed_mps = fix.speed_mps
        else:
            pose.speed_mps = -1.0
        if heading_deg is not None:
            pose.has_heading = True
            pose.heading_deg = heading_deg
        return pose


class PoseTracker:
    """Navigation mode's pose: IMU batches and fixes in, ``pb.EdgeMessage(pose=...)`` out through ``send``."""

    def __init__(
        self,
        source: PositionSource | None,
        send: Callable[[pb.EdgeMessage], bool],
        fusion: HeadingFusion | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.send = send
        self.fusion = fusion or HeadingFusion()
        self.clock = clock
        self.counters = PoseCounters()
        self.fix = NO_FIX
        self.reporter = PoseReporter(source.description if source is not None else "none")
        self._decode = Intake("IMU notification", decode_batch, FramingError, self.counters, "malformed_imu", log)

    def on_imu(self, data: bytes) -> None:
        """One IMU notification from the glasses."""
        batch = self._decode(data)
        if batch is not None:
            self.fusion.feed(batch)

    def on_fix(self, fix: Fix) -> None:
        self.fix = fix
        if fix.has_fix:
            self.fusion.set_position(fix.latitude_deg, fix.longitude_deg)

    def current_fix(self, now_s: float) -> Fix:
        """The last fix, or no fix once it has gone stale."""
        if self.fix.has_fix and now_s - self.fix.received_s > FIX_STALE_S:
            self.counters.stale_fixes += 1
            self.fix = Fix(False, source=self.fix.source, received_s=now_s)
        return self.fix

    def report(self) -> pb.Pose | None:
        """Send the pose if it is worth a message now; the pose sent, if any."""
        now = self.clock()
        pose = self.reporter.update(now, self.current_fix(now), self.fusion.heading_deg)
        if pose is None:
            return None
        if self.send(pb.EdgeMessage(pose=pose)):
            self.counters.poses_sent += 1
        else:
            self.counters.poses_dropped += 1
        return pose

    async def _read_positions(self) -> None:
        assert self.source is not None
        try:
            await self.source.run(self.on_fix)
        except Exception as exc:  # a source that cannot run at all (no pyserial): no position, not a dead edge
            log.error("%s failed: %s; navigating without a position", self.source.description, exc)
            self.on_fix(Fix(False, source=self.source.description, received_s=self.clock()))

    async def run(self) -> None:
        """Read the position source and report at most ``MAX_RATE_HZ`` times a second, until cancelled."""
        reader = asyncio.create_task(self._read_positions()) if self.source is not None else None
        try:
            while True:
                self.report()
                await asyncio.sleep(1.0 / MAX_RATE_HZ)
        finally:
            if reader is not None:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
