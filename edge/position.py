"""Where the wearer is: position sources a Pi really has, each delivering ``Fix``es.

- ``gpsd://HOST:PORT``: gpsd, the standard Linux GPS daemon (any receiver it drives), read with
  ``gpsdclient``; its TPV reports carry the fix. The simulator serves the same protocol.
- ``nmea:/dev/ttyUSB0[@4800]``: a receiver's NMEA 0183 sentences on a serial port (pyserial),
  GGA and RMC parsed with ``pynmea2``.
- ``none``: no position.

Outside bytes are never trusted: a garbage line, a report without a fix, a receiver or daemon
that goes away are counted, logged once, and become "no fix"; the source keeps trying. Nothing
here raises into the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .backoff import Backoff

log = logging.getLogger(__name__)

GPSD_DEFAULT_PORT = 2947
NMEA_DEFAULT_BAUD = 4800  # NMEA 0183's standard rate; most receivers start there
GPSD_READ_TIMEOUT_S = 5.0  # gpsd reports at least once a second while watching; silence this long is an outage
NMEA_MAX_LINE = 164  # NMEA 0183 allows 82 characters; twice that is garbage, not a sentence
KNOTS_TO_MPS = 1852.0 / 3600.0
# A receiver's horizontal error is about HDOP times its range error (UERE); a few metres for
# today's single-frequency receivers.
UERE_M = 5.0
SOURCE_FORMS = "gpsd://HOST:PORT, nmea:/dev/ttyUSB0[@4800] or none"


class PositionError(ValueError):
    """Bytes from a position source that cannot be a report (the message says why)."""


@dataclass(frozen=True)
class Fix:
    """One position report. Without ``has_fix`` the other fields mean nothing."""

    has_fix: bool
    latitude_deg: float = 0.0
    longitude_deg: float = 0.0
    accuracy_m: float = math.nan  # horizontal, metres; NaN when the source does not say
    speed_mps: float = -1.0  # over ground; negative when unknown
    source: str = ""
    received_s: float = 0.0  # time.monotonic() when it arrived


NO_FIX = Fix(False)


@dataclass
class PositionCounters:
    fixes: int = 0
    no_fix_reports: int = 0
    garbage: int = 0  # lines that are not reports (bad JSON, bad checksum, nonsense values)
    connects: int = 0
    outages: int = 0  # the daemon or port went away, or went silent


def _latlon(lat: Any, lon: Any) -> tuple[float, float]:
    for name, v, bound in (("latitude", lat, 90.0), ("longitude", lon, 180.0)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or abs(v) > bound:
            raise PositionError(f"{name} {v!r} is not a coordinate")
    return float(lat), float(lon)


def _optional(v: Any) -> float | None:
    return float(v) if not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v) else None


def parse_gpsd_line(line: str, source: str = "gpsd") -> Fix | None:
    """A gpsd JSON report: a ``Fix`` for a TPV report, None for the other classes (VERSION, SKY, ...)."""
    try:
        report = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise PositionError(f"not JSON: {exc}") from None
    if not isinstance(report, dict):
        raise PositionError(f"a gpsd report is a JSON object, got {type(report).__name__}")
    if report.get("class") != "TPV":
        return None
    mode = report.get("mode", 0)
    if mode not in (0, 1, 2, 3):
        raise PositionError(f"TPV mode {mode!r} is not 0..3")
    if mode < 2 or "lat" not in report or "lon" not in report:  # 0 unknown, 1 no fix
        return Fix(False, source=source)
    lat, lon = _latlon(report["lat"], report["lon"])
    eph = _optional(report.get("eph"))
    epx, epy = _optional(report.get("epx")), _optional(report.get("epy"))
    accuracy = eph if eph is not None else math.hypot(epx, epy) if epx is not None and epy is not None else math.nan
    speed = _optional(report.get("speed"))
    return Fix(True, lat, lon, accuracy, speed if speed is not None and speed >= 0 else -1.0, source)


class NmeaReader:
    """NMEA 0183 from any byte stream: GGA gives the position and its precision, RMC the position
    and the speed; each valid one is a ``Fix``. Other sentences are ignored, broken ones counted."""

    def __init__(self, counters: PositionCounters | None = None, source: str = "nmea") -> None:
        self.counters = counters or PositionCounters()
        self.source = source
        self._buffer = b""
        self._accuracy = math.nan
        self._speed = -1.0
        self._logged = False

    def feed(self, data: bytes) -> list[Fix]:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) > NMEA_MAX_LINE:  # no end of line in sight: not a sentence
            self._garbage(f"{len(self._buffer)} bytes without a line end")
            self._buffer = b""
        fixes = []
        for raw in lines:
            try:
                fix = self.parse_line(raw)
            except PositionError as exc:
                self._garbage(str(exc))
                continue
            if fix is not None:
                fixes.append(fix)
        return fixes

    def _garbage(self, why: str) -> None:
        self.counters.garbage += 1
        if not self._logged:  # once: a noisy line would flood the log
            log.warning("%s: ignoring a line that is not an NMEA sentence (%s); counting the rest", self.source, why)
            self._logged = True

    def parse_line(self, raw: bytes) -> Fix | None:
        """One line: a ``Fix`` for GGA/RMC, None for a blank line or another sentence."""
        import pynmea2

        text = raw.strip()
        if not text:
            return None
        if len(text) > NMEA_MAX_LINE:
            raise PositionError(f"a line of {len(text)} bytes")
        try:
            sentence = pynmea2.parse(text.decode("ascii"), check=True)
        except UnicodeDecodeError:
            raise PositionError("non-ASCII bytes") from None
        except (pynmea2.ParseError, ValueError, TypeError, AttributeError, IndexError) as exc:
            raise PositionError(f"{type(exc).__name__}: {exc}") from None
        kind = getattr(sentence, "sentence_type", "")
        try:
            if kind in ("GGA", "RMC") and not (sentence.lat and sentence.lon):
                return Fix(False, source=self.source)  # a receiver still searching leaves them empty
            if kind == "GGA":
                if not sentence.gps_qual:  # 0 or empty: no fix
                    return Fix(False, source=self.source)
                hdop = _optional(float(sentence.horizontal_dil)) if sentence.horizontal_dil else None
                self._accuracy = hdop * UERE_M if hdop is not None else math.nan
                lat, lon = _latlon(sentence.latitude, sentence.longitude)
                return Fix(True, lat, lon, self._accuracy, self._speed, self.source)
            if kind == "RMC":
                if sentence.status != "A":  # V: void, no fix
                    return Fix(False, source=self.source)
                knots = sentence.spd_over_grnd
                self._speed = float(knots) * KNOTS_TO_MPS if knots not in (None, "") else -1.0
                lat, lon = _latlon(sentence.latitude, sentence.longitude)
                return Fix(True, lat, lon, self._accuracy, self._speed, self.source)
        except (ValueError, TypeError, AttributeError) as exc:  # a field that does not convert
            raise PositionError(f"{kind}: {exc}") from None
        return None


class PositionSource(ABC):
    """A source of fixes, running until cancelled; ``on_fix`` gets each report (no fix included)."""

    description = "position source"

    def __init__(self) -> None:
        self.counters = PositionCounters()
        self._down_logged = False

    @abstractmethod
    async def run(self, on_fix: Callable[[Fix], None]) -> None: ...

    def _deliver(self, fix: Fix, on_fix: Callable[[Fix], None]) -> None:
        if fix.has_fix:
            self.counters.fixes += 1
        else:
            self.counters.no_fix_reports += 1
        on_fix(Fix(fix.has_fix, fix.latitude_deg, fix.longitude_deg, fix.accuracy_m, fix.speed_mps, fix.source,
                   time.monotonic()))  # fmt: skip

    def _outage(self, why: str, on_fix: Callable[[Fix], None]) -> None:
        self.counters.outages += 1
        if not self._down_logged:  # once per outage, not per retry
            log.warning("%s unavailable: %s; retrying", self.description, why)
            self._down_logged = True
        on_fix(Fix(False, source=self.description, received_s=time.monotonic()))

    def _up(self) -> None:
        self.counters.connects += 1
        if self._down_logged:
            log.info("%s is back", self.description)
        self._down_logged = False


class GpsdSource(PositionSource):
    """gpsd's JSON watch stream through ``gpsdclient`` (a blocking client, so read in a thread)."""

    def __init__(self, host: str, port: int = GPSD_DEFAULT_PORT) -> None:
        super().__init__()
        self.host, self.port = host, port
        self.description = f"gpsd at {host}:{port}"
        self._garbage_logged = False

    async def run(self, on_fix: Callable[[Fix], None]) -> None:
        from gpsdclient import GPSDClient

        loop = asyncio.get_running_loop()
        backoff = Backoff(first=0.5, ceiling=5.0)
        while True:
            client = GPSDClient(self.host, self.port, timeout=GPSD_READ_TIMEOUT_S)
            connects = self.counters.connects
            try:
                await asyncio.to_thread(self._pump, client, loop, on_fix)
                why = "gpsd closed the connection"
            except (OSError, ValueError) as exc:  # refused, reset, silent (timeout), not gpsd
                why = f"{type(exc).__name__}: {exc}".splitlines()[0]
            finally:
                _hang_up(client)
            self._outage(why, on_fix)
            if self.counters.connects > connects:  # it had been working: try again soon
                backoff.reset()
            await asyncio.sleep(backoff.next_delay())

    def _pump(self, client: Any, loop: asyncio.AbstractEventLoop, on_fix: Callable[[Fix], None]) -> None:
        """In a worker thread: every line gpsd sends, handed to the loop."""
        first = True
        for line in client.json_stream():
            if first:
                loop.call_soon_threadsafe(self._up)
                first = False
            loop.call_soon_threadsafe(self._line, line, on_fix)

    def _line(self, line: str, on_fix: Callable[[Fix], None]) -> None:
        try:
            fix = parse_gpsd_line(line, "gpsd")
        except PositionError as exc:
            self.counters.garbage += 1
            if not self._garbage_logged:
                log.warning("%s sent a line that is not a report (%s); counting the rest", self.description, exc)
                self._garbage_logged = True
            return
        if fix is not None:
            self._deliver(fix, on_fix)


def _hang_up(client: Any) -> None:
    """Close the client's socket so that a read blocked in the worker thread ends now (a plain
    close waits for the line reader the socket lent itself to)."""
    sock = client.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    client.close()


class NmeaSerialSource(PositionSource):
    """A GPS receiver's NMEA sentences on a serial port."""

    def __init__(self, port: str, baudrate: int = NMEA_DEFAULT_BAUD) -> None:
        super().__init__()
        self.port, self.baudrate = port, baudrate
        self.description = f"NMEA receiver on {port}"
        self.reader = NmeaReader(self.counters)

    async def run(self, on_fix: Callable[[Fix], None]) -> None:
        import serial

        loop = asyncio.get_running_loop()
        backoff = Backoff(first=0.5, ceiling=5.0)
        while True:
            gone: asyncio.Future = loop.create_future()
            try:
                port = serial.Serial(self.port, self.baudrate, timeout=0)
            except (serial.SerialException, OSError) as exc:
                self._outage(str(exc), on_fix)
                await asyncio.sleep(backoff.next_delay())
                continue
            self._up()
            backoff.reset()

            def readable(port: Any = port, gone: asyncio.Future = gone) -> None:
                try:
                    data = port.read(4096)
                except (serial.SerialException, OSError) as exc:
                    if not gone.done():
                        gone.set_result(str(exc))
                    return
                for fix in self.reader.feed(data):
                    self._deliver(fix, on_fix)

            loop.add_reader(port.fileno(), readable)
            try:
                why = await gone
            finally:
                loop.remove_reader(port.fileno())
                port.close()
            self._outage(why, on_fix)
            await asyncio.sleep(backoff.next_delay())


def open_position_source(spec: str) -> PositionSource | None:
    """The source ``spec`` names (None for ``none``); ValueError with the accepted forms otherwise."""
    if spec == "none":
        return None
    if spec.startswith("gpsd://"):
        host, _, port = spec[len("gpsd://") :].rstrip("/").rpartition(":")
        if not host:
            host, port = port, str(GPSD_DEFAULT_PORT)
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"bad gpsd address {spec!r}: use gpsd://HOST:PORT")
        return GpsdSource(host, int(port))
    if spec.startswith("nmea:"):
        port, _, baud = spec[len("nmea:") :].partition("@")
        if not port:
            raise ValueError(f"{spec!r} names no serial port: use nmea:/dev/ttyUSB0[@4800]")
        if baud and not baud.isdigit():
            raise ValueError(f"serial baud rate {baud!r} is not a number")
        return NmeaSerialSource(port, int(baud) if baud else NMEA_DEFAULT_BAUD)
    raise ValueError(f"unknown position source {spec!r}: use {SOURCE_FORMS}")
