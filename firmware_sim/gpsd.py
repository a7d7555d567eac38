"""The simulated walk's GPS, served as gpsd serves a real receiver: the gpsd JSON protocol over TCP.

So the edge's gpsd source (``gpsdclient``) is exercised exactly as on a Pi with a receiver:
a client connects and gets the VERSION banner; ``?WATCH={"enable":true,"json":true}`` answers
DEVICES and WATCH and starts the stream of TPV reports, one per fix (mode 3 with a position,
mode 1 while there is none). A client that cannot keep up is disconnected (counted), as gpsd does.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
from dataclasses import dataclass

from .walk import GpsFix

log = logging.getLogger(__name__)

DEVICE = "/dev/sottovoce-sim-gps"
RELEASE = "3.25"  # the gpsd release whose protocol (3.15) this speaks
MAX_CLIENT_BUFFER = 64 * 1024  # bytes waiting for a client that does not read


@dataclass
class GpsdCounters:
    clients: int = 0
    reports: int = 0
    slow_clients_dropped: int = 0
    bad_requests: int = 0


def parse_address(spec: str) -> tuple[str, int]:
    """``HOST:PORT`` as (host, port); ValueError says what is wrong."""
    host, _, port = spec.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"bad gpsd address {spec!r}: use HOST:PORT, e.g. 127.0.0.1:2947 (port 0: any free one)")
    return host, int(port)


def _line(obj: dict) -> bytes:
    return (json.dumps(obj, separators=(",", ":")) + "\r\n").encode()


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def tpv(fix: GpsFix | None) -> dict:
    """A TPV report for a fix (mode 3) or for none (mode 1)."""
    if fix is None:
        return {"class": "TPV", "device": DEVICE, "mode": 1, "time": _now()}
    report = {
        "class": "TPV", "device": DEVICE, "mode": 3, "time": _now(),
        "lat": round(fix.latitude_deg, 8), "lon": round(fix.longitude_deg, 8), "altHAE": 20.0,
        # eph is gpsd's horizontal error estimate; epx/epy the per-axis ones
        "eph": round(fix.accuracy_m, 2), "epx": round(fix.accuracy_m / 2**0.5, 2),
        "epy": round(fix.accuracy_m / 2**0.5, 2), "speed": round(fix.speed_mps, 3),
    }  # fmt: skip
    if fix.course_deg is not None:
        report["track"] = round(fix.course_deg, 1)
    return report


class GpsdServer:
    """gpsd on ``host:port`` (port 0: any free one; ``address`` says which after ``start``)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.counters = GpsdCounters()
        self._server: asyncio.Server | None = None
        self._watchers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()

    @property
    def watching(self) -> int:
        """Clients receiving reports."""
        return len(self._watchers)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("gpsd serving the walk on %s", self.address)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._watchers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def publish(self, fix: GpsFix | None) -> None:
        """One report to every watching client."""
        line = _line(tpv(fix))
        self.counters.reports += 1
        for writer in list(self._watchers):
            if writer.transport.get_write_buffer_size() > MAX_CLIENT_BUFFER:
                self.counters.slow_clients_dropped += 1
                self._watchers.discard(writer)
                writer.close()
                continue
            writer.write(line)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.add(task := asyncio.current_task())  # type: ignore[arg-type]
        self.counters.clients += 1
        writer.write(_line({"class": "VERSION", "release": RELEASE, "rev": "sottovoce-sim", "proto_major": 3,
                            "proto_minor": 15}))  # fmt: skip
        try:
            while line := await reader.readline():
                request = line.decode("ascii", "replace").strip().rstrip(";")
                if request.startswith("?WATCH"):
                    self._watch(request, writer)
                elif request == "?VERSION":
                    writer.write(_line({"class": "VERSION", "release": RELEASE, "rev": "sottovoce-sim",
                                        "proto_major": 3, "proto_minor": 15}))  # fmt: skip
                elif request:
                    self.counters.bad_requests += 1
                    writer.write(_line({"class": "ERROR", "message": f"Unrecognized request '{request[:40]}'"}))
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # the client went away or sent a line too long: it is gone either way
        finally:
            self._watchers.discard(writer)
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _watch(self, request: str, writer: asyncio.StreamWriter) -> None:
        _, _, arg = request.partition("=")
        try:
            options = json.loads(arg) if arg else {}
        except json.JSONDecodeError:
            options = None
        if not isinstance(options, dict):
            self.counters.bad_requests += 1
            writer.write(_line({"class": "ERROR", "message": f"Invalid WATCH: {arg[:40]}"}))
            return
        enable = bool(options.get("enable", True))
        writer.write(_line({"class": "DEVICES", "devices": [
            {"class": "DEVICE", "path": DEVICE, "driver": "NMEA0183", "activated": _now(), "flags": 1,
             "native": 0, "bps": 9600, "parity": "N", "stopbits": 1, "cycle": 1.00}]}))  # fmt: skip
        writer.write(_line({"class": "WATCH", "enable": enable, "json": bool(options.get("json", False))}))
        if enable:
            self._watchers.add(writer)
        else:
            self._watchers.discard(writer)
