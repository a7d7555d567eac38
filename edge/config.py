"""The edge daemon's settings: every default once, here; ``sottovoce edge`` is built from them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sottovoce.proto.v1 import duplex_pb2 as pb
from sottovoce.tools.options import option

from .arbiter import BARGE_IN_MS
from .end_rules import SILENCE_CONFIRM_MS, SILENCE_TENTATIVE_MS, TURN_POLICIES
from .vad import VADS

LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")  # ISO 639-1 or -3, as Whisper and Apertium name languages
AUTO_LANGUAGE = "auto"  # the host identifies the other person's language

MODES = {
    "assistant": pb.MODE_ASSISTANT,
    "translation": pb.MODE_TRANSLATION,
    "navigation": pb.MODE_NAVIGATION,
}


@dataclass
class EdgeConfig:
    # The device URL has no default; the CLI asks for it (see sottovoce.edge.cli).
    device: str
    host: str = option("127.0.0.1:50051", "host gRPC address", metavar="HOST:PORT")
    mode: str = option("assistant", "conversation mode", choices=tuple(MODES))
    # The other person's language is the one a translation session is asked for; the wearer's is set once.
    language: str = option("auto", "translation mode: the other person's language (es, de, ...) or auto to detect it")
    wearer_language: str = option("en", "the wearer's language")
    device_id: str = "sottovoce-sim"
    vad: str = option(next(iter(VADS)), "voice activity detector", choices=tuple(VADS))
    turn: str = option(TURN_POLICIES[0], "end-of-turn policy: the learned model or a fixed silence timeout",
                       choices=TURN_POLICIES)  # fmt: skip
    confirm_ms: int = option(SILENCE_CONFIRM_MS, "silence rule: confirmed end after this much silence")
    tentative_ms: int = option(SILENCE_TENTATIVE_MS, "silence rule: tentative end after this much silence")
    barge_in_ms: int = option(BARGE_IN_MS, "speech needed to interrupt an answer")
    aec: bool = option(True, "cancel the answer's echo in the mic before the VAD (WebRTC AEC3)")
    scan_timeout: float = option(10.0, "seconds to look for the peripheral")
    events: Path | None = option(None, "write the JSON-lines event log here", type=Path, metavar="FILE")
    gps: str = option("none", "position source for navigation: gpsd://HOST:PORT, nmea:/dev/ttyUSB0[@4800] or none",
                      metavar="SOURCE")  # fmt: skip
    record: Path | None = option(
        None, "record the turn arbiter's inputs and decisions here (JSON lines, for replay tests)", type=Path,
        metavar="FILE",
    )  # fmt: skip

    def __post_init__(self) -> None:
        for name in ("language", "wearer_language"):
            value = getattr(self, name)
            if not (LANGUAGE_CODE.fullmatch(value) or (name == "language" and value == AUTO_LANGUAGE)):
                raise ValueError(f"--{name.replace('_', '-')} must be a language code such as 'es'"
                                 f"{' or auto' if name == 'language' else ''}, got {value!r}")  # fmt: skip
