"""`sottovoce bench speakers`: whose voice each turn is (``edge/speaker_id.py``), the wearer's level
followed turn by turn against a fixed threshold at the prior wearer level.

The set is a conversation in turns: the simulator's voices (the wearer's Piper voice close, other
people's eSpeak NG voices in Spanish, German, French and Catalan at 1.5 and 3 m through the
simulator's room model) and the real recordings in firmware_sim/voices/ (each said close as the
wearer, then at 1.5 m and 3 m as the other person; sentences by people at close-talking
microphones, and keywords recorded at any level on laptops). Each turn has background noise at the
mic and goes through the uplink's Opus round trip; the edge's VAD says which frames are speech (a
turn it hears nothing of is no turn, and is counted apart). One attributor follows the whole
conversation, as the edge's does a session.

Every voice is first put at the level a speaker's effort gives it at the microphone
(``room.spoken_at``): a recording's own level is its microphone's setting. The wearer's effort
varies from turn to turn within ``WEARER_EFFORT_DB``; another person, who may speak up to be heard
in the street, within ``OTHER_EFFORT_DB``; each draw seeded.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sottovoce.edge.speaker_id import OTHER, WEARER, SpeakerAttributor, frame_dbfs
from sottovoce.edge.vad import VADS, make_vad
from sottovoce.firmware_sim.recordings import recordings
from sottovoce.firmware_sim.room import Room, at_distance, spoken_at
from sottovoce.firmware_sim.scenario import read_wav
from sottovoce.proto.codec import FRAME_SAMPLES, OpusDecoder, OpusEncoder
from sottovoce.tools.options import add_logging_option, add_options, config_from, option, setup_logging

NOISE_DBFS = -58.0
VOICED = 0.7  # the speech probability the edge's end-of-turn model policy counts as voiced
OTHER_VOICES = [("es", "¿Dónde está la estación de tren? Tengo prisa."), ("de", "Wo ist der Bahnhof, bitte?"),
                ("fr", "Où est la gare, s'il vous plaît?"), ("ca", "On és l'estació de tren, si us plau?")]  # fmt: skip
WEARER_LINES = ["Yes, the station is two streets from here.", "Thank you.", "No.", "It is on the left, past the bank."]
DISTANCES_M = (1.0, 1.5, 3.0)
WEARER_EFFORT_DB = (-3.0, 3.0)  # one person's turns, quieter or louder
OTHER_EFFORT_DB = (-4.0, 6.0)  # a stranger speaking softly, or raising their voice
EFFORT_SEED = 5
SENTENCE_CORPORA = ("ls_", "arctic_")  # close-talking sentence recordings; the rest are keyword clips


@dataclass
class Turn:
    name: str
    source: str  # simulated | real sentences | real keywords
    distance_m: float  # 0: the wearer, at the mic
    truth: int  # WEARER or OTHER
    audio: np.ndarray


@dataclass
class Attributed:
    name: str
    source: str
    distance_m: float
    truth: str
    said: str
    level_dbfs: float


def conversation() -> list[Turn]:
    """The set, in conversation order: for each voice, the other person at each distance in turn,
    with the wearer's turn after the first."""
    from sottovoce.host.tts import make_engine

    espeak, piper = make_engine("espeak"), make_engine("piper", deterministic=True)
    rng = np.random.default_rng(EFFORT_SEED)
    turns = []

    def said(name: str, source: str, other: np.ndarray, wearer: tuple[str, np.ndarray], seed: int) -> None:
        for k, distance in enumerate(DISTANCES_M):
            heard = at_distance(spoken_at(other, rng.uniform(*OTHER_EFFORT_DB)), distance, Room(seed=seed + 1000 * k))
            turns.append(Turn(f"{name}@{distance:g}m", source, distance, OTHER, heard))
            if k == 0:
                turns.append(Turn(wearer[0], source, 0.0, WEARER, spoken_at(wearer[1], rng.uniform(*WEARER_EFFORT_DB))))

    for i, ((voice, text), line) in enumerate(zip(OTHER_VOICES, WEARER_LINES, strict=True)):
        audio = espeak.synthesize(text, voice=voice)
        said(f"espeak:{voice}", "simulated", audio, (f"piper:{line}", piper.synthesize(line)), i)
    for i, (clip_id, clip) in enumerate(sorted(recordings().items())):
        if clip.kind == "nonverbal":
            continue
        source = "real sentences" if clip_id.startswith(SENTENCE_CORPORA) else "real keywords"
        audio = read_wav(clip.path)
        said(clip_id, source, audio, (clip_id, audio), 100 + i)
    return turns


def attribute(turns: list[Turn], attributor: SpeakerAttributor, seed: int = 0) -> tuple[list[Attributed], int]:
    """Each turn the VAD hears, attributed; and how many it heard nothing of."""
    vad = make_vad(next(iter(VADS)))
    rng = np.random.default_rng(seed)
    names = {WEARER: "wearer", OTHER: "other"}
    out, unheard = [], 0
    for t in turns:
        vad.reset()
        encoder, decoder = OpusEncoder(), OpusDecoder()
        gap = np.zeros(8000)
        x = np.concatenate([gap, t.audio.astype(np.float64), gap])
        x += rng.standard_normal(len(x)) * 32768 * 10 ** (NOISE_DBFS / 20)
        x = np.clip(np.round(x), -32768, 32767).astype(np.int16)
        for i in range(0, len(x) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
            frame = decoder.decode(encoder.encode(x[i : i + FRAME_SAMPLES]))
            attributor.frame(frame_dbfs(frame), vad.process(frame) >= VOICED)
        level, heard = attributor.level_dbfs, attributor.heard
        said = attributor.turn_ended()
        if not heard:
            unheard += 1
            continue
        out.append(Attributed(t.name, t.source, t.distance_m, names[t.truth], names[said], round(level, 1)))
    return out, unheard


@dataclass
class BenchSpeakersConfig:
    json: Path | None = option(None, "also write the results here", type=Path, metavar="FILE")


METHODS = {
    "followed": lambda: SpeakerAttributor(follow=0.3),
    "fixed": lambda: SpeakerAttributor(follow=0.0),  # the default
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sottovoce bench speakers", description=__doc__)
    add_options(ap, BenchSpeakersConfig)
    add_logging_option(ap, default="WARNING")
    args = ap.parse_args(argv)
    setup_logging("bench", args.log_level)
    config = config_from(BenchSpeakersConfig, args)
    turns = conversation()
    rows = []
    print(f"{len(turns)} turns said; share of the turns heard attributed to the right voice")
    labels = ["wearer"] + [f"other {d:g}m" for d in DISTANCES_M] + ["all"]
    print(f"{'method':9} {'source':15} " + " ".join(f"{label:>11}" for label in labels))
    for method, make in METHODS.items():
        results, unheard = attribute(turns, make())
        for source in ("simulated", "real sentences", "real keywords", "all"):
            mine = [r for r in results if source in ("all", r.source)]
            distances = [0.0, *DISTANCES_M, None]
            cells = {}
            for label, distance in zip(labels, distances, strict=True):
                group = [r for r in mine if distance is None or r.distance_m == distance]
                cells[label] = (sum(r.truth == r.said for r in group), len(group))
            rows.append({"method": method, "source": source, "unheard": unheard if source == "all" else None,
                         **{k: {"correct": c, "turns": n} for k, (c, n) in cells.items()}})  # fmt: skip
            print(f"{method:9} {source:15} " + " ".join(f"{f'{c}/{n}':>11}" for c, n in cells.values()))
        wrong = [asdict(r) for r in results if r.truth != r.said]
        rows.append({"method": method, "wrong": wrong})
        print(f"{method}: {unheard} turns unheard; wrong: " + ", ".join(f"{w['name']} ({w['level_dbfs']} dBFS)"
                                                                        for w in wrong))  # fmt: skip
    if config.json:
        config.json.write_text(json.dumps(rows, indent=2))
    return 0
