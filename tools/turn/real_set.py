"""The real-speech end-of-turn set: recordings of people, labelled with their turn structure.

Synthetic turns (``corpus``) flatter the end-of-turn decision: TTS voices pause and finish
evenly, and the model was trained on them. This set is what ``sottovoce bench turn --set real``
scores the same policies on. Each turn is one recording of one real speaker (``real_speech/``
beside this module, or a clip of ``firmware_sim/voices`` named by ``clip``), labelled in
``real_speech/manifest.toml`` with where its speech starts and ends and the silences inside it
(``measure``), its kind, transcript, source and licence. Speakers are split into ``train``,
``dev`` and ``eval``: no speaker is in two splits, so the held-out figures are on people the
decision was never tuned on.

For the bench, each turn is placed on the same timeline as a synthetic one (``render``): a lead-in,
the recording, and ``FINAL_SILENCE_MS`` of silence after it, the added silence being the
recording's own room tone (noise with the spectrum of its quiet frames, so no microphone sounds
cleaner between turns than inside them), then the uplink Opus round trip. The turn's chunks are
the speech between the labelled pauses.
"""

from __future__ import annotations

import io
import itertools
import tomllib
import wave
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE
from sottovoce.tools.turn.corpus import FINAL_SILENCE_MS, Turn, ms, opus_round_trip

KINDS = ("request", "question", "read", "paused", "numbers", "list", "hesitation")
SPLITS = ("train", "dev", "eval")
# Redistributable without restriction on use; CC-BY-SA-4.0 asks that what is made from the
# recordings be shared alike (README.md), CMU-ARCTIC is the corpus's own permissive licence.
LICENCES = ("CC-BY-4.0", "CC-BY-SA-4.0", "MIT", "CMU-ARCTIC")
# A silence inside the speech counts as a pause from this long: the shortest mid-turn pause the
# synthetic corpus holds, and longer than the stop closures and breaths inside words and phrases.
MIN_PAUSE_MS = 200
# Speech: a 20 ms frame louder than both this far above the recording's quiet (10th percentile)
# frames and this far below its loudest frame; a loud run shorter than MIN_SOUND_MS is a click.
FLOOR_MARGIN_DB = 12.0
PEAK_RANGE_DB = 40.0
MIN_SOUND_MS = 60
# A sound this short set apart by a pause before the first words or after the last is a breath or
# a lip click, not part of the turn: the turn starts and ends with its words.
EDGE_SOUND_MS = 150
LEAD_MS = 500  # room tone before the recording, so the VAD and model start in silence
LABEL_TOLERANCE_S = 0.001  # labels are stored to the millisecond


class RealSetError(ValueError):
    """A manifest the set cannot be read from: the message names the entry and the key."""


@dataclass(frozen=True)
class Speech:
    """Where speech starts and ends in a recording and the pauses inside it, in samples."""

    start: int
    end: int
    pauses: tuple[tuple[int, int], ...]

    def chunks(self) -> list[tuple[int, int]]:
        """[start, end) of the speech between the pauses."""
        bounds = [self.start, *(x for p in self.pauses for x in p), self.end]
        return list(zip(bounds[::2], bounds[1::2], strict=True))


def _frame_levels(pcm: np.ndarray) -> np.ndarray:
    n = len(pcm) // FRAME_SAMPLES
    frames = pcm[: n * FRAME_SAMPLES].astype(np.float64).reshape(n, FRAME_SAMPLES)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1.0)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) frame indices of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def measure(pcm: np.ndarray) -> Speech:
    """The speech in a recording, from frame levels alone (the labels must not come from the VAD
    the bench runs): frames above ``FLOOR_MARGIN_DB`` over the quiet frames and within
    ``PEAK_RANGE_DB`` of the loudest are sound; sound runs shorter than ``MIN_SOUND_MS`` are
    dropped; silences of ``MIN_PAUSE_MS`` or more between sounds are pauses."""
    levels = _frame_levels(pcm)
    if levels.size == 0:
        raise ValueError("recording shorter than one frame")
    threshold = max(float(np.percentile(levels, 10)) + FLOOR_MARGIN_DB, float(levels.max()) - PEAK_RANGE_DB)
    min_sound = MIN_SOUND_MS // (FRAME_SAMPLES * 1000 // SAMPLE_RATE)
    sounds = [(s, e) for s, e in _runs(levels > threshold) if e - s >= min_sound]
    frame_ms = FRAME_SAMPLES * 1000 // SAMPLE_RATE
    edge, gap = EDGE_SOUND_MS // frame_ms, MIN_PAUSE_MS // frame_ms
    while len(sounds) > 1 and sounds[0][1] - sounds[0][0] < edge and sounds[1][0] - sounds[0][1] >= gap:
        sounds.pop(0)
    while len(sounds) > 1 and sounds[-1][1] - sounds[-1][0] < edge and sounds[-1][0] - sounds[-2][1] >= gap:
        sounds.pop()
    if not sounds:
        raise ValueError("no speech found")
    min_pause = MIN_PAUSE_MS * SAMPLE_RATE // 1000
    pauses = tuple((a[1] * FRAME_SAMPLES, b[0] * FRAME_SAMPLES) for a, b in itertools.pairwise(sounds)
                   if (b[0] - a[1]) * FRAME_SAMPLES >= min_pause)  # fmt: skip
    return Speech(sounds[0][0] * FRAME_SAMPLES, sounds[-1][1] * FRAME_SAMPLES, pauses)


@dataclass(frozen=True)
class RealTurn:
    id: str
    speaker: str  # corpus:id; the same id is the same person
    split: str  # the speaker's split
    kind: str  # one of KINDS
    transcript: str
    transcript_from: str  # the corpus's own text, or the recogniser that read it
    speech_s: tuple[float, float]  # start and end of the speech in the recording, measured
    pauses_s: tuple[tuple[float, float], ...]  # silences inside the speech, measured
    inserted_pauses: tuple[int, ...]  # indices into pauses_s of the silences spliced in (room tone)
    licence: str
    source: str
    source_path: str
    source_commit: str
    origin: str
    microphone: str
    file: Path | None = None  # a recording of this set, or
    clip: str | None = None  # a clip of firmware_sim/voices

    def speech(self) -> Speech:
        return Speech(
            round(self.speech_s[0] * SAMPLE_RATE),
            round(self.speech_s[1] * SAMPLE_RATE),
            tuple((round(s * SAMPLE_RATE), round(e * SAMPLE_RATE)) for s, e in self.pauses_s),
        )


@dataclass(frozen=True)
class RealSet:
    turns: tuple[RealTurn, ...]
    speakers: dict[str, str]  # speaker -> split

    def split(self, name: str) -> list[RealTurn]:
        """The turns of one split, or of all with ``"all"``."""
        if name != "all" and name not in SPLITS:
            raise RealSetError(f"split must be one of {', '.join((*SPLITS, 'all'))}, got {name!r}")
        return [t for t in self.turns if name == "all" or t.split == name]


_TURN_KEYS = ("id", "speaker", "kind", "transcript", "transcript_from", "speech_s", "pauses_s", "licence",
              "source", "source_path", "source_commit", "origin", "microphone")  # fmt: skip
_OPTIONAL = ("file", "clip", "inserted_pauses")


def _span(value: object, where: str, key: str) -> tuple[float, float]:
    if (not isinstance(value, list) or len(value) != 2 or not all(isinstance(x, int | float) for x in value)
            or not 0 <= value[0] < value[1]):  # fmt: skip
        raise RealSetError(f"{where}: {key!r} must be [start, end] seconds with 0 <= start < end")
    return float(value[0]), float(value[1])


def parse_manifest(text: str, base_dir: Path, name: str = "manifest.toml") -> RealSet:
    """The set a manifest describes, every entry checked: keys, kinds, splits, licences, labels
    in order inside the speech, and each recording's file present."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RealSetError(f"{name}: invalid TOML: {exc}") from None
    speakers_doc, turns_doc = doc.get("speakers"), doc.get("turn")
    if not isinstance(speakers_doc, dict) or not speakers_doc:
        raise RealSetError(f"{name}: needs a [speakers] table naming each speaker's split")
    speakers: dict[str, str] = {}
    for speaker, split in speakers_doc.items():
        if split not in SPLITS:
            raise RealSetError(f"{name} [speakers]: {speaker!r} must be in one of {', '.join(SPLITS)}, got {split!r}")
        speakers[speaker] = split
    if not isinstance(turns_doc, list) or not turns_doc:
        raise RealSetError(f"{name}: needs at least one [[turn]] table")
    turns: list[RealTurn] = []
    for i, t in enumerate(turns_doc):
        where = f"{name} [[turn]] #{i + 1}"
        if not isinstance(t, dict):
            raise RealSetError(f"{where}: must be a table")
        unknown = sorted(set(t) - {*_TURN_KEYS, *_OPTIONAL})
        if unknown:
            raise RealSetError(f"{where}: unknown key {unknown[0]!r}")
        for key in _TURN_KEYS:
            if key not in t:
                raise RealSetError(f"{where}: missing {key!r}")
            if key not in ("speech_s", "pauses_s") and (not isinstance(t[key], str) or not t[key].strip()):
                raise RealSetError(f"{where}: {key!r} must be a non-empty string")
        if t["kind"] not in KINDS:
            raise RealSetError(f"{where}: 'kind' must be one of {', '.join(KINDS)}; got {t['kind']!r}")
        if t["licence"] not in LICENCES:
            raise RealSetError(f"{where}: 'licence' must be one of {', '.join(LICENCES)}; got {t['licence']!r}")
        if t["speaker"] not in speakers:
            raise RealSetError(f"{where}: speaker {t['speaker']!r} is not in [speakers]")
        if ("file" in t) == ("clip" in t) or not isinstance(t.get("file", t.get("clip")), str):
            raise RealSetError(f"{where}: needs exactly one of 'file' (a recording here) or 'clip' (a voices clip)")
        speech = _span(t["speech_s"], where, "speech_s")
        if not isinstance(t["pauses_s"], list):
            raise RealSetError(f"{where}: 'pauses_s' must be a list of [start, end]")
        pauses = tuple(_span(p, where, "pauses_s") for p in t["pauses_s"])
        edges = [speech[0], *(x for p in pauses for x in p), speech[1]]
        if any(b <= a for a, b in itertools.pairwise(edges)):
            raise RealSetError(f"{where}: pauses must be in order, apart, and inside the speech")
        inserted = t.get("inserted_pauses", [])
        if not isinstance(inserted, list) or not all(isinstance(k, int) and 0 <= k < len(pauses) for k in inserted):
            raise RealSetError(f"{where}: 'inserted_pauses' must list indices into 'pauses_s'")
        path = None
        if "file" in t:
            path = base_dir / t["file"]
            if not path.is_file():
                raise RealSetError(f"{where}: file not found: {path}")
        if any(u.id == t["id"] for u in turns):
            raise RealSetError(f"{where}: id {t['id']!r} listed twice")
        turns.append(
            RealTurn(
                id=t["id"], speaker=t["speaker"], split=speakers[t["speaker"]], kind=t["kind"],
                transcript=t["transcript"], transcript_from=t["transcript_from"], speech_s=speech, pauses_s=pauses,
                inserted_pauses=tuple(inserted), licence=t["licence"], source=t["source"],
                source_path=t["source_path"], source_commit=t["source_commit"], origin=t["origin"],
                microphone=t["microphone"], file=path, clip=t.get("clip"),
            )
        )  # fmt: skip
    return RealSet(tuple(turns), speakers)


def data_dir() -> Path:
    return Path(str(resources.files("sottovoce.tools.turn") / "real_speech"))


@cache
def real_set() -> RealSet:
    """The committed set (the packaged manifest, read once)."""
    base = data_dir()
    return parse_manifest((base / "manifest.toml").read_text(encoding="utf-8"), base)


def read_wav(data: bytes, name: str = "recording") -> np.ndarray:
    """16 kHz mono 16-bit PCM samples of a WAV file; any other format is an error."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (SAMPLE_RATE, 1, 2):
                raise RealSetError(
                    f"{name}: must be {SAMPLE_RATE} Hz mono 16-bit, is {w.getframerate()} Hz, "
                    f"{w.getnchannels()} channel(s), {8 * w.getsampwidth()}-bit"
                )
            raw = w.readframes(w.getnframes())
            if len(raw) != 2 * w.getnframes():
                raise RealSetError(f"{name}: truncated: {len(raw) // 2} of {w.getnframes()} samples")
            return np.frombuffer(raw, dtype="<i2").astype(np.int16)
    except (wave.Error, EOFError, RuntimeError) as exc:  # RuntimeError: the wave module on a broken chunk
        raise RealSetError(f"{name}: not a WAV file: {exc or type(exc).__name__}") from None


def audio(turn: RealTurn) -> np.ndarray:
    """The turn's recording, int16 at 16 kHz."""
    if turn.clip is not None:
        from sottovoce.firmware_sim.recordings import recording

        path = recording(turn.clip).path
    else:
        assert turn.file is not None
        path = turn.file
    return read_wav(path.read_bytes(), path.name)


def room_tone(pcm: np.ndarray, speech: Speech, n: int, seed: int) -> np.ndarray:
    """``n`` samples of noise with the typical spectrum of the recording's silences (before and
    after the speech and inside its pauses, 40 ms clear of it); zeros where a recording's
    silences are digital silence (a gated microphone)."""
    guard, size = ms(40), 2 * FRAME_SAMPLES
    quiet = [pcm[: max(0, speech.start - guard)], pcm[speech.end + guard :]]
    quiet += [pcm[s + guard : e - guard] for s, e in speech.pauses if e - s > 2 * guard]
    frames = [q[i : i + size].astype(np.float64) for q in quiet for i in range(0, len(q) - size + 1, size)]
    if not frames:
        return np.zeros(n)
    hann = np.hanning(size)
    # The median over frames, so a breath in a pause does not raise the floor; a noise bin's power
    # is exponentially distributed, whose median is ln 2 of its mean.
    spectra = np.abs(np.fft.rfft(np.asarray(frames) * hann, axis=1)) ** 2
    power = np.median(spectra, axis=0) / np.log(2) / np.mean(hann**2)
    rng = np.random.default_rng(seed)
    # Frames of random phase overlap by half under a periodic sine window: the windows' squares
    # add up to one, so the noise keeps the recording's level between frames too.
    window = np.sin(np.pi * np.arange(size) / size)
    out = np.zeros(n + size)
    for at in range(0, n, FRAME_SAMPLES):
        phase = np.exp(2j * np.pi * rng.random(len(power)))
        out[at : at + size] += np.fft.irfft(np.sqrt(power) * phase, size) * window
    return out[:n]


def render(turn: RealTurn) -> Turn:
    """The turn on the bench's timeline: room tone, the recording, ``FINAL_SILENCE_MS`` of room
    tone, through the uplink Opus codec; its speech chunks are those between the labelled pauses."""
    pcm = audio(turn)
    speech = turn.speech()
    seed = zlib.crc32(turn.id.encode())
    lead, tail = ms(LEAD_MS), max(0, speech.end + ms(FINAL_SILENCE_MS) - len(pcm))
    tone = room_tone(pcm, speech, lead + tail, seed)
    signal = np.concatenate([tone[:lead], pcm.astype(np.float64), tone[lead:]])
    signal = np.clip(np.round(signal), -32768, 32767).astype(np.int16)
    chunks = [(s + lead, e + lead) for s, e in speech.chunks()]
    return Turn(script=None, pcm=opus_round_trip(signal)[: len(signal)], speech=chunks)  # type: ignore[arg-type]


def rendered(turns: Sequence[RealTurn]) -> list[Turn]:
    return [render(t) for t in turns]
