"""Whose voice: the wearer close to the glasses' mic, or the person in front of them (edge/speaker_id.py).

Measured on a set of turns in conversation order: the simulator's voices (the wearer's Piper voice
close, other people's eSpeak NG voices in four languages at 1.5 and 3 m through the room model)
and the real recordings in firmware_sim/voices/ (each said close as the wearer, then at 1.5 m
and 3 m as the other person), with pink-ish noise at the mic, the edge's VAD deciding which
frames are speech, one attributor following the whole conversation.
"""

from __future__ import annotations

import numpy as np
import pytest

from sottovoce.edge.speaker_id import OTHER, WEARER, SpeakerAttributor, frame_dbfs
from sottovoce.edge.turn import VadThresholds
from sottovoce.edge.vad import VADS, make_vad
from sottovoce.firmware_sim.recordings import recordings
from sottovoce.firmware_sim.room import Room, at_distance
from sottovoce.firmware_sim.scenario import read_wav
from sottovoce.host.tts import make_engine
from sottovoce.proto.codec import FRAME_SAMPLES

NOISE_DBFS = -58.0
OTHER_VOICES = [("es", "¿Dónde está la estación de tren? Tengo prisa."), ("de", "Wo ist der Bahnhof, bitte?"),
                ("fr", "Où est la gare, s'il vous plaît?"), ("ca", "On és l'estació de tren, si us plau?")]  # fmt: skip
WEARER_LINES = ["Yes, the station is two streets from here.", "Thank you.", "No.", "It is on the left, past the bank."]


def _turns() -> list[tuple[str, np.ndarray, int]]:
    """(name, int16 audio, true speaker) in conversation order: the other person, then the wearer."""
    espeak, piper = make_engine("espeak"), make_engine("piper", deterministic=True)
    turns = []
    for i, ((voice, text), line) in enumerate(zip(OTHER_VOICES, WEARER_LINES, strict=True)):
        audio = espeak.synthesize(text, voice=voice)
        turns.append((f"espeak:{voice}@1.5m", at_distance(audio, 1.5, Room(seed=i)), OTHER))
        turns.append((f"piper:{line}", piper.synthesize(line), WEARER))
        turns.append((f"espeak:{voice}@3m", at_distance(audio, 3.0, Room(seed=10 + i)), OTHER))
    for i, (clip_id, clip) in enumerate(sorted(recordings().items())):
        if clip.kind == "nonverbal":
            continue
        audio = read_wav(clip.path)
        turns.append((f"{clip_id}@1.5m", at_distance(audio, 1.5, Room(seed=100 + i)), OTHER))
        turns.append((clip_id, audio, WEARER))
        turns.append((f"{clip_id}@3m", at_distance(audio, 3.0, Room(seed=200 + i)), OTHER))
    return turns


def _attribute(turns, attributor: SpeakerAttributor) -> list[tuple[str, int, int, float]]:
    """(name, truth, attributed, level) for each turn the VAD heard (one it did not is no turn)."""
    vad = make_vad(next(iter(VADS)))
    rng = np.random.default_rng(0)
    out = []
    for name, audio, truth in turns:
        vad.reset()
        gap = np.zeros(8000)
        x = np.concatenate([gap, audio.astype(np.float64), gap])
        x += rng.standard_normal(len(x)) * 32768 * 10 ** (NOISE_DBFS / 20)
        x = np.clip(np.round(x), -32768, 32767).astype(np.int16)
        for i in range(0, len(x) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
            frame = x[i : i + FRAME_SAMPLES]
            attributor.frame(frame_dbfs(frame), vad.process(frame) >= VadThresholds.onset)
        level, heard = attributor.level_dbfs, attributor.heard
        said = attributor.turn_ended()
        if heard:
            out.append((name, truth, said, level))
    return out


@pytest.fixture(scope="module")
def conversation() -> list[tuple[str, np.ndarray, int]]:
    return _turns()


def test_attribution_on_simulated_and_real_voices(conversation) -> None:
    results = _attribute(conversation, SpeakerAttributor())
    assert len(results) >= 0.9 * len(conversation)  # only short keywords at 3 m go unheard
    wrong = [(name, round(level, 1)) for name, truth, said, level in results if said != truth]
    accuracy = 1 - len(wrong) / len(results)
    sim = [r for r in results if r[0].startswith(("espeak", "piper"))]
    print(f"\nattribution: {accuracy:.1%} of {len(results)} turns correct ({len(conversation)} said) "
          f"(simulated voices {sum(r[1] == r[2] for r in sim)}/{len(sim)}); wrong: {wrong}")  # fmt: skip
    assert accuracy >= 0.95, wrong
    assert all(truth == said for _, truth, said, _ in sim)  # the simulator's own voices, every one


def test_attribution_of_sentences_by_real_people_is_exact(conversation) -> None:
    """Close-talk sentence recordings (not the keyword clips, recorded at any level on laptops)."""
    sentences = [t for t in conversation if t[0].split("@")[0].startswith(("rh_", "ls_", "arctic_"))]
    results = _attribute(sentences, SpeakerAttributor())
    assert [r[0] for r in results if r[1] != r[2]] == []


def test_nothing_heard_is_the_wearer_and_the_wearer_level_follows_their_turns() -> None:
    a = SpeakerAttributor(wearer_dbfs=-20.0)
    assert a.speaker == WEARER and not a.heard
    a.frame(-60.0, voiced=False)  # unvoiced frames say nothing
    assert not a.heard and a.speaker == WEARER
    for _ in range(10):
        a.frame(-40.0, voiced=True)
    assert a.speaker == OTHER and a.turn_ended() == OTHER
    assert a.wearer_dbfs == -20.0  # another person's turn does not move the wearer's level
    for _ in range(10):
        a.frame(-26.0, voiced=True)
    assert a.turn_ended() == WEARER
    assert -26.0 < a.wearer_dbfs < -20.0
    assert (a.counters.turns_wearer, a.counters.turns_other) == (1, 1)
