"""Scenario files: what the wearer says and does, and the acoustic and radio conditions around it.

A scenario is TOML. Utterances are ``[[utterance]]`` tables with ``say`` (synthesised offline at
load time; each ``|`` in it is a mid-sentence pause of ``pause`` seconds), ``wav`` or ``clip`` (a
recording of a real person committed in ``voices/``, by its id in the manifest there), timed
either absolutely (``at``) or reactively (``after`` an anchor such as the start of the
assistant's answer to the previous utterance, as heard at the speaker). An utterance with
``speaker = "other"`` is said by the person in front of the wearer, in ``language`` (an eSpeak NG
voice of it unless told), ``distance_m`` away in a room (``room.py``), speaking with a normal
voice whatever level its recording has (``gain_db`` then raises or lowers that voice). See
``scenarios/demo.toml`` for every section, ``scenarios/translation.toml`` for the other person and
``scenarios/navigation.toml`` for ``[walk]`` (the wearer walking: ``firmware_sim/walk.py``).
Validation errors name the table, its line and the key.
"""

from __future__ import annotations

import math
import re
import tomllib
import wave
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from sottovoce.edge.config import AUTO_LANGUAGE, LANGUAGE_CODE, MODES  # the edge plays a scenario in its mode
from sottovoce.firmware_sim.recordings import RecordingError, recording
from sottovoce.firmware_sim.room import DEFAULT_DISTANCE_M, MAX_DISTANCE_M, Room, at_distance, spoken_at
from sottovoce.firmware_sim.walk import GpsOutage, Look, PathGeometry, Stop, Walk
from sottovoce.host.tts import TTS_ENGINES  # the wearer is voiced by the host's engines
from sottovoce.proto.codec import SAMPLE_RATE
from sottovoce.proto.control import GESTURE_KINDS
from sottovoce.proto.gatt.att import DEFAULT_ATT_MTU, MAX_ATT_MTU
from sottovoce.proto.gatt.buttons import ButtonEvent

# aloud_*: the outward speaker's first stream after the utterance (translation mode's replies said aloud)
ANCHORS = ("start", "answer_start", "answer_end", "previous_end", "aloud_start", "aloud_end")
BUTTON_KINDS = tuple(event.name.lower() for event in ButtonEvent)
NOISE_COLORS = ("white", "pink")
NOISE_BEDS = ("street", "babble", "wind")  # firmware_sim.noise_beds renders them
ECHO_COLORINGS = ("linear", "bone")
SPEAKERS = ("wearer", "other")  # who says an utterance: the wearer, or the person in front of them
OTHER_TTS = "espeak"  # the other person's default engine: it speaks their language, in a voice not the wearer's
DEFAULT_TIMEOUT_S = 8.0
MAX_SCENARIO_S = 86400.0  # a day: the longest run, and the bound on every time in a scenario


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file, line and key."""


@dataclass(frozen=True)
class Trigger:
    """When something happens: ``at`` seconds on the scenario clock, or ``delay`` after ``after``.

    ``ref`` is the 0-based utterance an anchor refers to (for utterances: the previous one).
    """

    at: float | None = None
    after: str | None = None
    delay: float = 0.0
    timeout: float = DEFAULT_TIMEOUT_S
    ref: int | None = None


@dataclass
class Utterance:
    index: int  # 0-based position in the file
    text: str  # what is said (ground truth for ASR); for WAVs the optional ``text`` key, for clips their transcript
    trigger: Trigger
    barge_in: bool = False
    reply: bool = True  # the wearer expects an answer; false for words that only stop it ("Stop.")
    say: str | None = None
    wav: Path | None = None
    voice: str | None = None
    tts: str | None = None
    rate: float = 1.0
    gain_db: float = 0.0
    pause: float = 0.0  # seconds of silence at each "|" in ``say``: the wearer pausing mid-sentence
    speaker: str = "wearer"  # one of SPEAKERS
    language: str | None = None  # the language it is said in (None: the wearer's)
    distance_m: float = DEFAULT_DISTANCE_M  # the other person's distance from the glasses
    audio: np.ndarray | None = None  # int16 16 kHz, filled by ``synthesize``

    @property
    def parts(self) -> list[str]:
        """``say`` cut at its pauses (one part when it has none)."""
        return _parts(self.say or "")


@dataclass(frozen=True)
class Noise:
    """Background noise at the mic: white or pink noise, or a bed (``noise_beds``) in its place."""

    level_dbfs: float = -60.0  # RMS level relative to int16 full scale
    color: str = "white"  # white | pink
    bed: str | None = None  # street | babble | wind
    # the speakers of the wearer's clips: a babble is made of other people's voices
    babble_without: tuple[str, ...] = ()


@dataclass(frozen=True)
class Echo:
    """The acoustic path from the ear speaker back into the mic. Its strength is given one of two
    ways: ``gain_db``, the path's gain (a speaker sample to a mic sample), or ``level_db``, the
    echo's speech level at the mic relative to the wearer's (+12: the assistant's voice 12 dB
    louder at the mic than the wearer's own, as bone-conduction and open-ear speakers are)."""

    delay_ms: float = 0.0
    gain_db: float = -120.0  # effectively no echo
    level_db: float | None = None  # when set, it sets the strength and gain_db is unused
    lowpass_hz: float = 4000.0  # the frame passes the speaker's low end more than its highs
    # "bone": the frame conducting the speaker's vibration: soft clipping, then a resonant low-pass
    coloring: str = "linear"


@dataclass(frozen=True)
class Disconnect:
    at: float
    duration: float


@dataclass(frozen=True)
class Link:
    connection_interval_ms: float = 15.0
    loss: float = 0.0  # probability that one notification or write is lost
    jitter_ms: float = 0.0  # extra random delay, released at a later connection event
    max_mtu: int = 247  # largest ATT MTU the device accepts in an MTU exchange
    disconnect: tuple[Disconnect, ...] = ()


@dataclass(frozen=True)
class Battery:
    start: float = 80.0  # percent
    drain_per_min: float = 0.0


@dataclass(frozen=True)
class DeviceEvent:
    """A button press or head gesture."""

    kind: str
    trigger: Trigger


@dataclass(frozen=True)
class Outward:
    """The glasses' outward speaker (what it says aloud for the person in front) leaking into the
    mic: it is loud and near, so its path gain is high; ``delay_ms`` is the sound's travel."""

    gain_db: float = -6.0  # a speaker sample to a mic sample
    delay_ms: float = 0.5


@dataclass
class Scenario:
    name: str
    source: Path | None
    utterances: list[Utterance]
    noise: Noise | None = None
    echo: Echo = field(default_factory=Echo)
    outward: Outward = field(default_factory=Outward)
    link: Link = field(default_factory=Link)
    battery: Battery = field(default_factory=Battery)
    buttons: list[DeviceEvent] = field(default_factory=list)
    gestures: list[DeviceEvent] = field(default_factory=list)
    tail: float = 2.0  # seconds to keep running after the last utterance and its answer
    lead_in: float = 0.5  # seconds between subscription and t=0 (not recorded)
    max_duration: float = 600.0  # hard stop on the scenario clock
    tts: str = "piper"
    mode: str = "assistant"  # the conversation mode the scenario is for (the demo runs the edge in it)
    language: str | None = None  # translation mode: the other person's language (or "auto")
    walk: Walk | None = None  # the wearer walking (navigation): position, head turns, GPS


# --- loading ------------------------------------------------------------------------------------


class _Where:
    """Turns a table path into ``file:line [[utterance]] #2`` for error messages."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self._lines: dict[str, list[int]] = {}
        for no, line in enumerate(text.splitlines(), 1):
            m = re.match(r"\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?", line)
            if m:
                self._lines.setdefault(m.group(2), []).append(no)

    def at(self, table: str, index: int | None = None) -> str:
        lines = self._lines.get(table, [])
        pos = index if index is not None else 0
        line = f":{lines[pos]}" if pos < len(lines) else ""
        label = f"[[{table}]] #{index + 1}" if index is not None else f"[{table}]"
        return f"{self.name}{line} {label}"


def _number(where: str, key: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{where}: {key!r} must be a number, got {value!r}")
    # TOML has inf and nan; neither is a time, a level or a rate (nan even passes range checks).
    if not math.isfinite(value):
        raise ScenarioError(f"{where}: {key!r} must be a finite number, got {value!r}")
    if not lo <= value <= hi:
        raise ScenarioError(f"{where}: {key!r} must be in [{lo:g}, {hi:g}], got {value!r}")
    return float(value)


def _string(where: str, key: str, value: Any, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str):
        raise ScenarioError(f"{where}: {key!r} must be a string, got {value!r}")
    if choices is not None and value not in choices:
        raise ScenarioError(f"{where}: {key!r} must be one of {', '.join(choices)}; got {value!r}")
    return value


def _keys(where: str, table: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: must be a table, got {type(table).__name__}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ScenarioError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    return table


def _trigger(where: str, t: dict[str, Any], ref: int | None, n_utterances: int) -> Trigger:
    if ("at" in t) == ("after" in t):
        raise ScenarioError(f"{where}: give exactly one of 'at' (seconds) or 'after' (anchor)")
    if "at" in t:
        for k in ("delay", "timeout", "utterance"):
            if k in t:
                raise ScenarioError(f"{where}: {k!r} only goes with 'after', not with 'at'")
        return Trigger(at=_number(where, "at", t["at"], 0, MAX_SCENARIO_S))
    after = _string(where, "after", t["after"], ANCHORS)
    delay = _number(where, "delay", t.get("delay", Trigger.delay), 0, MAX_SCENARIO_S)
    timeout = _number(where, "timeout", t.get("timeout", Trigger.timeout), 0, MAX_SCENARIO_S)
    if "utterance" in t:
        u = t["utterance"]
        if isinstance(u, bool) or not isinstance(u, int) or not 1 <= u <= n_utterances:
            raise ScenarioError(f"{where}: 'utterance' must be an utterance number 1..{n_utterances}, got {u!r}")
        ref = u - 1
    if after != "start" and ref is None:
        raise ScenarioError(f"{where}: after = {after!r} needs an utterance to refer to (events: utterance = N)")
    return Trigger(after=after, delay=delay, timeout=timeout, ref=None if after == "start" else ref)


_UTTERANCE_KEYS = {"say", "wav", "clip", "text", "voice", "tts", "rate", "gain_db", "barge_in", "reply", "pause",
                   "at", "after", "delay", "timeout", "speaker", "language", "distance_m"}  # fmt: skip
_EVENT_KEYS = {"kind", "at", "after", "delay", "timeout", "utterance"}
_TOP_KEYS = {"name", "utterance", "noise", "echo", "link", "battery", "button", "gesture",
             "tail", "lead_in", "max_duration", "tts", "mode", "language", "outward", "walk"}  # fmt: skip


def _parts(say: str) -> list[str]:
    return [part.strip() for part in say.split("|")]


def parse_scenario(text: str, name: str = "<scenario>", base_dir: Path | None = None) -> Scenario:
    """Parse and validate scenario TOML (no synthesis yet)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{name}: invalid TOML: {exc}") from None
    where = _Where(name, text)
    _keys(name, doc, _TOP_KEYS)
    base = base_dir or Path.cwd()

    raw_utts = doc.get("utterance", [])
    if not isinstance(raw_utts, list) or not raw_utts:
        raise ScenarioError(f"{name}: needs at least one [[utterance]] table")
    default_tts = _string(name, "tts", doc.get("tts", Scenario.tts), TTS_ENGINES)
    utterances = []
    for i, u in enumerate(raw_utts):
        w = where.at("utterance", i)
        _keys(w, u, _UTTERANCE_KEYS)
        if sum(k in u for k in ("say", "wav", "clip")) != 1:
            raise ScenarioError(
                f"{w}: give exactly one of 'say' (text to synthesise), 'wav' (a file) or 'clip' (a committed recording)"
            )
        say = _string(w, "say", u["say"]) if "say" in u else None
        if say is not None and not say.strip():
            raise ScenarioError(f"{w}: 'say' is empty")
        pauses = say is not None and "|" in say
        if pauses and "pause" not in u:
            raise ScenarioError(f"{w}: 'say' pauses at '|' but gives no 'pause' (seconds of silence)")
        if "pause" in u and not pauses:
            raise ScenarioError(f"{w}: 'pause' needs a '|' in 'say' where the wearer pauses")
        if pauses and not all(_parts(say)):  # type: ignore[arg-type]
            raise ScenarioError(f"{w}: 'say' has nothing to say before or after a '|'")
        wav, transcript = None, None
        if "clip" in u:
            try:
                clip = recording(_string(w, "clip", u["clip"]))
            except RecordingError as exc:
                raise ScenarioError(f"{w}: {exc}") from None
            wav, transcript = clip.path, clip.transcript
        if "wav" in u:
            wav = Path(_string(w, "wav", u["wav"]))
            wav = wav if wav.is_absolute() else base / wav
            if not wav.is_file():
                raise ScenarioError(f"{w}: 'wav' file not found: {wav}")
        barge = u.get("barge_in", Utterance.barge_in)
        if not isinstance(barge, bool):
            raise ScenarioError(f"{w}: 'barge_in' must be true or false, got {barge!r}")
        reply = u.get("reply", Utterance.reply)
        if not isinstance(reply, bool):
            raise ScenarioError(f"{w}: 'reply' must be true or false, got {reply!r}")
        spoken = " ".join(_parts(say)) if pauses else (say or transcript or wav.name)  # type: ignore[union-attr,arg-type]
        speaker = _string(w, "speaker", u.get("speaker", Utterance.speaker), SPEAKERS)
        if speaker == "wearer" and "distance_m" in u:
            raise ScenarioError(f"{w}: 'distance_m' is for speaker = \"other\" (the wearer is at the mic)")
        language = _string(w, "language", u["language"]) if "language" in u else None
        if language is not None and not LANGUAGE_CODE.fullmatch(language):
            raise ScenarioError(f"{w}: 'language' must be a language code such as \"es\", got {language!r}")
        tts = _string(w, "tts", u.get("tts", OTHER_TTS if speaker == "other" else default_tts), TTS_ENGINES)
        voice = _string(w, "voice", u["voice"]) if "voice" in u else None
        if voice is None and language is not None and tts == "espeak":
            voice = language  # eSpeak NG names its voices by language
        utterances.append(
            Utterance(
                index=i,
                text=_string(w, "text", u["text"]) if "text" in u else spoken,
                trigger=_trigger(w, u, i - 1 if i > 0 else None, len(raw_utts)),
                barge_in=barge,
                reply=reply,
                say=say,
                wav=wav,
                voice=voice,
                tts=tts,
                rate=_number(w, "rate", u.get("rate", Utterance.rate), 0.25, 4.0),
                gain_db=_number(w, "gain_db", u.get("gain_db", Utterance.gain_db), -60, 20),
                pause=_number(w, "pause", u["pause"], 0.05, 5.0) if pauses else 0.0,
                speaker=speaker,
                language=language,
                distance_m=_number(w, "distance_m", u.get("distance_m", Utterance.distance_m), 0.2, MAX_DISTANCE_M),
            )
        )

    def events(table: str, kinds: tuple[str, ...]) -> list[DeviceEvent]:
        raw = doc.get(table, [])
        if not isinstance(raw, list):
            raise ScenarioError(f"{name}: {table!r} must be an array of tables ([[{table}]])")
        out = []
        for i, e in enumerate(raw):
            w = where.at(table, i)
            _keys(w, e, _EVENT_KEYS)
            if "kind" not in e:
                raise ScenarioError(f"{w}: missing key 'kind' (one of {', '.join(kinds)})")
            kind = _string(w, "kind", e["kind"], kinds)
            out.append(DeviceEvent(kind, _trigger(w, e, None, len(utterances))))
        return out

    noise = None
    if "noise" in doc:
        w = where.at("noise")
        n = _keys(w, doc["noise"], {"level_dbfs", "color", "bed"})
        if "color" in n and "bed" in n:
            raise ScenarioError(f"{w}: give one of 'color' (white or pink noise) or 'bed' (a noise bed)")
        wearer = {recording(u["clip"]).speaker for u in raw_utts if isinstance(u.get("clip"), str)}
        noise = Noise(
            level_dbfs=_number(w, "level_dbfs", n.get("level_dbfs", Noise.level_dbfs), -120, 0),
            color=_string(w, "color", n.get("color", Noise.color), NOISE_COLORS),
            bed=_string(w, "bed", n["bed"], NOISE_BEDS) if "bed" in n else None,
            babble_without=tuple(sorted(wearer)),
        )
    echo = Echo()
    if "echo" in doc:
        w = where.at("echo")
        e = _keys(w, doc["echo"], {"delay_ms", "gain_db", "level_db", "lowpass_hz", "coloring"})
        if "gain_db" in e and "level_db" in e:
            raise ScenarioError(f"{w}: give one of 'gain_db' (the path's gain) or 'level_db' (relative to the wearer)")
        echo = Echo(
            delay_ms=_number(w, "delay_ms", e.get("delay_ms", Echo.delay_ms), 0, 1000),
            gain_db=_number(w, "gain_db", e.get("gain_db", Echo.gain_db), -120, 20),
            level_db=_number(w, "level_db", e["level_db"], -60, 20) if "level_db" in e else None,
            lowpass_hz=_number(w, "lowpass_hz", e.get("lowpass_hz", Echo.lowpass_hz), 50, SAMPLE_RATE / 2),
            coloring=_string(w, "coloring", e.get("coloring", Echo.coloring), ECHO_COLORINGS),
        )
    outward = Outward()
    if "outward" in doc:
        w = where.at("outward")
        o = _keys(w, doc["outward"], {"gain_db", "delay_ms"})
        outward = Outward(
            gain_db=_number(w, "gain_db", o.get("gain_db", Outward.gain_db), -120, 20),
            delay_ms=_number(w, "delay_ms", o.get("delay_ms", Outward.delay_ms), 0, 1000),
        )
    mode = _string(name, "mode", doc.get("mode", Scenario.mode), tuple(MODES))
    scenario_language = _string(name, "language", doc["language"]) if "language" in doc else None
    if scenario_language is not None and mode != "translation":
        raise ScenarioError(f"{name}: 'language' (the other person's) goes with mode = \"translation\"")
    if scenario_language is not None and not (LANGUAGE_CODE.fullmatch(scenario_language)
                                              or scenario_language == AUTO_LANGUAGE):  # fmt: skip
        raise ScenarioError(f'{name}: \'language\' must be a language code such as "es", or "auto"')
    link = Link()
    if "link" in doc:
        w = where.at("link")
        lk = _keys(w, doc["link"], {"connection_interval_ms", "loss", "jitter_ms", "max_mtu", "disconnect"})
        disc = lk.get("disconnect", [])
        if not isinstance(disc, list):
            raise ScenarioError(f"{w}: 'disconnect' must be a list of {{at, duration}} tables")
        drops = []
        for j, d in enumerate(disc):
            dw = f"{w} disconnect[{j}]"
            _keys(dw, d, {"at", "duration"})
            if "at" not in d or "duration" not in d:
                raise ScenarioError(f"{dw}: needs both 'at' and 'duration'")
            at = _number(dw, "at", d["at"], 0, MAX_SCENARIO_S)
            drops.append(Disconnect(at, _number(dw, "duration", d["duration"], 0, 60)))
        mtu = lk.get("max_mtu", Link.max_mtu)
        if isinstance(mtu, bool) or not isinstance(mtu, int) or not DEFAULT_ATT_MTU <= mtu <= MAX_ATT_MTU:
            raise ScenarioError(f"{w}: 'max_mtu' must be an integer in [{DEFAULT_ATT_MTU}, {MAX_ATT_MTU}], got {mtu!r}")
        link = Link(
            connection_interval_ms=_number(
                w, "connection_interval_ms", lk.get("connection_interval_ms", Link.connection_interval_ms), 7.5, 4000
            ),
            loss=_number(w, "loss", lk.get("loss", Link.loss), 0, 1),
            jitter_ms=_number(w, "jitter_ms", lk.get("jitter_ms", Link.jitter_ms), 0, 1000),
            max_mtu=mtu,
            disconnect=tuple(sorted(drops, key=lambda d: d.at)),
        )
    battery = Battery()
    if "battery" in doc:
        w = where.at("battery")
        b = _keys(w, doc["battery"], {"start", "drain_per_min"})
        battery = Battery(
            start=_number(w, "start", b.get("start", Battery.start), 0, 100),
            drain_per_min=_number(w, "drain_per_min", b.get("drain_per_min", Battery.drain_per_min), 0, 100),
        )
    return Scenario(
        name=_string(name, "name", doc["name"]) if "name" in doc else Path(name).stem,
        source=None,
        utterances=utterances,
        noise=noise,
        echo=echo,
        outward=outward,
        link=link,
        battery=battery,
        buttons=events("button", BUTTON_KINDS),
        gestures=events("gesture", GESTURE_KINDS),
        tail=_number(name, "tail", doc.get("tail", Scenario.tail), 0, 600),
        lead_in=_number(name, "lead_in", doc.get("lead_in", Scenario.lead_in), 0, 10),
        max_duration=_number(name, "max_duration", doc.get("max_duration", Scenario.max_duration), 1, MAX_SCENARIO_S),
        tts=default_tts,
        mode=mode,
        language=scenario_language,
        walk=_walk(where, doc["walk"]) if "walk" in doc else None,
    )


_WALK_KEYS = {"path", "speed_mps", "gps_noise_m", "start_heading", "stop", "look", "gps_outage"}


def _walk(where: _Where, raw: Any) -> Walk:
    """``[walk]``: the polyline walked, its pace and GPS noise; ``[[walk.stop]]``, ``[[walk.look]]``
    and ``[[walk.gps_outage]]`` (the receiver without a fix for a while)."""
    w = where.at("walk")
    t = _keys(w, raw, _WALK_KEYS)
    path = t.get("path")
    if not isinstance(path, list) or len(path) < 2:
        raise ScenarioError(f"{w}: 'path' must be a list of at least two [latitude, longitude] points")
    points = []
    for i, point in enumerate(path):
        if not isinstance(point, list) or len(point) != 2:
            raise ScenarioError(f"{w}: path point #{i + 1} must be [latitude, longitude], got {point!r}")
        points.append((_number(w, f"path[{i}] latitude", point[0], -85, 85),
                       _number(w, f"path[{i}] longitude", point[1], -180, 180)))  # fmt: skip
    try:
        length = PathGeometry(tuple(points)).length_m
    except ValueError as exc:
        raise ScenarioError(f"{w}: {exc}") from None
    if length > 50_000:
        raise ScenarioError(f"{w}: the path is {length / 1000:.0f} km long; a walk is at most 50 km")

    def tables(key: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
        items = t.get(key, [])
        if not isinstance(items, list):
            raise ScenarioError(f"{w}: {key!r} must be an array of tables ([[walk.{key}]])")
        for i, item in enumerate(items):
            _keys(where.at(f"walk.{key}", i), item, set(keys))
            missing = [k for k in keys if k not in item]
            if missing:
                raise ScenarioError(f"{where.at(f'walk.{key}', i)}: missing key {missing[0]!r}")
        return items

    stops = tuple(
        Stop(_number(where.at("walk.stop", i), "at_m", s["at_m"], 0, length),
             _number(where.at("walk.stop", i), "seconds", s["seconds"], 0, 3600))
        for i, s in enumerate(tables("stop", ("at_m", "seconds")))
    )  # fmt: skip
    looks = tuple(
        Look(_number(where.at("walk.look", i), "at_s", s["at_s"], 0, MAX_SCENARIO_S),
             _number(where.at("walk.look", i), "degrees", s["degrees"], -180, 180),
             _number(where.at("walk.look", i), "seconds", s["seconds"], 0.1, 600))
        for i, s in enumerate(tables("look", ("at_s", "degrees", "seconds")))
    )  # fmt: skip
    outages = tuple(
        GpsOutage(_number(where.at("walk.gps_outage", i), "at_s", s["at_s"], 0, MAX_SCENARIO_S),
                  _number(where.at("walk.gps_outage", i), "seconds", s["seconds"], 0.1, MAX_SCENARIO_S))
        for i, s in enumerate(tables("gps_outage", ("at_s", "seconds")))
    )  # fmt: skip
    return Walk(
        path=tuple(points),
        speed_mps=_number(w, "speed_mps", t.get("speed_mps", Walk.speed_mps), 0.1, 10),
        gps_noise_m=_number(w, "gps_noise_m", t.get("gps_noise_m", Walk.gps_noise_m), 0, 100),
        start_heading=_number(w, "start_heading", t["start_heading"], 0, 360) if "start_heading" in t else None,
        stops=stops,
        looks=looks,
        gps_outages=outages,
    )


def resolve_path(spec: str) -> Path:
    """A scenario file path, or the name of a packaged scenario (``demo``)."""
    p = Path(spec)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise ScenarioError(f"scenario file not found: {p}")
        return p
    packaged = resources.files("sottovoce.firmware_sim") / "scenarios" / f"{spec}.toml"
    if not packaged.is_file():
        names = sorted(f.name[:-5] for f in (resources.files("sottovoce.firmware_sim") / "scenarios").iterdir()
                       if f.name.endswith(".toml"))  # fmt: skip
        raise ScenarioError(f"no scenario file {spec!r} and no packaged scenario of that name ({', '.join(names)})")
    return Path(str(packaged))


def load_scenario(spec: str | Path, synthesize_audio: bool = True) -> Scenario:
    """Read, validate and (by default) synthesise a scenario given as path or packaged name."""
    path = resolve_path(str(spec))
    scenario = parse_scenario(path.read_text(encoding="utf-8"), name=str(path), base_dir=path.parent)
    scenario.source = path
    if synthesize_audio:
        synthesize(scenario)
    return scenario


# --- audio --------------------------------------------------------------------------------------


def read_wav(path: Path) -> np.ndarray:
    """A PCM WAV file as int16 mono at 16 kHz (channels averaged, other rates resampled)."""
    from sottovoce.host.tts import resample_to_16k

    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ScenarioError(f"{path}: not a readable PCM WAV file ({exc})") from None
    if width == 2:
        pcm = np.frombuffer(raw, dtype="<i2").astype(np.float32)
    elif width == 1:
        pcm = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) * 256.0
    elif width == 4:
        pcm = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 65536.0
    else:
        raise ScenarioError(f"{path}: unsupported sample width {width} bytes")
    pcm = pcm.reshape(-1, channels).mean(axis=1)
    return resample_to_16k(np.clip(np.round(pcm), -32768, 32767), rate)


def synthesize(scenario: Scenario) -> None:
    """Fill every utterance's ``audio``: TTS for ``say`` (silence trimmed, so the utterance's start
    and end are speech), file contents for ``wav``. Engines load once, only if needed."""
    from sottovoce.host.tts import Prosody, TtsError, make_engine

    engines: dict[str, Any] = {}
    for u in scenario.utterances:
        if u.wav is not None:
            audio = read_wav(u.wav)
        else:
            engine_name = u.tts or scenario.tts
            try:
                if engine_name not in engines:
                    # a scenario says the same thing the same way on every run
                    engines[engine_name] = make_engine(engine_name, deterministic=True)
                audio = _speak(engines[engine_name], u, Prosody(rate=u.rate))
            except TtsError as exc:
                raise ScenarioError(f"utterance #{u.index + 1} ({u.text!r}): {exc}") from None
        if u.speaker == "other":  # a recording's level is its microphone's: start from a normal voice's
            audio = spoken_at(audio)
        if u.gain_db:
            audio = np.clip(np.round(audio.astype(np.float32) * 10 ** (u.gain_db / 20)), -32768, 32767)
            audio = audio.astype(np.int16)
        if u.speaker == "other":  # seeded by its place in the file: the same room on every run
            audio = at_distance(audio, u.distance_m, Room(seed=u.index))
        if audio.size == 0:
            raise ScenarioError(f"utterance #{u.index + 1} ({u.text!r}) has no audio")
        u.audio = audio


def wearer_level_dbfs(scenario: Scenario) -> float | None:
    """The wearer's active-speech level over their synthesised utterances (None before synthesis):
    what an echo ``level_db`` is relative to."""
    from sottovoce.host.whisper import active_rms_dbfs

    audio = [u.audio for u in scenario.utterances if u.audio is not None and u.speaker == "wearer"]
    return active_rms_dbfs(np.concatenate(audio)) if audio else None


def _speak(engine: Any, u: Utterance, prosody: Any) -> np.ndarray:
    """TTS for one ``say``, silence trimmed at both ends. With pauses, the sentence is spoken as
    one utterance and cut at them (``synthesize_parts``), so the part before a pause keeps its
    mid-sentence prosody, as when a person stops to think; each pause is then exactly ``pause``
    seconds from the last sound of one part to the first of the next."""
    from sottovoce.host.tts import trim_silence

    parts = u.parts
    if len(parts) == 1:
        return trim_silence(engine.synthesize(parts[0], voice=u.voice, prosody=prosody))
    spoken = [trim_silence(a) for a in engine.synthesize_parts(parts, voice=u.voice, prosody=prosody)]
    gap = np.zeros(round(u.pause * SAMPLE_RATE), dtype=np.int16)
    pieces = [piece for a in spoken[:-1] for piece in (a, gap)]
    return np.concatenate([*pieces, spoken[-1]]).astype(np.int16)
