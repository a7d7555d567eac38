"""The edge's position sources: gpsd (through gpsdclient, against the simulator's gpsd over real TCP),
NMEA from any byte stream and from a serial port (a pseudo-terminal), and what bad input becomes."""

from __future__ import annotations

import asyncio
import json
import math
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sottovoce.edge.position import (
    GpsdSource,
    NmeaReader,
    NmeaSerialSource,
    PositionError,
    open_position_source,
    parse_gpsd_line,
)
from sottovoce.firmware_sim.gpsd import GpsdServer, tpv
from sottovoce.firmware_sim.walk import GpsFix
from sottovoce.tools.demo import free_ports

GGA = b"$GPGGA,120000.00,6010.1112,N,02456.9400,E,1,08,1.2,20.0,M,18.0,M,,*53\r\n"
RMC = b"$GPRMC,120000.00,A,6010.1112,N,02456.9400,E,2.7,87.0,271126,,*07\r\n"
FIX = GpsFix(60.16852, 24.949, 5.0, 1.4, 87.0)


async def wait_until(predicate, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


def test_a_tpv_report_is_a_fix_and_the_other_classes_are_not():
    fix = parse_gpsd_line(json.dumps(tpv(FIX)))
    assert fix is not None and fix.has_fix and fix.source == "gpsd"
    assert (fix.latitude_deg, fix.longitude_deg, fix.accuracy_m, fix.speed_mps) == (60.16852, 24.949, 5.0, 1.4)
    assert not parse_gpsd_line(json.dumps(tpv(None))).has_fix  # mode 1: no fix
    assert parse_gpsd_line('{"class":"SKY","satellites":[]}') is None
    no_eph = parse_gpsd_line('{"class":"TPV","mode":2,"lat":60.1,"lon":24.9,"epx":3.0,"epy":4.0}')
    assert no_eph.accuracy_m == pytest.approx(5.0) and no_eph.speed_mps < 0  # speed unknown


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "a gpsd report is a JSON object"),
        ('{"class":"TPV","mode":7}', "mode 7"),
        ('{"class":"TPV","mode":3,"lat":95.0,"lon":24.9}', "latitude 95.0"),
        ('{"class":"TPV","mode":3,"lat":60.1,"lon":"x"}', "longitude 'x'"),
        ('{"class":"TPV","mode":3,"lat":NaN,"lon":24.9}', "latitude nan"),
    ],
)
def test_bad_gpsd_lines_say_what_is_wrong(line: str, message: str):
    with pytest.raises(PositionError, match=message):
        parse_gpsd_line(line)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
tpv_like = st.fixed_dictionaries(
    {"class": st.just("TPV")},
    optional={k: json_values for k in ("mode", "lat", "lon", "eph", "epx", "epy", "speed")},
)


@given(st.text(max_size=120) | tpv_like.map(json.dumps))
def test_any_gpsd_line_is_a_fix_none_or_a_position_error(line: str):
    try:
        fix = parse_gpsd_line(line)
    except PositionError:
        return
    if fix is not None and fix.has_fix:
        assert abs(fix.latitude_deg) <= 90 and abs(fix.longitude_deg) <= 180
        assert math.isnan(fix.accuracy_m) or math.isfinite(fix.accuracy_m)


def test_nmea_gga_and_rmc_give_fixes_with_precision_and_speed():
    reader = NmeaReader()
    fixes = reader.feed(GGA[:30]) + reader.feed(GGA[30:] + RMC)  # split anywhere, as a port delivers
    assert [f.has_fix for f in fixes] == [True, True]
    assert fixes[0].latitude_deg == pytest.approx(60.16852) and fixes[0].longitude_deg == pytest.approx(24.949)
    assert fixes[0].accuracy_m == pytest.approx(1.2 * 5.0)  # HDOP times a receiver's range error
    assert fixes[1].speed_mps == pytest.approx(2.7 * 1852 / 3600) and fixes[1].accuracy_m == pytest.approx(6.0)
    no_fix = reader.feed(b"$GPGGA,120001.00,,,,,0,00,99.9,,M,,M,,*5D\r\n$GPRMC,120001.00,V,,,,,,,271126,,*1C\r\n")
    assert [f.has_fix for f in no_fix] == [False, False] and reader.counters.garbage == 0


def test_broken_nmea_is_counted_and_the_stream_goes_on():
    reader = NmeaReader()
    bad_checksum = GGA.replace(b"*53", b"*54")
    fixes = reader.feed(bad_checksum + b"\xff\xfe garbage\r\n" + b"x" * 500 + b"\n" + GGA)
    assert len(fixes) == 1 and fixes[0].has_fix
    assert reader.counters.garbage == 3
    assert reader.feed(b"y" * 1000) == [] and reader.counters.garbage == 4  # no line end at all: dropped


@given(st.lists(st.binary(max_size=100), max_size=20))
def test_any_bytes_feed_the_nmea_reader_without_raising(chunks: list[bytes]):
    reader = NmeaReader()
    for chunk in chunks:
        for fix in reader.feed(chunk):
            assert not fix.has_fix or (abs(fix.latitude_deg) <= 90 and abs(fix.longitude_deg) <= 180)
    assert reader.feed(b"\n" + GGA)[-1].has_fix  # and it still reads the next good sentence


field = st.text(alphabet="0123456789.-NSEWAV", max_size=10)


@given(st.sampled_from(["GPGGA", "GPRMC", "GNGGA", "GNRMC"]), st.lists(field, min_size=0, max_size=16))
def test_well_framed_sentences_with_any_fields_are_a_fix_none_or_counted(kind: str, fields: list[str]):
    import pynmea2

    body = ",".join([kind, *fields])
    line = f"${body}*{pynmea2.NMEASentence.checksum(body):02X}\r\n".encode()
    reader = NmeaReader()
    fixes = reader.feed(line)
    assert len(fixes) + reader.counters.garbage <= 1
    for fix in fixes:
        assert not fix.has_fix or (abs(fix.latitude_deg) <= 90 and abs(fix.longitude_deg) <= 180)


async def test_the_gpsd_source_reads_the_simulators_gpsd_and_survives_it_going_away():
    server = GpsdServer("127.0.0.1", 0)
    await server.start()
    source = GpsdSource("127.0.0.1", server.port)
    fixes = []
    task = asyncio.create_task(source.run(fixes.append))
    try:
        await wait_until(lambda: server.counters.clients == 1 and server.watching == 1)
        server.publish(None)
        server.publish(FIX)
        await wait_until(lambda: len(fixes) == 2)
        assert [f.has_fix for f in fixes] == [False, True] and fixes[1].latitude_deg == pytest.approx(60.16852)
        assert fixes[1].received_s > 0 and source.counters.connects == 1

        await server.close()  # gpsd stops: no fix, counted, and the source keeps trying
        await wait_until(lambda: source.counters.outages >= 1)
        assert not fixes[-1].has_fix
        server = GpsdServer("127.0.0.1", server.port)
        await server.start()
        await wait_until(lambda: server.counters.clients >= 1 and server.watching == 1)
        server.publish(FIX)
        await wait_until(lambda: fixes[-1].has_fix)
        assert source.counters.connects == 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.close()


async def test_garbage_from_gpsd_is_counted_and_the_next_report_still_read():
    async def gpsd(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b'{"class":"VERSION","release":"3.25","proto_major":3,"proto_minor":15}\r\n')
        await reader.readline()  # ?WATCH
        writer.write(b"{garbage\r\n" + b'{"class":"TPV","mode":3,"lat":999,"lon":24.9}\r\n')
        writer.write((json.dumps(tpv(FIX)) + "\r\n").encode())
        await writer.drain()
        await reader.read()

    server = await asyncio.start_server(gpsd, "127.0.0.1", 0)
    source = GpsdSource("127.0.0.1", server.sockets[0].getsockname()[1])
    fixes = []
    task = asyncio.create_task(source.run(fixes.append))
    try:
        await wait_until(lambda: len(fixes) == 1)
        assert fixes[0].has_fix and source.counters.garbage == 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        server.close()


async def test_no_gpsd_at_all_is_no_fix_not_a_crash():
    source = GpsdSource("127.0.0.1", free_ports(1)[0])  # nothing listens there
    fixes = []
    task = asyncio.create_task(source.run(fixes.append))
    try:
        await wait_until(lambda: source.counters.outages >= 1)
        assert fixes and not any(f.has_fix for f in fixes)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_nmea_source_reads_a_serial_port():
    master, slave = os.openpty()
    source = NmeaSerialSource(os.ttyname(slave), 4800)
    fixes = []
    task = asyncio.create_task(source.run(fixes.append))
    try:
        await wait_until(lambda: source.counters.connects == 1)
        os.write(master, b"noise\r\n" + GGA + RMC)
        await wait_until(lambda: len(fixes) == 2)
        assert all(f.has_fix and f.source == "nmea" for f in fixes) and source.counters.garbage == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        os.close(master)
        os.close(slave)


def test_source_urls_and_their_errors():
    assert open_position_source("none") is None
    gpsd = open_position_source("gpsd://127.0.0.1:2948")
    assert isinstance(gpsd, GpsdSource) and (gpsd.host, gpsd.port) == ("127.0.0.1", 2948)
    assert open_position_source("gpsd://gps.local").port == 2947
    nmea = open_position_source("nmea:/dev/ttyUSB0@9600")
    assert isinstance(nmea, NmeaSerialSource) and (nmea.port, nmea.baudrate) == ("/dev/ttyUSB0", 9600)
    assert open_position_source("nmea:/dev/ttyUSB0").baudrate == 4800
    for bad, message in (("gps:foo", "unknown position source"), ("gpsd://h:99999", "bad gpsd address"),
                         ("nmea:", "names no serial port"), ("nmea:/dev/x@fast", "not a number")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            open_position_source(bad)
