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
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from bumble.device import Connection, Device
from bumble.hci import Address
from bumble.transport import open_transport

from sottovoce.firmware_sim.clock import AudioClock
from sottovoce.firmware_sim.director import Director, FiredEvent
from sottovoce.firmware_sim.gatt import SIM_NAME, GlassesGatt, advertising_data, scan_response_data
from sottovoce.firmware_sim.link import LinkModel
from sottovoce.firmware_sim.mic import Mic
from sottovoce.firmware_sim.recorder import Recorder
from sottovoce.firmware_sim.scenario import Scenario
from sottovoce.firmware_sim.speaker import Speaker
from sottovoce.proto import control as ctl
from sottovoce.proto import gatt_profile as gp
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE, UPLINK_CONFIG, OpusEncoder
from sottovoce.proto.events import SimDisconnect, SimEvents

log = logging.getLogger(__name__)

BUTTON_CODES = {
    "tap": gp.ButtonEvent.TAP,
    "double_tap": gp.ButtonEvent.DOUBLE_TAP,
    "long_press": gp.ButtonEvent.LONG_PRESS,
    "press": gp.ButtonEvent.PRESS,
    "release": gp.ButtonEvent.RELEASE,
}


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
    control_too_large: int = 0  # control reports larger than the connection's ATT MTU allows
    control_received: int = 0
    control_malformed: int = 0
    control_unexpected: int = 0  # device->edge message types written to the device
    time_syncs: int = 0
    mute_changes: int = 0
    buttons_sent: int = 0
    gestures_sent: int = 0
    battery_notifications: int = 0
    utterance_timeouts: int = 0
    mic_clipped_samples: int = 0


class Simulator:
    def __init__(
        self,
        scenario: Scenario,
        out: Path | None = None,
        address: str = "F0:F1:F2:F3:F4:F5",
        seed: int = 0,
        name: str = SIM_NAME,
        say: Callable[[str], None] = print,
    ) -> None:
        self.scenario = scenario
        self.out = out
        self.address = address
        self.name = name
        self.say = say  # the CLI's progress lines
        self.counters = FirmwareCounters()
        self.link = LinkModel(scenario.link, seed=seed)
        self.clock = AudioClock(first_tick=-round(scenario.lead_in * 1000 / 20))
        self._t0 = time.monotonic()
        self.speaker = Speaker(self._send_report, self.device_us)
        self.mic = Mic(scenario.noise, scenario.echo, seed=seed)
        self.director = Director(scenario)
        self.recorder = Recorder()
        self.gatt = GlassesGatt(self._on_downlink_write, self._on_control_write, self.battery_level)
        self.encoder = OpusEncoder(UPLINK_CONFIG)
        self.muted = False
        self._audio_on = False
        self.device: Device | None = None
        self.connection: Connection | None = None
        self.subscribed = asyncio.Event()  # audio notifications enabled by the central
        self.connected = asyncio.Event()
        self.done = False
        self._packetizer = gp.UplinkPacketizer()
        self._battery_sent = -1
        self._k = self.clock.first_tick
        self._held_until: float | None = None  # a scheduled disconnect keeps advertising off
        self._pending_drops = list(scenario.link.disconnect)
        self._open_drop: SimDisconnect | None = None
        self._readvertising: asyncio.Task | None = None

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
            self.device = device = Device.with_hci(self.name, Address(self.address), hci.source, hci.sink)
            self.gatt.install(device, self.scenario.link.max_mtu)
            device.on(device.EVENT_CONNECTION, self._on_connection)
            self.gatt.audio.on("subscription", self._on_audio_subscription)
            try:
                await asyncio.wait_for(device.power_on(), POWER_ON_TIMEOUT_S)
            except (TimeoutError, OSError) as exc:
                why = str(exc) or f"no answer in {POWER_ON_TIMEOUT_S:.0f} s"
                raise TransportError(f"no Bluetooth controller answered on {transport}: {why}") from None
            # Announced first: a central already waiting can connect before the call returns.
            self.say(f"sim advertising as {self.name} {self.address}")
            await self._advertise()
            try:
                await self.subscribed.wait()
                await self._run_clock()
            finally:
                self.done = True  # no re-advertising from here on
                self.speaker.close()
                self.link.stop()
                if self.connection is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(self.connection.disconnect(), 1.0)
        events = self.recorder.events(self.director.spoken, self.speaker.playback, self.director.fired, self.snapshot())
        if self.out is not None:
            self.recorder.write(self.out, events)
        self.say("sim scenario done")
        return events

    async def _advertise(self) -> None:
        assert self.device is not None
        await self.device.start_advertising(
            advertising_data=advertising_data(), scan_response_data=scan_response_data(self.name)
        )

    def _on_connection(self, connection: Connection) -> None:
        self.connection = connection
        self._packetizer = gp.UplinkPacketizer(connection.att_mtu)  # fresh ids per connection
        self.link.counters.mtu = connection.att_mtu
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        connection.on(connection.EVENT_CONNECTION_ATT_MTU_UPDATE, self._on_mtu)
        self.speaker.new_connection()
        self.link.start(self._send_up, self._deliver_down)
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

    async def _send_up(self, kind: str, data: bytes) -> None:
        if self.device is not None and self.connection is not None:
            await self.gatt.notify(self.device, self.connection, kind, data)

    def _offer_up(self, kind: str, data: bytes) -> bool:
        if self.connection is None:
            return False
        self.counters.notifications_queued += 1
        return self.link.uplink.offer(time.monotonic(), (kind, data))

    # --- writes from the central (after the link model) ---------------------------------------

    def _on_downlink_write(self, data: bytes) -> None:
        self.link.downlink.offer(time.monotonic(), ("downlink", data))

    def _on_control_write(self, data: bytes) -> None:
        self.link.downlink.offer(time.monotonic(), ("control", data))

    def _deliver_down(self, kind: str, data: bytes) -> None:
        if kind == "downlink":
            self.speaker.on_downlink(data)
            return
        self.counters.control_received += 1
        try:
            msg = ctl.decode(data)
        except ctl.ControlError as exc:
            self.counters.control_malformed += 1
            log.warning("malformed control write dropped: %s", exc)
            return
        if self.speaker.on_control(msg):
            return
        if isinstance(msg, ctl.SetMute):
            self.muted = msg.on
            self.counters.mute_changes += 1
        elif isinstance(msg, ctl.TimeSyncRequest):
            self.counters.time_syncs += 1
            self._send_report(ctl.TimeSyncResponse(t0=msg.t0, t1=self.device_us()))
        else:
            self.counters.control_unexpected += 1
            log.warning("control message %r is not for the device; dropped", msg.TYPE)

    def _send_report(self, msg: ctl.ControlMessage) -> None:
        data = msg.encode()
        if self.connection is not None and len(data) > self.connection.att_mtu - gp.ATT_HEADER:
            # One CBOR message per notification; bumble would silently truncate it, so the edge
            # would see garbage. Count it instead: the central must negotiate a larger MTU.
            self.counters.control_too_large += 1
            if self.counters.control_too_large == 1:
                log.warning("control %s of %d bytes does not fit ATT MTU %d; dropped (the central should "
                            "exchange MTU >= %d)", msg.TYPE, len(data), self.connection.att_mtu,
                            len(data) + gp.ATT_HEADER)  # fmt: skip
            return
        if not self._offer_up("control", data):
            self.counters.reports_unsent += 1

    # --- the audio clock ----------------------------------------------------------------------

    async def _run_clock(self) -> None:
        log.info("scenario %s: clock starts, t=0 in %.2f s", self.scenario.name, self.scenario.lead_in)
        async for k in self.clock.ticks():
            self._k = k
            self.tick(k)
            if k >= 0 and self.director.finished(k, self.speaker.playback):
                self.done = True
                break
            await self._apply_disconnects(k)

    def tick(self, k: int) -> None:
        ear = self.speaker.tick(k)
        self.mic.hear_speaker(ear)
        if k >= 0:
            speech, fired = self.director.step(k, self.speaker.playback)
        else:
            speech, fired = np.zeros(FRAME_SAMPLES), []
        frame = self.mic.capture(speech)
        self.counters.mic_frames += 1
        if k >= 0:
            self.recorder.add(frame, ear)
        self._send_audio(frame)
        for event in fired:
            self._fire(event)
        level = self.battery_level()
        if level != self._battery_sent and self._offer_up("battery", bytes([level])):
            self._battery_sent = level
            self.counters.battery_notifications += 1

    def _send_audio(self, frame: np.ndarray) -> None:
        if self.muted:
            self.counters.frames_muted += 1
            return
        if self.connection is None or not self._audio_on:
            self.counters.frames_unsent += 1
            return
        # Re-read the MTU every frame: the exchange can complete after the first notifications.
        self._packetizer.att_mtu = self.connection.att_mtu
        packet = self.encoder.encode(frame)
        for chunk in self._packetizer.packetize(packet):
            self._offer_up("audio", chunk)
        self.counters.frames_sent += 1

    def _fire(self, event: FiredEvent) -> None:
        log.info("%s %s at %.2f s", event.table, event.kind, event.sample / SAMPLE_RATE)
        if event.table == "button":
            if self._offer_up("button", gp.encode_button(BUTTON_CODES[event.kind])):
                self.counters.buttons_sent += 1
        elif self._offer_up("control", ctl.Gesture(kind=event.kind, at=self.device_us()).encode()):
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
            "downlink_reassembly": self.speaker.link_stats,
            "volume": self.speaker.volume,
            "whisper": self.speaker.whisper,
            "muted": self.muted,
        }
