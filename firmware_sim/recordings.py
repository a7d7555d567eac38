"""Recordings of real people committed in ``voices/``, as listed in its ``manifest.toml``.

Synthetic voices are too clean and too regular to trust figures measured on them alone, so part
of the suite speaks with these: real requests, backchannels ("yes", "right", "wow"), interrupting
commands ("stop", "no") and sounds with no words (coughs, laughs) from several speakers,
microphones and rooms. Nothing is downloaded at run
time; every clip carries its source, licence and transcript (``voices/README.md``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

# "nonverbal": a sound with no words (a cough, a laugh), which over an answer must not stop it.
KINDS = ("request", "question", "backchannel", "interruption", "command", "read", "nonverbal")
SEXES = ("female", "male", "unknown")


class RecordingError(ValueError):
    """A manifest entry that cannot be used, or a clip id the manifest does not list."""


@dataclass(frozen=True)
class Recording:
    id: str
    path: Path
    kind: str  # one of KINDS
    transcript: str
    speaker: str  # corpus:id; the same id is the same person
    sex: str  # as the source states it, else "unknown"
    licence: str
    source: str
    source_path: str
    source_commit: str
    origin: str
    microphone: str
    pauses_s: tuple[float, ...] = ()  # silences of 0.2 s or more inside the speech
    median_f0_hz: float | None = None
    source_span_s: tuple[float, float] | None = None


_REQUIRED = ("id", "file", "kind", "transcript", "speaker", "sex", "licence", "source", "source_path",
             "source_commit", "origin", "microphone")  # fmt: skip
_OPTIONAL = ("pauses_s", "median_f0_hz", "source_span_s")


def voices_dir() -> Path:
    return Path(str(resources.files("sottovoce.firmware_sim") / "voices"))


def parse_manifest(text: str, base_dir: Path, name: str = "manifest.toml") -> dict[str, Recording]:
    """The manifest's clips by id, each checked for every key and for its file being there."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecordingError(f"{name}: invalid TOML: {exc}") from None
    clips = doc.get("clip")
    if not isinstance(clips, list) or not clips:
        raise RecordingError(f"{name}: needs at least one [[clip]] table")
    out: dict[str, Recording] = {}
    for i, c in enumerate(clips):
        where = f"{name} [[clip]] #{i + 1}"
        unknown = sorted(set(c) - {*_REQUIRED, *_OPTIONAL})
        if unknown:
            raise RecordingError(f"{where}: unknown key {unknown[0]!r}")
        for key in _REQUIRED:
            if not isinstance(c.get(key), str) or not c[key].strip():
                raise RecordingError(f"{where}: {key!r} must be a non-empty string")
        if c["id"] in out:
            raise RecordingError(f"{where}: id {c['id']!r} listed twice")
        if c["kind"] not in KINDS:
            raise RecordingError(f"{where}: 'kind' must be one of {', '.join(KINDS)}; got {c['kind']!r}")
        if c["sex"] not in SEXES:
            raise RecordingError(f"{where}: 'sex' must be one of {', '.join(SEXES)}; got {c['sex']!r}")
        path = base_dir / c["file"]
        if not path.is_file():
            raise RecordingError(f"{where}: file not found: {path}")
        span = c.get("source_span_s")
        out[c["id"]] = Recording(
            id=c["id"],
            path=path,
            kind=c["kind"],
            transcript=c["transcript"],
            speaker=c["speaker"],
            sex=c["sex"],
            licence=c["licence"],
            source=c["source"],
            source_path=c["source_path"],
            source_commit=c["source_commit"],
            origin=c["origin"],
            microphone=c["microphone"],
            pauses_s=tuple(float(p) for p in c.get("pauses_s", ())),
            median_f0_hz=None if c.get("median_f0_hz") is None else float(c["median_f0_hz"]),
            source_span_s=None if span is None else (float(span[0]), float(span[1])),
        )
    return out


@cache
def recordings() -> dict[str, Recording]:
    """Every committed recording by id (the packaged manifest, read once)."""
    base = voices_dir()
    return parse_manifest((base / "manifest.toml").read_text(encoding="utf-8"), base)


def recording(clip_id: str) -> Recording:
    """One committed recording; an unknown id is an error naming those that exist."""
    found = recordings().get(clip_id)
    if found is None:
        raise RecordingError(f"no recording {clip_id!r} (there are: {', '.join(sorted(recordings()))})")
    return found
