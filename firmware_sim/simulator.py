"""The simulated glasses: a bumble BLE peripheral whose firmware runs on the 20 ms audio clock.

Per tick k: the speaker renders frame k from its playback buffer; the mic captures the wearer's
speech + noise + the echo of what the speaker just played; the mic frame is Opus-encoded,
packetized to the connection's ATT MTU and handed to the link model, which releases it as
notifications at connection events. Both tracks are recorded from t = 0, the moment the scenario
clock starts (a short lead-in after the central subscribed to audio).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from bumble.device import Connection, Device
from bumble.hci import Address
from bumble.transport import open_transport

from sottovoce.firmware_sim.clock import AudioClock
from sottovoce.firmware_sim.config import SimConfig
from sottovoce.firmware_sim.director import Director, FiredEvent
from sottovoce.firmware_sim.gatt import GlassesGatt, advertising_data, scan_response_data
from sottovoce.firmware_sim.gpsd import GpsdServer, parse_address
from sottovoce.firmware_sim.imu import SimulatedImu, earth_field
from sottovoce.firmware_sim.link import LinkModel
from sottovoce.firmware_sim.mic import Mic
from sottovoce.firmware_sim.recorder import Recorder
from sottovoce.firmware_sim.scenario import Scenario, wearer_level_dbfs
from sottovoce.firmware_sim.walk import WalkSample, walk_samples
from sottovoce.proto import control as ctl
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE
from sottovoce.proto.events import SimDisconnect, SimEvents
from sottovoce.proto.gatt import audio, battery, buttons, imu, speaker
from sottovoce.proto.gatt.att import DEFAULT_ATT_MTU

log = logging.getLogger(__name__)

POWER_ON_TIMEOUT_S = 10.0


class TransportError(RuntimeError):
    """The HCI transport (virtual controller, USB dongle…) cannot be opened."""


@dataclass
class FirmwareCounters:
    mic_frames: int = 0
    frames_sent: int = 0
    frames_unsent: int = 0  # no central connected and subscribed
    frames_muted: int = 0
    notifications_queued: int = 0
    reports_unsent: int = 0  # control reports with nobody connected
    buttons_sent: int = 0
    gestures_sent: int = 0
    battery_notifications: int = 0
    utterance_timeouts: int = 0
    mic_clipped_samples: int = 0
    imu_samples_unsubscribed: int = 0  # the walk's IMU samples while no central listened


class Simulator:
    def __init__(self, scenario: Scenario, config: SimConfig | None = None, say: Callable[[str], None] = print) -> None:
        config = config or SimConfig()
        self.scenario = scenario
        self.config = config
        self.out = config.out
        self.say = say  # the CLI's progress lines
        self.counters = FirmwareCounters()
        self.link = LinkModel(scenario.link, seed=config.seed)
        self.clock = AudioClock(first_tick=-round(scenario.lead_in * 1000 / 20))
        self._t0 = time.monotonic()
        # The device's side of each GATT service; values go out through the link model.
        self.audio = audio.AudioServer(self._offer_up)
        self.battery = battery.BatteryServer(self.battery_level, self._offer_up)
        self.buttons = buttons.ButtonServer(self._offer_up)
        self.speaker_service = speaker.SpeakerServer(self._send_control, self.device_us)
        self.speaker = self.speaker_service.speaker
        self.outward = self.speaker_service.outward  # the speaker for the person in front of the wearer
        services = [self.audio, self.battery, self.buttons, self.speaker_service]
        self._setup_walk(scenario, config)
        if self.imu is not None:
            services.append(self.imu)
        self.gatt = GlassesGatt(services, self._on_write)
        self._control_out = speaker.ControlPacketizer()
        self.mic = Mic(scenario.noise, scenario.echo, seed=config.seed, wearer_dbfs=wearer_level_dbfs(scenario),
                       outward=scenario.outward)  # fmt: skip
        self.director = Director(scenario, self.outward.playback)
        self.recorder = Recorder()
        self._audio_on = False
        self.device: Device | None = None
        self.connection: Connection | None = None
        self.subscribed = asyncio.Event()  # audio notifications enabled by the central
        self.connected = asyncio.Event()
        self.done = False
        self._k = self.clock.first_tick
        self._held_until: float | None = None  # a scheduled disconnect keeps advertising off
        self._pending_drops = list(scenario.link.disconnect)
        self._open_drop: SimDisconnect | None = None
        self._readvertising: asyncio.Task | None = None

    @property
    def muted(self) -> bool:
        """The microphone is muted by the central (privacy): no audio goes out."""
        return self.speaker_service.muted

    @property
    def att_mtu(self) -> int:
        return self.connection.att_mtu if self.connection is not None else DEFAULT_ATT_MTU

    # --- clocks -------------------------------------------------------------------------------

    def device_us(self) -> int:
        return int((time.monotonic() - self._t0) * 1e6)

    def battery_level(self) -> int:
        minutes = max(0, self._k) * FRAME_SAMPLES / SAMPLE_RATE / 60.0
        b = self.scenario.battery
        return int(max(0.0, min(100.0, b.start - b.drain_per_min * minutes)))

    # --- BLE ----------------------------------------------------------------------------------

    async def run(self, transport: str) -> SimEvents:
        """Attach to the controller, advertise, play the scenario; returns the events written."""
        try:
            hci = await open_transport(transport)
        except Exception as exc:
            raise TransportError(f"cannot open HCI transport {transport}: {exc}") from None
        async with hci:
            name = self.config.name
            self.device = device = Device.with_hci(name, Address(self.config.address), hci.source, hci.sink)
            self.gatt.install(device, self.scenario.link.max_mtu)
            device.on(device.EVENT_CONNECTION, self._on_connection)
            self.gatt.characteristics[audio.DATA_UUID].on("subscription", self._on_audio_subscription)
            if self.imu is not None:
                self.gatt.characteristics[imu.DATA_UUID].on("subscription", self._on_imu_subscription)
            if self.gpsd is not None:
                await self.gpsd.start()
                self.say(f"sim gpsd on {self.gpsd.address}")
            try:
                await asyncio.wait_for(device.power_on(), POWER_ON_TIMEOUT_S)
            except (TimeoutError, OSError) as exc:
                why = str(exc) or f"no answer in {POWER_ON_TIMEOUT_S:.0f} s"
                raise TransportError(f"no Bluetooth controller answered on {transport}: {why}") from None
            # Announced first: a central already waiting can connect before the call returns.
            self.say(f"sim advertising as {name} {self.config.address}")
            await self._advertise()
            try:
                await self.subscribed.wait()
                await self._run_clock()
            finally:
                self.done = True  # no re-advertising from here on
                self.speaker.close()
                if self.gpsd is not None:
                    await self.gpsd.close()
                self.link.stop()
                if self.connection is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(self.connection.disconnect(), 1.0)
        events = self.recorder.events(self.director.spoken, self.speaker.playback, self.director.fired, self.snapshot(),
                                      self.outward.playback)  # fmt: skip
        if self.out is not None:
            self.recorder.write(self.out, events)
            self._write_walk_trace()
        self.say("sim scenario done")
        return events

    async def _advertise(self) -> None:
        assert self.device is not None
        await self.device.start_advertising(
            advertising_data=advertising_data(), scan_response_data=scan_response_data(self.config.name)
        )

    def _on_connection(self, connection: Connection) -> None:
        self.connection = connection
        self.audio.new_connection(connection.att_mtu)
        self._control_out = speaker.ControlPacketizer()
        self.link.counters.mtu = connection.att_mtu
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        connection.on(connection.EVENT_CONNECTION_ATT_MTU_UPDATE, self._on_mtu)
        self.speaker_service.new_connection()
        self.link.start(self._send_up, self.receive)
        self.connected.set()
        if self._open_drop is not None and self._open_drop.reconnected_s is None:
            self._open_drop.reconnected_s = round(max(0, self._k) * FRAME_SAMPLES / SAMPLE_RATE, 5)
        log.info("connected to %s (ATT MTU %d)", connection.peer_address, connection.att_mtu)
        self.say(f"sim connected {connection.peer_address}")

    def _on_mtu(self) -> None:
        if self.connection is not None:
            self.link.counters.mtu = self.connection.att_mtu
            log.info("ATT MTU now %d", self.connection.att_mtu)

    def _on_audio_subscription(self, _bearer: object, notify: bool, _indicate: bool) -> None:
        if notify:
            self.subscribed.set()
        self._audio_on = notify

    def _on_disconnection(self, reason: int) -> None:
        log.info("disconnected (reason %s)", reason)
        self.say("sim disconnected")
        self.connection = None
        self._audio_on = False
        self.connected.clear()
        self.link.stop()
        if self.done:
            return
        held = self._held_until is not None and self._held_until > time.monotonic()
        if not held:
            self.link.counters.disconnects_peer += 1
        wait = self._held_until - time.monotonic() if held and self._held_until is not None else 0.0
        self._readvertising = asyncio.get_running_loop().create_task(self._readvertise(wait))

    async def _readvertise(self, after: float) -> None:
        if after > 0:
            await asyncio.sleep(after)
        self._held_until = None
        if self.connection is None and not self.done:
            try:
                await self._advertise()
                log.info("advertising again")
            except Exception as exc:
                log.warning("could not restart advertising: %s", exc)

    async def _send_up(self, uuid: str, data: bytes) -> None:
        if self.device is not None and self.connection is not None:
            await self.gatt.notify(self.device, self.connection, uuid, data)

    def _offer_up(self, uuid: str, data: bytes) -> bool:
        """A notification, queued for the next connection events; False if it cannot go."""
        if self.connection is None:
            return False
        self.counters.notifications_queued += 1
        return self.link.uplink.offer(time.monotonic(), (uuid, data))

    def _send_control(self, message: bytes) -> bool:
        """One control message to the central, in fragments that fit the connection's MTU now;
        False (and counted) if any fragment could not be queued."""
        fragments = self._control_out.packetize(message, self.att_mtu) if self.connection is not None else []
        queued = [self._offer_up(speaker.CONTROL_UUID, fragment) for fragment in fragments]
        if not queued or not all(queued):
            self.counters.reports_unsent += 1
            return False
        return True

    # --- writes from the central --------------------------------------------------------------

    def _on_write(self, uuid: str, data: bytes) -> None:
        self.link.downlink.offer(time.monotonic(), (uuid, data))

    def receive(self, uuid: str, data: bytes) -> None:
        """A write as the firmware sees it, after the link model: handled by its service."""
        self.gatt.deliver(uuid, data)

    # --- the audio clock ----------------------------------------------------------------------

    async def _run_clock(self) -> None:
        log.info("scenario %s: clock starts, t=0 in %.2f s", self.scenario.name, self.scenario.lead_in)
        async for k in self.clock.ticks():
            self._k = k
            self.tick(k)
            if k >= 0 and self.director.finished(k, self.speaker.playback) and self.walk_done:
                self.done = True
                break
            await self._apply_disconnects(k)

    def tick(self, k: int) -> None:
        ear = self.speaker.tick(k)
        aloud = self.outward.tick(k)
        self.mic.hear_speaker(ear)
        self.mic.hear_outward(aloud)
        if k >= 0:
            speech, fired = self.director.step(k, self.speaker.playback)
        else:
            speech, fired = np.zeros(FRAME_SAMPLES), []
        frame = self.mic.capture(speech)
        self.counters.mic_frames += 1
        if k >= 0:
            self.recorder.add(frame, ear, aloud)
        self._send_audio(frame)
        for event in fired:
            self._fire(event)
        if self.battery.refresh():
            self.counters.battery_notifications += 1
        if self.walking is not None:
            self._walk_tick(k)

    def _send_audio(self, frame: np.ndarray) -> None:
        if self.muted:
            self.counters.frames_muted += 1
            return
        if self.connection is None or not self._audio_on:
            self.counters.frames_unsent += 1
            return
        # The MTU of now: the exchange can complete after the first notifications.
        self.audio.send(frame, self.connection.att_mtu)
        self.counters.frames_sent += 1

    def _fire(self, event: FiredEvent) -> None:
        log.info("%s %s at %.2f s", event.table, event.kind, event.sample / SAMPLE_RATE)
        if event.table == "button":
            if self.buttons.press(buttons.ButtonEvent[event.kind.upper()]):
                self.counters.buttons_sent += 1
        elif self._send_control(ctl.Gesture(kind=event.kind, at=self.device_us()).encode()):
            self.counters.gestures_sent += 1

    async def _apply_disconnects(self, k: int) -> None:
        now_s = k * FRAME_SAMPLES / SAMPLE_RATE
        while self._pending_drops and self._pending_drops[0].at <= now_s:
            drop = self._pending_drops.pop(0)
            self.link.counters.disconnects_scheduled += 1
            self._open_drop = SimDisconnect(at_s=round(now_s, 5), duration_s=drop.duration)
            self.recorder.disconnects.append(self._open_drop)
            if self.connection is None:
                self._open_drop.skipped = "not connected"
                continue
            log.info("scheduled disconnect for %.1f s", drop.duration)
            self._held_until = time.monotonic() + drop.duration
            connection = self.connection
            # Disconnect without blocking the audio clock; the handler re-advertises later.
            asyncio.get_running_loop().create_task(self._drop(connection))

    async def _drop(self, connection: Connection) -> None:
        try:
            await connection.disconnect()
        except Exception as exc:
            log.warning("scheduled disconnect failed: %s", exc)

    def snapshot(self) -> dict[str, Any]:
        self.counters.utterance_timeouts = self.director.misses
        self.counters.mic_clipped_samples = self.mic.clipped_samples
        return {
            "firmware": asdict(self.counters),
            "clock": asdict(self.clock.counters),
            "link": self.link.snapshot(),
            "speaker": asdict(self.speaker.counters),
            "outward": asdict(self.outward.counters),
            "control": asdict(self.speaker_service.counters),
            "downlink_reassembly": self.speaker.link_stats,
            "volume": self.speaker.volume,
            "whisper": self.speaker.whisper,
            "muted": self.muted,
            "imu": asdict(self.imu.counters) if self.imu is not None else None,
            "gpsd": asdict(self.gpsd.counters) if self.gpsd is not None else None,
        }

    # --- the walk (navigation): the wearer's position, head and GPS -----------------------------

    def _setup_walk(self, scenario: Scenario, config: SimConfig) -> None:
        """With a ``[walk]``: the IMU service, the walk on the audio clock (the IMU's samples of each
        20 ms tick) and, with ``config.gpsd``, its GPS served as gpsd."""
        self.imu: imu.ImuServer | None = None
        self.gpsd: GpsdServer | None = None
        self.walking = None
        self.walk_now: WalkSample | None = None  # the wearer's true pose at the current tick
        self.walk_trace: list[dict[str, Any]] = []  # once a second: truth and the fix reported
        walk = scenario.walk
        if walk is None:
            return
        per_tick = imu.SAMPLE_RATE_HZ * FRAME_SAMPLES / SAMPLE_RATE
        if per_tick < 1 or per_tick != int(per_tick):
            raise ValueError(f"the IMU's {imu.SAMPLE_RATE_HZ} Hz is not a whole number of samples per audio tick")
        self._imu_per_tick = int(per_tick)
        self.imu = imu.ImuServer(self._offer_up)
        self.walking = walk_samples(walk, imu.SAMPLE_RATE_HZ, seed=config.seed, until_s=scenario.max_duration)
        self.walk_now = next(self.walking)
        self._walk_started = False
        self._imu_sensor = SimulatedImu(earth_field(*walk.path[0]), seed=config.seed)
        self._imu_on = False
        if config.gpsd is not None:
            self.gpsd = GpsdServer(*parse_address(config.gpsd))

    @property
    def walk_done(self) -> bool:
        """No walk, or the wearer has arrived at its end (or walked until the scenario's hard stop)."""
        now = self.walk_now
        return now is None or now.arrived or now.t_s >= self.scenario.max_duration - 1e-9

    def _on_imu_subscription(self, _bearer: object, notify: bool, _indicate: bool) -> None:
        self._imu_on = notify

    def _walk_tick(self, k: int) -> None:
        """The walk's samples of tick ``k``. Before t = 0 the wearer stands at the start (the IMU
        runs, so the edge's fusion has settled when the walk begins)."""
        assert self.walking is not None and self.imu is not None and self.walk_now is not None
        for _ in range(self._imu_per_tick):
            if k >= 0:
                if self._walk_started:
                    self.walk_now = next(self.walking, self.walk_now)
                self._walk_started = True  # the sample for t = 0 came first, before the clock ran
                if self.walk_now.gps_report:
                    if self.gpsd is not None:
                        self.gpsd.publish(self.walk_now.fix)
                    self.walk_trace.append(_trace(self.walk_now))
            sample = self._imu_sensor.sample(self.walk_now)
            if self._imu_on and self.connection is not None:
                self.imu.add(sample, self.connection.att_mtu)
            else:
                self.counters.imu_samples_unsubscribed += 1

    def _write_walk_trace(self) -> None:
        if self.walk_trace and self.out is not None:
            (self.out / "walk.json").write_text(json.dumps(self.walk_trace, indent=1))


def _trace(s: WalkSample) -> dict[str, Any]:
    fix = s.fix
    return {
        "t_s": round(s.t_s, 3), "lat": round(s.latitude_deg, 7), "lon": round(s.longitude_deg, 7),
        "distance_m": round(s.distance_m, 2), "heading_deg": round(s.heading_deg, 1), "walking": s.walking,
        "fix": None if fix is None else {"lat": round(fix.latitude_deg, 7), "lon": round(fix.longitude_deg, 7),
                                         "accuracy_m": fix.accuracy_m},
    }  # fmt: skip
